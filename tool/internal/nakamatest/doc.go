// Package nakamatest lets tests load plugins the way a host that someone
// else releases does: Nakama 3.40.0 (heroiclabs/nakama), whose Go runtime
// opens every *.so of its runtime path and calls its InitModule.
//
// testdata/host is a small program, a Go module of its own, whose loader
// follows Nakama 3.40.0's server/runtime_go.go: the same recursive walk of
// the runtime path in lexical order, the same ".so" filter, plugin.Open,
// Lookup("InitModule"), the same type assertion (InitModuleType, from
// Contract at NakamaCommonVersion), and the same JSON log lines on
// standard output (level, ts, caller, msg and fields, as Nakama's zap
// logger writes them), exiting with status 1 on the first failure. It has
// Nakama's check subcommand, and a serve mode that calls each InitModule
// with a logger and an initializer that records RPCs (every other method
// of the initializer panics; there is no database and no Nakama module)
// and serves POST /v2/rpc/<id>. It requires exactly what Nakama 3.40.0
// links of the contract: nakama-common v1.47.0 and protobuf v1.36.11.
//
// Build builds that program as Nakama's release is built (GoVersion,
// -trimpath, -mod=vendor, -ldflags "-s -w -X main.version=..."), once per
// test binary. Check runs its check subcommand; Start serves; Serve puts
// a file at the address of Nakama's release download, for tests of code
// that fetches hosts. PluginModule and BuildPlugin make plugins for it in
// modules of their own, built by hand with the go command.
//
// Only tests import it. The go commands it runs use the environment's
// module proxy (GOPROXY) and fetch the GoVersion toolchain through it.
package nakamatest
