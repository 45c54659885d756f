package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plugship/plugship/tool/internal/progress"
)

// Provide makes sure this machine has what the tests of the repository at
// root need, installing the Debian packages it can, and says so on out.
func Provide(ctx context.Context, root string, out io.Writer) error {
	n, err := Find(ctx, root)
	if err != nil {
		return err
	}
	if missing := n.Missing(); len(missing) > 0 {
		if err := n.Install(ctx, DetectInstaller(ctx), out); err != nil {
			return err
		}
	}
	var names []string
	for _, t := range n.Tools {
		names = append(names, t.Command)
	}
	fmt.Fprintf(out, "tools: %s\n", strings.Join(names, ", "))
	env, err := readGoEnv(ctx)
	if err != nil {
		return err
	}
	if env.CGO_ENABLED != "1" {
		return fmt.Errorf("cgo is disabled (go env CGO_ENABLED is %q) and plugins need it: unset CGO_ENABLED or set CGO_ENABLED=1, then run go run mage.go test again", env.CGO_ENABLED)
	}
	if err := pluginSupport(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "plugins: built and opened one")
	// A toolchain not yet in the module cache is a download of some 70 MB:
	// the bar says so while it runs.
	bar := progress.New(out, "Go toolchains fetched", len(n.Toolchains))
	bar.Heartbeat()
	defer bar.Finish()
	for _, v := range slices.Sorted(maps.Keys(n.Toolchains)) {
		got, err := toolchain(ctx, v)
		bar.Done(1)
		if err != nil {
			return fmt.Errorf("cannot fetch Go toolchain %s through the module proxy (GOPROXY=%s), which %s needs: %v\ncheck that this machine reaches the proxy (GOTOOLCHAIN=%s go version must work), then run go run mage.go test again", v, env.GOPROXY, n.Toolchains[v], err, v)
		}
		bar.Line("%s", progress.Paragraph(fmt.Sprintf("%s (%s), for %s", v, strings.TrimPrefix(got, "go version "+v+" "), n.Toolchains[v]), "toolchain ", "  "))
	}
	bar.Finish()
	if err := installCommands(ctx, n.Commands, out); err != nil {
		return err
	}
	return downloadModules(ctx, root, n.Modules, env.GOPROXY, out)
}

// installCommands builds each command with go install, once per version,
// into the user cache folder's plugship/test-commands/<name>@<version>,
// and puts that folder first on PATH, for the tests this process runs.
func installCommands(ctx context.Context, cmds []GoCommand, out io.Writer) error {
	if len(cmds) == 0 {
		return nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return fmt.Errorf("the commands the tests need (%s) go into the user cache folder: %w", cmds[0].Name, err)
	}
	bar := progress.New(out, "commands built", len(cmds))
	bar.Heartbeat()
	defer bar.Finish()
	for _, c := range cmds {
		dir := filepath.Join(cache, "plugship", "test-commands", c.Name+"@"+c.Version)
		how := "built before"
		if _, err := os.Stat(filepath.Join(dir, c.Name)); err != nil {
			how = "built now"
			tmp := dir + ".tmp"
			os.RemoveAll(tmp)
			cmd := exec.CommandContext(ctx, "go", "install", c.Package+"@"+c.Version)
			cmd.Dir = os.TempDir()
			cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off")
			if msg, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("cannot build %s: go install %s@%s: %v\n%s\ncheck that this machine reaches the module proxy, then run go run mage.go test again", c.Name, c.Package, c.Version, err, bytes.TrimSpace(msg))
			}
			if err := os.Rename(tmp, dir); err != nil {
				return err
			}
		}
		bar.Done(1)
		bar.Line("%s", progress.Paragraph(fmt.Sprintf("%s %s (go install %s@%s, %s), for %s", c.Name, c.Version, c.Package, c.Version, how, c.Why), "command ", "  "))
		os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	return nil
}

