package release

import (
	"strings"
	"testing"
)

func TestParseTag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Tag
		err  string
	}{
		{in: "payments/fraud/v1.3.0", want: Tag{"payments", "fraud", "1.3.0"}},
		{in: "refs/tags/labs/envgate/v1.0.0-rc.1", want: Tag{"labs", "envgate", "1.0.0-rc.1"}},
		{in: "payments/fraud/1.3.0", err: "want <team>/<plugin>/v<version>"},
		{in: "fraud/v1.3.0", err: "want <team>/<plugin>/v<version>"},
		{in: "../fraud/v1.3.0", err: "team"},
		{in: "payments/Fraud/v1.3.0", err: "plugin"},
		{in: "payments/fraud/v1.3", err: "version"},
	} {
		got, err := ParseTag(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTag(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTag(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// FuzzParseTag: tags come from whoever can push one.
func FuzzParseTag(f *testing.F) {
	f.Add("payments/fraud/v1.3.0")
	f.Add("refs/tags/a/b/v0.0.1-rc.1+x")
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := ParseTag(s)
		if err != nil {
			return
		}
		again, err := ParseTag(tag.Team + "/" + tag.Plugin + "/v" + tag.Version)
		if err != nil || again != tag {
			t.Fatalf("ParseTag(%q) = %+v, which does not round-trip: %v", s, tag, err)
		}
	})
}
