package profile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// clean removes only what belongs to the repository: the toolchain a
// profile downloaded lives in the module cache that every checkout on the
// machine shares, so it stays (issue: a concurrent build in another
// checkout lost its toolchain), and clean says it kept it. clean:all
// removes it, naming it.
func TestCleanKeepsSharedToolchains(t *testing.T) {
	modcache, gocache := t.TempDir(), t.TempDir()
	t.Setenv("GOMODCACHE", modcache)
	t.Setenv("GOCACHE", gocache)
	mage := t.TempDir()
	t.Setenv("MAGEFILE_CACHE", mage)
	if err := os.WriteFile(filepath.Join(mage, "mage"), []byte("compiled targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	const release = "go1.25.5"
	toolchain := filepath.Join(modcache, "golang.org", "toolchain@v0.0.1-"+release+"."+runtime.GOOS+"-"+runtime.GOARCH)
	if err := os.MkdirAll(filepath.Join(toolchain, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(toolchain, "bin", "go"), []byte("a toolchain"), 0o755); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(t.TempDir(), "dist")
	if err := os.MkdirAll(filepath.Join(dist, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	ps := []Profile{{Name: "old", Go: release}}
	var out bytes.Buffer
	if err := Clean(context.Background(), dist, ps, false, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(toolchain, "bin", "go")); err != nil {
		t.Errorf("clean removed the shared toolchain %s: %v\n%s", toolchain, err, out.String())
	}
	if _, err := os.Stat(dist); err == nil {
		t.Errorf("clean kept %s", dist)
	}
	if !strings.Contains(out.String(), "kept toolchain "+release+" of profile old: "+toolchain) || !strings.Contains(out.String(), "clean:all removes it") {
		t.Errorf("clean did not say it kept the toolchain:\n%s", out.String())
	}
	out.Reset()
	if err := Clean(context.Background(), dist, ps, true, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(toolchain); err == nil || !strings.Contains(out.String(), "removed toolchain "+release+" of profile old: "+toolchain) {
		t.Errorf("clean:all kept %s (%v):\n%s", toolchain, err, out.String())
	}
	if !strings.Contains(out.String(), "kept mage's cache: "+mage) {
		t.Errorf("clean:all does not name mage's cache %s:\n%s", mage, out.String())
	}
}
