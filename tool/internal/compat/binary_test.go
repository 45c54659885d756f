package compat_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/sign"
)

// TestConfigHostOfBinaryProfile: a host of a binary profile is the binary
// itself: it takes neither a package nor flags.
func TestConfigHostOfBinaryProfile(t *testing.T) {
	c, err := compat.ParseConfig([]byte(`profiles:
  - name: current
  - name: prod
    binary: hosts/gateway
hosts:
  - name: gateway
    profile: prod
`))
	if err != nil || c.Hosts[0].Package != "" || c.Hosts[0].Flags != nil {
		t.Errorf("a host of a binary profile without package: %+v, %v", c, err)
	}
	_, err = compat.ParseConfig([]byte(`profiles:
  - name: current
  - name: prod
    binary: hosts/gateway
hosts:
  - name: showcase
    package: ./compat/hosts/showcase
  - name: gateway
    profile: prod
    package: ./compat/hosts/showcase
    flags: [-trimpath]
  - name: nopackage
`))
	for _, want := range []string{
		"hosts[1].package: profile prod is the host binary hosts/gateway, which the matrix uses as this host as it is (it cannot build one for a binary profile): remove package",
		"hosts[1].flags: profile prod is the host binary hosts/gateway, used as it was built: remove flags",
		`hosts[2].package: "": want a main package under ./compat/hosts/ (only a host of a profile with binary or module leaves it out)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig: %v\nlacks %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "hosts[0]") {
		t.Errorf("hosts[0] is fine: %v", err)
	}
}

// TestConfigHostOfModuleProfile: a host of a module profile is the binary
// built from the module: it takes neither a package nor flags.
func TestConfigHostOfModuleProfile(t *testing.T) {
	c, err := compat.ParseConfig([]byte(`profiles:
  - name: gateway
    module: example.com/gateway
    version: v1.0.0
    main: ./cmd/gateway
hosts:
  - name: gateway
`))
	if err != nil || c.Hosts[0].Package != "" || c.Hosts[0].Flags != nil || c.Hosts[0].Profile != "gateway" {
		t.Errorf("a host of a module profile without package: %+v, %v", c, err)
	}
	_, err = compat.ParseConfig([]byte(`profiles:
  - name: gateway
    module: example.com/gateway
    version: v1.0.0
hosts:
  - name: gateway
    package: ./compat/hosts/showcase
    flags: []
`))
	for _, want := range []string{
		"hosts[0].package: profile gateway is the host built from the module example.com/gateway@v1.0.0, which the matrix uses as this host as it is (it cannot build one for a module profile): remove package",
		"hosts[0].flags: profile gateway is the host built from the module example.com/gateway@v1.0.0, used as it was built: remove flags",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig: %v\nlacks %q", err, want)
		}
	}
}

// TestBinaryProfileMatrix: a host binary built elsewhere (here: the
// showcase host of this repository, which calls loader.HandleProbe) is a
// profile and, without a package, its own reference host: the plugins
// built for it load into it, probe included.
func TestBinaryProfileMatrix(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	shipped := filepath.Join(t.TempDir(), "showcase-shipped")
	if err := plugtest.BuildHost(root, "./compat/hosts/showcase", shipped); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures/good/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := plugtest.Module(root, mod, map[string]string{
		"teams/fixtures/team.yaml":             "name: fixtures\nowners: [\"@plugship\"]\nplugins:\n  - name: fx\n    source: fixtures/good\n    version: 1.0.0\n",
		"plugin_sources/fixtures/good/main.go": string(src),
		"compat/hosts.yaml": `profiles:
  - name: current
  - name: shipped
    binary: ` + shipped + `
timeout: 5s
hosts:
  - name: showcase
    package: ./compat/hosts/showcase
    must_accept: [fixtures]
  - name: shipped
    profile: shipped
    must_accept: [fixtures]
`,
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("build:\n%s", out.String())
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	opts := compat.Options{Root: root, Dist: filepath.Join(mod, "dist"), Config: filepath.Join(mod, "compat/hosts.yaml")}
	out.Reset()
	if err := compat.Main(context.Background(), opts, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("matrix:\n%s", out.String())
	m := readMatrix(t, opts)
	hosts := map[string]matrix.Host{}
	for _, h := range m.Hosts {
		hosts[h.Name] = h
	}
	// The shipped binary is the showcase host built elsewhere: the same ABI
	// and module graph, so each host takes both files (one from this
	// repository, one built against the binary's graph).
	if len(m.Hosts) != 2 || hosts["shipped"].Package != shipped || hosts["shipped"].ABI != hosts["showcase"].ABI || len(m.Cells) != 4 {
		t.Errorf("hosts %+v, %d cells; want the shipped binary as a host of the showcase's ABI, 4 cells", m.Hosts, len(m.Cells))
	}
	if s := hosts["shipped"].Source; s != "binary "+shipped || hosts["shipped"].Probe != "" || hosts["showcase"].Source != "" {
		t.Errorf("sources %q and %q, probe %q; want the shipped binary named, probing itself", s, hosts["showcase"].Source, hosts["shipped"].Probe)
	}
	for _, c := range m.Cells {
		if c.Outcome != matrix.OK || c.ProbeMillis == 0 || c.Evidence != matrix.EvidenceProbe {
			t.Errorf("%s: %s (probe %.1f ms, evidence %q): %s; want ok, probed in the host", c.Key(), c.Outcome, c.ProbeMillis, c.Evidence, c.Detail)
		}
	}
}

// plainHost is a host that opens plugins with package plugin directly,
// without plugship's loader: it cannot answer the loader's probe.
const plainHost = `package main

import (
	"fmt"
	"os"
	"plugin"

	"github.com/plugship/plugship/contract"
)

func main() {
	for _, f := range os.Args[1:] {
		p, err := plugin.Open(f)
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		s, err := p.Lookup(contract.AccessorSymbol)
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println(s.(func() contract.Plugin)().Version())
	}
}
`

// TestStandInProbe: a host binary that does not call loader.HandleProbe
// gets a stand-in probe built with its Go release, flags and module graph.
// The preflight compares against the host itself; the probes run in the
// stand-in, and run the plugins' code for real: an acceptable plugin is ok,
// one that says it is not acceptable is refused, one that panics in init
// crashed. Every cell says which evidence decided it.
func TestStandInProbe(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	hostMod, mod := filepath.Join(tmp, "hostmod"), filepath.Join(tmp, "plugins")
	plain := filepath.Join(tmp, "plain")
	if err := plugtest.Module(root, hostMod, map[string]string{"cmd/plain/main.go": plainHost}); err != nil {
		t.Fatal(err)
	}
	if err := plugtest.BuildHost(hostMod, "./cmd/plain", plain); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"teams/fixtures/team.yaml": "name: fixtures\nowners: [\"@plugship\"]\nplugins:\n" +
			"  - name: fx\n    source: fixtures/good\n    version: 1.0.0\n" +
			"  - name: nope\n    source: fixtures/notacceptable\n    version: 1.0.0\n" +
			"  - name: boom\n    source: fixtures/panicinit\n    version: 1.0.0\n",
		"compat/hosts.yaml": `profiles:
  - name: plain
    binary: ` + plain + `
timeout: 10s
hosts:
  - name: plain
    profile: plain
    must_accept: [fixtures/fx]
    must_reject: [fixtures/nope, fixtures/boom]
`,
	}
	for _, fx := range []string{"good", "notacceptable", "panicinit"} {
		src, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures", fx, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		files["plugin_sources/fixtures/"+fx+"/main.go"] = string(src)
	}
	if err := plugtest.Module(root, mod, files); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// The stand-in imports the loader: it builds in this repository, as it
	// would in an adopter's, where plugship is a dependency.
	opts := compat.Options{Root: root, Dist: filepath.Join(mod, "dist"), Config: filepath.Join(mod, "compat/hosts.yaml")}
	out.Reset()
	if err := compat.Main(context.Background(), opts, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("matrix:\n%s", out.String())
	m := readMatrix(t, opts)
	if len(m.Hosts) != 1 || m.Hosts[0].Probe != "stand-in" || m.Hosts[0].ProbeSHA256 == "" || m.Hosts[0].Source != "binary "+plain {
		t.Fatalf("hosts %+v; want the plain binary, probed by a stand-in", m.Hosts)
	}
	if _, err := os.Stat(compat.StandInPath(opts.Dist, "plain")); err != nil {
		t.Errorf("no stand-in: %v", err)
	}
	want := map[string]string{"fx": matrix.OK, "nope": "not-acceptable", "boom": "panic"}
	if len(m.Cells) != len(want) {
		t.Fatalf("%d cells, want %d", len(m.Cells), len(want))
	}
	for _, c := range m.Cells {
		name := strings.TrimPrefix(strings.Split(c.Plugin, "@")[0], "fixtures/")
		if c.Outcome != want[name] || c.Evidence != matrix.EvidenceStandIn || c.ProbeMillis == 0 {
			t.Errorf("%s: %s (evidence %q, probe %.1f ms): %s; want %s from the stand-in probe", c.Key(), c.Outcome, c.Evidence, c.ProbeMillis, c.Detail, want[name])
		}
	}
	if len(m.Violations) != 0 {
		t.Errorf("violations: %q", m.Violations)
	}
	if want := "evidence: 3 cells probed in a stand-in of host plain (it does not answer the loader's probe); 0 probed in their host, 0 decided by the preflight"; !strings.Contains(out.String(), want) {
		t.Errorf("the console lacks %q", want)
	}
	md, err := os.ReadFile(filepath.Join(opts.Dist, "compat", "matrix.md"))
	if err != nil || !strings.Contains(string(md), "binary "+plain+", probed by a stand-in built from its module graph") {
		t.Errorf("matrix.md does not say the host's source and stand-in: %v", err)
	}
	// The host itself opens what its stand-in passed.
	fx, err := plugtest.Find(filepath.Join(mod, "dist", "plugins", "fixtures", "fx"), "fx", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := exec.Command(plain, fx).CombinedOutput(); err != nil || string(got) != "1.0.0\n" {
		t.Errorf("the plain host opening %s: %v %q", fx, err, got)
	}
}
