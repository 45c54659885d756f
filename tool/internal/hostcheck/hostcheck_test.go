package hostcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/tool/internal/plugtest"
)

// TestMain points every go command of the tests at a module proxy made in
// the test, falling back to the module cache (its download folder is a
// file:// proxy too), so that nothing needs the network.
func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "hostcheck-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	proxyDir = filepath.Join(tmp, "proxy")
	env, err := plugtest.OfflineEnv(proxyDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env["GOTOOLCHAIN"] = "local"
	// A module cache of the tests' own: the fake modules of the proxy
	// never reach the user's.
	env["GOMODCACHE"] = filepath.Join(tmp, "modcache")
	for k, v := range env {
		os.Setenv(k, v)
	}
	code := m.Run()
	exec.Command("go", "clean", "-modcache").Run() // its files are read-only
	os.RemoveAll(tmp)
	os.Exit(code)
}

var proxyDir string

// fixture is built once, when a test first needs it.
type fixture struct {
	repo       string // plugin repository requiring example.com/shared v1.2.0; copy it before changing it
	adopter    string // plugin repository that requires (fake) plugship, which requires example.com/shared v1.2.0
	host11     string // host linking example.com/shared v1.1.0, -trimpath
	host12     string // host linking v1.2.0, -trimpath
	untrimmed  string // host linking v1.2.0, built without -trimpath
	noPlugin   string // a program that does not import plugin
	sharedPlug string // label of the plugin that imports example.com/shared
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func getFixture(t *testing.T) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("builds hosts with the go command")
	}
	fixOnce.Do(func() { fix, fixErr = build(filepath.Dir(proxyDir)) })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

// fakePlugship is a module with plugship's path, for a plugin repository
// that depends on plugship: it requires example.com/shared v1.2.0.
var fakePlugship = map[string]string{
	"go.mod":       "module github.com/plugship/plugship\n\ngo 1.22\n\nrequire example.com/shared v1.2.0\n",
	"targets/t.go": "// Package targets stands for plugship's targets.\npackage targets\n\nimport \"example.com/shared\"\n\n// V is shared's version.\nfunc V() string { return shared.Version() }\n",
}

// writeProxy lays out example.com/shared v1.1.0 and v1.2.0, and
// fakePlugship as github.com/plugship/plugship v0.0.1, as a file:// module
// proxy in dir.
func writeProxy(tmp, dir string) error {
	if err := writeModule(tmp, dir, "example.com/shared", map[string]map[string]string{"v1.1.0": plugtest.SharedModule("v1.1.0"), "v1.2.0": plugtest.SharedModule("v1.2.0")}); err != nil {
		return err
	}
	return writeModule(tmp, dir, "github.com/plugship/plugship", map[string]map[string]string{"v0.0.1": fakePlugship})
}

// writeModule writes versions of module mod (version -> files) into the
// proxy folder dir.
func writeModule(tmp, dir, mod string, files map[string]map[string]string) error {
	return plugtest.ProxyModule(tmp, dir, mod, files)
}

const hostMain = `package main

import (
	"fmt"
	"plugin"

	"example.com/shared"
)

func main() {
	fmt.Println(shared.Version())
	if len(fmt.Sprint()) > 0 {
		plugin.Open("none")
	}
}
`

// writeHost writes a host module requiring example.com/shared at version,
// with a main package that imports plugin and one, ./noplugin, that does
// not.
func writeHost(dir, version string) error {
	files := map[string]string{
		"go.mod":           "module example.com/host\n\ngo 1.22\n\nrequire example.com/shared " + version + "\n",
		"main.go":          hostMain,
		"noplugin/main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/shared\"\n)\n\nfunc main() { fmt.Println(shared.Version()) }\n",
	}
	for name, data := range files {
		if err := plugtest.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data); err != nil {
			return err
		}
	}
	return plugtest.Go(dir, "mod", "tidy")
}

