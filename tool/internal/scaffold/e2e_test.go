package scaffold

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The files TestEndToEnd adds to the scaffold, as an adopter would.
const (
	// core/hello 0.2.0 is not acceptable, so hosts fall back to 0.1.0,
	// built from a copy of the scaffold's hello.
	coreTeam = `name: core
owners:
  - "@core-maintainers"
plugins:
  - name: hello
    source: core/hello
    version: 0.2.0
    previous:
      - version: 0.1.0
        source: core/hello-0.1
`
	labsTeam = `name: labs
owners:
  - "@labs"
plugins:
  - name: echo
    source: labs/echo
    version: 1.0.0
`
	// echo exports only the variable: hosts find the element.
	echoPlugin = `package main

import "example.com/acme/contract"

var version = "dev"

type echo struct{}

func (echo) Version() string           { return version }
func (echo) IsAcceptable() bool        { return true }
func (echo) Greet(name string) string { return "echo " + name }

var GreeterElement contract.Greeter = echo{}

func main() {}
`
	// wrong's accessor has the right name and plugship's own contract
	// type. It links the repository's contract too (the build requires that:
	// the contract's fingerprint is part of the ABI), through a variable of
	// the right type that hosts never reach: the accessor is looked up first.
	wrongEntries = `  - name: wrong
    source: labs/wrong
    version: 0.1.0
  - name: foreign
    source: labs/foreign
    version: 0.1.0
`
	wrongPlugin = `package main

import (
	"example.com/acme/contract"
	plugshipcontract "github.com/plugship/plugship/contract"
)

var version = "dev"

type wrong struct{}

func (wrong) Version() string           { return version }
func (wrong) IsAcceptable() bool        { return true }
func (wrong) Greet(name string) string { return "wrong " + name }

func Greeter() plugshipcontract.Plugin { return wrong{} }

var GreeterElement contract.Greeter = wrong{}

func main() {}
`
	// foreign is written against plugship's contract alone.
	foreignPlugin = `package main

import plugshipcontract "github.com/plugship/plugship/contract"

var version = "dev"

type foreign struct{}

func (foreign) Version() string    { return version }
func (foreign) IsAcceptable() bool { return true }

func Greeter() plugshipcontract.Plugin { return foreign{} }

func main() {}
`
)

