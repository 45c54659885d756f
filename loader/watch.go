package loader

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/trust"
)

// RestartExitStatus is the exit status with which a host tells its
// supervisor "a newer plugin is ready: restart me". Map it to a restart:
// RestartForceExitStatus=75 in a systemd unit, or use cmd/plugship-supervise.
// (75 is EX_TEMPFAIL in sysexits.h.)
const RestartExitStatus = 75

// DefaultDebounce is how long the folder must be quiet before Watch looks.
const DefaultDebounce = 500 * time.Millisecond

// WatchOptions say what to watch.
type WatchOptions struct {
	Options        // how to check candidates, as for Load
	Dir     string // the plugin folder
	Plugin  string
	// Current is the version the host runs; only newer versions count.
	Current string
	// Debounce is the quiet time after a burst of changes before Watch
	// looks; default DefaultDebounce.
	Debounce time.Duration
	// OnIgnored, if set, is told about every newer file that did not pass,
	// once per content.
	OnIgnored func(*Decision)
}

// Watch blocks until a version newer than opts.Current is in the folder
// and passes what Load checks before opening a file (signature, preflight,
// probe in a child process; see Try), and returns its decision (Outcome
// Passed); or until the version the host runs is yanked by the index the
// folder was fetched from, and returns a decision with Outcome Yanked and
// the reason. Either way the host then shuts down cleanly, calls
// MarkHealthy and exits with RestartExitStatus, and its next start
// chooses the new version (the newest that is not yanked). Newer versions
// that are yanked are ignored. Changes are debounced; temporary and partial files, quarantined files and files
// that do not pass are ignored (and reported to OnIgnored), so an
// unsigned, foreign-signed or incompatible drop never causes a restart. It
// returns ctx's error when ctx ends. T is the host's contract, as for Load.
func Watch[T Contract](ctx context.Context, opts WatchOptions) (*Decision, error) {
	opts.Contract = ContractPackage[T]()
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	if opts.ABI == "" {
		abi, err := ownABI(opts.Host, opts.Contract)
		if err != nil {
			return nil, fmt.Errorf("the host's own ABI: %w", err)
		}
		opts.ABI = abi
	}
	opts.GOOS = cmp.Or(opts.GOOS, runtime.GOOS)
	opts.GOARCH = cmp.Or(opts.GOARCH, runtime.GOARCH)
	if err := w.Add(opts.Dir); err != nil {
		return nil, fmt.Errorf("watching %s: %w", opts.Dir, err)
	}
	indexFile := filepath.Base(artifact.FetchedIndexFile(opts.Dir, opts.Plugin))
	seen := map[string]string{} // file -> content key of its last failed check
	timer := time.NewTimer(0)   // look once at the start
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-w.Errors:
			return nil, fmt.Errorf("watching %s: %w", opts.Dir, err)
		case ev := <-w.Events:
			// The index fetch keeps in the folder is hidden, and counts:
			// it may yank the running version.
			if artifact.IsTemporary(filepath.Base(ev.Name)) && filepath.Base(ev.Name) != indexFile {
				continue
			}
			timer.Reset(opts.Debounce)
		case <-timer.C:
			if d, err := look(ctx, opts, seen); d != nil || err != nil {
				return d, err
			}
		}
	}
}

// look checks whether the current version is yanked, then the newer
// candidates, newest first, skipping those already checked with the same
// content.
func look(ctx context.Context, opts WatchOptions, seen map[string]string) (*Decision, error) {
	cands, _, err := Discover(opts.Dir, opts.Plugin, opts.GOOS, opts.GOARCH, opts.ABI)
	if err != nil {
		return nil, nil
	}
	fetched, err := artifact.ReadFetchedIndex(opts.Dir, opts.Plugin)
	if err != nil {
		return nil, err
	}
	if y, ok := fetched.YankOf("", opts.Plugin, opts.Current); ok && opts.Current != "" {
		file := ""
		for _, c := range cands {
			if c.Version == opts.Current {
				file = c.File
				break
			}
		}
		return yanked(file, opts.Current, y), nil
	}
	state, err := ReadState(opts.Dir, opts.Plugin)
	if err != nil {
		state = &State{} // an unreadable state quarantines nothing
	}
	for _, c := range cands {
		if opts.Current != "" && artifact.CompareVersions(c.Version, opts.Current) <= 0 {
			break
		}
		key := contentKey(c.File)
		if seen[c.File] == key {
			continue
		}
		if y, ok := fetched.YankOf("", opts.Plugin, c.Version); ok {
			seen[c.File] = key
			if opts.OnIgnored != nil {
				opts.OnIgnored(yanked(c.File, c.Version, y))
			}
			continue
		}
		if reason, ok := quarantined(state, c.File); ok {
			seen[c.File] = key
			if opts.OnIgnored != nil {
				opts.OnIgnored(&Decision{File: c.File, Version: c.Version, Outcome: Quarantined, Cause: CauseQuarantined, Reason: reason})
			}
			continue
		}
		d := Try(ctx, c.File, opts.Options)
		if d.Outcome == Passed {
			return d, nil
		}
		seen[c.File] = key
		if opts.OnIgnored != nil && ctx.Err() == nil {
			opts.OnIgnored(d)
		}
	}
	return nil, nil
}

// yanked is the decision on a file whose version y yanks.
func yanked(file, version string, y artifact.Yank) *Decision {
	return &Decision{File: file, Version: version, Outcome: Yanked, Cause: CauseYanked, Reason: y.Reason}
}

// contentKey changes whenever the file or its signature is rewritten.
func contentKey(file string) string {
	key := ""
	for _, f := range []string{file, file + trust.SignatureSuffix} {
		if st, err := os.Stat(f); err == nil {
			key += fmt.Sprintf("%d@%d;", st.Size(), st.ModTime().UnixNano())
		} else {
			key += "-;"
		}
	}
	return key
}