func build(tmp string) (*fixture, error) {
	if err := writeProxy(tmp, proxyDir); err != nil {
		return nil, fmt.Errorf("writing the proxy: %w", err)
	}
	root, err := plugtest.Root()
	if err != nil {
		return nil, err
	}
	f := &fixture{repo: filepath.Join(tmp, "repo"), sharedPlug: "lab/uses"}
	err = plugtest.Module(root, f.repo, map[string]string{
		"teams/lab/team.yaml":              "name: lab\nowners:\n  - \"@lab\"\nplugins:\n  - name: uses\n    source: lab/uses\n    version: 1.0.0\n  - name: plain\n    source: lab/plain\n    version: 0.1.0\n",
		"plugin_sources/lab/uses/main.go":  "package main\n\nimport \"example.com/shared\"\n\n// V is the shared module's version.\nfunc V() string { return shared.Version() }\n",
		"plugin_sources/lab/plain/main.go": "package main\n\n// V is a constant.\nfunc V() string { return \"plain\" }\n",
	})
	if err != nil {
		return nil, err
	}
	for _, args := range [][]string{{"get", "example.com/shared@v1.2.0"}, {"mod", "tidy"}} {
		if err := plugtest.Go(f.repo, args...); err != nil {
			return nil, err
		}
	}
	f.adopter = filepath.Join(tmp, "adopter")
	for name, data := range map[string]string{
		"go.mod":                          "module example.com/plugins\n\ngo 1.22\n\nrequire github.com/plugship/plugship v0.0.1\n",
		"tools.go":                        "//go:build tools\n\npackage tools\n\nimport _ \"github.com/plugship/plugship/targets\"\n",
		"teams/lab/team.yaml":             "name: lab\nowners:\n  - \"@lab\"\nplugins:\n  - name: uses\n    source: lab/uses\n    version: 1.0.0\n",
		"plugin_sources/lab/uses/main.go": "package main\n\nimport \"example.com/shared\"\n\n// V is the shared module's version.\nfunc V() string { return shared.Version() }\n",
	} {
		if err := plugtest.WriteFile(filepath.Join(f.adopter, filepath.FromSlash(name)), data); err != nil {
			return nil, err
		}
	}
	if err := plugtest.Go(f.adopter, "mod", "tidy"); err != nil {
		return nil, err
	}
	h11, h12 := filepath.Join(tmp, "host11"), filepath.Join(tmp, "host12")
	if err := writeHost(h11, "v1.1.0"); err != nil {
		return nil, err
	}
	if err := writeHost(h12, "v1.2.0"); err != nil {
		return nil, err
	}
	bin := filepath.Join(tmp, "bin")
	f.host11, f.host12 = filepath.Join(bin, "host11"), filepath.Join(bin, "host12")
	f.untrimmed, f.noPlugin = filepath.Join(bin, "untrimmed"), filepath.Join(bin, "noplugin")
	for _, b := range []struct{ dir, out, pkg, flags string }{
		{h11, f.host11, ".", "-trimpath"},
		{h12, f.host12, ".", "-trimpath"},
		{h12, f.untrimmed, ".", ""},
		{h11, f.noPlugin, "./noplugin", "-trimpath"},
	} {
		args := []string{"build", "-o", b.out}
		if b.flags != "" {
			args = append(args, b.flags)
		}
		if err := plugtest.Go(b.dir, append(args, b.pkg)...); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// copyRepo copies the fixture's plugin repository into a new folder.
func copyRepo(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func runCheck(t *testing.T, root, host string) (*Report, string, error) {
	t.Helper()
	var out bytes.Buffer
	rep, err := Check(context.Background(), Options{Root: root, Host: host}, &out)
	t.Logf("output:\n%s", out.String())
	return rep, out.String(), err
}

func TestCheckPluginNeedsNewer(t *testing.T) {
	f := getFixture(t)
	rep, out, err := runCheck(t, f.repo, f.host11)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("Check = %v, want ErrMismatch", err)
	}
	for _, want := range []string{
		"host " + f.host11 + " (go1.",
		"): 1 plugin of 2 cannot load: 1 module difference\n",
		"  lab/uses: module example.com/shared: plugins build with v1.2.0, the host links v1.1.0 — the plugin needs a newer version than the host has: lower the requirement (go run mage.go check:align " + f.host11 + ") or wait for a host release\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	want := []Difference{{Plugin: "lab/uses", Module: "example.com/shared", PluginVersion: "v1.2.0", HostVersion: "v1.1.0", Newer: PluginNewer}}
	if !slices.Equal(rep.Modules, want) || !slices.Equal(rep.Unloadable, []string{"lab/uses"}) || len(rep.Settings) != 0 {
		t.Errorf("report: modules %+v, unloadable %q, settings %v; want %+v, [lab/uses], none", rep.Modules, rep.Unloadable, rep.Settings, want)
	}
}

func TestCheckMatch(t *testing.T) {
	f := getFixture(t)
	rep, out, err := runCheck(t, f.repo, f.host12)
	if err != nil {
		t.Fatalf("Check = %v, want nil", err)
	}
	if !strings.HasSuffix(out, "): every plugin's modules, Go release and flags match\n") || !rep.OK() {
		t.Errorf("output %q, OK %v; want a match", out, rep.OK())
	}
	if !slices.Contains(rep.PluginModules["lab/uses"], "example.com/shared") || slices.Contains(rep.PluginModules["lab/plain"], "example.com/shared") {
		t.Errorf("modules by plugin = %v, want example.com/shared in lab/uses only", rep.PluginModules)
	}
}

func TestCheckTrimpath(t *testing.T) {
	f := getFixture(t)
	rep, out, err := runCheck(t, f.repo, f.untrimmed)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("Check = %v, want ErrMismatch", err)
	}
	for _, want := range []string{
		"): 2 plugins of 2 cannot load: flags differ (-trimpath)\n",
		"  -trimpath: plugins build with true, the host was built with false: build the host with -trimpath",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if len(rep.Modules) != 0 {
		t.Errorf("module differences %v, want none", rep.Modules)
	}
}

func TestCheckNoPlugin(t *testing.T) {
	f := getFixture(t)
	rep, out, err := runCheck(t, f.repo, f.noPlugin)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("Check = %v, want ErrMismatch", err)
	}
	want := "host " + f.noPlugin + " (go1."
	if !strings.HasPrefix(out, want) || !strings.Contains(out, "cannot load plugins at all: it does not import package plugin") || rep.CannotLoad == "" {
		t.Errorf("output %q, want %q... cannot load plugins at all: it does not import package plugin", out, want)
	}
}

func TestCheckNotAHost(t *testing.T) {
	f := getFixture(t)
	for _, host := range []string{filepath.Join(t.TempDir(), "missing"), filepath.Join(f.repo, "go.mod")} {
		_, _, err := runCheck(t, f.repo, host)
		if err == nil || errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), host) {
			t.Errorf("Check(%s) = %v, want an error naming the file, not a mismatch", host, err)
		}
	}
}

