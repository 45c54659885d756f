package loadertest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/sign"
	"golang.org/x/sync/errgroup"
)

// fixtureVersions maps each fixture (loader/testdata/fixtures/<name>) to
// the version of plugin "fx" it is built as. Scenarios put a few of them in
// one folder; the loader tries them newest first.
var fixtureVersions = map[string]string{
	"marker":        "10.0.0",
	"latepanic":     "4.5.0",
	"panicinit":     "9.0.0",
	"exitinit":      "8.0.0",
	"hang":          "7.0.0",
	"notacceptable": "6.0.0",
	"wrongtype":     "5.0.0",
	"nosymbol":      "4.0.0",
	"versionlie":    "3.0.0",
	"goodvar":       "2.0.0",
	"good":          "1.0.0",
}

// Files built by TestMain; see there.
var (
	root         string
	fixtures     = map[string]string{} // fixture name -> built and signed .so
	fixtureTrust string                // their trust policy: team fixtures owns fx, team others owns other
	hostBin      string                // compat/hosts/showcase, built with -trimpath
	keylessHost  string                // the same host opted in to keyless signatures (keyless.Load)
	superviseBin string                // cmd/plugship-supervise
	exampleDir   string                // signed showcase plugins the test binary itself can open
	testABI      string                // the ABI tag of this test binary, and of exampleDir's files
	exampleTrust string                // their trust policy
	bundledDist  string                // dist/plugins of the bundled examples
	bundledTrust string                // their trust policy
)

