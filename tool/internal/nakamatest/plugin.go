package nakamatest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Plugin is the module PluginModule writes.
type Plugin struct {
	// Path is the module's path, and so the plugin's path (go build .):
	// one host cannot open two plugins of the same path, so plugins loaded
	// together need different paths. "" is example.com/plugin.
	Path string
	// Source is main.go, a package main that exports InitModule.
	Source string
	// Protobuf is the version of google.golang.org/protobuf the module
	// requires; "" is ProtobufVersion.
	Protobuf string
}

// Hello is the source of a plugin for the host: its InitModule logs
// "hello module loaded" and registers the RPC "hello", which returns
// "hello, " followed by the payload.
const Hello = `package main

import (
	"context"
	"database/sql"

	"github.com/heroiclabs/nakama-common/runtime"
)

func InitModule(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, initializer runtime.Initializer) error {
	logger.Info("hello module loaded")
	return initializer.RegisterRpc("hello", func(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, payload string) (string, error) {
		return "hello, " + payload, nil
	})
}
`

// PluginModule writes p into dir as a module of its own: go.mod (go
// directive of GoVersion, requiring NakamaCommon at NakamaCommonVersion
// and protobuf at p.Protobuf) and main.go, then runs go mod tidy there
// (with GoVersion), which writes go.sum. Build it with BuildPlugin.
func PluginModule(t testing.TB, dir string, p Plugin) {
	t.Helper()
	if p.Path == "" {
		p.Path = "example.com/plugin"
	}
	if p.Protobuf == "" {
		p.Protobuf = ProtobufVersion
	}
	gomod := fmt.Sprintf("module %s\n\ngo %s\n\nrequire (\n\t%s %s\n\t%s %s\n)\n",
		p.Path, GoVersion[len("go"):], NakamaCommon, NakamaCommonVersion, Protobuf, p.Protobuf)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"go.mod": gomod, "main.go": p.Source} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := goCommand(dir, goEnv(GoVersion), "mod", "tidy"); err != nil {
		t.Fatal(err)
	}
}

// BuildPlugin builds the plugin module in dir (see PluginModule) by hand,
// as a plugin author would for Nakama: go build -buildmode=plugin
// -trimpath -o out . with GOTOOLCHAIN=toolchain (GoVersion for a plugin
// the host loads; "" is the go command on PATH, GOTOOLCHAIN=local) and
// CGO_ENABLED=1. A failed build fails the test with the go command's
// output.
func BuildPlugin(t testing.TB, dir, toolchain, out string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := goCommand(dir, goEnv(toolchain), "build", "-buildmode=plugin", "-trimpath", "-o", out, "."); err != nil {
		t.Fatal(err)
	}
}
