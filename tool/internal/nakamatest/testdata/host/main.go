// Command nakamalike loads Go runtime modules (plugins) the way Nakama
// 3.40.0 does (server/runtime_go.go in heroiclabs/nakama), without a
// database: see package nakamatest, whose tests build it.
//
//	nakamalike --version
//	nakamalike check --runtime.path DIR
//	nakamalike [--runtime.path DIR] [--addr 127.0.0.1:0] [--logger.level info]
//
// Logs are JSON lines on standard output. check opens every .so below DIR
// and checks the type of its InitModule without calling it; serving also
// calls each InitModule, then serves POST /v2/rpc/<id> on addr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"example.com/nakamalike/server"
)

var (
	// version is set at build time, as Nakama's release does:
	// -ldflags "-X main.version=...".
	version = "3.40.0"
	// commitID, when set (-X main.commitID=...), is appended to the
	// version as "+commitID", as Nakama prints it.
	commitID = ""
)

func main() {
	semver := version
	if commitID != "" {
		semver += "+" + commitID
	}
	tmpLogger := server.NewJSONLogger(os.Stdout, server.InfoLevel)

	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--version":
			fmt.Println(semver)
			return
		case "check":
			flags := flag.NewFlagSet("check", flag.ExitOnError)
			runtimePath := flags.String("runtime.path", filepath.Join("data", "modules"), "Path for the server to scan for Go library files.")
			if err := flags.Parse(os.Args[2:]); err != nil {
				tmpLogger.Fatal("Could not parse check flags.")
			}
			paths, err := server.GetRuntimePaths(tmpLogger, *runtimePath)
			if err != nil {
				os.Exit(1)
			}
			if err := server.CheckRuntimeProviderGo(tmpLogger, *runtimePath, paths); err != nil {
				// Errors are already logged in the function above.
				os.Exit(1)
			}
			return
		}
	}

	flags := flag.NewFlagSet("nakama", flag.ExitOnError)
	runtimePath := flags.String("runtime.path", filepath.Join("data", "modules"), "Path for the server to scan for Go library files.")
	addr := flags.String("addr", "127.0.0.1:0", "Address to serve the HTTP API on.")
	levelName := flags.String("logger.level", "info", "Minimum log level: debug, info, warn or error.")
	if err := flags.Parse(os.Args[1:]); err != nil {
		tmpLogger.Fatal("Could not parse flags.")
	}
	level, err := server.ParseLevel(*levelName)
	if err != nil {
		tmpLogger.Fatal("Could not parse flags.", server.Error(err))
	}
	logger := server.NewJSONLogger(os.Stdout, level)
	startupLogger := logger

	startupLogger.Info("Nakama starting")
	startupLogger.Info("Node", server.String("name", "nakama"), server.String("version", semver))

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	startupLogger.Info("Initialising runtime", server.String("path", *runtimePath))
	paths, err := server.GetRuntimePaths(startupLogger, *runtimePath)
	if err != nil {
		startupLogger.Fatal("Failed initializing runtime modules", server.Error(err))
	}
	_, rpcs, err := server.NewRuntimeProviderGo(context.Background(), logger, startupLogger, "nakama", semver, *runtimePath, paths)
	if err != nil {
		startupLogger.Fatal("Failed initializing runtime modules", server.Error(err))
	}
	for id := range rpcs {
		startupLogger.Info("Registered Go runtime RPC function invocation", server.String("id", id))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		startupLogger.Fatal("API server listener failed to start", server.Error(err))
	}
	srv := &http.Server{Handler: server.RpcHandler(logger, rpcs), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	startupLogger.Info("Startup done", server.String("addr", ln.Addr().String()))

	select {
	case <-ctx.Done():
	case err := <-served:
		startupLogger.Fatal("API server failed", server.Error(err))
	}
	startupLogger.Info("Shutdown started")
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		startupLogger.Error("API server shutdown failed", server.Error(err))
	}
	startupLogger.Info("Shutdown complete")
}
