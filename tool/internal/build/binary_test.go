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
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/hostcheck"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/teams"
)

// hostMain is a host's main package importing the contract package
// contract: it opens every plugin file named on its command line and
// prints, per file, the plugin's version and the shared module's version
// it sees.
func hostMain(contract string) string {
	return `package main

import (
	"fmt"
	"os"
	"plugin"

	"example.com/shared"
	"` + contract + `"
)

func main() {
	for _, f := range os.Args[1:] {
		p, err := plugin.Open(f)
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		s, err := p.Lookup(contract.AccessorSymbol)
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		pl := s.(func() contract.Plugin)()
		fmt.Println(pl.Version(), pl.IsAcceptable(), shared.Version())
	}
}
`
}

// pluginMain is a plugin of the contract package contract that links
// example.com/shared.
func pluginMain(contract string) string {
	return `package main

import (
	"example.com/shared"
	"` + contract + `"
)

var version = "dev"

type p struct{}

func (p) Version() string    { return version }
func (p) IsAcceptable() bool { return shared.Version() != "" }

func Showcase() contract.Plugin { return p{} }

func main() {}
`
}

// sharedVersions are example.com/shared v1.1.0 and v1.2.0, for the proxy.
func sharedVersions() map[string]map[string]string {
	return map[string]map[string]string{"v1.1.0": plugtest.SharedModule("v1.1.0"), "v1.2.0": plugtest.SharedModule("v1.2.0")}
}