func TestMain(m *testing.M) {
	loader.HandleProbe[contract.Plugin](loader.Symbols{}) // the test binary is the host of Example and of the in-test probes
	tmp, err := os.MkdirTemp("", "plugship-loader-test-")
	if err != nil {
		panic(err)
	}
	err = setUp(tmp)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up the loader tests:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

// setUp builds, into tmp:
//   - every fixture as a version of plugin "fx", through plugship's own
//     build (-trimpath, unique plugin paths, metadata);
//   - "notrim" without -trimpath as fx 1.5.0, "nongo" (a C shared library)
//     as 1.4.0, random bytes as 1.3.0 and a truncated good plugin as 1.2.0,
//     each with metadata recording its bytes, so that only the preflight
//     can catch them;
//   - the bundled examples, with plugship's build;
//   - the reference host compat/hosts/showcase;
//   - two showcase plugins built like this test binary (no -trimpath), for
//     Example.
func setUp(tmp string) error {
	var err error
	if root, err = plugtest.Root(); err != nil {
		return err
	}
	// The other Go release's build is slow the first time (it downloads
	// that toolchain through the module proxy and compiles its runtime), so
	// it runs beside everything else.
	var oldGo errgroup.Group
	oldGoFile := filepath.Join(tmp, "oldgo.so")
	oldGo.Go(func() error { return buildWithOtherGo(tmp, oldGoFile) })

	mod := filepath.Join(tmp, "module")
	files := map[string]string{}
	manifest := "name: fixtures\nowners: [\"@plugship\"]\nplugins:\n  - name: fx\n    source: fixtures/marker\n    version: 10.0.0\n    previous:\n"
	for name, version := range fixtureVersions {
		src, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures", name, "main.go"))
		if err != nil {
			return err
		}
		files["plugin_sources/fixtures/"+name+"/main.go"] = string(src)
		if name != "marker" {
			manifest += fmt.Sprintf("      - version: %s\n        source: fixtures/%s\n", version, name)
		}
	}
	files["teams/fixtures/team.yaml"] = manifest
	files["teams/others/team.yaml"] = "name: others\nowners: [\"@others\"]\nplugins:\n  - name: other\n    source: others/other\n    version: 1.0.0\n"
	files["plugin_sources/others/other/main.go"] = files["plugin_sources/fixtures/good/main.go"]
	notrim, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures/notrim/main.go"))
	if err != nil {
		return err
	}
	files["notrim/main.go"] = string(notrim)
	if err := plugtest.Module(root, mod, files); err != nil {
		return err
	}
	var out bytes.Buffer
	// AnySymbols: the fixture nosymbol exports neither symbol.
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: mod, AnySymbols: true}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	fx := filepath.Join(mod, "dist/plugins/fixtures/fx")
	for name, version := range fixtureVersions {
		if fixtures[name], err = plugtest.Find(fx, "fx", version); err != nil {
			return err
		}
	}
	if fixtures["other"], err = plugtest.Find(filepath.Join(mod, "dist/plugins/others/other"), "other", "1.0.0"); err != nil {
		return err
	}
	// The files below carry the ABI tag of the hosts (that of the good
	// fixture) whatever they are, as a careless or hostile publisher would
	// name them, so that the loader's later checks are what refuses them.
	abi, err := plugtest.ABIOf(fixtures["good"])
	if err != nil {
		return err
	}
	fixtures["oldgo"] = filepath.Join(fx, plugtest.FileName("fx", "1.6.0", abi))

	// Files the build would not make, placed among the build's output with
	// metadata recording their bytes, and signed below like the rest: only
	// the preflight can catch them.
	fixtures["notrim"] = filepath.Join(fx, plugtest.FileName("fx", "1.5.0", abi))
	if err := plugtest.Go(mod, "build", "-buildmode=plugin", "-o", fixtures["notrim"], "./notrim"); err != nil {
		return err
	}
	fixtures["nongo"] = filepath.Join(fx, plugtest.FileName("fx", "1.4.0", abi))
	if err := run(root, "gcc", "-shared", "-fPIC", "-o", fixtures["nongo"], "loader/testdata/fixtures/nongo.c"); err != nil {
		return err
	}
	fixtures["random"] = filepath.Join(fx, plugtest.FileName("fx", "1.3.0", abi))
	random := make([]byte, 256<<10)
	for i := range random {
		random[i] = byte(i*7919 + i>>8)
	}
	if err := os.WriteFile(fixtures["random"], random, 0o755); err != nil {
		return err
	}
	fixtures["truncated"] = filepath.Join(fx, plugtest.FileName("fx", "1.2.0", abi))
	good, err := os.ReadFile(fixtures["good"])
	if err != nil {
		return err
	}
	if err := os.WriteFile(fixtures["truncated"], good[:len(good)/2], 0o755); err != nil {
		return err
	}
	if err := oldGo.Wait(); err != nil {
		return err
	}
	if err := os.Rename(oldGoFile, fixtures["oldgo"]); err != nil {
		return err
	}
	for _, name := range []string{"notrim", "nongo", "random", "truncated", "oldgo"} {
		if err := plugtest.WriteMetadata(fixtures[name], "fixtures"); err != nil {
			return err
		}
	}
	out.Reset()
	sign.Main(context.Background(), sign.Options{Root: mod}, &out) // fails for the five files below, signed below
	fixtureTrust = filepath.Join(mod, "dist", sign.TrustFile)
	// The sign step refuses what is not a Go plugin, or not built for the
	// ABI its name says; sign those by hand so that the loader's later
	// checks are what refuses them.
	for _, name := range []string{"nongo", "random", "truncated", "notrim", "oldgo"} {
		if err := plugtest.SignFile(mod, filepath.Join(mod, "dist"), "fixtures", fixtures[name]); err != nil {
			return err
		}
	}

	dist := filepath.Join(tmp, "bundled")
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: root, Dist: dist, Profiles: []profile.Profile{profile.Default()}}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	if err := sign.Main(context.Background(), sign.Options{Root: root, Dist: dist}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	bundledDist = filepath.Join(dist, "plugins")
	bundledTrust = filepath.Join(dist, sign.TrustFile)

	superviseBin = filepath.Join(tmp, "plugship-supervise")
	if err := plugtest.Go(root, "build", "-o", superviseBin, "./cmd/plugship-supervise"); err != nil {
		return err
	}
	hostBin = filepath.Join(tmp, "showcase")
	if err := plugtest.BuildHost(root, "./compat/hosts/showcase", hostBin); err != nil {
		return err
	}
	keylessHost = filepath.Join(tmp, "showcase-keyless")
	if err := buildKeylessHost(filepath.Join(tmp, "keylesshost"), keylessHost); err != nil {
		return err
	}

	// The Example's host is this test binary, built without -trimpath: its
	// plugins are built the same way and carry its ABI.
	if testABI, err = loader.OwnABI[contract.Plugin](""); err != nil {
		return err
	}
	exampleDist := filepath.Join(tmp, "example")
	exampleDir = filepath.Join(exampleDist, "plugins/showcase/showcase")
	for _, p := range []struct{ src, version string }{
		{"showcase/showcase", "0.2.0"},
		{"showcase/showcase-invalid", "0.3.0"},
	} {
		pkg := "github.com/plugship/plugship/plugin_sources/" + p.src
		file := filepath.Join(exampleDir, plugtest.FileName("showcase", p.version, testABI))
		if err := plugtest.Go(root, "build", "-buildmode=plugin", "-ldflags=-X="+pkg+".version="+p.version, "-o", file, "./plugin_sources/"+p.src); err != nil {
			return err
		}
		if err := plugtest.WriteMetadata(file, "showcase"); err != nil {
			return err
		}
	}
	out.Reset()
	if err := sign.Main(context.Background(), sign.Options{Root: root, Dist: exampleDist}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	// No manifest lists showcase 0.3.0 (the invalid twin has a version of
	// its own only here): the sign step skips it as stale; sign it by hand.
	if err := plugtest.SignFile(root, exampleDist, "showcase", filepath.Join(exampleDir, plugtest.FileName("showcase", "0.3.0", testABI))); err != nil {
		return err
	}
	exampleTrust = filepath.Join(exampleDist, sign.TrustFile)
	return nil
}

// buildKeylessHost builds the showcase host as a host author who opts in
// to keyless signatures writes it: its trust.Load is keyless.Load, and its
// module requires github.com/plugship/plugship/keyless (here the
// checkout's). The module is a copy of the root's, so that it shares the
// contract package with the plugins built there.
func buildKeylessHost(mod, out string) error {
	src, err := os.ReadFile(filepath.Join(root, "compat/hosts/showcase/main.go"))
	if err != nil {
		return err
	}
	host := strings.Replace(string(src), "trust.Load(", "keyless.Load(", 1)
	host = strings.Replace(host, "\t\"github.com/plugship/plugship/trust\"\n", "\t\"github.com/plugship/plugship/keyless\"\n", 1)
	if host == string(src) || !strings.Contains(host, "keyless.Load(") {
		return fmt.Errorf("compat/hosts/showcase/main.go: no trust.Load( to make keyless.Load(")
	}
	if err := plugtest.Module(root, mod, map[string]string{"compat/hosts/showcase/main.go": host}); err != nil {
		return err
	}
	if err := plugtest.Go(mod, "mod", "edit", "-require=github.com/plugship/plugship/keyless@v0.0.0-00010101000000-000000000000",
		"-replace=github.com/plugship/plugship/keyless="+filepath.Join(root, "keyless")); err != nil {
		return err
	}
	if err := plugtest.Go(mod, "mod", "tidy"); err != nil {
		return err
	}
	return plugtest.BuildHost(mod, "./compat/hosts/showcase", out)
}

// otherGo is a Go release of another minor version than the one under
// test. A plugin it builds would kill a go1.26 host in plugin.Open
// ("fatal error: runtime: no plugin module data") if the preflight let it
// through.
const otherGo = plugtest.OtherGo

// buildWithOtherGo builds the notrim fixture with otherGo and -trimpath, as
// fx 1.6.0, in a module of its own with no requirements, so that nothing
// but the toolchain has to be fetched.
func buildWithOtherGo(tmp, out string) error {
	mod := filepath.Join(tmp, "oldgo")
	src, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures/notrim/main.go"))
	if err != nil {
		return err
	}
	if err := plugtest.Module(root, mod, map[string]string{
		"go.mod":     "module github.com/plugship/plugship\n\ngo 1.25\n",
		"go.sum":     "",
		"fx/main.go": strings.Replace(string(src), `"1.5.0"`, `"1.6.0"`, 1),
	}); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-buildmode=plugin", "-trimpath", "-o", out, "./fx")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOTOOLCHAIN="+otherGo, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building with %s (fetched through the module proxy): %v\n%s", otherGo, err, out)
	}
	return nil
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
