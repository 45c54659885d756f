// Package contract holds the types shared by host programs and the plugins
// they load: the only code both sides compile against.
//
// A plugin is a main package built with -buildmode=plugin. It exports the
// accessor
//
//	func Showcase() contract.Plugin
//
// and may also (or instead) export the package variable
//
//	var ShowcaseElement contract.Plugin
//
// Hosts look up [AccessorSymbol] first and fall back to [ElementSymbol]. Note
// that plugin.Lookup returns a POINTER for a variable: the symbol for
// ShowcaseElement has type *contract.Plugin, not contract.Plugin.
//
// # Compatibility
//
// A Go plugin loads only into a host whose copy of every shared package,
// this one included, is byte-for-byte the same export data: the runtime
// refuses the plugin with "plugin was built with a different version of
// package github.com/plugship/plugship/contract" otherwise. Even a changed
// line number in this package changes its fingerprint. So within one major
// version ([Major]) nothing in this package changes at all: not the types,
// not the method sets, not the symbol names, not the layout of the source.
// Documentation-only edits are also changes (line numbers move) and wait for
// the next major.
//
// Anything else needs a new major version: a new method, a changed signature,
// a renamed symbol. A new major is a new package path
// (github.com/plugship/plugship/contract/v2), so hosts and plugins of both
// majors can coexist in the repository while teams migrate.
//
// # Warnings
//
// The types are fixed, but the behaviour behind them is not: a plugin's
// IsAcceptable may panic, hang or exit the process. Hosts should load through
// github.com/plugship/plugship/loader, which checks and probes candidates in
// a child process before opening one in the host.
package contract
