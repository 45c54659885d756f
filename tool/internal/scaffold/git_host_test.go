package scaffold

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
)

// greetd is a host that someone else releases: it opens every plugin
// file named on its command line with plugin.Open and greets through the
// scaffold's contract, which its go.mod requires at a version.
const greetd = `package main

import (
	"fmt"
	"os"
	"plugin"

	"example.com/acme/contract"
)

func main() {
	for _, f := range os.Args[1:] {
		p, err := plugin.Open(f)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		s, err := p.Lookup(contract.AccessorSymbol)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		g := s.(func() contract.Greeter)()
		fmt.Println(g.Version(), g.Greet("git"))
	}
}
`

// initWithContract makes a repository of module example.com/acme with
// plugship init (replacing plugship with the checkout at root) in a
// temporary folder, and returns it with its contract module's files, as
// the repository's tag contract/v0.1.0 would publish them on a proxy.
func initWithContract(t *testing.T, root string) (dir string, contract map[string]string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "acme")
	if err := Init(context.Background(), Options{Dir: dir, Module: "example.com/acme", Replace: root}); err != nil {
		t.Fatal(err)
	}
	contract = map[string]string{}
	for _, f := range []string{"go.mod", "contract.go", "doc.go"} {
		contract[f] = read(t, filepath.Join(dir, "contract", f))
	}
	return dir, contract
}

// TestHostFromGitRequiresTheContract: a host in a git repository of its
// own, at a tag, requires the scaffolded repository's contract module at
// v0.1.0 (from a module proxy, as the repository's tag contract/v0.1.0
// would publish it). As a module profile of the scaffold (git: and
// version:), plugship builds it with -trimpath, builds the scaffold's
// plugins for it, and the host opens them: the scaffold's
// replace => ./contract records the contract's files as
// example.com/acme/contract@v0.1.0/..., as the host does.
func TestHostFromGitRequiresTheContract(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host and plugins")
	}
	root := plugshipRoot(t)
	ctx := context.Background()
	dir, contract := initWithContract(t, root)

	// The contract at v0.1.0 on a proxy, and the host's repository.
	plugtest.UseProxy(t, map[string]map[string]map[string]string{"example.com/acme/contract": {"v0.1.0": contract}})
	gitDir := filepath.Join(t.TempDir(), "greetd.git")
	plugtest.GitRepo(t, gitDir, []plugtest.Commit{{Tag: "v1.0.0", Files: map[string]string{
		"go.mod":             "module example.com/greetd\n\ngo 1.25\n\nrequire example.com/acme/contract v0.1.0\n",
		"cmd/greetd/main.go": greetd,
	}}})
	hosts := read(t, filepath.Join(dir, "compat/hosts.yaml"))
	withGit := strings.Replace(hosts, "  - name: current\n", "  - name: current\n  - name: greetd\n    module: example.com/greetd\n    git: "+gitDir+"\n    version: v1.0.0\n    main: ./cmd/greetd\n", 1)
	if withGit == hosts {
		t.Fatalf("compat/hosts.yaml has no profile current:\n%s", hosts)
	}
	writeFiles(t, dir, map[string]string{"compat/hosts.yaml": withGit})

	var out bytes.Buffer
	if err := build.Main(ctx, build.Selection{}, build.Options{Root: dir}, &out); err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	host := filepath.Join(dir, "dist", filepath.FromSlash(profile.HostBinariesDir), "greetd", "greetd")
	if _, err := os.Stat(host); err != nil {
		t.Fatalf("the module profile built no host: %v\n%s", err, out.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "dist/plugins/core/hello", "hello_v0.1.0_*-*-*.so")) // named with the host's module graph
	if len(files) != 1 {
		t.Fatalf("%d hello files built for the host's module graph, want 1:\n%s", len(files), out.String())
	}
	stdout, stderr, err := command(ctx, dir, os.Environ(), host, files[0])
	if err != nil || strings.TrimSpace(stdout) != "0.1.0 hello, git" {
		t.Errorf("the host from git: %v\n%s\n%s", err, stdout, stderr)
	}
}
