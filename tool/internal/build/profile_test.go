package build

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
)

// otherGoTarget returns the bundled target whose toolchain is not the go on PATH
// (the go1-25 profile), skipping when it could not be downloaded.
func otherGoTarget(t testing.TB) *Target {
	t.Helper()
	if examples.skipped != "" {
		t.Fatalf("no second toolchain (the module proxy is unreachable?): %s (go run mage.go test fetches it, or says why it cannot)", examples.skipped)
	}
	own := goVersion(t)
	for _, tg := range examples.targets {
		if tg.Env.GoVersion != own {
			return tg
		}
	}
	t.Fatalf("compat/hosts.yaml has no profile on another Go release than %s", own)
	return nil
}

// TestOtherGoProfile: the bundled go1-25 profile's files open in a host
// built by that toolchain, whose own ABI tag is theirs, and the static
// preflight of a host built by the default toolchain refuses them without
// opening them (the runtime would kill that host).
func TestOtherGoProfile(t *testing.T) {
	tg := otherGoTarget(t)
	files := releases(t, tg.Env.GoVersion)
	if len(files) < 8 {
		t.Fatalf("%d files for %s, want one per plugin version", len(files), tg.Env.GoVersion)
	}
	host := filepath.Join(t.TempDir(), "openall-"+tg.Name())
	args := append([]string{"build", "-buildvcs=false"}, tg.Env.Flags...)
	cmd := tg.Env.Command(context.Background(), append(args, "-o", host, "./openall")...)
	cmd.Dir = hostMod
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the host with %s: %v\n%s", tg.Env.Describe(), err, out)
	}
	hostABI, err := loader.OwnABI[contract.Plugin](host)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for f := range files {
		list = append(list, f)
		n, _ := artifact.ParseName(filepath.Base(f))
		if !artifact.MatchABI(n.ABI, hostABI) {
			t.Errorf("%s: ABI %s, but the %s host computes %s for itself", filepath.Base(f), n.ABI, tg.Env.GoVersion, hostABI)
		}
	}
	out, err := exec.Command(host, list...).CombinedOutput()
	if err != nil {
		t.Fatalf("the %s host could not open its files: %v\n%s", tg.Env.GoVersion, err, out)
	}
	if got := strings.Count(string(out), "\n"); got != len(list) {
		t.Errorf("opened %d files, want %d:\n%s", got, len(list), out)
	}

	// The default host (go on PATH) refuses each, statically.
	for f := range files {
		d := loader.Try(context.Background(), f, loader.Options{Host: hostBin, Contract: fingerprint.ContractPackage, Verify: func(string) error { return nil }})
		if d.Outcome != loader.Incompatible || d.Cause != loader.CauseToolchainMismatch || !strings.Contains(d.Reason, tg.Env.GoVersion) {
			t.Errorf("%s in the default host: %s %s %q; want incompatible, toolchain-mismatch naming %s", filepath.Base(f), d.Outcome, d.Cause, d.Reason, tg.Env.GoVersion)
		}
		if d.ProbeMillis != 0 {
			t.Errorf("%s: a probe ran (%.1f ms); the preflight must refuse it first", filepath.Base(f), d.ProbeMillis)
		}
	}
}

// The throw-away repository of TestProfileAtGitRef: a copy of the contract
// with a Generation constant, a host that prints the Generation of the
// contract it was built with and of a plugin's, and two plugins.
const (
	genHost = `package main

import (
	"fmt"
	"os"
	"plugin"

	"github.com/plugship/plugship/contract"
)

func main() {
	p, err := plugin.Open(os.Args[1])
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	s, err := p.Lookup("Generation")
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Printf("plugin %s host %s\n", *s.(*string), contract.Generation)
}
`
	genPlugin = `package main

import "github.com/plugship/plugship/contract"

var version = "dev"

// Generation is the contract's, as compiled into this file.
var Generation = contract.Generation

type p struct{}

func (p) Version() string    { return version }
func (p) IsAcceptable() bool { return true }

func Showcase() contract.Plugin { return p{} }

func main() {}
`
	genManifest = `name: acme
owners: [dev@example.com]
plugins:
  - name: gen
    source: acme/gen
    version: 1.0.0
  - name: newonly
    source: acme/newonly
    version: 1.0.0
`
)

