package install

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
)

// apply and Rollback on a real folder: with a file name that holds the
// version, the folder always holds one file of the plugin, the replaced
// one is kept outside the *.so names, and two rollbacks come back to the
// start. A file plugship did not put there is kept too.
func TestApplyAndRollback(t *testing.T) {
	cache, dir := t.TempDir(), t.TempDir()
	opts := Options{Dir: dir, Name: "{plugin}-{version}.so", Plugins: []string{"greeter"}}
	plan := func(version string) *Plan {
		t.Helper()
		src := filepath.Join(cache, "greeter_v"+version+".so")
		if err := os.WriteFile(src, []byte("greeter "+version), 0o644); err != nil {
			t.Fatal(err)
		}
		sum, _, err := artifact.HashFile(src)
		if err != nil {
			t.Fatal(err)
		}
		target, err := opts.target("greeter", version)
		if err != nil {
			t.Fatal(err)
		}
		return &Plan{Plugin: "greeter", Chosen: &Candidate{File: filepath.Base(src), Version: version}, Target: target, Change: "install", source: src, sha256: sum}
	}
	folder := func(want map[string]string) {
		t.Helper()
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			if e.Name() != StateDir {
				names = append(names, e.Name())
			}
		}
		var wantNames []string
		for n := range want {
			wantNames = append(wantNames, n)
		}
		slices.Sort(wantNames)
		if !slices.Equal(names, wantNames) {
			t.Fatalf("the folder holds %v, want %v", names, wantNames)
		}
		for n, content := range want {
			if data, _ := os.ReadFile(filepath.Join(dir, n)); string(data) != content {
				t.Errorf("%s holds %q, want %q", n, data, content)
			}
		}
		kept, _ := filepath.Glob(filepath.Join(dir, StateDir, "*.so"))
		if len(kept) > 0 {
			t.Errorf("state files a host would open: %v", kept)
		}
	}

	// A file someone put there by hand, under the name 1.0.0 takes.
	if err := os.WriteFile(filepath.Join(dir, "greeter-1.0.0.so"), []byte("by hand"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := apply(opts, plan("1.0.0")); err != nil {
		t.Fatal(err)
	}
	folder(map[string]string{"greeter-1.0.0.so": "greeter 1.0.0"})
	if err := apply(opts, plan("2.0.0")); err != nil {
		t.Fatal(err)
	}
	folder(map[string]string{"greeter-2.0.0.so": "greeter 2.0.0"})

	done, err := Rollback(opts)
	if err != nil || len(done) != 1 || !strings.Contains(done[0], "greeter: 2.0.0 -> 1.0.0") {
		t.Fatalf("Rollback = %v, %v", done, err)
	}
	folder(map[string]string{"greeter-1.0.0.so": "greeter 1.0.0"})
	if _, err := Rollback(opts); err != nil {
		t.Fatal(err)
	}
	folder(map[string]string{"greeter-2.0.0.so": "greeter 2.0.0"})

	// The hand-made file came back from the first install's replace.
	other := Options{Dir: t.TempDir(), Plugins: []string{"greeter"}}
	if err := os.WriteFile(filepath.Join(other.Dir, "greeter.so"), []byte("by hand"), 0o755); err != nil {
		t.Fatal(err)
	}
	opts = other
	opts.Name = DefaultName
	if err := apply(opts, plan("1.0.0")); err != nil {
		t.Fatal(err)
	}
	if _, err := Rollback(opts); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(other.Dir, "greeter.so")); string(data) != "by hand" {
		t.Errorf("rollback over a hand-made file gave %q, want it back", data)
	}
}
