package publish

import (
	"testing"

	"github.com/plugship/plugship/internal/artifact"
)

func TestFollowUpTag(t *testing.T) {
	for _, c := range []struct{ version, abi, want string }{
		{"1.3.0", "go1.26.8-1a2b3c4d", "payments/fraud/v1.3.0+go1.26.8-1a2b3c4d"},
		{"1.0.0-rc.1", "go1.25.8-09086b20-5e6f7a8b", "payments/fraud/v1.0.0-rc.1+go1.25.8-09086b20-5e6f7a8b"},
		{"1.0.0+build.7", "go1.26.8-1a2b3c4d", "payments/fraud/v1.0.0+build.7.go1.26.8-1a2b3c4d"},
	} {
		v := &Version{Meta: &artifact.Metadata{Team: "payments", Plugin: "fraud", Version: c.version, ABI: c.abi}, Tag: "payments/fraud/v" + c.version}
		if got := FollowUpTag(v); got != c.want || !validRef(got) {
			t.Errorf("FollowUpTag(%s, %s) = %s (valid %v), want %s", c.version, c.abi, got, validRef(got), c.want)
		}
	}
	for _, bad := range []string{"", "a..b", "a/.b", "a.lock", "a/", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "a@{1}", "/a", "a//b", "a."} {
		if validRef(bad) {
			t.Errorf("validRef(%q) = true", bad)
		}
	}
}