// TestProfileAtGitRef builds plugins for a profile at an older tag of a
// throw-away git repository whose contract differs: the plugin is compiled
// against the old contract (a host built at that tag opens it and sees the
// old contract's value), a plugin that needs the new contract fails for
// that profile alone with the compiler's message, and a second run reuses
// the exported tree and relinks nothing.
func TestProfileAtGitRef(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed for profiles at a ref:", err)
	}
	mod := newModule(t, map[string]string{"hosts/gen/main.go": genHost})
	contractFile := filepath.Join(mod, "contract/contract.go")
	orig, err := os.ReadFile(contractFile)
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = mod
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git("init", "-q")
	writeFile(t, contractFile, string(orig)+"\n// Generation names this contract tree.\nconst Generation = \"v1\"\n")
	git("add", "go.mod", "go.sum", "contract", "hosts")
	git("commit", "-qm", "contract v1")
	git("tag", "hosts/v1")
	writeFile(t, contractFile, string(orig)+"\n// Generation names this contract tree.\nconst Generation = \"v2\"\n\n// Describe is new in v2.\nfunc Describe() string { return \"v2\" }\n")
	git("commit", "-qam", "contract v2")
	// The plugins and the manifest exist only in the working tree.
	writeFile(t, filepath.Join(mod, "teams/acme/team.yaml"), genManifest)
	writeFile(t, filepath.Join(mod, "plugin_sources/acme/gen/main.go"), genPlugin)
	writeFile(t, filepath.Join(mod, "plugin_sources/acme/newonly/main.go"), pluginSource("contract.Describe()"))

	profiles := []profile.Profile{profile.Default(), {Name: "release-1", Ref: "hosts/v1", Flags: profile.DefaultFlags}}
	opts := Options{Root: mod, Profiles: profiles}
	var out bytes.Buffer
	err = Main(context.Background(), Selection{}, opts, &out)
	if err == nil || !strings.Contains(err.Error(), "acme/newonly v1.0.0 [release-1]") {
		t.Fatalf("want the build to fail naming acme/newonly v1.0.0 [release-1], got %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"target release-1",
		"at hosts/v1",
		"built      acme/gen v1.0.0 [current]",
		"built      acme/gen v1.0.0 [release-1]",
		"built      acme/newonly v1.0.0 [current]",
		"FAILED     acme/newonly v1.0.0 [release-1]",
		"\n      plugin_sources/acme/newonly/main.go:10:",
		"undefined: contract.Describe",
		"3 built, 0 up to date, 1 failed, of 4 plugin builds",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), ".cache/trees") {
		t.Errorf("the compiler's message shows the exported tree's path instead of the source's:\n%s", out.String())
	}
	gens, _ := filepath.Glob(filepath.Join(mod, "dist/plugins/acme/gen/gen_v1.0.0_*.so"))
	if len(gens) != 2 {
		t.Fatalf("gen files %q, want one per profile", gens)
	}

	// One host per profile: each is built in its own tree, and opens the
	// file of its own ABI, seeing its own contract's value in it.
	for _, p := range profiles {
		env, err := profile.Prepare(context.Background(), mod, filepath.Join(mod, "dist"), "", p)
		if err != nil {
			t.Fatal(err)
		}
		host := filepath.Join(t.TempDir(), "gen-"+p.Name)
		cmd := env.Command(context.Background(), "build", "-trimpath", "-buildvcs=false", "-o", host, "./hosts/gen")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the %s host: %v\n%s", p.Name, err, out)
		}
		abi, err := loader.OwnABI[contract.Plugin](host)
		if err != nil {
			t.Fatal(err)
		}
		var own, other string
		for _, f := range gens {
			if strings.HasSuffix(f, "_"+artifact.BaseABI(abi)+".so") {
				own = f
			} else {
				other = f
			}
		}
		if own == "" {
			t.Fatalf("no gen file for the %s host's ABI %s among %q", p.Name, abi, gens)
		}
		want := map[string]string{"current": "plugin v2 host v2", "release-1": "plugin v1 host v1"}[p.Name]
		if got, err := exec.Command(host, own).CombinedOutput(); err != nil || strings.TrimSpace(string(got)) != want {
			t.Errorf("%s host opening %s: %v %q, want %q", p.Name, filepath.Base(own), err, got, want)
		}
		// The other profile's file differs in the contract package: the
		// static preflight says so.
		hfp, err := fingerprint.Read(host)
		if err != nil {
			t.Fatal(err)
		}
		pfp, err := fingerprint.Read(other)
		if err != nil {
			t.Fatal(err)
		}
		var contractDiffers bool
		for _, d := range fingerprint.Compare(hfp, pfp) {
			contractDiffers = contractDiffers || d.Kind == "package" && d.Name == fingerprint.ContractPackage
		}
		if !contractDiffers {
			t.Errorf("%s host vs %s: the preflight finds no difference in the contract", p.Name, filepath.Base(other))
		}
	}

	// Second run: the exported tree is reused as is, nothing is relinked.
	marker := filepath.Join(mod, "dist", profile.TreesDir)
	trees, _ := os.ReadDir(marker)
	if len(trees) != 1 {
		t.Fatalf("%d exported trees in %s, want 1", len(trees), marker)
	}
	before, err := os.Stat(filepath.Join(marker, trees[0].Name(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	Main(context.Background(), Selection{}, opts, &out)
	if !strings.Contains(out.String(), "0 built, 3 up to date, 1 failed") {
		t.Errorf("second run:\n%s", out.String())
	}
	after, err := os.Stat(filepath.Join(marker, trees[0].Name(), "go.mod"))
	if err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the exported tree was exported again")
	}
}

// TestUnknownRef names the profile and the ref, and says what to do.
func TestUnknownRef(t *testing.T) {
	mod := newModule(t, nil)
	cmd := exec.Command("git", "init", "-q")
	cmd.Dir = mod
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	_, err := profile.Prepare(context.Background(), mod, filepath.Join(mod, "dist"), "", profile.Profile{Name: "gone", Ref: "hosts/v9"})
	if err == nil || !strings.Contains(err.Error(), `profile gone: git ref "hosts/v9" not found`) || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Errorf("err = %v", err)
	}
}

