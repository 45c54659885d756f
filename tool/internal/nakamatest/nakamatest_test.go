package nakamatest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/nakamatest"
)

// shared holds the plugins the tests build once and copy.
var shared string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nakamatest-plugins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pluginSpec is a plugin the tests use: its source, protobuf version and
// the toolchain it is built with.
type pluginSpec struct {
	source, protobuf, toolchain string
}

// initSource is the source of a plugin whose InitModule is body.
func initSource(imports, body string) string {
	return "package main\n\nimport (\n\t\"context\"\n\t\"database/sql\"\n" + imports + "\n\t\"github.com/heroiclabs/nakama-common/runtime\"\n)\n\n" + body
}

var specs = map[string]pluginSpec{
	"hello": {source: nakamatest.Hello, toolchain: nakamatest.GoVersion},
	// errors registers "Fail" (Nakama lower-cases RPC ids), which fails.
	"errors": {source: initSource("\t\"errors\"\n", `func InitModule(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, initializer runtime.Initializer) error {
	logger.WithField("plugin", "errors").Info("errors module loaded in mode %v", ctx.Value(runtime.RUNTIME_CTX_MODE))
	return initializer.RegisterRpc("Fail", func(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, payload string) (string, error) {
		return "", errors.New("boom: " + payload)
	})
}
`), toolchain: nakamatest.GoVersion},
	"initerror": {source: initSource("\t\"errors\"\n", `func InitModule(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, initializer runtime.Initializer) error {
	return errors.New("no configuration for initerror")
}
`), toolchain: nakamatest.GoVersion},
	// wrongsig's InitModule lacks the initializer parameter.
	"wrongsig": {source: initSource("", `func InitModule(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule) error {
	return nil
}
`), toolchain: nakamatest.GoVersion},
	"noinit": {source: initSource("", `func InitModul(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, initializer runtime.Initializer) error {
	return nil
}
`), toolchain: nakamatest.GoVersion},
	"defaultgo": {source: nakamatest.Hello, toolchain: ""},
	"protobuf":  {source: nakamatest.Hello, protobuf: "v1.36.12", toolchain: nakamatest.GoVersion},
}

var built sync.Map // name -> *builtPlugin

type builtPlugin struct {
	once sync.Once
	file string
}

// plugin returns the file of the plugin name of specs, built once for all
// the tests (by the first that asks; the others fail if it failed).
func plugin(t *testing.T, name string) string {
	t.Helper()
	spec, ok := specs[name]
	if !ok {
		t.Fatalf("no plugin %q", name)
	}
	v, _ := built.LoadOrStore(name, &builtPlugin{})
	b := v.(*builtPlugin)
	b.once.Do(func() {
		mod := filepath.Join(shared, name)
		nakamatest.PluginModule(t, mod, nakamatest.Plugin{Path: "example.com/plugins/" + name, Source: spec.source, Protobuf: spec.protobuf})
		file := filepath.Join(shared, name+".so")
		nakamatest.BuildPlugin(t, mod, spec.toolchain, file)
		b.file = file
	})
	if b.file == "" {
		t.Fatalf("building plugin %s failed (in another test)", name)
	}
	return b.file
}

// runtimePath returns a new runtime path holding the plugins of files
// (slash path below the runtime path -> plugin name of specs).
func runtimePath(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "modules")
	for rel, name := range files {
		data, err := os.ReadFile(plugin(t, name))
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// logLine is one JSON line of the host's output.
type logLine map[string]any

// lines parses the host's output, failing on a line that is not JSON.
func lines(t *testing.T, out string) []logLine {
	t.Helper()
	var ls []logLine
	for _, s := range strings.Split(strings.TrimSpace(out), "\n") {
		if s == "" {
			continue
		}
		var l logLine
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("not a JSON line: %q: %v", s, err)
		}
		for _, key := range []string{"level", "ts", "caller", "msg"} {
			if _, ok := l[key]; !ok {
				t.Errorf("line %q has no %q", s, key)
			}
		}
		ls = append(ls, l)
	}
	return ls
}

// find returns the first line with msg, failing if there is none.
func find(t *testing.T, out, msg string) logLine {
	t.Helper()
	for _, l := range lines(t, out) {
		if l["msg"] == msg {
			return l
		}
	}
	t.Fatalf("no line %q in:\n%s", msg, out)
	return nil
}

