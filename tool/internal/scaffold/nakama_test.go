package scaffold

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/nakamatest"
	"github.com/plugship/plugship/tool/internal/plugtest"
)

// The files TestHostYouDontControl adds to the scaffold of plugship init
// -host nakama, as the teams of a game studio would.
const (
	// games/scores registers the RPC "scores"; games/broken's InitModule
	// returns an error, which the server's check does not see (it only
	// opens the plugin and checks InitModule's type) and its start-up does.
	gamesTeam = `name: games
owners:
  - "@games"
plugins:
  - name: scores
    source: games/scores
    version: 1.0.0
  - name: broken
    source: games/broken
    version: 0.1.0
`
	scoresPlugin = `package main

import (
	"context"
	"database/sql"

	"github.com/heroiclabs/nakama-common/runtime"
)

func InitModule(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, initializer runtime.Initializer) error {
	return initializer.RegisterRpc("scores", func(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, payload string) (string, error) {
		return "scores of " + payload + ": 42", nil
	})
}

func main() {}
`
	brokenPlugin = `package main

import (
	"context"
	"database/sql"
	"errors"

	"github.com/heroiclabs/nakama-common/runtime"
)

func InitModule(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, initializer runtime.Initializer) error {
	return errors.New("broken: the leaderboard table is missing")
}

func main() {}
`
	// wrongsig's InitModule lacks the initializer.
	wrongSigPlugin = `package main

import (
	"context"
	"database/sql"

	"github.com/heroiclabs/nakama-common/runtime"
)

func InitModule(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule) error {
	return nil
}

func main() {}
`
	// startCheck is a check command that starts the server on the
	// candidate and passes once the server says it started, the way a
	// team checks what "nakama check" cannot: InitModule's own errors.
	startCheck = `#!/bin/sh
# Starts the server on a folder that holds only the candidate; passes when
# it logs "Startup done", fails with its output when it exits first.
out=$(mktemp)
"$1" --runtime.path "$2" --addr 127.0.0.1:0 >"$out" 2>&1 &
pid=$!
i=0
while [ $i -lt 200 ]; do
  if grep -q '"Startup done"' "$out"; then kill $pid; wait $pid; rm -f "$out"; exit 0; fi
  if ! kill -0 $pid 2>/dev/null; then cat "$out"; rm -f "$out"; exit 1; fi
  sleep 0.05
  i=$((i+1))
done
cat "$out"; rm -f "$out"; kill $pid; exit 1
`
	startHost = `
  # The server started on each candidate: catches an InitModule that fails.
  - name: nakama-start
    profile: nakama-3-40-0
    check: ["sh", "compat/start-check.sh", "{host}", "{dir}"]
    must_accept: [core, games/scores]
    must_reject: [games/broken]
`
)

