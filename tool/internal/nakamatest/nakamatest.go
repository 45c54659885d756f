package nakamatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// What Nakama 3.40.0's release is built with and links, and so what a
// plugin it loads must be built with.
const (
	// NakamaCommon is the module of Nakama's plugin contract.
	NakamaCommon = "github.com/heroiclabs/nakama-common"
	// NakamaCommonVersion is the version of NakamaCommon Nakama 3.40.0
	// requires (v1.48.0 needs Go 1.27.1).
	NakamaCommonVersion = "v1.47.0"
	// GoVersion is the Go release Nakama 3.40.0's release is built with
	// (build/Dockerfile).
	GoVersion = "go1.26.5"
	// ProtobufVersion is the version of google.golang.org/protobuf that
	// NakamaCommonVersion requires, and so the host links.
	ProtobufVersion = "v1.36.11"
	// Protobuf is the module path of protobuf.
	Protobuf = "google.golang.org/protobuf"
	// Contract is the package whose types InitModule's signature names.
	Contract = NakamaCommon + "/runtime"
	// InitModuleType is the type the host asserts InitModule has, as
	// written in Go source importing Contract as runtime.
	InitModuleType = "func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error"
	// HostVersion is the version Build stamps into the host
	// (-X main.version), which its --version prints.
	HostVersion = "3.40.0-test"
)

// commandTimeout bounds each go command and each check run.
const commandTimeout = 10 * time.Minute

var host struct {
	once sync.Once
	bin  string
	err  error
}

// Build builds the host of testdata/host as Nakama 3.40.0's release is
// built and returns the executable's path: in a copy of its module, go
// mod vendor, then go build -trimpath -mod=vendor -ldflags "-s -w -X
// main.version=HostVersion" with GOTOOLCHAIN=GoVersion and CGO_ENABLED=1.
// GOFLAGS is replaced by -buildvcs=false, so that flags from the
// environment (a -mod=mod) do not change the build.
//
// It builds once per test binary: every test of the binary gets the same
// file, in a folder nakamatest-* under os.TempDir that is not removed
// (no helper knows when the last test of the binary ends; the go build
// cache makes later binaries' builds fast; what stays is the executable,
// about 14 MB). A failed build fails every test that calls Build, with the
// go command's output. Modules and the toolchain come from the
// environment's GOPROXY into its GOMODCACHE: a test with a module cache of
// its own fetches the GoVersion toolchain into it.
func Build(t testing.TB) string {
	t.Helper()
	host.once.Do(func() { host.bin, host.err = buildHost() })
	if host.err != nil {
		t.Fatal(host.err)
	}
	return host.bin
}

func buildHost() (string, error) {
	src, err := hostSource()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "nakamatest-")
	if err != nil {
		return "", err
	}
	mod := filepath.Join(dir, "src")
	if err := copyDir(src, mod); err != nil {
		return "", err
	}
	env := goEnv(GoVersion)
	if err := goCommand(mod, env, "mod", "vendor"); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "nakama")
	if err := goCommand(mod, env, "build", "-trimpath", "-mod=vendor", "-ldflags", "-s -w -X main.version="+HostVersion, "-o", bin, "."); err != nil {
		return "", err
	}
	// Only the executable stays.
	if err := os.RemoveAll(mod); err != nil {
		return "", err
	}
	return bin, nil
}

// hostSource finds testdata/host: beside this file when the test binary
// knows its source paths, else below a folder above the working
// directory (tests run in their package's folder in this repository).
func hostSource() (string, error) {
	const rel = "testdata/host"
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), filepath.FromSlash(rel))
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		for _, below := range []string{"", "internal/nakamatest", "tool/internal/nakamatest"} {
			cand := filepath.Join(dir, filepath.FromSlash(below), filepath.FromSlash(rel))
			if _, err := os.Stat(filepath.Join(cand, "go.mod")); err == nil && strings.HasSuffix(filepath.ToSlash(cand), "nakamatest/"+rel) {
				return cand, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("nakamatest: cannot find its testdata/host from %s", wd)
		}
		dir = parent
	}
}

// copyDir copies the regular files below src into dst.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "vendor" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// goEnv is the environment of the go commands this package runs with
// toolchain (GOTOOLCHAIN; "" is the go command on PATH): cgo on, no
// workspace, and GOFLAGS replaced so that the environment's flags do not
// change the builds.
func goEnv(toolchain string) []string {
	if toolchain == "" {
		toolchain = "local"
	}
	return append(os.Environ(), "GOTOOLCHAIN="+toolchain, "CGO_ENABLED=1", "GOWORK=off", "GOFLAGS=-buildvcs=false")
}

// goCommand runs go with args in dir and env, returning an error that
// holds the command and all its output when it fails.
func goCommand(dir string, env []string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return fmt.Errorf("in %s: go %s: %v\n%s", dir, quote(args), err, out.Bytes())
	}
	return nil
}

func quote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			q[i] = fmt.Sprintf("%q", a)
		}
	}
	return strings.Join(q, " ")
}