// TestHost: a plugin built by hand with the host's Go and modules passes
// check and serves its RPC; .so files are found below the runtime path
// whatever the extension's case, in lexical order, and nothing else is
// opened; the build is Nakama's release build and keeps its build info.
func TestHost(t *testing.T) {
	t.Parallel()
	bin := build(t)

	out, err := exec.Command(bin, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != nakamatest.HostVersion {
		t.Errorf("--version: %q, %v; want %s", out, err, nakamatest.HostVersion)
	}
	out, err = exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	for _, want := range []string{
		": " + nakamatest.GoVersion + "\n",
		"\tdep\t" + nakamatest.NakamaCommon + "\t" + nakamatest.NakamaCommonVersion + "\t",
		"\tdep\tgoogle.golang.org/protobuf\t" + nakamatest.ProtobufVersion + "\t",
		"\tbuild\t-trimpath=true\n",
		"\tbuild\tCGO_ENABLED=1\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go version -m %s lacks %q:\n%s", bin, want, out)
		}
	}
	// -s -w strips the symbol table, not the build info; -trimpath keeps
	// -ldflags out of it (it may hold paths).
	if strings.Contains(string(out), "-ldflags") {
		t.Errorf("go version -m %s records -ldflags despite -trimpath:\n%s", bin, out)
	}
	t.Logf("go version -m of the stripped host:\n%s", out)

	dir := runtimePath(t, map[string]string{"sub/hello.so": "hello", "a.SO": "errors"})
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a module\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := nakamatest.Check(t, bin, dir); code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("check: exit %d, stdout %q, stderr %q; want 0 and no output", code, stdout, stderr)
	}

	s := nakamatest.Start(t, bin, dir)
	for _, c := range []struct {
		id, payload, body string
		status            int
	}{
		{"hello", "world", "hello, world", 200},
		{"HELLO", "", "hello, ", 200},
		{"fail", "now", "boom: now", 500},
		{"nope", "", "RPC function not found\n", 404},
	} {
		body, status, err := s.RPC(c.id, c.payload)
		if err != nil || status != c.status || body != c.body {
			t.Errorf("RPC(%q, %q) = %q, %d, %v; want %q, %d", c.id, c.payload, body, status, err, c.body, c.status)
		}
	}
	var loaded []string
	for _, l := range lines(t, s.Output()) {
		if l["runtime"] == "go" {
			loaded = append(loaded, fmt.Sprint(l["msg"]))
		}
	}
	if want := []string{"errors module loaded in mode run_once", "hello module loaded"}; strings.Join(loaded, "|") != strings.Join(want, "|") {
		t.Errorf("modules logged %q, want %q (a.SO before sub/hello.so)\n%s", loaded, want, s.Output())
	}
	if l := find(t, s.Output(), "errors module loaded in mode run_once"); l["plugin"] != "errors" || !strings.HasPrefix(fmt.Sprint(l["caller"]), "errors/main.go:") {
		t.Errorf("module's line %v: want plugin=errors and the module's caller", l)
	}
	find(t, s.Output(), "Go runtime modules loaded")
	if l := find(t, s.Output(), "Startup done"); l["addr"] != s.Addr || l["level"] != "info" {
		t.Errorf("Startup done line %v", l)
	}
	if code, err := s.Stop(); code != 0 || err != nil {
		t.Errorf("stop: exit %d, %v\n%s%s", code, err, s.Output(), s.Stderr())
	}
	find(t, s.Output(), "Shutdown complete")
}

// build is nakamatest.Build, saying how long it waited for the host.
func build(t *testing.T) string {
	t.Helper()
	start := time.Now()
	bin := nakamatest.Build(t)
	if d := time.Since(start); d > time.Second {
		t.Logf("waited %v for the host", d.Round(time.Millisecond))
	}
	return bin
}

// TestInitModuleError: check does not call InitModule, so it passes; the
// server calls it and exits on its error.
func TestInitModuleError(t *testing.T) {
	t.Parallel()
	bin := build(t)
	dir := runtimePath(t, map[string]string{"initerror.so": "initerror", "z/hello.so": "hello"})
	if code, stdout, stderr := nakamatest.Check(t, bin, dir); code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("check: exit %d, stdout %q, stderr %q; want 0 and no output", code, stdout, stderr)
	}
	_, err := nakamatest.TryStart(t, bin, dir)
	var exit *nakamatest.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 {
		t.Fatalf("start: %v; want an exit with status 1", err)
	}
	l := find(t, exit.Stdout, "Error returned by InitModule function in Go module")
	if l["level"] != "fatal" || l["name"] != "initerror" || l["error"] != "no configuration for initerror" || !strings.HasPrefix(fmt.Sprint(l["caller"]), "server/runtime_go.go:") {
		t.Errorf("line %v", l)
	}
	if strings.Contains(exit.Stdout, "Go runtime modules loaded") || strings.Contains(exit.Stdout, "hello module loaded") {
		t.Errorf("the host went on after the first failure:\n%s", exit.Stdout)
	}
}

