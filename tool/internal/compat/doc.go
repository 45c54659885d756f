// Package compat is the compatibility-matrix step: it builds the reference
// hosts listed in compat/hosts.yaml, each with its host profile's
// toolchain, flags and tree (package profile), tries every plugin file in
// dist/plugins in every host, and writes dist/compat/matrix.{json,md,html}
// (package matrix). The hosts file and dist/ are configurable in
// plugship.yaml (folders.hosts, folders.dist; package internal/config).
//
// Each host's ABI tag is read from its binary. A host's must_accept covers
// the files built for its ABI; a file built for another ABI must be
// refused (the preflight says why without probing it), and the reports
// show which builds serve which hosts.
//
// Each cell (plugin file × host) runs what a host's loader runs before it
// opens a plugin (loader.Try): the signature against dist/trust.json, the
// static preflight against the host binary, and a probe in a fresh process
// of that host binary with a timeout, calling IsAcceptable. A cell whose
// signature or preflight fails is not probed. A host of a binary or module
// profile that does not call loader.HandleProbe is probed by a stand-in, a
// program built with its Go release, flags and module graph
// (dist/compat/hosts/<name>.probe); the preflight still compares against the
// host itself, and each cell records its evidence (preflight, probe or
// stand-in probe). Its outcome is one of the
// loader's causes: ok, not-acceptable, missing-symbol, wrong-type,
// version-mismatch, build-mismatch, toolchain-mismatch, bad-file, panic,
// exit, timeout, open-failed, unsigned, bad-signature.
//
// Cells run in parallel, one per CPU. Results are cached in
// dist/compat/cache.json by the sha256 of the plugin file, of the host
// binary, of the signature and of the trust policy, and the probe timeout:
// a run with nothing changed probes nothing.
//
// The console shows progress and a line only for a cell that breaks its
// host's requirement or whose outcome changed since the last matrix
// written (every cell when PLUGSHIP_VERBOSE=1), then a summary; see
// package progress.
//
// A run can be split: Shard runs every n-th cell and writes a partial
// result under dist/compat/shards/; Merge combines all of them into the
// same reports a whole run writes.
package compat