// TestEndToEnd scaffolds a repository against this checkout, adds a team,
// a second version and a wrongly typed plugin the way an adopter would,
// and runs the adopter's commands: go run mage.go all, the example host.
// It needs cgo, the Go module proxy or a module cache holding plugship's
// dependencies, and a few minutes on a cold build cache (go test -timeout
// 20m).
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugins and hosts: minutes")
	}
	root := plugshipRoot(t)
	dir := t.TempDir()
	// As an adopter runs: no -mod=mod, which would record sums go mod tidy
	// then removes (and the tidy check of go run mage.go test would refuse).
	env := append(os.Environ(), "GOWORK=off", "CGO_ENABLED=1")
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
		defer cancel()
	}

	start := time.Now()
	var out bytes.Buffer
	if err := Init(ctx, Options{Dir: dir, Module: "example.com/acme", Replace: root, Out: &out}); err != nil {
		t.Fatalf("Init: %v\n%s", err, out.String())
	}
	t.Logf("Init and go mod tidy: %s", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err != nil {
		t.Errorf("go mod tidy wrote no go.sum: %v", err)
	}
	for _, name := range files(t, dir) {
		src := read(t, filepath.Join(dir, name))
		for _, bad := range forbidden {
			if strings.Contains(src, bad) {
				t.Errorf("scaffolded %s mentions %s", name, bad)
			}
		}
	}

	hello := read(t, filepath.Join(dir, "plugin_sources/core/hello/main.go"))
	unacceptable := strings.Replace(hello, "func (hello) IsAcceptable() bool { return true }", "func (hello) IsAcceptable() bool { return false }", 1)
	if unacceptable == hello {
		t.Fatalf("plugin_sources/core/hello/main.go has no IsAcceptable returning true:\n%s", hello)
	}
	hosts := read(t, filepath.Join(dir, "compat/hosts.yaml"))
	// hello's newest version is not acceptable, so only echo must load.
	echoOnly := strings.Replace(hosts, `must_accept: ["*"]`, `must_accept: [labs/echo]`, 1)
	if echoOnly == hosts {
		t.Fatalf("compat/hosts.yaml has no must_accept: [\"*\"]:\n%s", hosts)
	}
	writeFiles(t, dir, map[string]string{
		"plugin_sources/core/hello-0.1/main.go": hello,
		"plugin_sources/core/hello/main.go":     unacceptable,
		"teams/core/team.yaml":                  coreTeam,
		"teams/labs/team.yaml":                  labsTeam,
		"plugin_sources/labs/echo/main.go":      echoPlugin,
		"compat/hosts.yaml":                     echoOnly,
	})

	mageCtx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	if stdout, stderr, err := command(mageCtx, dir, env, "go", "run", "mage.go", "all"); err != nil {
		t.Fatalf("go run mage.go all: %v\n%s\n%s", err, stdout, stderr)
	}
	t.Logf("Init to the end of go run mage.go all: %s", time.Since(start).Round(time.Millisecond))

	// The adopter's test command: every module tidy (contract/ and
	// magefiles/ too), then the tests of each (hello's own test).
	stdout, stderr, err := command(mageCtx, dir, env, "go", "run", "mage.go", "test")
	if err != nil {
		t.Fatalf("go run mage.go test: %v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"tidy  .\n", "tidy  contract\n", "tidy  magefiles\n", "ok    example.com/acme/plugin_sources/core/hello"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("go run mage.go test printed no %q:\n%s", want, stdout)
		}
	}

	// The adopter's targets are plugship's, with the same help: only the
	// package comment above the list differs.
	theirs, stderr, err := command(ctx, dir, env, "go", "run", "mage.go", "-l")
	if err != nil {
		t.Fatalf("go run mage.go -l in the scaffold: %v\n%s", err, stderr)
	}
	ours, stderr, err := command(ctx, root, env, "go", "run", "mage.go", "-l")
	if err != nil {
		t.Fatalf("go run mage.go -l in plugship: %v\n%s", err, stderr)
	}
	if a, b := targetList(theirs), targetList(ours); a != b || !strings.Contains(a, "build:plugin") {
		t.Errorf("go run mage.go -l differs:\nscaffold:\n%s\nplugship:\n%s", a, b)
	}
	for _, v := range []string{"0.1.0", "0.2.0"} {
		if m, _ := filepath.Glob(filepath.Join(dir, "dist/plugins/core/hello", "hello_v"+v+"_*.so")); len(m) == 0 {
			t.Errorf("go run mage.go all built no dist/plugins/core/hello/hello_v%s_*.so", v)
		}
	}

	// The host, built like the profile current: -trimpath.
	greet := filepath.Join(t.TempDir(), "greet")
	if stdout, stderr, err := command(ctx, dir, env, "go", "build", "-trimpath", "-o", greet, "./compat/hosts/greet"); err != nil {
		t.Fatalf("building the host: %v\n%s\n%s", err, stdout, stderr)
	}
	for _, c := range []struct {
		plugin, folder string
		stdout         []string
		stderr         []string // on one line
	}{
		{"hello", "dist/plugins/core/hello",
			[]string{`Found newest valid plugin version: "0.1.0"` + "\n", "hello says: hello, team\n"},
			[]string{"hello_v0.2.0_", "not-acceptable"}},
		{"echo", "dist/plugins/labs/echo",
			[]string{`Found newest valid plugin version: "1.0.0"` + "\n", "echo says: echo team\n"}, nil},
	} {
		stdout, stderr, err := command(ctx, dir, env, greet, "-trust", "dist/trust.json", "-plugin", c.plugin, c.folder)
		if err != nil {
			t.Errorf("greet -plugin %s: %v\nstdout:\n%s\nstderr:\n%s", c.plugin, err, stdout, stderr)
			continue
		}
		for _, want := range c.stdout {
			if !strings.Contains(stdout, want) {
				t.Errorf("greet -plugin %s: stdout does not say %q:\n%s", c.plugin, want, stdout)
			}
		}
		if c.stderr != nil && !hasLine(stderr, c.stderr...) {
			t.Errorf("greet -plugin %s: stderr has no line saying %q:\n%s", c.plugin, c.stderr, stderr)
		}
	}

	// A plugin whose accessor returns plugship's own contract type instead
	// of the repository's: the host refuses it and names both types.
	labs := read(t, filepath.Join(dir, "teams/labs/team.yaml"))
	writeFiles(t, dir, map[string]string{
		"teams/labs/team.yaml":                labs + wrongEntries,
		"plugin_sources/labs/wrong/main.go":   wrongPlugin,
		"plugin_sources/labs/foreign/main.go": foreignPlugin,
	})
	if stdout, stderr, err := command(ctx, dir, env, "go", "run", "mage.go", "build:plugin", "labs/wrong"); err != nil {
		t.Fatalf("go run mage.go build:plugin labs/wrong: %v\n%s\n%s", err, stdout, stderr)
	}
	stdout, stderr, err = command(ctx, dir, env, greet, "-trust", "dist/trust.json", "-plugin", "wrong", "dist/plugins/labs/wrong")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("greet -plugin wrong: %v, want exit status 1\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	const want = "symbol Greeter has type func() github.com/plugship/plugship/contract.Plugin, want func() example.com/acme/contract.Greeter"
	if !strings.Contains(stdout+stderr, want) {
		t.Errorf("greet -plugin wrong does not say %q:\nstdout:\n%s\nstderr:\n%s", want, stdout, stderr)
	}

	// The matrix, which runs the reference host as the probe, says the same.
	if stdout, stderr, err := command(ctx, dir, env, "go", "run", "mage.go", "compat"); err != nil {
		t.Fatalf("go run mage.go compat: %v\n%s\n%s", err, stdout, stderr)
	}
	var m struct {
		Cells []struct{ Plugin, Host, Outcome, Detail string }
	}
	if err := json.Unmarshal([]byte(read(t, filepath.Join(dir, "dist/compat/matrix.json"))), &m); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range m.Cells {
		if strings.HasPrefix(c.Plugin, "labs/wrong@") {
			found = true
			if c.Outcome != "wrong-type" || !strings.Contains(c.Detail, want) {
				t.Errorf("matrix cell %s in %s: %s %q, want wrong-type saying %q", c.Plugin, c.Host, c.Outcome, c.Detail, want)
			}
		}
	}
	if !found {
		t.Errorf("dist/compat/matrix.json has no cell of labs/wrong")
	}

	// A plugin that does not link the repository's contract at all is
	// refused by the build, which names the contract package.
	stdout, stderr, err = command(ctx, dir, env, "go", "run", "mage.go", "build:plugin", "labs/foreign")
	if err == nil || !strings.Contains(stdout+stderr, "example.com/acme/contract") {
		t.Errorf("go run mage.go build:plugin labs/foreign: %v, want a failure naming example.com/acme/contract\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	} else {
		t.Logf("go run mage.go build:plugin labs/foreign, as expected: %v\n%s", err, stdout)
	}
}

// writeFiles writes files (slash paths relative to dir -> content).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// command runs name with args in dir and returns its output.
func command(ctx context.Context, dir string, env []string, name string, args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// hasLine reports whether one line of s contains every one of subs.
func hasLine(s string, subs ...string) bool {
	for line := range strings.Lines(s) {
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(line, sub)
		}
		if all {
			return true
		}
	}
	return false
}

// targetList is the list of targets in the output of mage -l, without the
// package comment above it.
func targetList(s string) string {
	_, list, _ := strings.Cut(s, "Targets:")
	return list
}