// TestIdenticalProfilesShareOneBuild: two profiles that agree on
// toolchain, platform, C compiler, flags and tree are one target: one go build per
// plugin version, one file, whose metadata names both.
func TestIdenticalProfilesShareOneBuild(t *testing.T) {
	mod := genModule(t)
	profiles := []profile.Profile{profile.Default(), {Name: "canary", Flags: []string{"-trimpath"}}}
	var out bytes.Buffer
	if err := Main(context.Background(), Selection{}, Options{Root: mod, Profiles: profiles}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"(profiles current, canary)", "1 built, 0 up to date, 0 failed, of 1 plugin builds"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	file, err := plugtest.Find(filepath.Join(mod, "dist/plugins/acme/gen"), "gen", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	m, err := artifact.ReadMetadata(file + artifact.MetadataSuffix)
	if err != nil || strings.Join(m.Profiles, " ") != "current canary" {
		t.Errorf("metadata profiles %q, %v; want both", m.Profiles, err)
	}

	// The contract changes: a new ABI. The old file is kept and named as
	// built for an ABI no profile builds now.
	f, err := os.OpenFile(filepath.Join(mod, "contract/contract.go"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n// Extra changes the contract's fingerprint.\nconst Extra = 1\n")
	f.Close()
	out.Reset()
	if err := Main(context.Background(), Selection{}, Options{Root: mod, Profiles: profiles}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	rel, _ := filepath.Rel(mod, file)
	if !strings.Contains(out.String(), "1 plugin files were built for an ABI no profile builds now") || !strings.Contains(out.String(), "\n  "+rel+"\n") {
		t.Errorf("the old ABI's file is not reported:\n%s", out.String())
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("the old ABI's file was removed: %v", err)
	}
}

// genModule is a scratch module with one plugin, acme/gen 1.0.0.
func genModule(t *testing.T) string {
	return newModule(t, map[string]string{
		"teams/acme/team.yaml":            "name: acme\nowners: [dev@example.com]\nplugins:\n  - name: gen\n    source: acme/gen\n    version: 1.0.0\n",
		"plugin_sources/acme/gen/main.go": strings.Replace(genPlugin, "contract.Generation", `"none"`, 1),
	})
}

// crossTarget is the other common Linux architecture and its Debian cross
// C compiler, which .ci/run installs.
func crossTarget(t *testing.T) (goarch, cc string) {
	t.Helper()
	switch {
	case runtime.GOOS != "linux":
		t.Skip("cross-building plugins is tested on Linux")
	case runtime.GOARCH == "amd64":
		return "arm64", "aarch64-linux-gnu-gcc"
	case runtime.GOARCH == "arm64":
		return "amd64", "x86_64-linux-gnu-gcc"
	}
	t.Skipf("no cross target for %s", runtime.GOARCH)
	return "", ""
}

// TestCrossProfile builds for a profile on another architecture with its
// cross C compiler: the file is named for that platform, is an ELF for
// that machine, and a host of this platform never considers it.
func TestCrossProfile(t *testing.T) {
	goarch, cc := crossTarget(t)
	if _, err := exec.LookPath(cc); err != nil {
		t.Fatalf("the cross C compiler %s is missing (.ci/run installs it): %v", cc, err)
	}
	mod := genModule(t)
	profiles := []profile.Profile{profile.Default(), {Name: "cross", GOARCH: goarch, CC: cc, Flags: profile.DefaultFlags}}
	var out bytes.Buffer
	if err := Main(context.Background(), Selection{}, Options{Root: mod, Profiles: profiles}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	dir := filepath.Join(mod, "dist/plugins/acme/gen")
	cross, err := filepath.Glob(filepath.Join(dir, "gen_v1.0.0_linux_"+goarch+"_*.so"))
	if err != nil || len(cross) != 1 {
		t.Fatalf("files for linux/%s: %q\n%s", goarch, cross, out.String())
	}
	fp, err := fingerprint.Read(cross[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := fp.CheckArch(goarch); err != nil || fp.Settings["GOARCH"] != goarch {
		t.Errorf("%s: %v, GOARCH setting %q", filepath.Base(cross[0]), err, fp.Settings["GOARCH"])
	}
	cands, _, err := loader.Discover(dir, "gen", runtime.GOOS, runtime.GOARCH, "")
	if err != nil || len(cands) != 1 || strings.Contains(cands[0].File, goarch) {
		t.Errorf("a host of this platform considers %+v (%v); want only this platform's file", cands, err)
	}

	// A missing cross compiler is named once, for its profile.
	profiles[1].CC = "no-such-gcc"
	out.Reset()
	err = Main(context.Background(), Selection{}, Options{Root: mod, Profiles: profiles}, &out)
	if err == nil || !strings.Contains(err.Error(), "profile cross: C compiler no-such-gcc not found on PATH") || !strings.Contains(out.String(), "0 built, 1 up to date, 0 failed, of 1 plugin builds") {
		t.Errorf("missing compiler: %v\n%s", err, out.String())
	}
}
