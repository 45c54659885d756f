package server

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"plugin"
	"strings"

	"github.com/heroiclabs/nakama-common/runtime"
)

// The loader below follows server/runtime_go.go of Nakama 3.40.0
// (GetRuntimePaths, CheckRuntimeProviderGo, NewRuntimeProviderGo,
// openGoModule): the same walk, filter, type assertion, messages and
// levels, without a database or a Nakama module.

// RuntimeRpcFunction is a registered RPC, called with the request's
// context and raw payload.
type RuntimeRpcFunction func(ctx context.Context, payload string) (string, error)

// RuntimeGoInitializer is the runtime.Initializer handed to InitModule.
// Only RegisterRpc is implemented: the embedded interface is nil, so any
// other method panics, as calling a method of a nil interface does.
type RuntimeGoInitializer struct {
	runtime.Initializer

	logger  runtime.Logger
	node    string
	version string
	env     map[string]string
	rpc     map[string]RuntimeRpcFunction
}

// RegisterRpc records fn under id, lower-cased as Nakama does.
func (ri *RuntimeGoInitializer) RegisterRpc(id string, fn func(ctx context.Context, logger runtime.Logger, db *sql.DB, nk runtime.NakamaModule, payload string) (string, error)) error {
	id = strings.ToLower(id)
	ri.rpc[id] = func(ctx context.Context, payload string) (string, error) {
		ctx = newRuntimeGoContext(ctx, ri.node, ri.version, ri.env, "rpc")
		return fn(ctx, ri.logger.WithField("rpc_id", id), nil, nil, payload)
	}
	return nil
}

// newRuntimeGoContext sets the context values Nakama gives Go modules
// that this host knows.
func newRuntimeGoContext(ctx context.Context, node, version string, env map[string]string, mode string) context.Context {
	ctx = context.WithValue(ctx, runtime.RUNTIME_CTX_ENV, env)
	ctx = context.WithValue(ctx, runtime.RUNTIME_CTX_MODE, mode)
	ctx = context.WithValue(ctx, runtime.RUNTIME_CTX_NODE, node)
	return context.WithValue(ctx, runtime.RUNTIME_CTX_VERSION, version)
}

// GetRuntimePaths lists every file below rootPath, in lexical order
// (filepath.Walk), creating rootPath if it is missing.
func GetRuntimePaths(logger *Logger, rootPath string) ([]string, error) {
	if err := os.MkdirAll(rootPath, os.ModePerm); err != nil {
		return nil, err
	}
	paths := make([]string, 0, 5)
	if err := filepath.Walk(rootPath, func(path string, f os.FileInfo, err error) error {
		if err != nil {
			logger.Error("Error listing runtime path", String("path", path), Error(err))
			return err
		}
		// Ignore directories.
		if !f.IsDir() {
			paths = append(paths, path)
		}
		return nil
	}); err != nil {
		logger.Error("Failed to list runtime path", Error(err))
		return nil, err
	}
	return paths, nil
}

// CheckRuntimeProviderGo opens every .so among paths and checks its
// InitModule's type, without calling it (nakama check).
func CheckRuntimeProviderGo(logger *Logger, rootPath string, paths []string) error {
	for _, path := range paths {
		// Skip everything except shared object files.
		if strings.ToLower(filepath.Ext(path)) != ".so" {
			continue
		}
		// The function isn't used here, all we need is a type/signature check.
		if _, _, _, err := openGoModule(logger, rootPath, path); err != nil {
			// Errors are already logged in the function above.
			return err
		}
	}
	return nil
}

// NewRuntimeProviderGo opens every .so among paths, in order, and calls
// its InitModule; it returns the registered RPCs by id.
func NewRuntimeProviderGo(ctx context.Context, logger, startupLogger *Logger, node, version, rootPath string, paths []string) ([]string, map[string]RuntimeRpcFunction, error) {
	runtimeLogger := NewRuntimeGoLogger(logger)
	env := map[string]string{}
	initializer := &RuntimeGoInitializer{
		logger:  runtimeLogger,
		node:    node,
		version: version,
		env:     env,
		rpc:     make(map[string]RuntimeRpcFunction),
	}

	// The baseline context that will be passed to all InitModule calls.
	ctx = newRuntimeGoContext(ctx, node, version, env, "run_once")

	startupLogger.Info("Initialising Go runtime provider", String("path", rootPath))

	modulePaths := make([]string, 0)
	for _, path := range paths {
		// Skip everything except shared object files.
		if strings.ToLower(filepath.Ext(path)) != ".so" {
			continue
		}

		// Open the plugin, and look up the required initialisation function.
		relPath, name, fn, err := openGoModule(startupLogger, rootPath, path)
		if err != nil {
			// Errors are already logged in the function above.
			return nil, nil, err
		}

		// Run the initialisation: no database, no Nakama module.
		if err = fn(ctx, runtimeLogger, nil, nil, initializer); err != nil {
			startupLogger.Fatal("Error returned by InitModule function in Go module", String("name", name), Error(err))
			return nil, nil, errors.New("error returned by InitModule function in Go module")
		}
		modulePaths = append(modulePaths, relPath)
	}

	startupLogger.Info("Go runtime modules loaded")
	return modulePaths, initializer.rpc, nil
}

func openGoModule(logger *Logger, rootPath, path string) (string, string, func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error, error) {
	relPath, _ := filepath.Rel(rootPath, path)
	name := strings.TrimSuffix(relPath, filepath.Ext(relPath))

	// Open the plugin.
	p, err := plugin.Open(path)
	if err != nil {
		logger.Error("Could not open Go module", String("path", path), Error(err))
		return "", "", nil, err
	}

	// Look up the required initialisation function.
	f, err := p.Lookup("InitModule")
	if err != nil {
		logger.Fatal("Error looking up InitModule function in Go module", String("name", name))
		return "", "", nil, err
	}

	// Ensure the function has the correct signature.
	fn, ok := f.(func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error)
	if !ok {
		logger.Fatal("Error reading InitModule function in Go module", String("name", name))
		return "", "", nil, errors.New("error reading InitModule function in Go module")
	}

	return relPath, name, fn, nil
}
