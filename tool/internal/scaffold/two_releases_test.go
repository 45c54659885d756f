package scaffold

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
)

// gateway is a host that someone else releases: it links the shared
// module example.com/shared, loads the newest acceptable "units" plugin
// with plugship's loader as the scaffold's contract.Greeter, and prints
// the loader's report and the greeting.
const gateway = `package main

import (
	"context"
	"fmt"
	"os"

	"example.com/acme/contract"
	"example.com/shared"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/trust"
)

var symbols = loader.Symbols{Accessor: contract.AccessorSymbol, Element: contract.ElementSymbol}

func main() {
	loader.HandleProbe[contract.Greeter](symbols)
	fmt.Println("gateway links shared", shared.Version())
	policy, err := trust.Load(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	g, report, err := loader.Load[contract.Greeter](context.Background(), os.Args[2], "units", loader.Options{Trust: policy, Symbols: symbols})
	fmt.Print(report)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println(g.Greet("gateway"))
}
`

// unitsPlugin links example.com/shared, so each gateway release needs a
// build of its own.
const unitsPlugin = `package main

import (
	"example.com/acme/contract"
	"example.com/shared"
)

var version = "dev"

type units struct{}

func (units) Version() string           { return version }
func (units) IsAcceptable() bool        { return true }
func (units) Greet(name string) string { return "units " + name + " with shared " + shared.Version() }

func Greeter() contract.Greeter { return units{} }

func main() {}
`

