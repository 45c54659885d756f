package budget

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/scaffold"
)

// maxLoaderModules and maxLoaderGrowth are the loader's budget: what a
// host that imports it may link besides the standard library, its own
// module and plugship's, and how much larger than a bare plugin.Open host
// it may be. The issue asked for 3 MB; the standard library alone is more
// than that for what the loader guarantees: ECDSA, RSA and Ed25519
// verification, reading ELF symbols and build info for the preflight,
// os/exec for the probe, encoding/json and regexp add 4.22 MB to a bare
// host (go1.26.8, measured in one program that uses just those). The
// loader host measures +5.40 MB (net/http went with package loader/fetch,
// crypto/x509 with trust's own key decoding); the budget leaves it 0.35
// MB to grow.
const (
	maxLoaderModules = 5
	maxLoaderGrowth  = 5_750_000
)

// hosts are the three minimal hosts measured: the main.go of each.
var hosts = map[string]string{
	"bare": `package main

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
	fmt.Println(p.Lookup("Showcase"))
}
`,
	"loader": `package main

import (
	"context"
	"fmt"
	"os"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/trust"
)

func main() {
	loader.HandleProbe[contract.Plugin](loader.Symbols{})
	policy, err := trust.Load(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	p, report, err := loader.Load[contract.Plugin](context.Background(), os.Args[2], "showcase", loader.Options{Trust: policy})
	fmt.Print(report)
	if err == nil {
		fmt.Println(p.Version())
	}
}
`,
}

// The keyless host is the loader host opted in to keyless signatures.
func init() {
	hosts["keyless"] = strings.NewReplacer(
		`"github.com/plugship/plugship/trust"`, `"github.com/plugship/plugship/keyless"`,
		"trust.Load(", "keyless.Load(").Replace(hosts["loader"])
}

// The registry host is the loader host that fetches its plugins from an
// OCI registry first (package oci, oras-go).
func init() {
	hosts["oci"] = strings.NewReplacer(
		`"github.com/plugship/plugship/loader"`, `"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/oci"`,
		"	p, report, err :=", `	if _, err := fetch.Plugins(context.Background(), fetch.Options{Index: os.Args[3], Registry: oci.New(), Plugin: "showcase", Dir: os.Args[2], Trust: policy}); err != nil {
		fmt.Println(err)
	}
	p, report, err :=`).Replace(hosts["loader"])
}

// host is one measured host executable.
type host struct {
	size    int64
	modules []string // linked modules, besides the standard library, its own and plugship's
}

// buildHost builds the host kind in a module of its own that requires
// this checkout's plugship modules, as a host author's does, with
// go build -trimpath.
func buildHost(t *testing.T, root, kind string) host {
	t.Helper()
	dir := filepath.Join(t.TempDir(), kind)
	gomod := "module example.com/host\n\ngo 1.25.8\n\nrequire github.com/plugship/plugship v0.0.0\n\nreplace github.com/plugship/plugship => " + root + "\n"
	if kind == "keyless" || kind == "oci" {
		gomod += "\nrequire github.com/plugship/plugship/" + kind + " v0.0.0\n\nreplace github.com/plugship/plugship/" + kind + " => " + filepath.Join(root, kind) + "\n"
	}
	if err := plugtest.WriteFile(filepath.Join(dir, "go.mod"), gomod); err != nil {
		t.Fatal(err)
	}
	if err := plugtest.WriteFile(filepath.Join(dir, "main.go"), hosts[kind]); err != nil {
		t.Fatal(err)
	}
	if err := goCmd(dir, "mod", "tidy"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "host")
	if err := goCmd(dir, "build", "-trimpath", "-o", bin, "."); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	}
	h := host{size: st.Size()}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "dep" && !isPlugship(f[1]) {
			h.modules = append(h.modules, f[1])
		}
	}
	slices.Sort(h.modules)
	return h
}

func isPlugship(mod string) bool {
	return mod == "github.com/plugship/plugship" || strings.HasPrefix(mod, "github.com/plugship/plugship/")
}

// goCmd runs the go command in dir, outside any workspace.
func goCmd(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return nil
}

