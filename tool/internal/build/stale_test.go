package build

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/stale"
	"github.com/plugship/plugship/tool/internal/teams"
)

// staleRegistry lists pay/fraud 1.3.0 alone.
func staleRegistry() *teams.Registry {
	return &teams.Registry{Teams: []*teams.Team{{Name: "pay", File: "teams/pay/team.yaml", Plugins: []*teams.Plugin{{Team: "pay", Name: "fraud", Version: "1.3.0"}}}}}
}

func touch(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		writeFile(t, f, "x")
	}
}

// TestStaleMoveLeftovers moves what an interrupted move left (files beside
// a .so already moved), leaves temporary and foreign files and the folders
// that still hold them, and names a file it cannot move with what to do,
// without failing.
func TestStaleMoveLeftovers(t *testing.T) {
	root := t.TempDir()
	dist := filepath.Join(root, "dist")
	dir := filepath.Join(dist, "plugins", "pay", "fraud")
	so := "fraud_v1.2.0_linux_amd64_go1.26.8-1a2b3c4d.so"
	keep := []string{
		filepath.Join(dir, "fraud_v1.3.0_linux_amd64_go1.26.8-1a2b3c4d.so"),
		filepath.Join(dir, "fraud_v1.3.0_linux_amd64_go1.26.8-1a2b3c4d.so.sig"),
		filepath.Join(dir, "."+so+"12345"), // an atomic writer's temporary file
		filepath.Join(dir, "NOTES"),
	}
	touch(t, keep...)
	touch(t, filepath.Join(dir, so+".sig"), filepath.Join(dir, so+".intoto.json"))
	var out bytes.Buffer
	now := time.Date(2026, 5, 1, 10, 20, 30, 0, time.UTC)
	moveStale(&out, root, dist, staleRegistry(), nil, now)
	want := "stale: 2 leftover files of pay/fraud v1.2.0, no longer in teams/pay/team.yaml, which lists v1.3.0; moved to dist/.stale/20260501-102030/pay/fraud/\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	for _, f := range keep {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{so + ".sig", so + ".intoto.json"} {
		if _, err := os.Stat(filepath.Join(dist, stale.Dir, "20260501-102030/pay/fraud", f)); err != nil {
			t.Errorf("not moved: %v", err)
		}
	}

	// A stale file that cannot be moved (its destination is a folder).
	old := filepath.Join(dist, "plugins", "pay", "old", "old_v1.0.0_linux_amd64_go1.26.8-1a2b3c4d.so")
	touch(t, old, filepath.Join(dist, stale.Dir, "20260501-102031/pay/old", filepath.Base(old), "x"))
	out.Reset()
	moveStale(&out, root, dist, staleRegistry(), nil, now.Add(time.Second))
	for _, w := range []string{"stale: 1 file of pay/old, no longer in teams/pay/team.yaml; could not move 1 of its 1 files to dist/.stale/20260501-102031/pay/old", "dist/plugins/pay/old/old_v1.0.0_", "move or delete them by hand"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("the file that could not be moved is gone: %v", err)
	}
}

// BenchmarkStaleScan is what a no-op build pays for the stale scan: the
// listing of dist/plugins and its classification, nothing stale, for 20
// plugins of 3 versions for 2 ABIs, each with its four companions (600
// files).
func BenchmarkStaleScan(b *testing.B) {
	root := b.TempDir()
	dist := filepath.Join(root, "dist")
	reg := &teams.Registry{}
	team := &teams.Team{Name: "pay", File: "teams/pay/team.yaml"}
	reg.Teams = append(reg.Teams, team)
	for i := range 20 {
		p := &teams.Plugin{Team: "pay", Name: fmt.Sprintf("p%d", i), Version: "1.2.0", Previous: []teams.Release{{Version: "1.1.0"}, {Version: "1.0.0"}}}
		team.Plugins = append(team.Plugins, p)
		for _, r := range p.Releases() {
			for _, abi := range []string{"go1.26.8-1a2b3c4d", "go1.25.5-22d1e736"} {
				f := filepath.Join(artifact.PluginDir(dist, "pay", p.Name), artifact.Name{Plugin: p.Name, Version: r.Version, GOOS: "linux", GOARCH: "amd64", ABI: abi}.String())
				for _, s := range []string{"", ".json", ".sig", ".sigstore.json", ".intoto.json"} {
					if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
						b.Fatal(err)
					}
					if err := os.WriteFile(f+s, nil, 0o644); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	var out bytes.Buffer
	for b.Loop() {
		moveStale(&out, root, dist, reg, nil, time.Now())
	}
	if out.Len() > 0 {
		b.Fatalf("stale in a clean dist:\n%s", out.String())
	}
}
