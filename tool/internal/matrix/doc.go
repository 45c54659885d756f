// Package matrix is the compatibility matrix as data: which plugin file
// loads into which reference host, and why not where it does not. The
// compat step fills it; this package reads and writes it (matrix.json),
// merges shards, checks it against the hosts' policy (Check), compares it
// with a previous matrix (Compare), judges whether the release can ship
// (Judge), and renders it for people: a console grid, Markdown for a
// GitHub job summary, and one self-contained HTML page.
//
// Every report opens with the verdict's line ("Ready to ship: ..." or
// "NOT ready: 1 regression, 2 violations"), then, when it is not ready,
// the cells that stop it. The views have a row per plugin version and a
// column per host; a cell is the version's build for the host's ABI,
// classed by what the host's policy expects of it (passed, refused as
// required, unexpected, not required, not applicable). The builds for
// other ABIs, which every host must refuse, are one line of the views and
// all cells of matrix.json.
//
// Every cell records the sha256 of both the plugin file and the host
// binary, so a publishing step can prove that what it ships is what was
// tested.
//
// # Warnings
//
// A regression is only as good as the base it is compared with: Compare
// matches plugin versions by team/plugin@version and hosts by name, so a
// renamed host is a host gone and a host new, and its cells are not
// compared.
//
// matrix.md stays under GitHub's 1 MiB job summary limit by stopping each
// part (the findings, the changes, the rows not as expected, their
// reasons, the rows as expected) at a share of the budget, with a line
// saying matrix.html and matrix.json have them all; a reason longer than
// 64 KiB is cut there too. Nothing is cut at 500 plugin versions × 10
// hosts with a few dozen rows not as expected.
//
// A stored verdict is trusted: Grid, Markdown and HTML judge only a
// matrix that has none. Call Judge after changing cells or Changes.
package matrix