// readList reads a committed module list: one module path a line, #
// comments.
func readList(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			list = append(list, line)
		}
	}
	slices.Sort(list)
	return list
}

// compare fails when got and the committed list differ, naming what was
// added and what left.
func compare(t *testing.T, list string, got []string) {
	t.Helper()
	want := readList(t, list)
	var added, gone []string
	for _, m := range got {
		if !slices.Contains(want, m) {
			added = append(added, m)
		}
	}
	for _, m := range want {
		if !slices.Contains(got, m) {
			gone = append(gone, m)
		}
	}
	if len(added) > 0 {
		t.Errorf("%s: the graph grew: %s added (if that is intended, and within the budget, add it to %s and say why in the change)", list, strings.Join(added, ", "), list)
	}
	if len(gone) > 0 {
		t.Errorf("%s: %s left the graph: take it out of %s", list, strings.Join(gone, ", "), list)
	}
}

// TestLoaderHostBudget: a minimal host that imports the loader and trust
// links only the modules of loader-host.modules (at most 5) and is at most
// maxLoaderGrowth larger than a bare plugin.Open host; the keyless host is measured
// beside them.
func TestLoaderHostBudget(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	measured := map[string]host{}
	for _, kind := range []string{"bare", "loader", "keyless", "oci"} {
		measured[kind] = buildHost(t, root, kind)
		t.Logf("%-8s host: %5.2f MB, %3d modules linked besides the standard library, its own and plugship's", kind, float64(measured[kind].size)/1e6, len(measured[kind].modules))
	}
	l, bare := measured["loader"], measured["bare"]
	compare(t, "loader-host.modules", l.modules)
	if len(l.modules) > maxLoaderModules {
		t.Errorf("the loader host links %d modules (%s); the budget is %d", len(l.modules), strings.Join(l.modules, ", "), maxLoaderModules)
	}
	if grown := l.size - bare.size; grown > maxLoaderGrowth {
		t.Errorf("the loader host is %.2f MB larger than a bare plugin.Open host; the budget is %.2f MB", float64(grown)/1e6, float64(maxLoaderGrowth)/1e6)
	}
	if k := measured["keyless"]; len(k.modules) <= len(l.modules) {
		t.Errorf("the keyless host links %d modules, the loader host %d: keyless verification is supposed to be what brings sigstore-go", len(k.modules), len(l.modules))
	}
	if o := measured["oci"]; len(o.modules) <= len(l.modules) {
		t.Errorf("the registry host links %d modules, the loader host %d: fetching from a registry is supposed to be what brings oras-go", len(o.modules), len(l.modules))
	}
}

// TestScaffoldPluginGraph: the module graph a repository made with
// plugship init builds its plugins in is the list of
// scaffold-plugins.modules: the plugins', the contract's and the loader's
// for its reference host; plugship's tool module and its requirements
// (sigstore, protobuf, go-github, ...) are in magefiles/ only.
func TestScaffoldPluginGraph(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "acme")
	if err := scaffold.Init(context.Background(), scaffold.Options{Dir: dir, Module: "example.com/acme", Replace: root}); err != nil {
		t.Fatal(err)
	}
	graph := func(dir string) []string {
		cmd := exec.Command("go", "list", "-m", "-f", "{{if not .Main}}{{.Path}}{{end}}", "all")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -m all in %s: %v", dir, err)
		}
		return strings.Fields(string(out))
	}
	plugins := graph(dir)
	slices.Sort(plugins)
	t.Logf("the scaffold's plugin build graph: %d modules besides its own: %s", len(plugins), strings.Join(plugins, ", "))
	compare(t, "scaffold-plugins.modules", plugins)
	tool := graph(filepath.Join(dir, "magefiles"))
	t.Logf("its magefiles/ module (plugship's tool): %d modules", len(tool))
	for _, m := range []string{"github.com/sigstore/sigstore-go", "google.golang.org/protobuf", "github.com/google/go-github/v60"} {
		if slices.Contains(plugins, m) {
			t.Errorf("the plugin build graph holds %s, a module of plugship's tool", m)
		}
		if !slices.Contains(tool, m) {
			t.Errorf("magefiles/ does not hold %s: is the tool's graph measured?", m)
		}
	}
}
