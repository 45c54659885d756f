package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// testVersion is the version this checkout is published as in the test's
// module proxy.
const testVersion = "v0.99.0"

// plugship install runs where hosts run as the README says, with
// go run github.com/plugship/plugship/cmd/plugship@version: this checkout's
// root module is served as that version by a file:// module proxy, in
// front of the real one for its dependencies, and go run fetches, builds
// and runs it in an empty folder, with a module cache of its own.
func TestGoRunAtVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads modules and builds the command")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	proxy := t.TempDir()
	const mod = "github.com/plugship/plugship"
	dir := filepath.Join(proxy, mod, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := copyModule(t, root)
	var z bytes.Buffer
	if err := zip.CreateFromDir(&z, module.Version{Path: mod, Version: testVersion}, src); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		testVersion + ".zip":  z.Bytes(),
		testVersion + ".mod":  gomod,
		testVersion + ".info": []byte(`{"Version":"` + testVersion + `","Time":"2026-12-01T00:00:00Z"}`),
		"list":                []byte(testVersion + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	upstream := "https://proxy.golang.org,direct"
	if out, err := exec.Command("go", "env", "GOPROXY").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		upstream = strings.TrimSpace(string(out))
	}
	modcache := t.TempDir()
	t.Cleanup(func() { // the module cache is read-only
		filepath.WalkDir(modcache, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	cmd := exec.Command("go", "run", mod+"/cmd/plugship@"+testVersion, "install", "-h")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOPROXY=file://"+filepath.ToSlash(proxy)+","+upstream, "GONOSUMDB="+mod,
		"GOMODCACHE="+modcache, "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("go run %s/cmd/plugship@%s install -h: %s (module cache empty, build cache shared)", mod, testVersion, time.Since(start).Round(time.Millisecond))
	if err != nil || !strings.Contains(string(out), "usage: plugship install -host EXE -index INDEX -trust FILE -dir FOLDER") {
		t.Fatalf("go run ...@%s install -h: %v\n%s", testVersion, err, out)
	}
}

// copyModule copies the root module's files into a new folder, leaving
// out what is no part of a release: dist/ and hidden folders.
func copyModule(t *testing.T, root string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && rel != "." && (rel == "dist" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, in); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
