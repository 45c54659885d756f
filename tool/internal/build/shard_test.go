package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/matrix"
)

// TestShardActions: the shards of a plan cover every action exactly once,
// keep a version's targets together, and are about even.
func TestShardActions(t *testing.T) {
	var actions []*Action
	for _, tg := range []string{"current", "go1-25"} {
		for i := range 10 {
			actions = append(actions, &Action{Team: "t", Plugin: fmt.Sprintf("p%d", i), Version: "1.0.0", Target: &Target{Profiles: []string{tg}}})
		}
	}
	seen := map[*Action]int{}
	for i := 1; i <= 3; i++ {
		part := ShardActions(actions, matrix.Shard{Index: i, Count: 3})
		if len(part) < 6 || len(part) > 8 {
			t.Errorf("shard %d/3 has %d actions, want 6 to 8 of 20", i, len(part))
		}
		versions := map[string]int{}
		for _, a := range part {
			seen[a]++
			versions[a.Plugin]++
		}
		for v, n := range versions {
			if n != 2 {
				t.Errorf("shard %d/3 has %d of %s's 2 targets", i, n, v)
			}
		}
	}
	if len(seen) != len(actions) {
		t.Errorf("the shards cover %d of %d actions", len(seen), len(actions))
	}
	for a, n := range seen {
		if n != 1 {
			t.Errorf("%s is in %d shards", a.Plugin, n)
		}
	}
	if got := ShardActions(actions, matrix.Shard{}); len(got) != len(actions) {
		t.Errorf("no shard: %d actions", len(got))
	}
}

// TestShardsMerge: two shards build disjoint halves of a repository's
// plugin versions into the same dist/ path (as CI runners do, one after
// the other here); their dist/plugins and dist/.work/build, gathered into
// one dist/, make a complete build in which no go build runs.
func TestShardsMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugins")
	}
	files := map[string]string{"teams/t/team.yaml": "name: t\nowners: [\"@t\"]\nplugins:\n"}
	for _, p := range []string{"a", "b", "c", "d"} {
		files["teams/t/team.yaml"] += "  - name: " + p + "\n    source: t/" + p + "\n    version: 1.0.0\n"
		files["plugin_sources/t/"+p+"/main.go"] = pluginSource(`"` + p + `"`)
	}
	mod := newModule(t, files)
	dist := filepath.Join(mod, "dist")
	gathered := t.TempDir()
	for i := 1; i <= 2; i++ {
		var out bytes.Buffer
		if err := Main(context.Background(), Selection{}, Options{Root: mod, Shard: matrix.Shard{Index: i, Count: 2}}, &out); err != nil {
			t.Fatalf("shard %d/2: %v\n%s", i, err, out.String())
		}
		if !strings.Contains(out.String(), fmt.Sprintf("shard %d/2: 2 of 4 plugin builds", i)) {
			t.Errorf("shard %d/2 output:\n%s", i, out.String())
		}
		for _, dir := range []string{"plugins", ".work/build"} {
			if err := os.MkdirAll(filepath.Join(gathered, dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("cp", "-a", filepath.Join(dist, dir)+"/.", filepath.Join(gathered, dir)).CombinedOutput(); err != nil {
				t.Fatalf("gathering %s: %v %s", dir, err, out)
			}
		}
		if err := os.RemoveAll(dist); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(gathered, dist); err != nil {
		t.Fatal(err)
	}
	s := keyedBuild(t, mod)
	if got := ran(s); len(got) != 0 {
		t.Errorf("merging the shards ran go build for %q; want none", got)
	}
	if n := s.Count(UpToDate); n != 4 {
		t.Errorf("%d of 4 up to date after merging", n)
	}
}
