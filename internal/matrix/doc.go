// Package matrix is the compatibility matrix as data: which plugin file
// loads into which reference host, and why not where it does not. The
// compat step fills it; this package reads and writes it (matrix.json),
// merges shards, checks it against the hosts' policy, and renders it for
// people: a console grid, Markdown for a GitHub job summary, and one
// self-contained HTML page.
//
// Every cell records the sha256 of both the plugin file and the host
// binary, so a publishing step can prove that what it ships is what was
// tested.
package matrix