// TestTwoHostReleasesFromGit is issue 24's path as an adopter meets it: a
// repository from plugship init, and a host in its own git repository at
// two tags whose releases link the shared module example.com/shared at
// v1.0.0 and v1.1.0; the second takes the adopter's contract through a
// folder replace, and both take plugship's loader through one. As two
// module profiles (git: and version:) and two reference hosts that must
// accept every plugin, the main job is green: each host's column requires
// its own graph's build, not the build from the adopter's go.mod. Each
// host then picks its own file by name, and the other release's file is
// refused by the matrix's preflight, naming the module and both versions.
func TestTwoHostReleasesFromGit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hosts and plugins")
	}
	root := plugshipRoot(t)
	ctx := context.Background()
	dir, contract := initWithContract(t, root)
	plugtest.UseProxy(t, map[string]map[string]map[string]string{
		"example.com/acme/contract": {"v0.1.0": contract},
		"example.com/shared":        {"v1.0.0": plugtest.SharedModule("v1.0.0"), "v1.1.0": plugtest.SharedModule("v1.1.0")},
	})
	gomod := func(shared, replaceContract string) string {
		s := "module example.com/gateway\n\ngo 1.25\n\nrequire (\n\texample.com/acme/contract v0.1.0\n\texample.com/shared " + shared +
			"\n\tgithub.com/plugship/plugship v0.0.0\n)\n\nreplace github.com/plugship/plugship => " + root + "\n"
		if replaceContract != "" {
			s += "\nreplace example.com/acme/contract => " + replaceContract + "\n"
		}
		return s
	}
	gitDir := filepath.Join(t.TempDir(), "gateway.git")
	plugtest.GitRepo(t, gitDir, []plugtest.Commit{
		{Tag: "v1.0.0", Files: map[string]string{"go.mod": gomod("v1.0.0", ""), "main.go": gateway}},
		{Tag: "v1.1.0", Files: map[string]string{"go.mod": gomod("v1.1.0", filepath.Join(dir, "contract"))}},
	})
	hosts := read(t, filepath.Join(dir, "compat/hosts.yaml"))
	withGateways := strings.Replace(hosts, "  - name: current\n", "  - name: current\n"+
		"  - name: gateway-1-0\n    module: example.com/gateway\n    git: "+gitDir+"\n    version: v1.0.0\n"+
		"  - name: gateway-1-1\n    module: example.com/gateway\n    git: "+gitDir+"\n    version: v1.1.0\n", 1)
	withGateways += "\n  - name: gateway-1-0\n    profile: gateway-1-0\n    must_accept: [\"*\"]\n" +
		"\n  - name: gateway-1-1\n    profile: gateway-1-1\n    must_accept: [\"*\"]\n"
	team := read(t, filepath.Join(dir, "teams/core/team.yaml")) + "  - name: units\n    source: core/units\n    version: 1.0.0\n"
	writeFiles(t, dir, map[string]string{
		"compat/hosts.yaml":                 withGateways,
		"teams/core/team.yaml":              team,
		"plugin_sources/core/units/main.go": unitsPlugin,
	})
	env := os.Environ()
	if stdout, stderr, err := command(ctx, dir, env, "go", "get", "example.com/shared@v1.0.0"); err != nil {
		t.Fatalf("go get example.com/shared@v1.0.0: %v\n%s\n%s", err, stdout, stderr)
	}
	mageCtx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	start := time.Now()
	stdout, stderr, err := command(mageCtx, dir, append(env, "GITHUB_REPOSITORY="), "go", "run", "mage.go", "all")
	t.Logf("go run mage.go all: %s\n%s", time.Since(start).Round(time.Millisecond), stdout)
	if err != nil {
		t.Fatalf("go run mage.go all: %v\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "Ready to ship") || strings.Contains(stdout, "violations, listed above") || strings.Contains(stdout, "UNEXPECTED") || !strings.Contains(stdout, " 0 unexpected") {
		t.Errorf("the main job is not plainly ready:\n%s", stdout)
	}

	// Each gateway picks its own graph's build of units, by name.
	abis := map[string]string{}
	for _, release := range []struct{ profile, shared string }{{"gateway-1-0", "v1.0.0"}, {"gateway-1-1", "v1.1.0"}} {
		host := filepath.Join(dir, "dist", filepath.FromSlash(profile.HostBinariesDir), release.profile, "gateway")
		out, stderr, err := command(ctx, dir, env, host, filepath.Join(dir, "dist/trust.json"), filepath.Join(dir, "dist/plugins/core/units"))
		if err != nil || !strings.Contains(out, "units gateway with shared "+release.shared) {
			t.Fatalf("%s: %v\n%s\n%s", release.profile, err, out, stderr)
		}
		abi, err := plugtest.HostABIOf(host, "example.com/acme/contract")
		if err != nil {
			t.Fatal(err)
		}
		abis[release.profile] = abi
		if !hasLine(out, "chosen", "units_v1.0.0_", abi+".so") {
			t.Errorf("%s (ABI %s) did not choose its own build:\n%s", release.profile, abi, out)
		}
		if strings.Count(out, "units_v1.0.0_") != 1 {
			t.Errorf("%s's report lists version 1.0.0 more than once:\n%s", release.profile, out)
		}
	}
	// The other release's file is refused by the preflight, naming the
	// module and both versions.
	var m struct {
		Cells []struct{ Plugin, Host, Outcome, Detail, Required string } `json:"cells"`
	}
	if err := json.Unmarshal([]byte(read(t, filepath.Join(dir, "dist/compat/matrix.json"))), &m); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range m.Cells {
		if c.Plugin == "core/units@1.0.0 "+abis["gateway-1-0"] && c.Host == "gateway-1-1" {
			found = true
			if c.Outcome != "build-mismatch" || !strings.Contains(c.Detail, "module example.com/shared: plugin v1.0.0") || !strings.Contains(c.Detail, "host v1.1.0") {
				t.Errorf("gateway-1-0's units in gateway-1-1: %s: %s; want the preflight's refusal naming example.com/shared v1.0.0 and v1.1.0", c.Outcome, c.Detail)
			}
		}
	}
	if !found {
		t.Errorf("no cell of gateway-1-0's units in gateway-1-1:\n%+v", m.Cells)
	}
}
