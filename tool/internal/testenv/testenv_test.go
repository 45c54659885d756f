package testenv

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/nakamatest"
	"github.com/plugship/plugship/tool/internal/plugtest"
)

// writeModule writes files (slash paths -> content) into a new module.
func writeModule(t *testing.T, module string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module " + module + "\n\ngo 1.25\n"
	for name, data := range files {
		if err := plugtest.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func commands(n *Needs) []string {
	var cs []string
	for _, t := range n.Tools {
		cs = append(cs, t.Command)
	}
	return cs
}

// TestFindPlugship: plugship's own tests need chromium, the cross C
// compiler of the other architecture and the bundled go1-25 profile's
// toolchain.
func TestFindPlugship(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	n, err := Find(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	cross := map[string]string{"amd64": "aarch64-linux-gnu-gcc", "arm64": "x86_64-linux-gnu-gcc"}[runtime.GOARCH]
	for _, c := range []string{"gcc", "chromium", cross} {
		if !slices.Contains(commands(n), c) {
			t.Errorf("tools %q lack %s", commands(n), c)
		}
	}
	if runtime.Version() != "go1.25.8" && !strings.Contains(n.Toolchains["go1.25.8"], "profile go1-25 in compat/hosts.yaml") {
		t.Errorf("toolchains: %v", n.Toolchains)
	}
}

// TestFindAdopter: another repository's tests need the C compiler and
// the toolchains and C compilers of its profiles, not plugship's extras.
func TestFindAdopter(t *testing.T) {
	dir := writeModule(t, "example.com/acme", map[string]string{
		"compat/hosts.yaml": "profiles:\n  - name: current\n  - name: arm\n    goarch: arm64\n    cc: aarch64-linux-gnu-gcc\n  - name: old\n    go: go1.24.11\n",
	})
	n, err := Find(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if cs := commands(n); len(cs) != 2 || cs[1] != "aarch64-linux-gnu-gcc" || n.Tools[1].Package != "gcc-aarch64-linux-gnu" || slices.Contains(cs, "chromium") {
		t.Errorf("tools: %+v", n.Tools)
	}
	if got := n.Toolchains["go1.24.11"]; got != "profile old in compat/hosts.yaml" {
		t.Errorf("toolchains: %v", n.Toolchains)
	}
}

func TestCrossPackage(t *testing.T) {
	for cc, want := range map[string]string{
		"aarch64-linux-gnu-gcc":            "gcc-aarch64-linux-gnu",
		"x86_64-linux-gnu-gcc":             "gcc-x86-64-linux-gnu",
		"/usr/bin/arm-linux-gnueabihf-gcc": "gcc-arm-linux-gnueabihf",
		"clang":                            "",
		"gcc":                              "",
	} {
		if got := crossPackage(cc); got != want {
			t.Errorf("crossPackage(%q) = %q, want %q", cc, got, want)
		}
	}
}

// TestStop: what cannot be installed here is named with the exact
// command to run.
func TestStop(t *testing.T) {
	missing := []Tool{
		{Command: "chromium", Package: "chromium", Why: "TestHTMLRendersInChromium renders the matrix page in it"},
		{Command: "aarch64-linux-gnu-gcc", Package: "gcc-aarch64-linux-gnu", Why: "TestCrossProfile builds plugins for linux/arm64 with it"},
	}
	msg := Stop(missing, Installer{}).Error()
	for _, want := range []string{
		"the tests need what this machine lacks:\n  chromium (Debian package chromium): TestHTMLRendersInChromium renders the matrix page in it\n",
		"  aarch64-linux-gnu-gcc (Debian package gcc-aarch64-linux-gnu): TestCrossProfile",
		Command([]string{"chromium", "gcc-aarch64-linux-gnu"}),
		"then run go run mage.go test again",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	sudo := "sudo "
	if os.Geteuid() == 0 {
		sudo = ""
	}
	if got, want := Command([]string{"chromium"}), sudo+"apt-get update && "+sudo+"apt-get install -y --no-install-recommends chromium"; got != want {
		t.Errorf("Command = %q, want %q", got, want)
	}
}

// TestInstallUnknown: a missing command no Debian package is known for
// stops the run, named, even where packages could be installed.
func TestInstallUnknown(t *testing.T) {
	n := &Needs{Tools: []Tool{{Command: "no-such-compiler-for-plugship", Why: "the C compiler of profile odd"}}}
	err := n.Install(context.Background(), Installer{CanInstall: true}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "  no-such-compiler-for-plugship: the C compiler of profile odd\n") || !strings.Contains(err.Error(), "Put on PATH") {
		t.Errorf("got %v", err)
	}
}

// TestPluginSupport builds and opens a plugin, as Provide does.
func TestPluginSupport(t *testing.T) {
	if err := pluginSupport(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestRun runs go test on a module with a passing, a failing, a skipping
// and a broken package: the summary names each, shows the failures'
// output, and a skip fails a run without -short.
func TestRun(t *testing.T) {
	dir := writeModule(t, "example.com/m", map[string]string{
		"a/a_test.go": "package a\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n",
		"b/b_test.go": "package b\n\nimport \"testing\"\n\nfunc TestFails(t *testing.T) {\n\tt.Run(\"sub\", func(t *testing.T) { t.Error(\"the sub-answer is wrong\") })\n}\n\nfunc TestPasses(t *testing.T) {}\n",
		"c/c_test.go": "package c\n\nimport \"testing\"\n\nfunc TestSkips(t *testing.T) {\n\tif testing.Short() {\n\t\tt.Skip(\"slow\")\n\t}\n\tt.Skip(\"chromium is missing\")\n}\n",
		"d/d_test.go": "package d\n\nimport \"testing\"\n\nfunc TestBroken(t *testing.T) { undefined() }\n",
		"e/e.go":      "package e\n",
	})
	var out bytes.Buffer
	r, err := Run(context.Background(), dir, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "tests failed: 2 packages, 2 tests") {
		t.Errorf("error %v", err)
	}
	if !slices.Contains(r.Passed, "example.com/m/a") || !slices.Contains(r.Passed, "example.com/m/c") {
		t.Errorf("passed: %q", r.Passed)
	}
	if !slices.Contains(r.Failed, "example.com/m/b") || !slices.Contains(r.Failed, "example.com/m/d") {
		t.Errorf("failed: %q", r.Failed)
	}
	if !slices.Equal(r.Skipped, []string{"example.com/m/c TestSkips: c_test.go:9: chromium is missing"}) {
		t.Errorf("skipped: %q", r.Skipped)
	}
	s := out.String()
	for _, want := range []string{
		"go test -json ./...\n",
		"== 2 packages ok, 2 failed, 1 without tests; 2 tests failed, 1 skipped\n",
		"--- FAIL example.com/m/b TestFails/sub\n",
		"--- SKIP example.com/m/c TestSkips: c_test.go:9: chromium is missing\n",
		"== output of example.com/m/b TestFails/sub\n",
		"the sub-answer is wrong",
		"== output of example.com/m/d\n",
		"undefined: undefined",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "== output of example.com/m/b TestFails\n") {
		t.Errorf("the parent of a failed subtest is shown too:\n%s", s)
	}

	// A second run of a: its result comes from go test's cache, and says so.
	out.Reset()
	if _, err := Run(context.Background(), dir, []string{"./a"}, &out); err != nil || !strings.Contains(out.String(), "ok    example.com/m/a (cached)\n") {
		t.Errorf("a cached result: %v\n%s", err, out.String())
	}
	out.Reset()
	if _, err := Run(context.Background(), dir, []string{"./a", "./c"}, &out); err == nil || !strings.Contains(err.Error(), "1 test skipped") {
		t.Errorf("a skip: %v\n%s", err, out.String())
	}
	out.Reset()
	if _, err := Run(context.Background(), dir, []string{"-short", "./a", "./c"}, &out); err != nil {
		t.Errorf("a skip under -short: %v\n%s", err, out.String())
	}
}

// TestRunEveryModule: without package arguments Run tests every module of
// the checkout, nested ones too (go test ./... at the root does not enter
// them), but not magefiles/, whose files carry the mage build tag; a
// package argument runs in the module that holds it.
func TestRunEveryModule(t *testing.T) {
	dir := writeModule(t, "example.com/m", map[string]string{
		"a/a_test.go":             "package a\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n",
		"tool/go.mod":             "module example.com/m/tool\n\ngo 1.25\n",
		"tool/x/x_test.go":        "package x\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) {}\n",
		"tool/testdata/go.mod":    "module example.com/ignored\n\ngo 1.25\n",
		"magefiles/go.mod":        "module example.com/m/magefiles\n\ngo 1.25\n",
		"magefiles/magefile.go":   "//go:build mage\n\npackage main\n",
		"dist/leftover/go.mod":    "module example.com/leftover\n\ngo 1.25\n",
		"dist/leftover/l_test.go": "package leftover\n\nimport \"testing\"\n\nfunc TestL(t *testing.T) { t.Fatal(\"dist/ is output\") }\n",
	})
	mods, err := Modules(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".", "magefiles", "tool"}; !slices.Equal(mods, want) {
		t.Errorf("Modules = %q, want %q", mods, want)
	}
	var out bytes.Buffer
	r, err := Run(context.Background(), dir, nil, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !slices.Equal(r.Passed, []string{"example.com/m/a", "example.com/m/tool/x"}) {
		t.Errorf("passed %q\n%s", r.Passed, out.String())
	}
	for _, args := range [][]string{{"./tool/x"}, {"-run", "TestX", "./tool/x"}} {
		out.Reset()
		if r, err = Run(context.Background(), dir, args, &out); err != nil || !slices.Equal(r.Passed, []string{"example.com/m/tool/x"}) {
			t.Errorf("%q: %v, passed %q\n%s", args, err, r.Passed, out.String())
		}
	}
	// "." after -bench is the flag's value, not the root's packages.
	out.Reset()
	if r, err = Run(context.Background(), dir, []string{"-run", "^$", "-bench", "."}, &out); err != nil || !slices.Equal(r.Passed, []string{"example.com/m/a", "example.com/m/tool/x"}) {
		t.Errorf("-bench .: %v, passed %q\n%s", err, r.Passed, out.String())
	}
}

// TestTidy: a module whose go.mod go mod tidy would change fails the
// check, named with its diff; tidy modules pass.
func TestTidy(t *testing.T) {
	dir := writeModule(t, "example.com/m", map[string]string{
		"a/a.go":      "package a\n",
		"tool/go.mod": "module example.com/m/tool\n\ngo 1.25\n\nrequire example.com/m v0.0.0\n\nreplace example.com/m => ../\n",
		"tool/t.go":   "package tool\n",
	})
	var out bytes.Buffer
	err := Tidy(context.Background(), dir, &out)
	if err == nil || !strings.Contains(err.Error(), "1 module not tidy (diffs above): run go mod tidy in tool") {
		t.Errorf("Tidy = %v\n%s", err, out.String())
	}
	if s := out.String(); !strings.Contains(s, "tidy  .\n") || !strings.Contains(s, "NOT TIDY  tool (run go mod tidy in tool)\n") || !strings.Contains(s, "-require example.com/m v0.0.0") {
		t.Errorf("output:\n%s", s)
	}
	if err := os.WriteFile(filepath.Join(dir, "tool/go.mod"), []byte("module example.com/m/tool\n\ngo 1.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := Tidy(context.Background(), dir, &out); err != nil {
		t.Errorf("tidy modules: %v\n%s", err, out.String())
	}
}

// TestTestFetches keeps what go run mage.go test fetches first equal to
// what the tests use.
func TestTestFetches(t *testing.T) {
	for _, v := range []string{plugtest.OtherGo, nakamatest.GoVersion} {
		if testToolchains[v] == "" {
			t.Errorf("tests build with %s, which testToolchains lacks: the tests would fetch it themselves, silently", v)
		}
	}
	if len(testToolchains) != 2 {
		t.Errorf("testToolchains = %v, want plugtest.OtherGo and nakamatest.GoVersion only", testToolchains)
	}
	want := []string{nakamatest.NakamaCommon + "@" + nakamatest.NakamaCommonVersion, nakamatest.Protobuf + "@" + nakamatest.ProtobufVersion}
	if !slices.Equal(testModules, want) {
		t.Errorf("testModules = %v, want %v", testModules, want)
	}
}
