// Package progress reports the progress of long work on a console: how
// many items of how many are done, the time spent, and an estimate of the
// time left, without a line per item.
//
// The steps that work through many items (build: plugin builds, sign:
// plugin files, compat: matrix cells) print a line only for an item that
// failed or changed, through [Progress.Line], and a summary at the end.
// [Verbose] says whether the user asked for a line per item instead
// (PLUGSHIP_VERBOSE=1); the callers decide what that means for them.
//
// How progress looks depends on where it goes:
//
//   - a terminal (an *os.File for which term.IsTerminal holds): one status
//     line, redrawn in place with a carriage return at most ten times a
//     second, cleared before a Line and by Finish;
//   - anything else (a CI log, a pipe, a file, a bytes.Buffer): a plain
//     status line at most every [Progress.Interval] (5s), never a
//     carriage return or an escape sequence, so logs stay readable. Work
//     shorter than Interval prints no status line at all.
//
// A Progress is safe for concurrent use.
//
// # Warnings
//
// While a Progress is running on a terminal, everything written to the
// same terminal must go through Line: a direct write lands in the middle
// of the status line. The estimate assumes the items left take as long
// on average as the ones done; the first items of a cached run are fast
// and make it optimistic. Standard error is not coordinated with it.
package progress
