package build

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
)

// gatewayMod is the host module's go.mod, requiring shared at version.
func gatewayMod(shared string) string {
	return "module example.com/gateway\n\ngo 1.22\n\nrequire (\n\texample.com/contract v1.0.0\n\texample.com/shared " + shared + "\n)\n"
}

// TestExternalProfiles: the host module example.com/gateway lives in a git
// repository of its own, whose v1.0.0 links example.com/shared v1.1.0 and
// v1.1.0 links v1.2.0. Two module profiles take it from git (one by
// file:// URL, one by local path), and a binary profile downloads the
// v1.0.0 host over HTTP. One plugin source requiring shared v1.1.0
// builds, in one run, into two files, one per module graph: each loads
// into its own host and is refused by the other's preflight, naming the
// module and both versions. The binary profile of the v1.0.0 host gets
// the very file the module profile of that host got. Nothing of the
// repository's go.mod changes.
func TestExternalProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hosts and plugins")
	}
	gatewayProxy(t)
	ctx := context.Background()
	tmp := t.TempDir()

	gitDir := filepath.Join(tmp, "gateway-git")
	plugtest.GitRepo(t, gitDir, []plugtest.Commit{
		{Tag: "v1.0.0", Files: map[string]string{"go.mod": gatewayMod("v1.1.0"), "cmd/gateway/main.go": hostMain("example.com/contract")}},
		{Tag: "v1.1.0", Files: map[string]string{"go.mod": gatewayMod("v1.2.0")}},
	})

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
	rel, err := filepath.Rel(repo, gitDir)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := profile.Check([]profile.Profile{
		{Name: "gw-1-0", Module: "example.com/gateway", Git: "file://" + filepath.ToSlash(gitDir), Version: "v1.0.0", Main: "./cmd/gateway"},
		{Name: "gw-1-1", Module: "example.com/gateway", Git: filepath.ToSlash(rel), Version: "v1.1.0", Main: "./cmd/gateway"},
	})
	if err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(tmp, "dist")
	opts := Options{Root: repo, Dist: dist, Profiles: ps}
	start := time.Now()
	targets, err := Targets(ctx, ps, opts)
	cold := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if _, err := Targets(ctx, ps, opts); err != nil {
		t.Fatal(err)
	}
	warm := time.Since(start)
	t.Logf("preparing 2 module profiles from git: cold %v (fetch, export, 2 host builds, modfiles), warm %v", cold.Round(time.Millisecond), warm.Round(time.Millisecond))
	if len(targets) != 2 {
		t.Fatalf("%d targets, want 2: the hosts link different versions of example.com/shared", len(targets))
	}
	hosts := map[string]string{}
	for i, v := range []string{"v1.1.0", "v1.2.0"} {
		h := targets[i].Env.Host
		if h == nil || !strings.HasPrefix(h.Module, "example.com/gateway@v1.") || !strings.Contains(h.Module, "(") {
			t.Fatalf("%s: host %+v; want built from example.com/gateway at a tag, with its commit", targets[i].Name(), h)
		}
		if h.Modules["example.com/shared"] != v {
			t.Errorf("%s: the host links example.com/shared %s, want %s", targets[i].Name(), h.Modules["example.com/shared"], v)
		}
		hosts[v] = h.File
	}

	// A binary profile: the v1.0.0 host, downloaded over HTTP.
	hostBytes, err := os.ReadFile(hosts["v1.1.0"])
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := artifact.HashFile(hosts["v1.1.0"])
	if err != nil {
		t.Fatal(err)
	}
	var requests int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		if r.URL.Path != "/releases/v1.0.0/gateway" {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		w.Write(hostBytes)
	}))
	defer srv.Close()
	withURL := append(ps[:2:2], profile.Profile{Name: "gw-bin", Binary: srv.URL + "/releases/v1.0.0/gateway", SHA256: sum})
	if ps, err = profile.Check(withURL); err != nil {
		t.Fatal(err)
	}
	opts.Profiles = ps

	var out bytes.Buffer
	if err := Main(ctx, Selection{}, opts, &out); err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	t.Logf("build:\n%s", out.String())
	dir := filepath.Join(dist, "plugins", "lab", "uses")
	if all, _ := filepath.Glob(filepath.Join(dir, "*.so")); len(all) != 2 {
		t.Fatalf("%d files in %s (%q), want one per module graph", len(all), dir, all)
	}
	files := map[string]string{}
	for _, v := range []string{"v1.1.0", "v1.2.0"} {
		abi, err := plugtest.HostABIOf(hosts[v], "example.com/contract")
		if err != nil {
			t.Fatal(err)
		}
		cands, _, err := loader.Discover(dir, "uses", runtime.GOOS, runtime.GOARCH, abi)
		if err != nil || len(cands) != 1 || cands[0].ABI != abi {
			t.Fatalf("the files for the host linking shared %s (ABI %s): %+v %v", v, abi, cands, err)
		}
		files[v] = cands[0].File
	}
	meta, err := artifact.ReadMetadata(files["v1.1.0"] + artifact.MetadataSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(meta.Profiles, ",") != "gw-1-0,gw-bin" {
		t.Errorf("the file for the v1.0.0 host was built for %q, want the module and the binary profile of that host", meta.Profiles)
	}
	for v, other := range map[string]string{"v1.1.0": "v1.2.0", "v1.2.0": "v1.1.0"} {
		got, err := exec.Command(hosts[v], files[v]).CombinedOutput()
		if err != nil || string(got) != "1.0.0 true "+v+"\n" {
			t.Errorf("the host linking shared %s opening its file: %v %q", v, err, got)
		}
		d := loader.Try(ctx, files[v], loader.Options{Host: hosts[other], Contract: "example.com/contract", Verify: func(string) error { return nil }})
		if d.Outcome != loader.Incompatible || !strings.Contains(d.Reason, "example.com/shared") || !strings.Contains(d.Reason, v) || !strings.Contains(d.Reason, other) {
			t.Errorf("the file for shared %s in the other host: %s %q; want refused by the preflight naming example.com/shared, %s and %s", v, d.Outcome, d.Reason, v, other)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(repo, "go.mod")); !bytes.Equal(after, gomod) {
		t.Errorf("the repository's go.mod was rewritten:\n%s", after)
	}

	// Warm: nothing fetched or downloaded again, nothing rebuilt.
	before := requests
	out.Reset()
	if err := Main(ctx, Selection{}, opts, &out); err != nil {
		t.Fatalf("second build: %v\n%s", err, out.String())
	}
	if requests != before {
		t.Errorf("the second build downloaded the host binary again (%d requests)", requests-before)
	}
}

// TestExternalProfileErrors: a git repository without the version, a
// module path other than the profile's, a URL that answers 404 and one
// that serves other bytes than sha256 each stop that profile with a
// message that says what to correct.
func TestExternalProfileErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs git")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	gitDir := filepath.Join(tmp, "other-git")
	plugtest.GitRepo(t, gitDir, []plugtest.Commit{{Tag: "v1.0.0", Files: map[string]string{"go.mod": "module example.com/other\n\ngo 1.22\n", "main.go": "package main\n\nfunc main() {}\n"}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		w.Write([]byte("not the host"))
	}))
	defer srv.Close()
	dist := filepath.Join(tmp, "dist")
	for _, tc := range []struct {
		p    profile.Profile
		want string
	}{
		{profile.Profile{Name: "notag", Module: "example.com/other", Git: gitDir, Version: "v9.9.9"},
			`profile notag: the host module's repository ` + gitDir + ` has no tag, branch or commit "v9.9.9": check version`},
		{profile.Profile{Name: "wrongpath", Module: "example.com/gateway", Git: gitDir, Version: "v1.0.0"},
			`is module "example.com/other", not example.com/gateway: correct module (or git) in the profile`},
		{profile.Profile{Name: "nogit", Module: "example.com/gateway", Git: filepath.Join(tmp, "nowhere"), Version: "v1.0.0"},
			"profile nogit: fetching the host module example.com/gateway from " + filepath.Join(tmp, "nowhere")},
		{profile.Profile{Name: "notfound", Binary: srv.URL + "/missing", SHA256: strings.Repeat("a", 64)},
			"profile notfound: downloading the host binary " + srv.URL + `/missing: 404 Not Found: {"message":"Not Found"}`},
		{profile.Profile{Name: "otherbytes", Binary: srv.URL + "/gateway", SHA256: strings.Repeat("a", 64)},
			"but the profile's sha256 is " + strings.Repeat("a", 64) + ": the URL serves another file than the configuration names"},
	} {
		ps, err := profile.Check([]profile.Profile{tc.p})
		if err != nil {
			t.Fatalf("%s: %v", tc.p.Name, err)
		}
		_, err = profile.Prepare(ctx, tmp, dist, "", ps[0])
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v\nwant %q", tc.p.Name, err, tc.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dist, profile.HostBinariesDir, "*", "*")); len(left) != 0 {
		t.Errorf("failed downloads left %q", left)
	}
	_, err := profile.Check([]profile.Profile{{Name: "nosum", Binary: "https://example.com/gateway"}, {Name: "stray", Git: gitDir}})
	for _, want := range []string{
		"profiles[0].sha256: profile nosum downloads its host from https://example.com/gateway: add sha256:",
		"profiles[1].git: only a profile with module has a git: add module: <the host's module path>, or remove git",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}