// TestHostYouDontControl is the README's walk-through for a host that
// someone else releases, with a test host that loads plugins the way
// Nakama 3.40.0 does (package nakamatest: built like Nakama's release,
// with go1.26.5, -trimpath -mod=vendor -ldflags "-s -w", against the real
// nakama-common v1.47.0 from the module proxy) and is served over loopback
// HTTP as the binary profile: plugship init -host nakama, two teams,
// go run mage.go all (build against the server's binary, sign, the
// matrix with the server's own check, publish), then plugship install
// into the server's folder, the server started on it and its RPCs
// called; an upgrade, a rollback, and a file signed by another team.
func TestHostYouDontControl(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host with go1.26.5 and plugins against it: minutes")
	}
	root := plugshipRoot(t)
	ctx := context.Background()
	start := time.Now()
	server := nakamatest.Build(t)
	url, sum := nakamatest.Serve(t, server)
	t.Logf("test server built like Nakama's release in %s, served at %s", time.Since(start).Round(time.Millisecond), url)

	dir := t.TempDir()
	host := Presets["nakama"]
	host.Binary, host.SHA256 = url, sum
	if err := Init(ctx, Options{Dir: dir, Module: "example.com/studio", Replace: root, Host: &host}); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), nakamatest.NakamaCommon+" "+nakamatest.NakamaCommonVersion) || strings.Contains(string(gomod), "plugship") {
		t.Errorf("go.mod requires not only the server's contract module at its version:\n%s", gomod)
	}
	hostsYAML, err := os.ReadFile(filepath.Join(dir, "compat/hosts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"teams/games/team.yaml":               gamesTeam,
		"plugin_sources/games/scores/main.go": scoresPlugin,
		"plugin_sources/games/broken/main.go": brokenPlugin,
		"compat/start-check.sh":               startCheck,
		"compat/hosts.yaml":                   string(hostsYAML) + startHost,
	})
	env := append(os.Environ(), "GOWORK=off", "CGO_ENABLED=1", "GITHUB_REPOSITORY=")
	mageCtx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	start = time.Now()
	stdout, stderr, err := command(mageCtx, dir, env, "go", "run", "mage.go", "all")
	if err != nil {
		t.Fatalf("go run mage.go all: %v\n%s\n%s", err, stdout, stderr)
	}
	t.Logf("go run mage.go all: %s\n%s", time.Since(start).Round(time.Millisecond), stdout)

	// The matrix: the server's own check decided every cell of nakama;
	// broken passes it (the check does not call InitModule) and is
	// refused, as required, by the server started on it, with its message.
	var m struct {
		Cells []struct {
			Plugin, Host, Outcome, Detail, Evidence, Required string
		} `json:"cells"`
	}
	if err := json.Unmarshal([]byte(read(t, filepath.Join(dir, "dist/compat/matrix.json"))), &m); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, c := range m.Cells {
		if c.Outcome == "" {
			continue // not applicable
		}
		seen++
		if c.Evidence != "host check" {
			t.Errorf("cell %s × %s: evidence %q, want host check", c.Plugin, c.Host, c.Evidence)
		}
		broken := strings.HasPrefix(c.Plugin, "games/broken@")
		switch {
		case broken && c.Host == "nakama-start":
			if c.Outcome != "host-check" || !strings.Contains(c.Detail, "Error returned by InitModule function in Go module") || !strings.Contains(c.Detail, "the leaderboard table is missing") {
				t.Errorf("broken × nakama-start: %s: %s; want refused by the host's check with the server's message", c.Outcome, c.Detail)
			}
		case c.Outcome != "ok":
			t.Errorf("cell %s × %s: %s: %s", c.Plugin, c.Host, c.Outcome, c.Detail)
		}
	}
	if seen != 6 {
		t.Errorf("%d cells tried, want 6 (hello, scores and broken in 2 hosts):\n%+v", seen, m.Cells)
	}

	// plugship install, as a Dockerfile's RUN step runs it: the command's
	// own module, no mage, no repository.
	modules := filepath.Join(t.TempDir(), "modules")
	install := func(t *testing.T, wantErr bool, args ...string) string {
		t.Helper()
		given := strings.Join(args, " ")
		args = append([]string{"run", "-C", "cmd/plugship", ".", "install", "-host", server, "-index", filepath.Join(dir, "dist/channel"),
			"-trust", filepath.Join(dir, "dist/trust.json"), "-dir", modules, "-cache", filepath.Join(dir, "cache"),
			"-check", "{host} check --runtime.path {dir}"}, args...)
		began := time.Now()
		stdout, stderr, err := command(ctx, root, env, "go", args...)
		t.Logf("go run -C cmd/plugship . install ... %s: %s", given, time.Since(began).Round(time.Millisecond))
		if (err != nil) != wantErr {
			t.Fatalf("go %s: %v (want error: %v)\n%s\n%s", strings.Join(args, " "), err, wantErr, stdout, stderr)
		}
		return stdout + stderr
	}
	out := install(t, false, "-dry-run", "hello", "scores")
	if !strings.Contains(out, "hello: would install version 0.1.0") || !strings.Contains(out, "dry run: nothing changed") {
		t.Errorf("dry run:\n%s", out)
	}
	if _, err := os.Stat(modules); err == nil {
		t.Errorf("the dry run created %s", modules)
	}
	out = install(t, false, "hello", "scores")
	t.Logf("plugship install hello scores:\n%s", out)
	assertFolder(t, modules, "hello.so", "scores.so")

	srv := nakamatest.Start(t, server, modules)
	for id, want := range map[string]string{"hello": "hello, studio", "scores": "scores of studio: 42"} {
		if got, status, err := srv.RPC(id, "studio"); err != nil || status != 200 || got != want {
			t.Errorf("RPC %s = %q, %d, %v; want %q", id, got, status, err, want)
		}
	}
	srv.Stop()

	// broken never gets into the folder when the server's start is the
	// check; nothing changes when nothing fits.
	out = install(t, true, "-check", "sh "+filepath.Join(dir, "compat/start-check.sh")+" {host} {dir}", "broken")
	if !strings.Contains(out, "Error returned by InitModule function in Go module") || !strings.Contains(out, "nothing was changed") {
		t.Errorf("installing broken:\n%s", out)
	}
	assertFolder(t, modules, "hello.so", "scores.so")

	// A newer hello: 0.2.0, from a folder of its own (0.1.0's bytes stay
	// what was published), is installed atomically in place of 0.1.0, and
	// -rollback brings 0.1.0 back.
	team := read(t, filepath.Join(dir, "teams/core/team.yaml"))
	upgraded := strings.Replace(strings.Replace(team, "source: core/hello ", "source: core/hello-0.2 ", 1), "version: 0.1.0 ", "version: 0.2.0\n    previous:\n      - version: 0.1.0\n        source: core/hello\n    #", 1)
	if upgraded == team {
		t.Fatalf("the scaffold's team.yaml changed; update the test:\n%s", team)
	}
	writeFiles(t, dir, map[string]string{
		"plugin_sources/core/hello-0.2/main.go": strings.Replace(read(t, filepath.Join(dir, "plugin_sources/core/hello/main.go")), `"hello, " + payload`, `"hello again, " + payload`, 1),
		"teams/core/team.yaml":                  upgraded,
	})
	if stdout, stderr, err := command(mageCtx, dir, env, "go", "run", "mage.go", "all"); err != nil {
		t.Fatalf("go run mage.go all with hello 0.2.0: %v\n%s\n%s", err, stdout, stderr)
	}
	os.RemoveAll(filepath.Join(dir, "cache"))
	out = install(t, false, "hello")
	if !strings.Contains(out, "hello: upgraded to version 0.2.0") || !strings.Contains(out, "(was 0.1.0)") {
		t.Errorf("upgrade:\n%s", out)
	}
	// Only the version chosen was downloaded: the newest fitted.
	if got, _ := filepath.Glob(filepath.Join(dir, "cache", "*", "hello", "*.so")); len(got) != 1 || !strings.Contains(got[0], "hello_v0.2.0_") {
		t.Errorf("the upgrade downloaded %v, want hello 0.2.0 alone", got)
	}
	assertFolder(t, modules, "hello.so", "scores.so")
	rpc := func(want string) {
		t.Helper()
		srv := nakamatest.Start(t, server, modules)
		defer srv.Stop()
		if got, _, err := srv.RPC("hello", "studio"); err != nil || got != want {
			t.Errorf("RPC hello = %q, %v; want %q", got, err, want)
		}
	}
	rpc("hello again, studio")
	if out := install(t, false, "-rollback", "hello"); !strings.Contains(out, "hello: 0.2.0 -> 0.1.0") {
		t.Errorf("rollback:\n%s", out)
	}
	rpc("hello, studio")

	// A file signed by another team is never installed: 0.2.0's signature
	// replaced by the games team's over the same bytes.
	channel := filepath.Join(dir, "dist/channel")
	var newest []string
	filepath.WalkDir(channel, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "hello_v0.2.0_") && strings.HasSuffix(d.Name(), ".so") {
			newest = append(newest, p)
		}
		return nil
	})
	if len(newest) != 1 {
		t.Fatalf("no single hello 0.2.0 in the channel: %v", newest)
	}
	if err := plugtest.SignFile(dir, filepath.Join(dir, "dist"), "games", newest[0]); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "cache"))
	out = install(t, false, "-dry-run", "hello")
	if !strings.Contains(out, "hello: version 0.1.0 is installed as") {
		t.Errorf("with 0.2.0 signed by games, install chose another version than 0.1.0:\n%s", out)
	}
	if !strings.Contains(out, "hello_v0.2.0") || !strings.Contains(out, "refused") {
		t.Errorf("with 0.2.0 signed by games, install did not refuse it:\n%s", out)
	}
}