func TestAlign(t *testing.T) {
	f := getFixture(t)
	repo := copyRepo(t, f.repo)
	var out bytes.Buffer
	err := Align(context.Background(), Options{Root: repo, Host: f.host11}, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Align = %v", err)
	}
	for _, want := range []string{
		"go.mod: example.com/shared v1.2.0 -> v1.1.0\n",
		"after aligning: host " + f.host11 + " (go1.",
		"): every plugin's modules, Go release and flags match\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	data, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range mf.Require {
		if r.Mod.Path == "example.com/shared" {
			got = r.Mod.Version
		}
	}
	if got != "v1.1.0" {
		t.Fatalf("go.mod requires example.com/shared %q, want v1.1.0", got)
	}
	if _, _, err := runCheck(t, repo, f.host11); err != nil {
		t.Errorf("Check after Align = %v, want nil", err)
	}
	// The other host is now newer: the check says align raises it.
	_, out2, err := runCheck(t, repo, f.host12)
	want := "  lab/uses: module example.com/shared: plugins build with v1.1.0, the host links v1.2.0: go run mage.go check:align " + f.host12 + " raises it\n"
	if !errors.Is(err, ErrMismatch) || !strings.Contains(out2, want) {
		t.Errorf("Check against the newer host = %v, output lacks %q", err, want)
	}
}

func TestNewer(t *testing.T) {
	for _, tc := range []struct {
		plugin, host string
		want         Side
	}{
		{"v1.2.0", "v1.1.0", PluginNewer},
		{"v1.1.0", "v1.3.0", HostNewer},
		{"v1.1.0", "v1.1.0", Unordered},
		{"v0.0.0-20260101000000-abcdefabcdef", "v0.1.0", HostNewer},
		{"v1.2.0-rc.1", "v1.1.9", PluginNewer},
		{"=> ../shared", "v1.1.0", Unordered},
		{"v1.2.0 (example.com/fork)", "v1.1.0", Unordered},
	} {
		if got := newer(tc.plugin, tc.host); got != tc.want {
			t.Errorf("newer(%q, %q) = %q, want %q", tc.plugin, tc.host, got, tc.want)
		}
	}
}

func TestCompareModules(t *testing.T) {
	plugin := map[string]string{"a.com/x": "v1.2.0", "b.com/y": "v0.1.0", "c.com/z": "v1.0.0", "d.com/only": "v1.0.0"}
	host := map[string]string{"a.com/x": "v1.1.0", "b.com/y": "v0.3.0", "c.com/z": "v1.0.0", "e.com/host": "v2.0.0"}
	got := compareModules("t/p", plugin, host)
	want := []Difference{
		{Plugin: "t/p", Module: "a.com/x", PluginVersion: "v1.2.0", HostVersion: "v1.1.0", Newer: PluginNewer},
		{Plugin: "t/p", Module: "b.com/y", PluginVersion: "v0.1.0", HostVersion: "v0.3.0", Newer: HostNewer},
	}
	if !slices.Equal(got, want) {
		t.Errorf("compareModules = %+v, want %+v", got, want)
	}
}

