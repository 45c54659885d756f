// Package profile reads the host profiles of compat/hosts.yaml and makes
// each ready to build with: its Go toolchain, its platform, its flags and
// its source tree. The file, dist/ and plugin_sources/ are the defaults,
// configurable in plugship.yaml (see package internal/config).
//
// A profile is one kind of host in the fleet, say the current release, an
// older release still in production, or a canary on another Go:
//
//	profiles:
//	  - name: current               # the working tree, the go on PATH
//	  - name: go1.25                # the working tree, built by go1.25.8
//	    go: go1.25.8
//	  - name: release-2             # the host and contract at a git ref
//	    ref: hosts/v2
//
// Plugins are built once per distinct [Env.Key] (toolchain, platform, C
// compiler, flags, tree): profiles that agree share one build. Hosts in the matrix
// name their profile.
//
// # Toolchains
//
// A profile's go field names a release ("go1.25.8"); the go command on PATH
// runs it with GOTOOLCHAIN set, which downloads it once through the module
// proxy into the module cache ($GOMODCACHE/golang.org/toolchain@v0.0.1-<release>.<goos>-<goarch>,
// about 210 MB each). The working tree's go.mod must allow that release:
// its go line is the oldest Go a working-tree profile can use.
//
// # Trees at a git ref
//
// A profile's ref (a tag, branch or commit) is exported with git archive
// into dist/.cache/trees/<first 16 hex digits of the tree hash>/, once per tree, and never changed
// after: it is reused while the ref points at the same tree. The export
// leaves out plugin_sources/ (the configured sources folder): the build
// lays the working tree's plugin sources over it with go build -overlay,
// so the plugins are compiled against that tree's contract and module
// versions without copying them.
// A clone without the ref's history (actions/checkout fetches one commit by
// default; use fetch-depth: 0) fails those builds with a message saying so.
//
// # Host binaries
//
// A profile's binary names a host executable built elsewhere. Its build
// info (debug/buildinfo) gives the Go release, the platform, the flags that
// must match and every module it links; it must have been built with cgo
// and import package plugin (it has package fingerprints), else Prepare
// refuses it, as it refuses one whose SHA-256 differs from sha256. Prepare
// writes the profile's go.mod and go.sum into dist/.cache/modfiles/<name>/
// (the repository's go.mod with every module the host links required at
// least at the host's version), lists the plugins' packages in that graph
// with go list -mod=mod, which fetches what they need and records its sums
// there, and records in [Host.Selected] the modules they link at another
// version than the host: the build refuses those plugins for the profile.
// [Env.Key] includes the modfile's digest and the host's modules; files
// built for the profile carry [Host.Graph] in their ABI tag. A binary given
// as an http(s) URL (sha256 then required) is downloaded once into
// dist/.cache/hostbin/<name>/ and checked before it takes its name.
//
// # Host modules
//
// A profile's module, version and main name a host in another repository
// at a release. Prepare fetches it with go mod download through GOPROXY,
// copies it into dist/.cache/hostsrc/<name>/ and builds its main package
// there with its own go.mod, the profile's toolchain and flags, into
// dist/.cache/hostbin/<name>/ (reused while a marker beside it holds the
// same module version, main package, flags, toolchain and C compiler);
// from then on the executable is the profile's binary ([Host.Module]
// names the module version). With git, the module comes from that
// repository instead: its branches and tags are fetched into a bare mirror,
// dist/.cache/hostgit/<name>.git, version resolves there to a commit, whose
// tree is exported into dist/.cache/hostsrc/<name>/ and must declare the
// profile's module path.
package profile