// downloadModules fetches into the module cache every module the tests
// build: each module graph of the checkout at root (go mod download in
// each module), and extra (path@version). Tests that change a module's
// requirements run the go command offline, against a file:// proxy of
// their own backed by the module cache (plugtest.OfflineEnv), so the go.mod
// of every module in the root's graph must be there too (go list -m all).
func downloadModules(ctx context.Context, root string, extra []string, proxy string, out io.Writer) error {
	mods, err := Modules(root)
	if err != nil {
		return err
	}
	type job struct {
		dir, what string
		args      []string
	}
	var jobs []job
	for _, m := range mods {
		jobs = append(jobs, job{filepath.Join(root, m), "the module graph of " + m, []string{"mod", "download", "-json"}})
	}
	jobs = append(jobs, job{root, "the go.mod files of the root's whole graph", []string{"list", "-m", "all"}})
	if len(extra) > 0 {
		jobs = append(jobs, job{os.TempDir(), "modules the tests fetch", append([]string{"mod", "download", "-json"}, extra...)})
	}
	fmt.Fprintf(out, "modules: fetching into the module cache what the tests build (the graphs of %d modules, %d more)\n", len(mods), len(extra))
	bar := progress.New(out, "module graphs", len(jobs))
	bar.Heartbeat()
	seen, size := map[string]bool{}, int64(0)
	for _, j := range jobs {
		cmd := exec.CommandContext(ctx, "go", j.args...)
		cmd.Dir = j.dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil {
			bar.Finish()
			return fmt.Errorf("go %s (%s): %v: %s\ncheck that this machine reaches the module proxy (GOPROXY=%s), then run go run mage.go test again", strings.Join(j.args, " "), j.what, err, bytes.TrimSpace(stderr.Bytes()), proxy)
		}
		if j.args[0] == "mod" {
			dec := json.NewDecoder(bytes.NewReader(stdout))
			for {
				var m struct{ Path, Version, Zip string }
				if dec.Decode(&m) != nil {
					break
				}
				if seen[m.Path+"@"+m.Version] {
					continue
				}
				seen[m.Path+"@"+m.Version] = true
				if fi, err := os.Stat(m.Zip); err == nil {
					size += fi.Size()
				}
			}
		}
		bar.Done(1)
	}
	bar.Finish()
	fmt.Fprintf(out, "modules: %d in the module cache (%.0f MB of zips)\n", len(seen), float64(size)/(1<<20))
	return nil
}

// toolchain fetches Go release v once (the go command keeps it in the
// module cache) and returns its go version line.
func toolchain(ctx context.Context, v string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "version")
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+v)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // "go: downloading go1.25.5 (linux/amd64)" on a first fetch
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, bytes.TrimSpace(append(stderr.Bytes(), out...)))
	}
	return string(bytes.TrimSpace(out)), nil
}

// pluginSupport builds a plugin and a host and opens the one in the other.
func pluginSupport(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "plugship-testenv-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"go.mod":    "module example.com/pluginsupport\n\ngo 1.25\n",
		"p/main.go": "package main\n\nvar V = \"ok\"\n\nfunc main() {}\n",
		"h/main.go": `package main

import (
	"fmt"
	"os"
	"plugin"
)

func main() {
	p, err := plugin.Open(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	v, err := p.Lookup("V")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println(*v.(*string))
}
`,
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"go", "build", "-buildvcs=false", "-buildmode=plugin", "-o", "p.so", "./p"},
		{"go", "build", "-buildvcs=false", "-o", "host", "./h"},
		{"./host", "p.so"},
	} {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("this machine cannot build or open a Go plugin (%s: %v)\n%s\nplugins need cgo, a C compiler and Linux, macOS or FreeBSD", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// Main is go run mage.go test: it provides what the tests of the
// repository at root need, checks that every module of it is tidy, then
// runs go test with args (default ./... in every module).
func Main(ctx context.Context, root string, args []string, out io.Writer) error {
	fmt.Fprintln(out, "== what the tests need")
	if err := Provide(ctx, root, out); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== every module tidy (go mod tidy -diff)")
	if err := Tidy(ctx, root, out); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== tests")
	_, err := Run(ctx, root, args, out)
	return err
}
