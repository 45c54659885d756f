package compat

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/plugtest"
)

// TestStalePluginsNotTried: the matrix lists, in the module's own dist/,
// only the plugin files its manifests claim: not a removed version, a
// removed plugin, a removed team's, nor those of a team whose manifest has
// problems. In another folder, every file.
func TestStalePluginsNotTried(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	if err := plugtest.Module(root, mod, map[string]string{
		"teams/pay/team.yaml":              "name: pay\nowners: [\"@p\"]\nplugins:\n  - name: fraud\n    source: pay/fraud\n    version: 1.3.0\n",
		"teams/lab/team.yaml":              "name: lab\nowners: [\"@l\"]\nplugins:\n  - name: up\n    source: lab/up\n    version: 1.0\n",
		"plugin_sources/pay/fraud/main.go": "package main\n",
		"plugin_sources/lab/up/main.go":    "package main\n",
	}); err != nil {
		t.Fatal(err)
	}
	opts, err := Options{Root: mod}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"pay/fraud@1.3.0": "pay/fraud/fraud_v1.3.0",
		"pay/fraud@1.2.0": "pay/fraud/fraud_v1.2.0",
		"pay/old@1.0.0":   "pay/old/old_v1.0.0",
		"gone/x@1.0.0":    "gone/x/x_v1.0.0",
		"lab/up@1.0.0":    "lab/up/up_v1.0.0",
	}
	for dist, want := range map[string][]string{
		opts.Dist:                 {"pay/fraud@1.3.0"},
		filepath.Join(mod, "out"): {"gone/x@1.0.0", "lab/up@1.0.0", "pay/fraud@1.2.0", "pay/fraud@1.3.0", "pay/old@1.0.0"},
	} {
		for _, f := range files {
			path := filepath.Join(dist, artifact.PluginsDir, f+"_"+runtime.GOOS+"_"+runtime.GOARCH+"_go1.26.8-1a2b3c4d.so")
			if err := plugtest.WriteFile(path, "not a plugin"); err != nil {
				t.Fatal(err)
			}
		}
		o := opts
		o.Dist = dist
		ps, err := plugins(o)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.Team+"/"+p.Plugin+"@"+p.Version)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: plugins %q, want %q", dist, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(opts.Dist, "plugins/gone")); err != nil {
		t.Errorf("the matrix moved or removed a stale file: %v", err)
	}
}
