package loader_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader"
)

// fileName is the name the build gives plugin's version for abi on this
// platform.
func fileName(plugin, version, abi string) string {
	return artifact.Name{Plugin: plugin, Version: version, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, ABI: abi}.String()
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "elsewhere.so")
	os.WriteFile(outside, []byte("x"), 0o755)
	const abi, otherABI = "go1.26.8-1a2b3c4d", "go1.25.5-5e6f7a8b"
	name := func(v string) string { return fileName("fx", v, abi) }
	for _, f := range []string{
		name("1.0.0"), name("1.10.0"), name("1.2.0"), name("2.0.0-rc.1"), name("2.0.0-rc.10"),
		name("1.9.0+build.2"), name("1.9.0+build.1"),
		"fx_v3.0.0_plan9_mips_" + abi + ".so",                                     // another platform
		"other_v9.0.0_" + runtime.GOOS + "_" + runtime.GOARCH + "_" + abi + ".so", // another plugin
		fileName("fx", "8.0.0", otherABI),                                         // another ABI
		"." + name("9.0.0") + "123",                                               // being written
		name("9.0.1") + ".tmp",                                                    // being written
		name("1.0.0") + ".json",                                                   // metadata
		"fx_v1.0_" + runtime.GOOS + "_" + runtime.GOARCH + "_" + abi + ".so",      // bad version
		"fx_v1.1.0_" + runtime.GOOS + "_" + runtime.GOARCH + ".so",                // no ABI: from before profiles
	} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o755)
	}
	os.Mkdir(filepath.Join(dir, name("4.0.0")), 0o755)
	os.Symlink(outside, filepath.Join(dir, name("5.0.0")))
	os.Symlink(name("1.0.0"), filepath.Join(dir, name("0.9.0"))) // inside: allowed

	cands, refused, err := loader.Discover(dir, "fx", runtime.GOOS, runtime.GOARCH, abi)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cands {
		got = append(got, c.Version)
	}
	want := "2.0.0-rc.10 2.0.0-rc.1 1.10.0 1.9.0+build.1 1.9.0+build.2 1.2.0 1.0.0 0.9.0"
	if strings.Join(got, " ") != want {
		t.Errorf("order\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	reasons := map[string]string{}
	for _, r := range refused {
		reasons[filepath.Base(r.File)] = r.Reason
	}
	for file, want := range map[string]string{
		name("4.0.0"): "not a regular file (a folder)",
		name("5.0.0"): "symlink to " + outside + ", outside the plugin folder",
		"fx_v1.0_" + runtime.GOOS + "_" + runtime.GOARCH + "_" + abi + ".so": "is not semver",
		"fx_v1.1.0_" + runtime.GOOS + "_" + runtime.GOARCH + ".so":           "rebuild it",
	} {
		if !strings.Contains(reasons[file], want) {
			t.Errorf("%s: refusal %q, want %q", file, reasons[file], want)
		}
	}
	if len(refused) != 4 {
		t.Errorf("refused %d files, want 4: %v", len(refused), refused)
	}
	// Without an ABI, every ABI's files are candidates.
	all, _, err := loader.Discover(dir, "fx", runtime.GOOS, runtime.GOARCH, "")
	if err != nil || len(all) != len(cands)+1 || all[0].Version != "8.0.0" || all[0].ABI != otherABI {
		t.Errorf("Discover with any ABI: %v %+v", err, all)
	}

	if _, _, err := loader.Discover(dir, "../fx", runtime.GOOS, runtime.GOARCH, abi); err == nil {
		t.Errorf("a plugin name with a path was accepted")
	}
	if _, _, err := loader.Discover(filepath.Join(dir, "nope"), "fx", runtime.GOOS, runtime.GOARCH, abi); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing folder: %v", err)
	}
}

// A version built both from the plugins' repository and against the
// host's own module graph is one candidate for that host: its own graph's
// build. A version with the repository's build alone keeps it.
func TestDiscoverOwnGraph(t *testing.T) {
	dir := t.TempDir()
	const base = "go1.26.8-1a2b3c4d"
	own, other := base+"-11111111", base+"-22222222"
	for _, f := range []string{fileName("fx", "2.0.0", base), fileName("fx", "2.0.0", own), fileName("fx", "2.0.0", other), fileName("fx", "1.0.0", base)} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o755)
	}
	cands, _, err := loader.Discover(dir, "fx", runtime.GOOS, runtime.GOARCH, own)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cands {
		got = append(got, c.Version+" "+c.ABI)
	}
	if want := "2.0.0 " + own + ", 1.0.0 " + base; strings.Join(got, ", ") != want {
		t.Errorf("candidates %s, want %s", strings.Join(got, ", "), want)
	}
	// A host built from the repository (no graph part) takes its builds.
	if cands, _, _ := loader.Discover(dir, "fx", runtime.GOOS, runtime.GOARCH, base); len(cands) != 2 {
		t.Errorf("the repository's host: %d candidates, want 2 (2.0.0 and 1.0.0 of ABI %s)", len(cands), base)
	}
}