// TestHostYouDontControlRefusals: what the build refuses for a host
// someone else releases, before anything is signed: a plugin whose
// InitModule has another signature (both types named), and a repository
// that requires a newer protobuf than the server links (the module and
// both versions named).
func TestHostYouDontControlRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host with go1.26.5 and plugins against it: minutes")
	}
	root := plugshipRoot(t)
	ctx := context.Background()
	server := nakamatest.Build(t)
	// The server as its release ships it: an archive, served over HTTP.
	url, sum := serveArchive(t, server)
	dir := t.TempDir()
	host := Presets["nakama"]
	host.Binary, host.SHA256 = url, sum
	if err := Init(ctx, Options{Dir: dir, Module: "example.com/studio", Replace: root, Host: &host}); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"teams/games/team.yaml":                 "name: games\nowners: [\"@games\"]\nplugins:\n  - name: wrongsig\n    source: games/wrongsig\n    version: 0.1.0\n",
		"plugin_sources/games/wrongsig/main.go": wrongSigPlugin,
	})
	env := append(os.Environ(), "GOWORK=off", "CGO_ENABLED=1", "GITHUB_REPOSITORY=")
	mageCtx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	stdout, stderr, err := command(mageCtx, dir, env, "go", "run", "mage.go", "build")
	if err == nil {
		t.Fatalf("go run mage.go build with wrongsig succeeded:\n%s", stdout)
	}
	for _, want := range []string{
		"games/wrongsig",
		"exports InitModule of type func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule) error,",
		"want func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error",
	} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("the build's refusal of wrongsig lacks %q:\n%s\n%s", want, stdout, stderr)
		}
	}
	t.Logf("go run mage.go build with wrongsig, as expected:\n%s", stdout)
	if hasLine(stdout+stderr, "FAILED", "core/hello") {
		t.Errorf("core/hello failed too:\n%s", stdout)
	}

	// The matrix refuses it too: built by hand, as a careless team would
	// outside plugship (go1.26.5, -trimpath, the server's module versions,
	// so that the preflight passes), named for the server's ABI and
	// signed. The server's own check refuses it with its message, and a
	// reference host without a check command of its own (the stand-in,
	// which asserts the contract's types) names both types.
	hostsYAML := read(t, filepath.Join(dir, "compat/hosts.yaml"))
	writeFiles(t, dir, map[string]string{"compat/hosts.yaml": hostsYAML + "\n  - name: nakama-standin\n    profile: nakama-3-40-0\n    must_accept: [core]\n"})
	abi, err := plugtest.HostABIOf(server, nakamatest.Contract)
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	nakamatest.PluginModule(t, mod, nakamatest.Plugin{Path: "example.com/wrongsig", Source: wrongSigPlugin})
	file := filepath.Join(dir, "dist/plugins/games/wrongsig", plugtest.FileName("wrongsig", "0.1.0", abi))
	nakamatest.BuildPlugin(t, mod, nakamatest.GoVersion, file)
	if err := plugtest.WriteMetadata(file, "games"); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := command(mageCtx, dir, env, "go", "run", "mage.go", "sign"); err != nil {
		t.Fatalf("go run mage.go sign: %v\n%s\n%s", err, stdout, stderr)
	}
	stdout, stderr, err = command(mageCtx, dir, env, "go", "run", "mage.go", "compat")
	t.Logf("go run mage.go compat with a hand-built wrongsig (%v):\n%s", err, stdout)
	cells := map[string]struct{ Outcome, Detail, Evidence string }{}
	var m struct {
		Cells []struct{ Plugin, Host, Outcome, Detail, Evidence string } `json:"cells"`
	}
	if err := json.Unmarshal([]byte(read(t, filepath.Join(dir, "dist/compat/matrix.json"))), &m); err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Cells {
		if strings.HasPrefix(c.Plugin, "games/wrongsig@") {
			cells[c.Host] = struct{ Outcome, Detail, Evidence string }{c.Outcome, c.Detail, c.Evidence}
		} else if c.Outcome != "ok" {
			t.Errorf("%s × %s: %s: %s", c.Plugin, c.Host, c.Outcome, c.Detail)
		}
	}
	if c := cells["nakama"]; c.Outcome != "host-check" || c.Evidence != "host check" || !strings.Contains(c.Detail, "Error reading InitModule function in Go module") {
		t.Errorf("wrongsig × nakama: %+v; want refused by the server's check, with its message", c)
	}
	if c := cells["nakama-standin"]; c.Outcome != "wrong-type" || c.Evidence != "stand-in probe" ||
		!strings.Contains(c.Detail, "InitModule is a func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule) error, want func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error") {
		t.Errorf("wrongsig × nakama-standin: %+v; want a wrong type in the stand-in, both types named", c)
	}
	os.RemoveAll(filepath.Join(dir, "teams/games"))
	os.RemoveAll(filepath.Join(dir, "dist/plugins/games"))

	// protobuf v1.36.12 in go.mod: above the server's v1.36.11.
	if stdout, stderr, err := command(ctx, dir, env, "go", "get", "google.golang.org/protobuf@v1.36.12"); err != nil {
		t.Fatalf("go get: %v\n%s\n%s", err, stdout, stderr)
	}
	stdout, stderr, err = command(mageCtx, dir, env, "go", "run", "mage.go", "build")
	if err == nil {
		t.Fatalf("go run mage.go build with protobuf v1.36.12 succeeded:\n%s", stdout)
	}
	t.Logf("go run mage.go build with protobuf v1.36.12, as expected:\n%s", stdout)
	for _, want := range []string{"google.golang.org/protobuf", "v1.36.12", "v1.36.11", "core/hello"} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("the build's refusal of protobuf v1.36.12 lacks %q:\n%s\n%s", want, stdout, stderr)
		}
	}
}

// assertFolder checks that the host's folder holds exactly these plugin
// files (and plugship install's .plugship state).
func assertFolder(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.Name() != ".plugship" {
			got = append(got, e.Name())
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s holds %v, want %v", dir, got, want)
	}
}

// serveArchive serves a release archive holding the server as nakama (and
// a README) over loopback HTTP, and returns its URL and SHA-256.
func serveArchive(t *testing.T, server string) (string, string) {
	t.Helper()
	bin, err := os.ReadFile(server)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for name, data := range map[string][]byte{"README.md": []byte("Nakama\n"), "nakama": bin} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	const path = "/heroiclabs/nakama/releases/download/v3.40.0/nakama-3.40.0-linux-amd64.tar.gz"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Write(b.Bytes())
	}))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(b.Bytes())
	return srv.URL + path, hex.EncodeToString(sum[:])
}
