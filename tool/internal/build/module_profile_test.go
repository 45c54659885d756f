package build

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
)

// The contract of the module-profile test lives in a module of its own,
// example.com/contract, which the host module and the plugin repository
// both require at v1.0.0.
const moduleContract = `// Package contract is what the test's host module and plugins share.
package contract

// AccessorSymbol is the function plugins export.
const AccessorSymbol = "Showcase"

// Plugin is what a plugin provides.
type Plugin interface {
	IsAcceptable() bool
	Version() string
}
`

// gatewayProxy points every go command of the test at a file:// module
// proxy (plugtest.UseProxy) holding example.com/shared v1.1.0 and v1.2.0,
// example.com/contract v1.0.0 and the host module example.com/gateway
// v1.0.0, whose main is hostMain and which requires shared v1.1.0.
func gatewayProxy(t *testing.T) {
	t.Helper()
	plugtest.UseProxy(t, map[string]map[string]map[string]string{
		"example.com/shared": sharedVersions(),
		"example.com/contract": {"v1.0.0": {
			"go.mod":      "module example.com/contract\n\ngo 1.22\n",
			"contract.go": moduleContract,
		}},
		"example.com/gateway": {"v1.0.0": {
			"go.mod":              "module example.com/gateway\n\ngo 1.22\n\nrequire (\n\texample.com/contract v1.0.0\n\texample.com/shared v1.1.0\n)\n",
			"cmd/gateway/main.go": hostMain("example.com/contract"),
		}},
	})
}

