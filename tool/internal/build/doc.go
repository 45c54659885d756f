// Package build turns the team registry into version-named plugin files,
// one per plugin version and host ABI:
//
//	dist/plugins/<team>/<plugin>/<plugin>_v<version>_<goos>_<goarch>_<abi>.so
//
// with a metadata JSON beside each (see package artifact). dist/, the
// hosts file, teams/ and plugin_sources/ are configurable in plugship.yaml
// (package internal/config).
//
// It works in three parts. [Targets] prepares the host profiles of
// compat/hosts.yaml (package profile: toolchain, platform, C compiler, flags, tree at
// a git ref) and groups those that agree into one [Target]. [Plan]
// computes, as data, one [Action] per plugin version and target: the exact
// go build arguments, environment, overlay and paths; [Keys] adds each
// action's key, a hash of its inputs. [Run] executes a plan, one go build
// process per action whose key or file changed, at most one per CPU at a time,
// names each file by the ABI its build gives (read from the built file,
// the way a host computes its own), and shows progress, a line per action
// that built or failed (per action when PLUGSHIP_VERBOSE=1) and a summary. A build that fails for one target (a plugin that does not
// compile against an older contract) is reported for that target alone.
//
// # Host binaries
//
// A profile with binary (a host executable built elsewhere) is built with
// go build -modfile=<dist>/.cache/modfiles/<profile>/go.mod, the host's
// module graph (see package profile), and its files' ABI tag ends in that
// graph's tag (artifact.WithGraph), so hosts that differ only in a module
// version get files of their own. Before its go build, an action for
// such a target checks the plugin's modules (from its target's go list,
// see below) when the graph selects any module the host links at another
// version; a plugin that links one (it
// needs a newer version than the host has, or replaces it) fails for that
// target alone, naming plugin, profile, module, both versions and the ways
// out, in package hostmods' words, which check:host shares.
//
// # How each version gets its own plugin path
//
// The Go runtime refuses to open a second plugin with the same plugin path
// ("plugin already loaded"), and the plugin path is the main package's
// import path. -ldflags=-pluginpath is broken on Go 1.26, and -trimpath
// builds from a file list collide. So every version is built as a virtual
// package that exists only in a go build -overlay file:
//
//	<module>/plugin_sources/<source>/_plugship/v<version>
//
// whose files are the source folder's files. The folder lies inside the
// plugin's source folder, so the plugin's internal/ packages stay
// importable, and starts with "_", so ./... patterns never see it. The
// manifest version is injected with -ldflags=-X=<that path>.version=<version>:
// every plugin's main package declares
//
//	var version = "dev"
//
// and returns it from Version(), so the version in the file name and the
// one the plugin reports cannot disagree. Plan refuses a plugin without it.
//
// # Incremental and atomic
//
// Between Plan and Run, [Keys] gives every action a key: a hash of all
// that its go build reads. Per target it runs go env once, the C compiler
// once (-###) and one go list -deps for all the target's plugins, then
// hashes, in this order (the lines of Action.Inputs):
//
//   - a schema line and plugship's own Go build ID (a new plugship builds
//     everything once through go build);
//   - the target: [profile.Env.Key] (Go release, platform, C compiler,
//     flags, tree, a binary profile's modfile digest), the tree's folder,
//     the profile's variables (CGO_ENABLED, GOFLAGS, GOTOOLCHAIN, GOOS,
//     GOARCH, CC);
//   - every go env variable (CGO_CFLAGS and the other cgo flags, CC, CXX,
//     GOFLAGS, GOEXPERIMENT, GOAMD64, GOROOT, GOVERSION, ...) but those of
//     caches, downloads and telemetry and GOGCCFLAGS, and the C compiler's
//     variables of the caller's environment (CPATH, LIBRARY_PATH,
//     PKG_CONFIG_PATH, ...);
//   - the toolchain's identity: the Go build IDs of go, compile, link, asm
//     and cgo; and the C compiler's: its file (size, time) and the version
//     and target it states;
//   - go.mod and go.sum (the profile's modfile and its sums when it has
//     one), vendor/modules.txt, go.work and go.work.sum (hashes, or that
//     they are missing);
//   - the action: team, plugin, version, source folder, go build
//     arguments and environment, contract, symbols, output folder, and
//     every file of its overlay with its real file's hash;
//   - for the plugin's package and every package it imports, as go list
//     gives them: a standard-library package nothing (the toolchain covers
//     it); a package of a module version in the module cache its module's
//     path@version (go.sum pins the content); any other package (the
//     module's own, a replaced or vendored module's, the tree's overlay)
//     its import path, folder and the hash of every file go build reads
//     (Go, cgo, C, C++, assembly, headers, syso, embedded), and its
//     module's go.mod.
//
// Run skips go build, and the ABI check, when the action's state file
// under dist/.work/build/ (written atomically after the last successful
// build, once its metadata was written) holds the same key and the final
// file is still the one it recorded: the same size, times, inode and
// device, or else, when those differ or were recorded within 100 ms of the
// file's last change, the same SHA-256. A deleted or damaged file is built
// again; a missing metadata file is written again. With PLUGSHIP_VERBOSE=1
// each line of a rebuilt file names the first input that changed. An
// action without a key (go list failed, a package has errors) runs go
// build every time, which says what is wrong.
//
// go build writes into a staging file under dist/.work/build/, where it
// skips the link when the staged file is already up to date. The staged file
// is copied to its final name only when its bytes differ, through a hidden
// temporary file in the same folder and a rename; the metadata likewise. An
// interrupted or failed build never leaves a half-written file under a
// final name and never replaces a good one.
//
// # Warnings
//
// Every build uses CGO_ENABLED=1 -buildmode=plugin -buildvcs=false, the
// profile's flags (default -trimpath) and an empty GOFLAGS variable,
// whatever the caller's environment says (GOFLAGS written to the go env
// file with go env -w still applies, as for any go command, and is part of
// the action key); hosts must be built with the same flags by
// the same Go release from the same module versions to open the result.
// For a profile at a git ref, the plugin's sources come from the working
// tree but everything else (contract, go.mod) from the ref. The overlay cannot carry //go:embed files of
// a plugin's main package.
package build
