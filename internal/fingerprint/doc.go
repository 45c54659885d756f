// Package fingerprint reads, without running it, what decides whether a Go
// plugin loads into a host: the build info (Go version, build settings,
// module versions) and the fingerprint of every package linked in, and
// compares a plugin's with a host's.
//
// The Go runtime refuses a plugin when a package that both contain was
// compiled differently ("plugin was built with a different version of
// package X"), naming only the first; and a plugin built by another Go minor
// release kills the host outright ("fatal error: runtime: no plugin module
// data"). Both are decided by data in the files: every package's
// fingerprint is an 8-byte dynamic symbol go:link.pkghashbytes.<import path>
// in every plugin and in every cgo host that imports plugin. [Compare] lists
// every difference, so a host can refuse a plugin before dlopen runs any of
// its code.
//
// # Warnings
//
// Only ELF files (Linux, FreeBSD) are read; other formats are an error.
// A host built without cgo or without importing plugin has no package
// fingerprints and cannot load plugins at all; [Read] says so.
package fingerprint
