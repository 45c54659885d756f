package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// testVersion is the version this checkout is published as in the test's
// module proxy.
const testVersion = "v0.99.0"

// plugship install runs where hosts run as the README says, with
// go run github.com/plugship/plugship/cmd/plugship@version: this
// checkout's modules (the root, keyless, oci and this command's) are
// served as that version by a file:// module proxy, each go.mod as a
// release tags it (plugship's requirements at that version, no
// replacements), in front of this machine's module cache and the real
// proxy for their dependencies, and go run fetches, builds and runs it in
// an empty folder, with a module cache of its own.
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
	for _, folder := range []string{".", "keyless", "oci", "cmd/plugship"} {
		path := mod
		if folder != "." {
			path += "/" + folder
		}
		serve(t, proxy, path, copyModule(t, filepath.Join(root, folder)))
	}
	upstream := "https://proxy.golang.org,direct"
	if out, err := exec.Command("go", "env", "GOPROXY").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		upstream = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		// What the machine already downloaded, served as a proxy is.
		upstream = "file://" + filepath.ToSlash(filepath.Join(strings.TrimSpace(string(out)), "cache", "download")) + "," + upstream
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

// serve puts the module path, from the folder src, into the file://
// module proxy at proxy as testVersion, with its go.mod as a release
// tags it: plugship's modules required at testVersion, and no replace.
func serve(t *testing.T, proxy, path, src string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if strings.HasPrefix(r.Mod.Path, "github.com/plugship/plugship") {
			if err := f.AddRequire(r.Mod.Path, testVersion); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range slices.Clone(f.Replace) {
		if err := f.DropReplace(r.Old.Path, r.Old.Version); err != nil {
			t.Fatal(err)
		}
	}
	f.Cleanup()
	gomod, err := f.Format()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), gomod, 0o644); err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	if err := zip.CreateFromDir(&z, module.Version{Path: path, Version: testVersion}, src); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(proxy, path, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
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
