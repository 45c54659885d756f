package compat_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/build"
	"github.com/plugship/plugship/internal/compat"
	"github.com/plugship/plugship/internal/matrix"
	"github.com/plugship/plugship/internal/plugtest"
	"github.com/plugship/plugship/internal/sign"
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
	if len(m.Hosts) != 2 || hosts["shipped"].Package != shipped || hosts["shipped"].ABI != hosts["showcase"].ABI || len(m.Cells) != 2 {
		t.Errorf("hosts %+v; want the shipped binary as a host of the showcase's ABI", m.Hosts)
	}
	for _, c := range m.Cells {
		if c.Outcome != matrix.OK || c.ProbeMillis == 0 {
			t.Errorf("%s: %s (probe %.1f ms): %s; want ok, probed", c.Key(), c.Outcome, c.ProbeMillis, c.Detail)
		}
	}
}
