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
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/teams"
)

// The bundled examples are built once, into a temporary dist/, by TestMain;
// the tests below read and reopen those files. A test that changes sources
// builds a copy of the module of its own.
var (
	root     string // the repository, holding the bundled examples
	examples struct {
		opts    Options
		output  string // what Main printed
		reg     *teams.Registry
		targets []*Target // the bundled profiles, prepared
		skipped string    // why a profile's toolchain could not be had
	}
	hostBin string // testdata/openall, built like a host
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	var err error
	if root, err = filepath.Abs("../../.."); err != nil {
		panic(err)
	}
	tmp, err := os.MkdirTemp("", "plugship-build-test-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	defer cleanupFleet()
	if examples.reg, err = teams.Load(root); err != nil {
		fmt.Fprintf(os.Stderr, "the bundled team registry has problems: %v\n", err)
		return 1
	}
	examples.opts = Options{Root: root, Dist: filepath.Join(tmp, "dist")}
	profiles, err := profile.Load(filepath.Join(root, profile.ConfigFile))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	examples.targets, err = Targets(ctx, profiles, examples.opts)
	if err != nil {
		// Only a toolchain that cannot be downloaded (no module proxy) is
		// tolerated, and the tests that need it skip saying so; .ci/run
		// fails on any skip.
		if !strings.Contains(err.Error(), "toolchain") {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		examples.skipped = err.Error()
		examples.opts.Profiles = nil
		for _, t := range examples.targets {
			examples.opts.Profiles = append(examples.opts.Profiles, t.Env.Profile)
		}
	}
	var out bytes.Buffer
	if err := Main(ctx, Selection{}, examples.opts, &out); err != nil {
		fmt.Fprintf(os.Stderr, "building the bundled examples: %v\n%s", err, out.String())
		return 1
	}
	examples.output = out.String()
	if examples.opts, err = examples.opts.withDefaults(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hostBin = filepath.Join(tmp, "openall")
	if hostMod, err = openallModule(filepath.Join(tmp, "hostmod")); err != nil {
		fmt.Fprintf(os.Stderr, "writing the test host's module: %v\n", err)
		return 1
	}
	if err := plugtest.BuildHost(hostMod, "./openall", hostBin); err != nil {
		fmt.Fprintf(os.Stderr, "building the test host: %v\n", err)
		return 1
	}
	return m.Run()
}

// releases lists the files the build wrote for every plugin version of the
// bundled registry and target whose Go release is goVersion ("" for all):
// exactly one per version and target, with the plugin it belongs to.
func releases(t *testing.T, goVersion string) map[string]*teams.Plugin {
	t.Helper()
	files := map[string]*teams.Plugin{}
	var versions int
	for _, p := range examples.reg.Plugins() {
		for _, r := range p.Releases() {
			versions++
			dir := artifact.PluginDir(examples.opts.Dist, p.Team, p.Name)
			found, err := filepath.Glob(filepath.Join(dir, p.Name+"_v"+r.Version+"_*"+artifact.PluginExt))
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != len(examples.targets) {
				t.Errorf("%s/%s v%s: %d files %q, want one per target (%d)", p.Team, p.Name, r.Version, len(found), found, len(examples.targets))
			}
			for _, f := range found {
				if goVersion == "" || strings.Contains(filepath.Base(f), "_"+goVersion+"-") {
					files[f] = p
				}
			}
		}
	}
	if versions < 8 {
		t.Fatalf("the bundled registry has %d plugin versions, want at least 8", versions)
	}
	return files
}

// goVersion is the go command's own release.
func goVersion(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestExamplesHaveFilesAndMetadata(t *testing.T) {
	paths := map[string]string{}
	profiles := map[string]bool{}
	for file, p := range releases(t, "") {
		m, err := artifact.ReadMetadata(file + artifact.MetadataSuffix)
		if err != nil {
			t.Errorf("%s/%s: %v", p.Team, p.Name, err)
			continue
		}
		if err := m.Check(file); err != nil {
			t.Error(err)
		}
		if m.Team != p.Team || m.Plugin != p.Name || m.File != filepath.Base(file) {
			t.Errorf("%s: metadata says team %s plugin %s file %s", file, m.Team, m.Plugin, m.File)
		}
		for k, want := range map[string]string{"-buildmode": "plugin", "-trimpath": "true", "CGO_ENABLED": "1"} {
			if m.Settings[k] != want {
				t.Errorf("%s: setting %s = %q, want %q", m.File, k, m.Settings[k], want)
			}
		}
		if m.GoVersion == "" || m.Module.Path != "github.com/plugship/plugship" || m.Source == "" {
			t.Errorf("%s: incomplete metadata %+v", m.File, m)
		}
		if other, dup := paths[m.PluginPath+" "+m.ABI]; dup {
			t.Errorf("%s and %s share plugin path %s; they cannot be loaded together", other, m.File, m.PluginPath)
		}
		paths[m.PluginPath+" "+m.ABI] = m.File
		if !strings.HasPrefix(m.ABI, m.GoVersion+"-") || len(m.Profiles) == 0 {
			t.Errorf("%s: ABI %s, profiles %q: want the Go release in the ABI and at least one profile", m.File, m.ABI, m.Profiles)
		}
		for _, name := range m.Profiles {
			profiles[name] = true
		}
	}
	for _, tg := range examples.targets {
		for _, name := range tg.Profiles {
			if !profiles[name] {
				t.Errorf("no file's metadata lists profile %s", name)
			}
		}
	}
	if !strings.Contains(examples.output, "0 failed") {
		t.Errorf("summary missing from the output:\n%s", examples.output)
	}
}

// TestGoVersionM checks the files with the go command itself, as the issue
// asks: go version -m shows -buildmode=plugin and -trimpath=true.
func TestGoVersionM(t *testing.T) {
	var files []string
	for f := range releases(t, "") {
		files = append(files, f)
	}
	out, err := exec.Command("go", append([]string{"version", "-m"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	for _, f := range files {
		_, section, ok := strings.Cut(string(out), f+":")
		if !ok {
			t.Errorf("go version -m printed nothing for %s", f)
			continue
		}
		section, _, _ = strings.Cut(section, "\n"+examples.opts.Dist)
		for _, want := range []string{"build\t-buildmode=plugin", "build\t-trimpath=true"} {
			if !strings.Contains(section, want) {
				t.Errorf("%s: go version -m lacks %q:\n%s", filepath.Base(f), want, section)
			}
		}
	}
}

// TestOneHostOpensEveryVersion opens every file built by this Go release,
// including both showcase versions and the variable-only ledger, with the
// real plugin package in one child process, and checks that each reports
// the version its file name carries.
func TestOneHostOpensEveryVersion(t *testing.T) {
	files := releases(t, goVersion(t))
	var args []string
	for f := range files {
		args = append(args, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, hostBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("host: %v\n%s", err, out)
	}
	seen := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("unexpected host output %q", line)
		}
		seen[f[0]] = f[1]
	}
	for file := range files {
		n, err := artifact.ParseName(filepath.Base(file))
		if err != nil {
			t.Fatal(err)
		}
		if got := seen[file]; got != n.Version {
			t.Errorf("%s: Version() = %q, want %q (the version in its name)", filepath.Base(file), got, n.Version)
		}
	}
	var showcase int
	for file := range seen {
		if strings.HasPrefix(filepath.Base(file), "showcase_v") {
			showcase++
		}
	}
	if showcase < 2 {
		t.Errorf("opened %d showcase versions in one process, want 2", showcase)
	}
}

// TestSecondBuildRelinksNothing runs the build again over the examples'
// dist/: every version is up to date and no output file is rewritten.
func TestSecondBuildRelinksNothing(t *testing.T) {
	before := stats(t, examples.opts.Dist)
	var out bytes.Buffer
	if err := Main(context.Background(), Selection{}, examples.opts, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	n := len(releases(t, ""))
	if want := fmt.Sprintf("0 built, %d up to date, 0 failed", n); !strings.Contains(out.String(), want) {
		t.Errorf("second build: want %q in\n%s", want, out.String())
	}
	after := stats(t, examples.opts.Dist)
	for path, st := range before {
		if a := after[path]; a == nil || !a.ModTime().Equal(st.ModTime()) || !os.SameFile(a, st) {
			t.Errorf("%s was rewritten by a build with nothing changed", path)
		}
	}
}

// stats returns the plugins/ files under dist by path.
func stats(t *testing.T, dist string) map[string]os.FileInfo {
	t.Helper()
	m := map[string]os.FileInfo{}
	err := filepath.Walk(filepath.Join(dist, artifact.PluginsDir), func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			m[path] = info
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// hostMod is a copy of the root module holding the test host openall
// (testdata/openall), built there so that it shares the contract package
// with the plugins built in the root.
var hostMod string

// openallModule writes that copy into dir.
func openallModule(dir string) (string, error) {
	src, err := os.ReadFile(filepath.Join("testdata", "openall", "main.go"))
	if err != nil {
		return "", err
	}
	return dir, plugtest.Module(root, dir, map[string]string{"openall/main.go": string(src)})
}
