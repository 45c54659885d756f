package build

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/progress"
)

// newModule writes a scratch copy of this module with files (slash paths).
func newModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := plugtest.Module(root, dir, files); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := plugtest.WriteFile(path, data); err != nil {
		t.Fatal(err)
	}
}

func pluginSource(message string) string {
	return `package main

import "github.com/plugship/plugship/contract"

var version = "dev"

type p struct{}

func (p) Version() string    { return version }
func (p) IsAcceptable() bool { return ` + message + ` != "" }

func Showcase() contract.Plugin { return p{} }

func main() {}
`
}

const acmeManifest = `name: acme
owners: [dev@example.com]
plugins:
  - name: good
    source: acme/good
    version: 1.0.0
  - name: steady
    source: acme/steady
    version: 1.0.0
  - name: broken
    source: acme/broken
    version: 1.0.0
  - name: noversion
    source: acme/noversion
    version: 1.0.0
`

const badManifest = `name: bad
owners: [x@example.com]
colour: red
plugins:
  - name: thing
    source: bad/thing
    version: "1.0"
`

// TestFailuresAndIncrementalRebuild drives the build through what a team
// sees day to day: a registry with problems, a plugin that does not
// compile, and a change to one plugin among several.
func TestFailuresAndIncrementalRebuild(t *testing.T) {
	t.Setenv(progress.VerboseEnv, "")
	mod := newModule(t, map[string]string{
		"teams/acme/team.yaml":                  acmeManifest,
		"teams/bad/team.yaml":                   badManifest,
		"plugin_sources/acme/good/main.go":      pluginSource(`"one"`),
		"plugin_sources/acme/good/main_test.go": "package main\n\nthis is not Go, and the build must not read it\n",
		"plugin_sources/acme/steady/main.go":    pluginSource(`"steady"`),
		"plugin_sources/acme/broken/main.go":    pluginSource(`"fine for now"`),
		"plugin_sources/acme/noversion/main.go": strings.Replace(pluginSource(`"x"`), `var version = "dev"`, `var v = "dev"`, 1) + "\nvar version = 3\n",
		"plugin_sources/bad/thing/main.go":      pluginSource(`"x"`),
	})
	opts := Options{Root: mod}
	ctx := context.Background()
	file := func(plugin string) string {
		t.Helper()
		f, err := plugtest.Find(filepath.Join(mod, "dist/plugins/acme", plugin), plugin, "1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}

	// First build: the registry problem and the bad plugin are reported,
	// the good plugins are built anyway, and the run fails.
	var out bytes.Buffer
	err := Main(ctx, Selection{}, opts, &out)
	if err == nil {
		t.Fatalf("build with registry problems succeeded:\n%s", out.String())
	}
	for _, want := range []string{
		"teams/bad/team.yaml:3: colour: unknown field",
		"built      acme/good v1.0.0",
		"built      acme/steady v1.0.0",
		"built      acme/broken v1.0.0",
		"FAILED     acme/noversion v1.0.0",
		"plugin_sources/acme/noversion/main.go:16:5: var version must be a string",
		"3 built, 0 up to date, 1 failed, of 4 plugin builds",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("first build output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(err.Error(), "problems in the team registry") || !strings.Contains(err.Error(), "acme/noversion v1.0.0") {
		t.Errorf("error %q does not name both the registry and the failed plugin", err)
	}
	brokenBefore, err := os.ReadFile(file("broken"))
	if err != nil {
		t.Fatal(err)
	}
	steadyBefore, err := os.Stat(file("steady"))
	if err != nil {
		t.Fatal(err)
	}

	// Change one plugin and break another: only the changed one is
	// relinked, the broken one fails with the compiler's message naming
	// its real source file, and its previous good file is kept.
	writeFile(t, filepath.Join(mod, "plugin_sources/acme/good/main.go"), pluginSource(`"two"`))
	writeFile(t, filepath.Join(mod, "plugin_sources/acme/broken/main.go"), pluginSource(`42`))
	out.Reset()
	err = Main(ctx, Selection{Team: "acme"}, opts, &out)
	if err == nil {
		t.Fatalf("build with a compile error succeeded:\n%s", out.String())
	}
	for _, want := range []string{
		"built      acme/good v1.0.0",
		"FAILED     acme/broken v1.0.0",
		"plugin_sources/acme/broken/main.go:10:",
		"1 built, 1 up to date, 2 failed, of 4 plugin builds",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("second build output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "_plugship") {
		t.Errorf("output shows the virtual package path instead of the source folder:\n%s", out.String())
	}
	if strings.Contains(out.String(), "up-to-date") {
		t.Errorf("a line for an up-to-date build, without %s=1:\n%s", progress.VerboseEnv, out.String())
	}
	if got, _ := os.ReadFile(file("broken")); !bytes.Equal(got, brokenBefore) {
		t.Errorf("the failed build changed the previous good %s", file("broken"))
	}
	m, err := artifact.ReadMetadata(file("broken") + artifact.MetadataSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(file("broken")); err != nil {
		t.Errorf("previous good file no longer matches its metadata: %v", err)
	}
	if st, _ := os.Stat(file("steady")); !os.SameFile(st, steadyBefore) || !st.ModTime().Equal(steadyBefore.ModTime()) {
		t.Errorf("the unchanged plugin was rewritten")
	}
	entries, _ := os.ReadDir(filepath.Dir(file("good")))
	for _, e := range entries {
		if artifact.IsTemporary(e.Name()) {
			t.Errorf("temporary file %s left in the output folder", e.Name())
		}
	}

	// Verbose: the up-to-date builds get their lines too.
	t.Setenv(progress.VerboseEnv, "1")
	out.Reset()
	Main(ctx, Selection{Team: "acme"}, opts, &out)
	for _, want := range []string{"up-to-date acme/good v1.0.0", "up-to-date acme/steady v1.0.0", "FAILED     acme/broken v1.0.0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("verbose build output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPlanGivesEachVersionItsOwnPackage(t *testing.T) {
	actions, err := Plan(examples.reg, Selection{Team: "showcase", Plugin: "showcase"}, examples.targets[:1], examples.opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(actions) != 2 {
		t.Fatalf("planned %d showcase versions, want 2", len(actions))
	}
	if actions[0].Version != "0.2.0" || actions[1].Version != "0.1.0" {
		t.Errorf("versions %s, %s; want newest first", actions[0].Version, actions[1].Version)
	}
	for _, a := range actions {
		if a.Err != nil {
			t.Errorf("%s: %v", a.ID(), a.Err)
		}
		wantPkg := "github.com/plugship/plugship/" + a.Source + "/_plugship/v" + a.Version
		if a.Package != wantPkg {
			t.Errorf("%s: package %s, want %s", a.ID(), a.Package, wantPkg)
		}
		if !slices.Contains(a.Args, "-ldflags=-X="+wantPkg+".version="+a.Version) {
			t.Errorf("%s: args %q do not set the version", a.ID(), a.Args)
		}
		for _, want := range []string{"-buildmode=plugin", "-trimpath", a.Package} {
			if !slices.Contains(a.Args, want) {
				t.Errorf("%s: args %q lack %s", a.ID(), a.Args, want)
			}
		}
		for virtual, real := range a.Overlay {
			if filepath.Base(virtual) != filepath.Base(real) || filepath.Dir(real) != filepath.Join(root, a.Source) {
				t.Errorf("%s: overlay maps %s to %s", a.ID(), virtual, real)
			}
		}
		if len(a.Overlay) == 0 {
			t.Errorf("%s: empty overlay", a.ID())
		}
	}
	if actions[0].Staging == actions[1].Staging || actions[0].OverlayFile == actions[1].OverlayFile {
		t.Errorf("two versions share scratch files")
	}
}

func TestSelection(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Selection
		err  string
	}{
		{in: "payments", want: Selection{Team: "payments"}},
		{in: "payments/fraud", want: Selection{Team: "payments", Plugin: "fraud"}},
		{in: "", err: "team in"},
		{in: "payments/", err: "plugin in"},
		{in: "../etc", err: "team in"},
		{in: "payments/fraud/x", err: "plugin in"},
	} {
		got, err := ParseSelection(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSelection(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSelection(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		sel  Selection
		want string
	}{
		{Selection{Team: "nobody"}, `no valid team "nobody" in teams/ (teams: `},
		{Selection{Team: "payments", Plugin: "nothing"}, `team payments has no valid plugin "nothing" (plugins: fraud, ledger)`},
	} {
		_, err := Plan(examples.reg, tc.sel, examples.targets, examples.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Plan(%+v) = %v, want error containing %q", tc.sel, err, tc.want)
		}
	}
}
