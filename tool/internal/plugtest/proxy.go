package plugtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// ProxyModule writes versions of module mod (version -> files, slash
// paths -> content, go.mod included) into dir laid out as a file:// module
// proxy (GOPROXY=file://<dir>), staging the sources under tmp/src. Tests
// pair it with the module cache's own download folder as a fallback
// proxy, GOSUMDB=off and a GOMODCACHE of their own, so that nothing needs
// the network and nothing reaches the user's module cache.
func ProxyModule(tmp, dir, mod string, files map[string]map[string]string) error {
	vdir := filepath.Join(dir, filepath.FromSlash(mod), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	var versions []string
	for v := range files {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		src := filepath.Join(tmp, "src", filepath.FromSlash(mod)+"@"+v)
		for name, data := range files[v] {
			if err := WriteFile(filepath.Join(src, filepath.FromSlash(name)), data); err != nil {
				return err
			}
		}
		var zbuf bytes.Buffer
		if err := zip.CreateFromDir(&zbuf, module.Version{Path: mod, Version: v}, src); err != nil {
			return err
		}
		out := map[string][]byte{
			v + ".info": fmt.Appendf(nil, `{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, v),
			v + ".mod":  []byte(files[v]["go.mod"]),
			v + ".zip":  zbuf.Bytes(),
		}
		for name, data := range out {
			if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(vdir, "list"), []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}

// SharedModule is the files of example.com/shared at version, the module
// the offline tests' hosts and plugins share: the body of its one
// (inlined, so exported) function differs between versions, and so does
// its package fingerprint.
func SharedModule(version string) map[string]string {
	return map[string]string{
		"go.mod":    "module example.com/shared\n\ngo 1.22\n",
		"shared.go": "// Package shared is a module the test's hosts and plugins share.\npackage shared\n\n// Version returns the module's version.\nfunc Version() string { return \"" + version + "\" }\n",
	}
}

// OfflineEnv is the environment of go commands that must not need the
// network: the file:// proxy proxyDir (see ProxyModule), falling back to
// the user's module cache's download folder (a file:// proxy too), no
// checksum database and no workspace. Pair it with a GOMODCACHE of the
// test's own, so that the proxy's fake modules never reach the user's.
func OfflineEnv(proxyDir string) (map[string]string, error) {
	if err := moduleGraph(); err != nil {
		return nil, err
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	download := filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
	return map[string]string{
		"GOPROXY":   "file://" + filepath.ToSlash(proxyDir) + ",file://" + filepath.ToSlash(download),
		"GOFLAGS":   "-mod=mod",
		"GOSUMDB":   "off",
		"GONOSUMDB": "example.com",
		"GOWORK":    "off",
	}, nil
}

var (
	graphOnce sync.Once
	graphErr  error
)

// moduleGraph puts the go.mod of every module in plugship's module graph
// into the module cache once per test process (go list -m all, through
// the module proxy): the offline proxy falls back to the module cache, and
// a test that changes requirements reads go.mod files no build reads. go
// run mage.go test does the same first; this makes a plain go test work
// as well.
func moduleGraph() error {
	graphOnce.Do(func() {
		root, err := Root()
		if err != nil {
			graphErr = err
			return
		}
		cmd := exec.Command("go", "list", "-m", "all")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if msg, err := cmd.CombinedOutput(); err != nil {
			graphErr = fmt.Errorf("go list -m all in %s (the module graph's go.mod files, for the tests' offline module proxy): %v: %s; check that this machine reaches the module proxy, or run go run mage.go test, which says what is missing", root, err, strings.TrimSpace(string(msg)))
		}
	})
	return graphErr
}