// TestBinaryProfiles: one plugin source, requiring example.com/shared
// v1.1.0, built for two host binaries (built here from copies of this
// repository, so they share its contract) that link v1.1.0 and v1.2.0:
// each file links its host's version, loads into its host and is refused by
// the other host's preflight, naming the module and both versions. The
// repository's go.mod is never rewritten. A plugin that requires v1.2.0
// is then refused at build time for the v1.1.0 host only.
func TestBinaryProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hosts and plugins")
	}
	plugtest.UseProxy(t, map[string]map[string]map[string]string{"example.com/shared": sharedVersions()})
	ctx := context.Background()
	tmp := t.TempDir()

	// The hosts: one copy of this repository, at two versions of shared.
	hostRepo := filepath.Join(tmp, "hostrepo")
	if err := plugtest.Module(root, hostRepo, map[string]string{"cmd/host/main.go": hostMain("github.com/plugship/plugship/contract")}); err != nil {
		t.Fatal(err)
	}
	hosts := map[string]string{}
	for _, v := range []string{"v1.1.0", "v1.2.0"} {
		hosts[v] = filepath.Join(tmp, "bin", "host-"+v)
		if err := plugtest.Go(hostRepo, "get", "example.com/shared@"+v); err != nil {
			t.Fatal(err)
		}
		if err := plugtest.BuildHost(hostRepo, "./cmd/host", hosts[v]); err != nil {
			t.Fatal(err)
		}
	}

	// The plugin repository requires v1.1.0.
	repo := filepath.Join(tmp, "plugins")
	err := plugtest.Module(root, repo, map[string]string{
		"teams/lab/team.yaml":             "name: lab\nowners: [dev@example.com]\nplugins:\n  - name: uses\n    source: lab/uses\n    version: 1.0.0\n",
		"plugin_sources/lab/uses/main.go": pluginMain("github.com/plugship/plugship/contract"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := plugtest.Go(repo, "get", "example.com/shared@v1.1.0"); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	sum, _, _ := hashOf(t, hosts["v1.2.0"])
	ps, err := profile.Check([]profile.Profile{
		{Name: "old-host", Binary: hosts["v1.1.0"]},
		{Name: "new-host", Binary: hosts["v1.2.0"], SHA256: sum},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Preparing the two profiles: cold (modfile, and every module fetched
	// into an empty module cache from the file:// proxies), then warm.
	plugtest.OwnModcache(t)
	dist := filepath.Join(tmp, "dist")
	opts := Options{Root: repo, Dist: dist, Profiles: ps}
	start := time.Now()
	targets, err := Targets(ctx, ps, opts)
	cold := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	warmTargets, err := Targets(ctx, ps, opts)
	warm := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("preparing 2 binary profiles: cold %v, warm %v", cold.Round(time.Millisecond), warm.Round(time.Millisecond))
	if len(targets) != 2 {
		t.Fatalf("%d targets, want 2: the hosts' module graphs differ", len(targets))
	}
	for i, tg := range warmTargets {
		if h := tg.Env.Host; h == nil || !h.Cached || h.Digest != targets[i].Env.Host.Digest {
			t.Errorf("%s: the second preparation did not reuse the modfile: %+v", tg.Name(), h)
		}
	}
	for i, v := range []string{"v1.1.0", "v1.2.0"} {
		e := targets[i].Env
		if e.GoVersion != goVersion(t) || strings.Join(e.Flags, " ") != "-trimpath" || e.GOOS == "" {
			t.Errorf("%s: %s %s/%s %q; want the host's Go, platform and -trimpath", e.Name, e.GoVersion, e.GOOS, e.GOARCH, e.Flags)
		}
		data, err := os.ReadFile(e.Host.Modfile)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "example.com/shared "+v) {
			t.Errorf("%s: %s lacks example.com/shared %s:\n%s", e.Name, e.Host.Modfile, v, data)
		}
		if !strings.HasPrefix(e.Host.Modfile, filepath.Join(dist, profile.ModfilesDir)) {
			t.Errorf("modfile %s is not under dist/%s", e.Host.Modfile, profile.ModfilesDir)
		}
	}

	// Built for both profiles in one run: the two files have the same ABI
	// (same Go, flags, runtime and contract) and other bytes, and their
	// names carry their host's module graph.
	var out bytes.Buffer
	if err := Main(ctx, Selection{}, opts, &out); err != nil {
		t.Fatalf("building for both hosts: %v\n%s", err, out.String())
	}
	t.Logf("build for both:\n%s", out.String())
	dir := filepath.Join(dist, "plugins", "lab", "uses")
	if all, _ := filepath.Glob(filepath.Join(dir, "*.so")); len(all) != 2 {
		t.Fatalf("%d files in %s (%q), want one per host", len(all), dir, all)
	}
	files := map[string]string{}
	for _, v := range []string{"v1.1.0", "v1.2.0"} {
		hostABI, err := plugtest.HostABIOf(hosts[v], fingerprint.ContractPackage)
		if err != nil {
			t.Fatal(err)
		}
		cands, _, err := loader.Discover(dir, "uses", runtime.GOOS, runtime.GOARCH, hostABI)
		if err != nil || len(cands) != 1 || cands[0].ABI != hostABI {
			t.Fatalf("the files for the %s host (ABI %s): %+v %v; want the one tagged with its graph", v, hostABI, cands, err)
		}
		f := cands[0].File
		files[v] = f
		fp, err := fingerprint.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := depVersion(fp, "example.com/shared"); got != v {
			t.Errorf("the file for the %s host links example.com/shared %s", v, got)
		}
		if abi, _ := fp.ABI(fingerprint.ContractPackage); abi != artifact.BaseABI(hostABI) {
			t.Errorf("the file for the %s host has ABI %s, the host %s", v, abi, hostABI)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(repo, "go.mod")); !bytes.Equal(after, gomod) {
		t.Errorf("the repository's go.mod was rewritten:\n%s", after)
	}
	for v, other := range map[string]string{"v1.1.0": "v1.2.0", "v1.2.0": "v1.1.0"} {
		out, err := exec.Command(hosts[v], files[v]).CombinedOutput()
		if err != nil || string(out) != "1.0.0 true "+v+"\n" {
			t.Errorf("the %s host opening its file: %v %q", v, err, out)
		}
		d := loader.Try(ctx, files[v], loader.Options{Host: hosts[other], Contract: fingerprint.ContractPackage, Verify: func(string) error { return nil }})
		if d.Outcome != loader.Incompatible || d.ProbeMillis != 0 || !strings.Contains(d.Reason, "example.com/shared") || !strings.Contains(d.Reason, v) || !strings.Contains(d.Reason, other) {
			t.Errorf("the file for %s in the %s host: %s %s %q; want refused by the preflight naming example.com/shared, %s and %s", v, other, d.Outcome, d.Cause, d.Reason, v, other)
		}
	}

	// A plugin that needs v1.2.0: refused for the v1.1.0 host only.
	if err := plugtest.Go(repo, "get", "example.com/shared@v1.2.0"); err != nil {
		t.Fatal(err)
	}
	targets, err = Targets(ctx, ps, opts)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := Plan(mustLoad(t, repo), Selection{}, targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	s := Run(ctx, actions, opts, &out)
	t.Logf("plugin needing v1.2.0:\n%s", out.String())
	if len(s.Results) != 2 || s.Results[0].Outcome != Failed || s.Results[1].Outcome == Failed {
		t.Fatalf("results %+v; want old-host failed, new-host built", s.Results)
	}
	want := "cannot build for profile old-host: the host " + hosts["v1.1.0"] + " links 1 module at another version:\n" +
		"  lab/uses v1.0.0: module example.com/shared: plugins build with v1.2.0, the host links v1.1.0 — the plugin needs a newer version than the host has: lower the requirement (go run mage.go check:align old-host) or wait for a host release"
	if got := s.Results[0].Err.Error(); got != want {
		t.Errorf("message\n%s\nwant\n%s", got, want)
	}

	// check:align with the old host lowers the requirement: then the plugin
	// builds for both hosts again.
	var alignOut bytes.Buffer
	if err := hostcheck.Align(ctx, hostcheck.Options{Root: repo, Host: hosts["v1.1.0"]}, &alignOut); err != nil {
		t.Fatalf("align: %v\n%s", err, alignOut.String())
	}
	if !strings.Contains(alignOut.String(), "go.mod: example.com/shared v1.2.0 -> v1.1.0") {
		t.Errorf("align:\n%s", alignOut.String())
	}
	out.Reset()
	if err := Main(ctx, Selection{}, opts, &out); err != nil {
		t.Fatalf("build after aligning: %v\n%s", err, out.String())
	}
}

func hashOf(t *testing.T, file string) (string, int64, error) {
	t.Helper()
	sum, size, err := artifact.HashFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return sum, size, nil
}

func mustLoad(t *testing.T, dir string) *teams.Registry {
	t.Helper()
	reg, err := teams.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// depVersion is the version of module mod the binary links.
func depVersion(fp *fingerprint.Fingerprint, mod string) string {
	for _, d := range fp.BuildInfo.Deps {
		if d.Path == mod {
			return d.Version
		}
	}
	return ""
}