func TestEffective(t *testing.T) {
	for _, tc := range []struct {
		version string
		replace *listedModule
		want    string
	}{
		{"v1.0.0", nil, "v1.0.0"},
		{"v1.0.0", &listedModule{Path: "a.com/x", Version: "v1.0.1"}, "v1.0.1"},
		{"v1.0.0", &listedModule{Path: "fork.com/x", Version: "v1.0.1"}, "v1.0.1 (fork.com/x)"},
		{"v1.0.0", &listedModule{Path: "../x"}, "v1.0.0"}, // recorded as a.com/x@v1.0.0 under -trimpath
	} {
		if got := effective("a.com/x", tc.version, tc.replace); got != tc.want {
			t.Errorf("effective(%q, %+v) = %q, want %q", tc.version, tc.replace, got, tc.want)
		}
	}
}

func TestSettings(t *testing.T) {
	host := func() map[string]string {
		return map[string]string{"-buildmode": "exe", "-trimpath": "true", "CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v1", "-ldflags": "-s"}
	}
	for _, tc := range []struct {
		name   string
		flags  []string
		hostGo string
		change func(map[string]string)
		want   []string
	}{
		{"same", []string{"-trimpath"}, "go1.26.8", func(map[string]string) {}, nil},
		{"GOAMD64 and ldflags do not count", []string{"-trimpath"}, "go1.26.8", func(h map[string]string) { h["GOAMD64"] = "v3"; h["-ldflags"] = "-X a=b" }, nil},
		{"patch release", []string{"-trimpath"}, "go1.26.7", func(map[string]string) {}, []string{"go: plugin go1.26.8, host go1.26.7"}},
		{"untrimmed host", []string{"-trimpath"}, "go1.26.8", func(h map[string]string) { delete(h, "-trimpath") }, []string{"setting -trimpath: plugin true, host false"}},
		{"race host", []string{"-trimpath"}, "go1.26.8", func(h map[string]string) { h["-race"] = "true" }, []string{"setting -race: plugin false, host true"}},
		{"race both", []string{"-trimpath", "-race"}, "go1.26.8", func(h map[string]string) { h["-race"] = "true" }, nil},
		{"no flags", nil, "go1.26.8", func(h map[string]string) { h["-trimpath"] = "false" }, nil},
		{"other arch", []string{"-trimpath"}, "go1.26.8", func(h map[string]string) { h["GOARCH"] = "arm64" }, []string{"setting GOARCH: plugin amd64, host arm64"}},
	} {
		h := host()
		tc.change(h)
		var got []string
		for _, d := range compareSettings(tc.hostGo, h, "go1.26.8", pluginSettings(tc.flags, "linux", "amd64")) {
			got = append(got, d.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{settingLine(fingerprint.Difference{Kind: "go", Host: "go1.25.5", Plugin: "go1.26.8"}),
			"Go release: plugins build with go1.26.8 (the go command here), the host was built with go1.25.5: build plugins with the host's release (GOTOOLCHAIN=go1.25.5, or a profile with go: go1.25.5); a plugin of another Go minor release kills the host process at plugin.Open"},
		{settingLine(fingerprint.Difference{Kind: "setting", Name: "-race", Host: "true"}),
			"-race: plugins build with false, the host was built with true: build both with the same flags (a profile's flags: [-race] builds plugins with it)"},
		{moduleLine(Difference{Plugin: "t/p", Module: "m", PluginVersion: "=> ../m", HostVersion: "v1.0.0"}, "h"),
			"t/p: module m: plugins build with => ../m, the host links v1.0.0: make both sides build the same version (a replace directive on one side only, or a pseudo-version: align does not change these)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %q\nwant %q", tc.got, tc.want)
		}
	}
}

func TestSummary(t *testing.T) {
	r := &Report{Plugins: []string{"a/x", "a/y", "b/z"}, Unloadable: []string{"a/x", "b/z"},
		Modules:  []Difference{{}, {}, {}},
		Settings: []fingerprint.Difference{{Kind: "go"}, {Kind: "setting", Name: "-trimpath"}}}
	want := "2 plugins of 3 cannot load: 3 module differences, Go release differs, flags differ (-trimpath)"
	if got := r.summary(); got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
}

func TestParseList(t *testing.T) {
	data := `{"ImportPath":"internal/abi","Standard":true}
{"ImportPath":"example.com/shared","Module":{"Path":"example.com/shared","Version":"v1.2.0"}}
{"ImportPath":"example.com/other/sub","Module":{"Path":"example.com/other","Version":"v0.1.0","Replace":{"Path":"../other"}}}
{"ImportPath":"m/contract","Module":{"Path":"m","Main":true}}
{"ImportPath":"m/src/t/a","Deps":["internal/abi","example.com/shared","m/contract"],"Module":{"Path":"m","Main":true}}
{"ImportPath":"m/src/t/b","Deps":["example.com/other/sub"],"Module":{"Path":"m","Main":true}}
`
	rels := []release{{label: "t/a", pkg: "m/src/t/a", source: "./src/t/a"}, {label: "t/b", pkg: "m/src/t/b", source: "./src/t/b"}}
	got, err := parseList([]byte(data), rels)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "map[m/src/t/a:map[example.com/shared:v1.2.0] m/src/t/b:map[example.com/other:v0.1.0]]" {
		t.Errorf("parseList = %v", got)
	}
	if _, err := parseList([]byte(data), []release{{pkg: "m/missing", source: "./missing"}}); err == nil {
		t.Error("parseList of a package go list did not list: no error")
	}
}

func TestRequirements(t *testing.T) {
	graph := "main golang.org/x/sync@v0.22.0\ngithub.com/plugship/plugship@v1.0.0 golang.org/x/sync@v0.22.0\ngithub.com/plugship/plugship@v1.0.0 golang.org/x/mod@v0.40.0\ngithub.com/plugship/plugship@v0.9.0 golang.org/x/sync@v0.30.0\n"
	got := requirements(graph, "github.com/plugship/plugship@v1.0.0")
	if fmt.Sprint(got) != "map[golang.org/x/mod:v0.40.0 golang.org/x/sync:v0.22.0]" {
		t.Errorf("requirements = %v", got)
	}
}

func TestRequireChanges(t *testing.T) {
	got := requireChanges(map[string]string{"a": "v1.2.0", "b": "v1.0.0", "c": "v1.0.0"}, map[string]string{"a": "v1.1.0", "c": "v1.0.0", "d": "v0.1.0"})
	want := []string{"a v1.2.0 -> v1.1.0", "b v1.0.0 removed", "d v0.1.0 added"}
	if !slices.Equal(got, want) {
		t.Errorf("requireChanges = %q, want %q", got, want)
	}
}

func TestAlignRefusesPlugshipsModule(t *testing.T) {
	f := getFixture(t)
	repo := copyRepo(t, f.adopter)
	before, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = Align(context.Background(), Options{Root: repo, Host: f.host11}, &out)
	t.Logf("output:\n%s", out.String())
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("Align = %v, want ErrMismatch", err)
	}
	for _, want := range []string{
		"not aligning example.com/shared: plugship itself needs example.com/shared v1.2.0, and a host linking v1.1.0 cannot load plugins built in this repository's module graph; it cannot be aligned here: build for this host from a module graph of its own\n",
		"go.mod: nothing to align (the Go release and the flags are not in go.mod)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	after, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("go.mod changed:\n%s", after)
	}
}