// TestWrongSignature: an InitModule of another type fails check and
// serving, naming the module by its path below the runtime path.
func TestWrongSignature(t *testing.T) {
	t.Parallel()
	bin := build(t)
	dir := runtimePath(t, map[string]string{"nested/wrong.so": "wrongsig"})
	code, stdout, _ := nakamatest.Check(t, bin, dir)
	if code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s", code, stdout)
	}
	if l := find(t, stdout, "Error reading InitModule function in Go module"); l["level"] != "fatal" || l["name"] != "nested/wrong" {
		t.Errorf("line %v", l)
	}
	if len(lines(t, stdout)) != 1 {
		t.Errorf("check wrote more than its one line:\n%s", stdout)
	}
	_, err := nakamatest.TryStart(t, bin, dir)
	var exit *nakamatest.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 || !strings.Contains(exit.Stdout, `"msg":"Error reading InitModule function in Go module"`) {
		t.Fatalf("start: %v; want an exit with status 1 and the line", err)
	}
}

// TestNoInitModule: a plugin without InitModule fails check.
func TestNoInitModule(t *testing.T) {
	t.Parallel()
	bin := build(t)
	dir := runtimePath(t, map[string]string{"noinit.so": "noinit"})
	code, stdout, _ := nakamatest.Check(t, bin, dir)
	if code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s", code, stdout)
	}
	if l := find(t, stdout, "Error looking up InitModule function in Go module"); l["level"] != "fatal" || l["name"] != "noinit" {
		t.Errorf("line %v", l)
	}
}

// refused checks that check and serving refuse the plugin name for being
// built with other packages than the host's, and returns the error.
func refused(t *testing.T, name string) string {
	t.Helper()
	bin := build(t)
	dir := runtimePath(t, map[string]string{name + ".so": name})
	code, stdout, _ := nakamatest.Check(t, bin, dir)
	if code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s", code, stdout)
	}
	l := find(t, stdout, "Could not open Go module")
	msg := fmt.Sprint(l["error"])
	if l["level"] != "error" || l["path"] != filepath.Join(dir, name+".so") || !strings.Contains(msg, "plugin was built with a different version of package") {
		t.Errorf("line %v", l)
	}
	_, err := nakamatest.TryStart(t, bin, dir)
	var exit *nakamatest.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 {
		t.Fatalf("start: %v; want an exit with status 1", err)
	}
	find(t, exit.Stdout, "Could not open Go module")
	if l := find(t, exit.Stdout, "Failed initializing runtime modules"); l["level"] != "fatal" {
		t.Errorf("line %v", l)
	}
	return msg
}

// TestDefaultGo: a plugin built with the go command on PATH, another Go
// release than the host's, is refused.
func TestDefaultGo(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(out)); v == nakamatest.GoVersion {
		t.Fatalf("the go command on PATH is %s, the host's own release: this test needs another", v)
	}
	t.Logf("go on PATH (%s): %s", strings.TrimSpace(string(out)), refused(t, "defaultgo"))
}

// TestNewerProtobuf: a plugin requiring a newer protobuf than the host
// links is refused.
func TestNewerProtobuf(t *testing.T) {
	t.Parallel()
	msg := refused(t, "protobuf")
	if !strings.Contains(msg, "google.golang.org/protobuf/") {
		t.Errorf("error %q does not name a protobuf package", msg)
	}
	t.Logf("protobuf v1.36.12: %s", msg)
}

// TestServe: the host is served at the path of Nakama's release, and
// nothing else is.
func TestServe(t *testing.T) {
	t.Parallel()
	bin := build(t)
	u, sum := nakamatest.Serve(t, bin)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(data); sum != hex.EncodeToString(want[:]) {
		t.Errorf("sha256 %s, want %x", sum, want)
	}
	if !strings.HasSuffix(u, nakamatest.ReleasePath) || !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Errorf("URL %s", u)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(got) != string(data) {
		t.Errorf("GET %s: %d, %d bytes, %v; want 200 and the file", u, resp.StatusCode, len(got), err)
	}
	base := strings.TrimSuffix(u, nakamatest.ReleasePath)
	for _, c := range []struct{ method, url string }{
		{"GET", base + "/heroiclabs/nakama/releases/download/v3.39.0/nakama"},
		{"GET", base + "/"},
		{"POST", u},
	} {
		req, _ := http.NewRequest(c.method, c.url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || len(body) == 0 {
			t.Errorf("%s %s: %d %q %q; want 404 with a text body", c.method, c.url, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}
