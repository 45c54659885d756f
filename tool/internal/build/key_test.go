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
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/teams"
)

// keyedBuild builds every plugin of mod for ps the way Main does (Targets,
// Plan, Keys, Run) and returns the summary, failing the test on any
// failure.
func keyedBuild(t *testing.T, mod string, ps ...profile.Profile) Summary {
	t.Helper()
	ctx := context.Background()
	if len(ps) == 0 {
		ps = []profile.Profile{profile.Default()}
	}
	opts := Options{Root: mod}
	reg, err := teams.Load(mod)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := Targets(ctx, ps, opts)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := Plan(reg, Selection{}, targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Keys(ctx, actions, opts); err != nil {
		t.Fatal(err)
	}
	for _, a := range actions {
		if a.Key == "" {
			t.Fatalf("%s: no key: %v", a.ID(), a.KeyErr)
		}
	}
	var out bytes.Buffer
	s := Run(ctx, actions, opts, &out)
	if err := s.Err(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return s
}

// ran lists the actions whose go build ran, by plugin and version.
func ran(s Summary) []string {
	var ids []string
	for _, r := range s.Results {
		if r.GoBuild {
			ids = append(ids, r.Action.Plugin+"@"+r.Action.Version)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestKeySkipsAndRebuilds: with nothing changed no go build runs; a change
// to each kind of input the build reads runs go build again for exactly
// the plugins that read it, and a missing or damaged file is built again.
func TestKeySkipsAndRebuilds(t *testing.T) {
	mod := t.TempDir()
	newFleet(t, mod, 3, "key") // p000@1.1.0 and @1.0.0, p001@1.1.0
	all := []string{"p000@1.0.0", "p000@1.1.0", "p001@1.1.0"}
	check := func(what string, s Summary, want ...string) {
		t.Helper()
		if got := ran(s); !slices.Equal(got, want) {
			t.Errorf("%s: go build ran for %q, want %q", what, got, want)
		}
		for _, r := range s.Results {
			if r.Outcome == Failed {
				t.Errorf("%s: %s failed: %v", what, r.Action.ID(), r.Err)
			}
		}
	}
	noop := func(what string, ps ...profile.Profile) {
		t.Helper()
		check(what+", then nothing changed", keyedBuild(t, mod, ps...))
	}

	s := keyedBuild(t, mod)
	check("first build", s, all...)
	if s.Count(Built) != 3 {
		t.Errorf("first build: %d built, want 3", s.Count(Built))
	}
	noop("first build")

	// A plugin's own file, and a new file in its folder.
	appendTo(t, mod, "plugin_sources/fleet00/p001/main.go", "\n// changed\n")
	s = keyedBuild(t, mod)
	check("a plugin file changed", s, "p001@1.1.0")
	for _, r := range s.Results {
		if want := filepath.Join(mod, "plugin_sources/fleet00/p001/main.go"); r.GoBuild && !strings.Contains(r.Why, want) {
			t.Errorf("%s: why %q does not name %s", r.Action.ID(), r.Why, want)
		}
	}
	noop("a plugin file changed")
	writeFile(t, filepath.Join(mod, "plugin_sources/fleet00/p001/notes.txt"), "not Go, but in the overlay\n")
	check("a file added to a plugin folder", keyedBuild(t, mod), "p001@1.1.0")

	// A helper package of the module, and the contract.
	appendTo(t, mod, fleetHelper+"/helper.go", "\n// changed\n")
	check("the helper package changed", keyedBuild(t, mod), all...)
	noop("the helper package changed")
	writeFile(t, filepath.Join(mod, fleetHelper, "extra.go"), "package fleethelper\n\nconst Extra = 1\n")
	check("a file added to the helper package", keyedBuild(t, mod), all...)
	appendTo(t, mod, "contract/contract.go", "\n// changed\n")
	check("the contract changed", keyedBuild(t, mod), all...)
	noop("the contract changed")

	// go.mod and go.sum.
	appendTo(t, mod, "go.mod", "\n// changed\n")
	check("go.mod changed", keyedBuild(t, mod), all...)
	appendTo(t, mod, "go.sum", "example.com/unused v1.0.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	check("go.sum changed", keyedBuild(t, mod), all...)
	noop("go.sum changed")

	// A module replaced by a local folder, imported by the helper, and a
	// file the helper embeds.
	local := t.TempDir()
	writeFile(t, filepath.Join(local, "go.mod"), "module example.com/local\n\ngo 1.22\n")
	writeFile(t, filepath.Join(local, "lib/lib.go"), "package lib\n\nconst Name = \"local\"\n")
	appendTo(t, mod, "go.mod", "\nrequire example.com/local v0.0.0\n\nreplace example.com/local => "+local+"\n")
	writeFile(t, filepath.Join(mod, fleetHelper, "uses.go"), "package fleethelper\n\nimport (\n\t_ \"embed\"\n\n\t\"example.com/local/lib\"\n)\n\n//go:embed data.txt\nvar Data string\n\nvar Name = lib.Name\n")
	writeFile(t, filepath.Join(mod, fleetHelper, "data.txt"), "one\n")
	check("a replaced module and an embedded file added", keyedBuild(t, mod), all...)
	noop("a replaced module and an embedded file added")
	appendTo(t, local, "lib/lib.go", "\nconst More = 1\n")
	check("a file of the replaced module changed", keyedBuild(t, mod), all...)
	writeFile(t, filepath.Join(local, "go.mod"), "module example.com/local\n\ngo 1.23\n")
	check("the replaced module's go.mod changed", keyedBuild(t, mod), all...)
	writeFile(t, filepath.Join(mod, fleetHelper, "data.txt"), "two\n")
	check("an embedded file changed", keyedBuild(t, mod), all...)
	noop("an embedded file changed")

	// The environment: a C flag and a caller's C include path.
	t.Setenv("CGO_CFLAGS", "-O2 -g -DPLUGSHIP_KEY_TEST=1")
	s = keyedBuild(t, mod)
	check("CGO_CFLAGS changed", s, all...)
	if why := s.Results[0].Why; why != "goenv CGO_CFLAGS=-O2 -g -DPLUGSHIP_KEY_TEST=1" {
		t.Errorf("after a change to CGO_CFLAGS, why %q", why)
	}
	noop("CGO_CFLAGS changed")
	t.Setenv("CPATH", t.TempDir())
	check("CPATH changed", keyedBuild(t, mod), all...)
	// The profile empties GOFLAGS in the environment, but go build still
	// reads it from the go env file (go env -w).
	goenv := filepath.Join(t.TempDir(), "env")
	writeFile(t, goenv, "GOFLAGS=-tags=plugship_goflags\n")
	t.Setenv("GOENV", goenv)
	s = keyedBuild(t, mod)
	check("GOFLAGS set with go env -w", s, all...)
	if why := s.Results[0].Why; why != "goenv GOFLAGS=-tags=plugship_goflags" {
		t.Errorf("after go env -w GOFLAGS=..., why %q", why)
	}
	noop("GOFLAGS set with go env -w")

	// A flag of the profile.
	tagged := profile.Default()
	tagged.Flags = append(tagged.Flags, "-tags=plugship_key_test")
	check("a flag added", keyedBuild(t, mod, tagged), all...)
	noop("a flag added", tagged)
	check("the flag removed", keyedBuild(t, mod), all...)

	// The output: deleted, damaged in place, its metadata deleted.
	files := map[string]string{}
	for _, r := range keyedBuild(t, mod).Results {
		files[r.Action.Plugin+"@"+r.Action.Version] = r.File
	}
	if err := os.Remove(files["p000@1.0.0"]); err != nil {
		t.Fatal(err)
	}
	check("a file deleted", keyedBuild(t, mod), "p000@1.0.0")
	damage(t, files["p001@1.1.0"])
	check("a file damaged", keyedBuild(t, mod), "p001@1.1.0")
	for id, f := range files {
		m, err := artifact.ReadMetadata(f + artifact.MetadataSuffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Check(f); err != nil {
			t.Errorf("%s after the rebuilds: %v", id, err)
		}
	}
	meta := files["p000@1.1.0"] + artifact.MetadataSuffix
	if err := os.Remove(meta); err != nil {
		t.Fatal(err)
	}
	noop("the metadata deleted")
	if _, err := os.Stat(meta); err != nil {
		t.Errorf("the metadata was not written again: %v", err)
	}

	// A state file that is not one: built again.
	writeFile(t, filepath.Join(mod, "dist", filepath.FromSlash(workDir), profile.DefaultName, "fleet00", "p000", "p000_v1.1.0.state.json"), `{"Key": "trunc`)
	check("a damaged state file", keyedBuild(t, mod), "p000@1.1.0")
	noop("a damaged state file")
}

// TestKeyToolchain: the same profile built by another Go release runs go
// build again, and back.
func TestKeyToolchain(t *testing.T) {
	other := otherGoTarget(t)
	mod := t.TempDir()
	newFleet(t, mod, 1, "toolchain")
	if got := ran(keyedBuild(t, mod)); len(got) != 1 {
		t.Fatalf("first build ran %q", got)
	}
	p := profile.Default()
	p.Go = other.Env.GoVersion
	if got := ran(keyedBuild(t, mod, p)); len(got) != 1 {
		t.Errorf("with %s: go build ran for %q, want the plugin", p.Go, got)
	}
	if got := ran(keyedBuild(t, mod, p)); len(got) != 0 {
		t.Errorf("with %s again: go build ran for %q", p.Go, got)
	}
	if got := ran(keyedBuild(t, mod)); len(got) != 1 {
		t.Errorf("back to the go on PATH: go build ran for %q, want the plugin", got)
	}
}

// damage overwrites the middle of a file with as many other bytes, so
// its size stays the same.
func damage(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(data) / 2; i < len(data)/2+8 && i < len(data); i++ {
		data[i] ^= 0xff
	}
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestKeyInputs: the key's inputs name the plugin's files (through the
// overlay), the module's helper package and the contract, module versions
// from the module cache by version only, the toolchain's programs and
// the go env; and no standard-library package.
func TestKeyInputs(t *testing.T) {
	mod := t.TempDir()
	newFleet(t, mod, 1, "inputs")
	ctx := context.Background()
	opts := Options{Root: mod}
	reg, err := teams.Load(mod)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := Targets(ctx, []profile.Profile{profile.Default()}, opts)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := Plan(reg, Selection{}, targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Keys(ctx, actions, opts); err != nil {
		t.Fatal(err)
	}
	a := actions[0]
	in := strings.Join(a.Inputs, "\n")
	for _, want := range []string{
		keySchema,
		"overlay " + filepath.Join(a.VirtualDir, "main.go") + " " + filepath.Join(mod, "plugin_sources/fleet00/p000/main.go") + " ",
		"file " + filepath.Join(mod, fleetHelper, "helper.go") + " ",
		"file " + filepath.Join(mod, "contract/contract.go") + " ",
		"file " + filepath.Join(mod, "go.mod") + " ",
		"file " + filepath.Join(mod, "go.sum") + " ",
		"goenv CGO_CFLAGS=",
		"goenv GOVERSION=",
		"/compile buildid ",
		"/link buildid ",
		"\nplugship buildid ",
		"\ncc-says gcc version ",
		"args build -buildmode=plugin",
	} {
		if !strings.Contains(in, want) {
			t.Errorf("inputs lack %q:\n%s", want, in)
		}
	}
	for _, bad := range []string{"package fmt ", "package runtime ", "GOGCCFLAGS", "GOCACHE="} {
		if strings.Contains(in, bad) {
			t.Errorf("inputs have %q:\n%s", bad, in)
		}
	}
	if len(a.Key) != 64 {
		t.Errorf("key %q", a.Key)
	}
}