// BenchmarkCheck checks this repository's plugins against its showcase
// reference host, when go run mage.go all has built it.
func BenchmarkCheck(b *testing.B) {
	root, err := plugtest.Root()
	if err != nil {
		b.Fatal(err)
	}
	host := filepath.Join(root, "dist", "compat", "hosts", "showcase")
	if _, err := os.Stat(host); err != nil {
		b.Skip("no reference host: run go run mage.go all first")
	}
	for b.Loop() {
		if _, err := Check(context.Background(), Options{Root: root, Host: host}, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAlignTargets(t *testing.T) {
	want, unordered := alignTargets([]Difference{
		{Plugin: "t/a", Module: "a.com/x", PluginVersion: "v1.2.0", HostVersion: "v1.1.0", Newer: PluginNewer},
		{Plugin: "t/b", Module: "a.com/x", PluginVersion: "v1.2.0", HostVersion: "v1.1.0", Newer: PluginNewer},
		{Plugin: "t/a", Module: "b.com/y", PluginVersion: "v0.1.0", HostVersion: "v0.2.0", Newer: HostNewer},
		{Plugin: "t/a", Module: "c.com/z", PluginVersion: "=> ../z", HostVersion: "v1.0.0"},
		{Plugin: "t/b", Module: "c.com/z", PluginVersion: "=> ../z", HostVersion: "v1.0.0"},
	})
	if fmt.Sprint(want) != "map[a.com/x:v1.1.0 b.com/y:v0.2.0]" || len(unordered) != 1 || unordered[0].Module != "c.com/z" {
		t.Errorf("alignTargets = %v, %+v", want, unordered)
	}
}
