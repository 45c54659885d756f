package scaffold

import (
	"path"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/schema"
)

// TestFilesMatchSchemas: every YAML file Init writes, for a repository
// with a contract of its own and for one of a host someone else releases,
// starts with the line that gives editors its schema at its URL, and
// passes that schema.
func TestFilesMatchSchemas(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	v, err := schema.NewValidator(root)
	if err != nil {
		t.Fatal(err)
	}
	nakama := Presets["nakama"]
	nakama.Binary, nakama.SHA256 = "hosts/nakama", strings.Repeat("ab", 32)
	for _, host := range []*Host{nil, &nakama} {
		files, err := render("example.com/acme", "v1.2.3", "", host)
		if err != nil {
			t.Fatal(err)
		}
		yamls := 0
		for _, f := range files {
			var want string
			var s schema.Schema
			switch {
			case f.Path == "plugship.yaml":
				s = schema.Plugship
			case path.Base(f.Path) == "team.yaml":
				s = schema.Team
			case f.Path == "compat/hosts.yaml":
				s = schema.Hosts
			case strings.HasPrefix(f.Path, ".github/workflows/"):
				want = schema.Header(schema.WorkflowSchema)
			case strings.HasSuffix(f.Path, ".yaml") || strings.HasSuffix(f.Path, ".yml"):
				t.Errorf("%s: a YAML file of no known format", f.Path)
				continue
			default:
				continue
			}
			yamls++
			if want == "" {
				want = schema.Header(s.URL())
				if err := v.Validate(s, f.Data); err != nil {
					t.Errorf("host %v: %s does not pass %s: %v", host != nil, f.Path, s.File, err)
				}
			}
			if first, _, _ := strings.Cut(string(f.Data), "\n"); first != want {
				t.Errorf("host %v: %s starts with %q, want %q", host != nil, f.Path, first, want)
			}
		}
		if yamls < 3 {
			t.Errorf("host %v: %d YAML files checked, want plugship.yaml, compat/hosts.yaml and more", host != nil, yamls)
		}
	}
}
