package scaffold

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// protoVersion is the protobuf the external hosts link: older than the
// v1.36.12 plugship's tool module selects, so that a plugin build graph
// holding the tool would raise it and no plugin would load.
const protoVersion = "v1.36.10"

// protoPlugin is a plugin of the scaffold's contract that uses protobuf.
const protoPlugin = `// A plugin that uses protobuf, as plugins of Nakama-like hosts do.
package main

import (
	"example.com/acme/contract"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var version = "dev"

type wire struct{}

func (wire) Version() string    { return version }
func (wire) IsAcceptable() bool { return true }
func (wire) Greet(name string) string {
	b, err := proto.Marshal(wrapperspb.String(name))
	if err != nil {
		return err.Error()
	}
	return "wire " + name + " in " + string(rune('0'+len(b))) + " bytes"
}

// Greeter is the contract's accessor.
func Greeter() contract.Greeter { return wire{} }

// Describe is looked up by the bare host, which knows no contract.
func Describe() string { return wire{}.Greet("bare") }

func main() {}
`

// bareHost opens a plugin file with plugin.Open and calls its Describe;
// it links protobuf itself, at protoVersion.
const bareHost = `package main

import (
	"fmt"
	"os"
	"plugin"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func main() {
	if _, err := proto.Marshal(wrapperspb.Bool(true)); err != nil {
		panic(err)
	}
	p, err := plugin.Open(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	s, err := p.Lookup("Describe")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println(s.(func() string)())
}
`

// loaderHost loads the newest acceptable wire plugin with plugship's
// loader, as contract.Greeter: the contract module required at its
// version, as a host in another repository requires it.
const loaderHost = `package main

import (
	"context"
	"fmt"
	"os"

	"example.com/acme/contract"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/trust"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var symbols = loader.Symbols{Accessor: contract.AccessorSymbol, Element: contract.ElementSymbol}

func main() {
	loader.HandleProbe[contract.Greeter](symbols)
	if _, err := proto.Marshal(wrapperspb.Bool(true)); err != nil {
		panic(err)
	}
	policy, err := trust.Load(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	g, report, err := loader.Load[contract.Greeter](context.Background(), os.Args[2], "wire", loader.Options{Trust: policy, Symbols: symbols})
	if err != nil {
		fmt.Println(err)
		fmt.Print(report)
		os.Exit(1)
	}
	fmt.Println(g.Greet("loader"))
}
`

// TestExternalHostsWithOlderProtobuf: two hosts built in a module of
// their own, outside the scaffolded repository, stripped as releases are
// (-trimpath -ldflags "-s -w"), link protobuf v1.36.10, older than
// plugship's tool selects. One opens plugins with plugin.Open, one with
// plugship's loader (which does not raise the host's protobuf) and the
// scaffold's contract module, required at v0.1.0. As binary profiles of
// the scaffold, with the plugins requiring that protobuf and no replace,
// every plugin builds for them, check:host finds no difference, and each
// host loads its file of the protobuf plugin.
func TestExternalHostsWithOlderProtobuf(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugins and hosts: minutes")
	}
	root := plugshipRoot(t)
	dir := t.TempDir()
	env := append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"), "GOWORK=off", "CGO_ENABLED=1")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := Init(ctx, Options{Dir: dir, Module: "example.com/acme", Replace: root}); err != nil {
		t.Fatal(err)
	}
	run := func(dir string, args ...string) string {
		t.Helper()
		stdout, stderr, err := command(ctx, dir, env, args[0], args[1:]...)
		if err != nil {
			t.Fatalf("%s in %s: %v\n%s\n%s", strings.Join(args, " "), dir, err, stdout, stderr)
		}
		return stdout + stderr
	}

	// The hosts' module, elsewhere.
	hostMod := t.TempDir()
	writeFiles(t, hostMod, map[string]string{
		"go.mod": "module example.com/gameserver\n\ngo 1.25.8\n\nrequire (\n\tgoogle.golang.org/protobuf " + protoVersion +
			"\n\texample.com/acme/contract v0.1.0\n\tgithub.com/plugship/plugship v0.0.0\n)\n\n" +
			"replace (\n\texample.com/acme/contract => " + filepath.Join(dir, "contract") + "\n\tgithub.com/plugship/plugship => " + root + "\n)\n",
		"bare/main.go":   bareHost,
		"loader/main.go": loaderHost,
	})
	run(hostMod, "go", "mod", "tidy")
	if got := strings.TrimSpace(run(hostMod, "go", "list", "-m", "-f", "{{.Version}}", "google.golang.org/protobuf")); got != protoVersion {
		t.Fatalf("the loader raised the host's protobuf to %s, want %s", got, protoVersion)
	}
	hosts := map[string]string{}
	for _, h := range []string{"bare", "loader"} {
		hosts[h] = filepath.Join(hostMod, "bin", h)
		run(hostMod, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", hosts[h], "./"+h)
	}

	// The plugin repository: a plugin that uses protobuf at the hosts'
	// version, and the two hosts as binary profiles.
	writeFiles(t, dir, map[string]string{
		"plugin_sources/core/wire/main.go": protoPlugin,
		"teams/core/team.yaml":             read(t, filepath.Join(dir, "teams/core/team.yaml")) + "  - name: wire\n    source: core/wire\n    version: 1.0.0\n",
		"compat/hosts.yaml": strings.Replace(read(t, filepath.Join(dir, "compat/hosts.yaml")), "  - name: current\n",
			"  - name: current\n  - name: bare\n    binary: "+hosts["bare"]+"\n  - name: loader\n    binary: "+hosts["loader"]+"\n", 1),
	})
	run(dir, "go", "get", "google.golang.org/protobuf@"+protoVersion)
	run(dir, "go", "mod", "tidy")
	gomod := read(t, filepath.Join(dir, "go.mod"))
	if !strings.Contains(gomod, "google.golang.org/protobuf "+protoVersion) || strings.Contains(gomod, "replace google.golang.org/protobuf") {
		t.Fatalf("go.mod does not require protobuf %s without a replace:\n%s", protoVersion, gomod)
	}
	run(dir, "go", "run", "mage.go", "build")
	for _, h := range []string{"bare", "loader"} {
		if out := run(dir, "go", "run", "mage.go", "check:host", h); !strings.Contains(out, "every plugin's modules, Go release and flags match") {
			t.Errorf("check:host %s:\n%s", h, out)
		}
	}

	// Each host takes the file built for it, named with its module graph.
	files, _ := filepath.Glob(filepath.Join(dir, "dist/plugins/core/wire", "wire_v1.0.0_*.so"))
	if len(files) < 2 {
		t.Fatalf("the build made %d wire files, want one per host module graph:\n%s", len(files), strings.Join(files, "\n"))
	}
	bareLoaded := false
	for _, f := range files {
		stdout, _, err := command(ctx, dir, env, hosts["bare"], f)
		bareLoaded = bareLoaded || err == nil && strings.TrimSpace(stdout) == "wire bare in 6 bytes"
	}
	if !bareLoaded {
		t.Errorf("the bare host opened none of the wire files:\n%s", strings.Join(files, "\n"))
	}
	stdout, stderr, err := command(ctx, dir, env, hosts["loader"], filepath.Join(dir, "dist/trust.json"), filepath.Join(dir, "dist/plugins/core/wire"))
	if err != nil || strings.TrimSpace(stdout) != "wire loader in 8 bytes" {
		t.Errorf("the loader host: %v\n%s\n%s", err, stdout, stderr)
	}
}