// TestModuleProfile: a profile that names a host module at a version
// builds the host from the module proxy with the module's own go.mod, and
// then is a binary profile of that host: a plugin requiring
// example.com/shared v1.1.0 builds for it and loads into the built host;
// one requiring v1.2.0 is refused at build time with the binary profile's
// message. The second preparation reuses the host.
func TestModuleProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host and plugins")
	}
	gatewayProxy(t)
	ctx := context.Background()
	tmp := t.TempDir()

	repo := filepath.Join(tmp, "plugins")
	err := plugtest.Module(root, repo, map[string]string{
		"plugship.yaml":                   "version: 1\ncontract:\n  package: example.com/contract\n",
		"teams/lab/team.yaml":             "name: lab\nowners: [dev@example.com]\nplugins:\n  - name: uses\n    source: lab/uses\n    version: 1.0.0\n",
		"plugin_sources/lab/uses/main.go": pluginMain("example.com/contract"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := plugtest.Go(repo, "get", "example.com/contract@v1.0.0", "example.com/shared@v1.1.0"); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := profile.Check([]profile.Profile{{Name: "gateway", Module: "example.com/gateway", Version: "v1.0.0", Main: "./cmd/gateway"}})
	if err != nil {
		t.Fatal(err)
	}

	// Cold: an empty module cache and dist/ (download, copy, host build,
	// modfile); warm: everything is there.
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
	t.Logf("preparing the module profile: cold %v (download, host build, modfile), warm %v", cold.Round(time.Millisecond), warm.Round(time.Millisecond))
	if len(targets) != 1 || len(warmTargets) != 1 {
		t.Fatalf("%d and %d targets, want 1", len(targets), len(warmTargets))
	}
	h, wh := targets[0].Env.Host, warmTargets[0].Env.Host
	if h == nil || h.Module != "example.com/gateway@v1.0.0" || !h.Built {
		t.Fatalf("cold host %+v; want built from example.com/gateway@v1.0.0", h)
	}
	if wh == nil || wh.Built || !wh.Cached || wh.Digest != h.Digest || wh.File != h.File {
		t.Errorf("the second preparation did not reuse the host and its modfile: %+v", wh)
	}
	wantBin := filepath.Join(dist, filepath.FromSlash(profile.HostBinariesDir), "gateway", "gateway")
	if h.File != wantBin {
		t.Errorf("host built at %s, want %s", h.File, wantBin)
	}
	e := targets[0].Env
	if e.GoVersion != goVersion(t) || strings.Join(e.Flags, " ") != "-trimpath" {
		t.Errorf("%s %q; want the go on PATH and -trimpath", e.GoVersion, e.Flags)
	}
	if !strings.Contains(e.Describe(), "for host module example.com/gateway@v1.0.0") {
		t.Errorf("Describe: %s", e.Describe())
	}
	if data, err := os.ReadFile(e.Host.Modfile); err != nil || !strings.Contains(string(data), "example.com/shared v1.1.0") {
		t.Errorf("%s: %v\n%s", e.Host.Modfile, err, data)
	}

	// The plugin builds for the profile and loads into the built host.
	var out bytes.Buffer
	if err := Main(ctx, Selection{}, opts, &out); err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	t.Logf("build:\n%s", out.String())
	file, err := plugtest.Find(filepath.Join(dist, "plugins", "lab", "uses"), "uses", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	fp, err := fingerprint.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := depVersion(fp, "example.com/shared"); got != "v1.1.0" {
		t.Errorf("the plugin links example.com/shared %s, want v1.1.0", got)
	}
	if got, err := exec.Command(h.File, file).CombinedOutput(); err != nil || string(got) != "1.0.0 true v1.1.0\n" {
		t.Errorf("the built host opening the plugin: %v %q", err, got)
	}
	// The file's ABI tag is the one the host computes for itself.
	hfp, err := fingerprint.Read(h.File)
	if err != nil {
		t.Fatal(err)
	}
	habi, _ := hfp.ABI("example.com/contract")
	if abi, _ := fp.ABI("example.com/contract"); abi == "" || abi != habi {
		t.Errorf("the plugin has ABI %s, its host %s", abi, habi)
	}
	if after, _ := os.ReadFile(filepath.Join(repo, "go.mod")); !bytes.Equal(after, gomod) {
		t.Errorf("the repository's go.mod was rewritten:\n%s", after)
	}

	// A plugin that needs shared v1.2.0 cannot be built for the host.
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
	if len(s.Results) != 1 || s.Results[0].Outcome != Failed {
		t.Fatalf("results %+v; want the build failed", s.Results)
	}
	given := targets[0].Env.Host.Given
	if given != h.File {
		t.Errorf("host given as %s, want %s (dist/ is outside the repository)", given, h.File)
	}
	want := "cannot build for profile gateway: the host " + given + " links 1 module at another version:\n" +
		"  lab/uses v1.0.0: module example.com/shared: plugins build with v1.2.0, the host links v1.1.0 — the plugin needs a newer version than the host has: lower the requirement (go run mage.go check:align gateway) or wait for a host release"
	if got := s.Results[0].Err.Error(); got != want {
		t.Errorf("message\n%s\nwant\n%s", got, want)
	}
}

// TestModuleProfileChecks: a module profile names its host by module,
// version and main package; what a binary or git ref says has no place in
// it.
func TestModuleProfileChecks(t *testing.T) {
	_, err := profile.Check([]profile.Profile{
		{Name: "both", Module: "example.com/gateway", Version: "v1.0.0", Binary: "hosts/gateway", SHA256: strings.Repeat("a", 64)},
		{Name: "noversion", Module: "example.com/gateway"},
		{Name: "badversion", Module: "example.com/gateway", Version: "-x"},
		{Name: "badmain", Module: "example.com/gateway", Version: "v1.0.0", Main: "../cmd/gateway"},
		{Name: "elsewhere", Module: "example.com/gateway", Version: "v1.0.0", Ref: "v1", GOARCH: "arm64"},
		{Name: "badmodule", Module: "Example..com/x", Version: "v1.0.0"},
		{Name: "stray", Version: "v1.0.0", Main: "./cmd/gateway"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"profiles[0].binary: profile both builds its host from the module example.com/gateway, for this machine: remove binary (or remove module)",
		"profiles[0].sha256: profile both builds its host from the module example.com/gateway, for this machine: remove sha256 (or remove module)",
		"profiles[1].version: profile noversion builds the host module example.com/gateway: add version: <the host release, such as v1.4.2>",
		`profiles[2].version: "-x": want a module version such as v1.4.2, or a branch or commit the go command accepts`,
		`profiles[3].main: "../cmd/gateway": want the host's main package as a path inside the module, such as ./cmd/gateway (default: the module root)`,
		"profiles[4].ref: profile elsewhere builds its host from the module example.com/gateway, for this machine: remove ref (or remove module)",
		"profiles[4].goarch: profile elsewhere builds its host from the module example.com/gateway, for this machine: remove goarch (or remove module)",
		`profiles[5].module: "Example..com/x" is not a module path`,
		"profiles[6].version: only a profile with module has a version: add module: <the host's module path>, or remove version",
		"profiles[6].main: only a profile with module has a main: add module: <the host's module path>, or remove main",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	ps, err := profile.Check([]profile.Profile{{Name: "ok", Module: "example.com/gateway/v2", Version: "main", Go: "go1.26.8", Flags: []string{"-trimpath", "-tags=prod"}}})
	if err != nil || ps[0].Main != "" || len(ps[0].Flags) != 2 {
		t.Errorf("a module profile at a branch with go and flags: %+v %v", ps, err)
	}
	ps, err = profile.Check([]profile.Profile{{Name: "ok", Module: "example.com/gateway", Version: "v1.0.0", Main: "."}})
	if err != nil || strings.Join(ps[0].Flags, " ") != "-trimpath" {
		t.Errorf("a module profile gets the default flags: %+v %v", ps, err)
	}
}

// TestHostLinkingTheMainModule: a host that links the plugin repository's
// own module as a dependency, as a host elsewhere that requires a
// contract kept in that module does, is refused before anything is built
// for it: under -trimpath its packages are recorded as module@version/...
// and the plugins' as module/..., so no shared package could match. The
// message names the module and the way out (a contract module of its
// own).
func TestHostLinkingTheMainModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host")
	}
	plugtest.UseProxy(t, map[string]map[string]map[string]string{
		"example.com/shared": sharedVersions(),
		"github.com/plugship/plugship": {"v0.1.0": {
			"go.mod":               "module github.com/plugship/plugship\n\ngo 1.22\n",
			"contract/contract.go": moduleContract,
		}},
		"example.com/gate": {"v1.0.0": {
			"go.mod":           "module example.com/gate\n\ngo 1.22\n\nrequire (\n\tgithub.com/plugship/plugship v0.1.0\n\texample.com/shared v1.1.0\n)\n",
			"cmd/gate/main.go": hostMain("github.com/plugship/plugship/contract"),
		}},
	})
	repo := filepath.Join(t.TempDir(), "plugins")
	if err := plugtest.Module(root, repo, map[string]string{
		"teams/lab/team.yaml":             "name: lab\nowners: [dev@example.com]\nplugins:\n  - name: uses\n    source: lab/uses\n    version: 1.0.0\n",
		"plugin_sources/lab/uses/main.go": pluginMain("github.com/plugship/plugship/contract"),
	}); err != nil {
		t.Fatal(err)
	}
	if err := plugtest.Go(repo, "get", "example.com/shared@v1.1.0"); err != nil {
		t.Fatal(err)
	}
	ps, err := profile.Check([]profile.Profile{{Name: "gate", Module: "example.com/gate", Version: "v1.0.0", Main: "./cmd/gate"}})
	if err != nil {
		t.Fatal(err)
	}
	plugtest.OwnModcache(t)
	_, err = Targets(context.Background(), ps, Options{Root: repo, Dist: filepath.Join(t.TempDir(), "dist"), Profiles: ps})
	for _, want := range []string{
		"the host links module github.com/plugship/plugship v0.1.0, which is this repository's own (main) module",
		"records its packages as github.com/plugship/plugship@v0.1.0/..., plugins built here record them as github.com/plugship/plugship/...",
		"Make the contract a module of its own",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Targets: %v\nwant it to say %q", err, want)
		}
	}
}
