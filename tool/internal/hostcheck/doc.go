// Package hostcheck compares the plugins of a repository with a host
// executable built elsewhere, and aligns the repository's go.mod with it,
// as KrakenD's check-plugin --fix does for its gateway.
//
// [Check] reads the host's build info (debug/buildinfo: Go release, build
// settings, every module with its version and replacement) without running
// it, lists with one `go list -deps` the modules every registered plugin
// version links, and reports, verdict first, every module both link at
// another version, which side is newer, and whether the Go release and the
// settings that must match (-trimpath, -race, -msan, -asan, CGO_ENABLED,
// GOOS, GOARCH) agree with how plugship builds plugins (the default
// profile's flags, [-trimpath], and the go command on PATH).
//
// [Align] writes the host's versions of the differing modules into the
// repository's go.mod (one go get, then go mod tidy) and prints what
// changed.
//
// # Warnings
//
// The check predicts; it does not load anything. Equal module versions,
// Go release and settings are necessary for loading, not sufficient: a
// shared package built from another source tree (a contract package at
// another commit, a replace directive on one side) is found only by the
// package fingerprints, which the preflight compares once a plugin is
// built. The repository's own module (the one holding go.mod) is not
// compared: plugins build it from the working tree.
//
// Align rewrites go.mod: the user asks for it by running it. It refuses a
// module that plugship itself requires at a newer version than the host
// links: lowering it would downgrade plugship, and such a host needs a
// module graph of its own. Lowering a requirement may also downgrade other
// modules; go get prints each one.
//
// A host built without cgo, or that does not import package plugin, has no
// package fingerprints and cannot load plugins at all; Check says so.
package hostcheck
