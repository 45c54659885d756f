package install

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/trust"
)

// DefaultName is the name a plugin's file takes in the host's folder.
const DefaultName = "{plugin}.so"

// StateDir is the folder, inside the host's plugin folder, that keeps what
// install did: <name>.json (the installed version) and <name>.previous
// (the file it replaced, for Rollback). Neither ends in .so, so a host
// that opens every *.so under its folder (Nakama) never opens them.
const StateDir = ".plugship"

// Options say what to install where.
type Options struct {
	Host    string   // the host executable: its ABI and fingerprint decide
	Index   string   // the published index (see fetch.Options.Index), or a channel folder holding it
	Plugins []string // the plugins to install, by name
	Dir     string   // the host's plugin folder
	// Name is the file name a plugin takes in Dir; default DefaultName. It
	// may hold {plugin} and {version}.
	Name string
	// Check is the host's own command for trying a plugin (see
	// loader.Options.Check), such as {host} check --runtime.path {dir};
	// default none: verification and the preflight decide.
	Check []string
	// Contract is the contract package, when the index names none (older
	// indexes); default the index's.
	Contract string
	Trust    *trust.Policy
	Token    string // sent to the index's host (private repositories)
	// Registry reads oci:// indexes (see fetch.Options.Registry).
	Registry fetch.Registry
	Cache    string        // where files are downloaded to; default the user cache folder's plugship/install
	Timeout  time.Duration // bounds each check; default loader.DefaultProbeTimeout
	DryRun   bool          // decide and report, change nothing
}

// Candidate is one published file of a plugin and what install decided.
type Candidate struct {
	File    string `json:"file"`
	Version string `json:"version"`
	Outcome string `json:"outcome"` // a loader outcome ("passed"), fetch.OtherABI, "refused", "not-tried"
	Reason  string `json:"reason,omitempty"`
}

// Plan is what install decided for one plugin.
type Plan struct {
	Plugin    string     `json:"plugin"`
	Chosen    *Candidate `json:"chosen,omitempty"`
	Installed string     `json:"installed,omitempty"` // the version in the folder before, if install put it there
	// InstalledYank is the reason when the index yanks Installed:
	// install replaces it with the newest version that is not yanked.
	InstalledYank string      `json:"installed_yank,omitempty"`
	Target        string      `json:"target,omitempty"` // the file in the host's folder
	Change        string      `json:"change,omitempty"` // "install", "upgrade", "downgrade", "reinstall" or "up-to-date"
	Candidates    []Candidate `json:"candidates"`
	source        string      // the chosen file in the cache
	sha256        string
}

// state is <plugin>.json in StateDir.
type state struct {
	Plugin   string    `json:"plugin"`
	Version  string    `json:"version"`
	File     string    `json:"file"`   // the published file's name
	Target   string    `json:"target"` // its name in the host's folder
	SHA256   string    `json:"sha256"`
	Previous *previous `json:"previous,omitempty"`
}

// previous is the file an install replaced, kept as <plugin>.previous.
type previous struct {
	Version string `json:"version"`
	File    string `json:"file"`   // the published file's name
	Target  string `json:"target"` // its name in the host's folder
	SHA256  string `json:"sha256"`
}

func (o Options) withDefaults() (Options, error) {
	o.Name = cmp.Or(o.Name, DefaultName)
	if o.Timeout <= 0 {
		o.Timeout = loader.DefaultProbeTimeout
	}
	if o.Cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		o.Cache = filepath.Join(dir, "plugship", "install")
	}
	switch {
	case o.Host == "":
		return o, errors.New("no host executable: name it (-host), its ABI decides which files fit")
	case o.Dir == "":
		return o, errors.New("no plugin folder: name the host's plugin folder (-dir)")
	case o.Index == "":
		return o, errors.New("no index: name the published index (-index): a channel's index.json, its URL, or a GitHub repository's URL")
	case o.Trust == nil:
		return o, errors.New("no trust policy (-trust): nothing unverified is installed")
	case len(o.Plugins) == 0:
		return o, errors.New("no plugin named: name the plugins to install")
	}
	if st, err := os.Stat(o.Index); err == nil && st.IsDir() {
		o.Index = filepath.Join(o.Index, artifact.IndexFile) // a channel folder
	}
	for _, p := range o.Plugins {
		if err := artifact.CheckName(p); err != nil {
			return o, fmt.Errorf("plugin %s: %w", artifact.Quote(p), err)
		}
	}
	if _, err := os.Stat(o.Host); err != nil {
		return o, fmt.Errorf("the host executable: %w", err)
	}
	return o, nil
}

// target is the file a plugin's version takes in the host's folder.
func (o Options) target(plugin, version string) (string, error) {
	name := strings.NewReplacer("{plugin}", plugin, "{version}", version).Replace(o.Name)
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("the file name %q (-name %q) is not a file name that a host would read", name, o.Name)
	}
	return filepath.Join(o.Dir, name), nil
}

// Install decides, for every plugin, the newest published version that is
// signed by its team under the trust policy, built for the host's ABI,
// passes the preflight against the host and, when given, the host's check;
// then, unless DryRun or some plugin has none, writes each into the
// folder under its name, atomically, keeping the file it replaces for
// Rollback. When any plugin has no version that fits, it changes nothing
// and returns an error; the plans say why for every candidate.
func Install(ctx context.Context, opts Options) ([]*Plan, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var plans []*Plan
	var missing []string
	for _, plugin := range opts.Plugins {
		p, err := decide(ctx, opts, plugin)
		if err != nil {
			return plans, fmt.Errorf("plugin %s: %w", plugin, err)
		}
		plans = append(plans, p)
		if p.Chosen == nil {
			missing = append(missing, plugin)
		}
	}
	if len(missing) > 0 {
		return plans, fmt.Errorf("no version of %s fits this host: nothing was changed", strings.Join(missing, ", "))
	}
	if opts.DryRun {
		return plans, nil
	}
	for _, p := range plans {
		if err := apply(opts, p); err != nil {
			return plans, fmt.Errorf("plugin %s: %w", p.Plugin, err)
		}
	}
	return plans, nil
}

// decide fetches a plugin's files for the host into the cache and tries
// them, newest first, until one passes.
func decide(ctx context.Context, opts Options, plugin string) (*Plan, error) {
	// The newest version first, then twice as many, and so on: a plugin
	// with many published versions costs one download when its newest
	// fits.
	for n := 1; ; n *= 2 {
		p, versions, err := decideAmong(ctx, opts, plugin, n)
		if err != nil || p.Chosen != nil || versions < n {
			return p, err
		}
	}
}

// decideAmong decides among the n newest published versions of a plugin
// for the host, and says how many versions there were to try.
func decideAmong(ctx context.Context, opts Options, plugin string, n int) (*Plan, int, error) {
	p := &Plan{Plugin: plugin}
	cache := filepath.Join(opts.Cache, cacheKey(opts.Index), plugin)
	results, ferr := fetch.Plugins(ctx, fetch.Options{Index: opts.Index, Plugin: plugin, Dir: cache, Trust: opts.Trust, Token: opts.Token, Registry: opts.Registry, Host: opts.Host, Newest: n})
	if ferr != nil && len(results) == 0 {
		return nil, 0, ferr
	}
	versions := map[string]bool{} // that fetch counts for Newest: yanked ones are not
	yanks := map[string]string{}
	for _, r := range results {
		if r.Outcome == fetch.Yanked {
			yanks[r.Version] = r.Reason
		} else {
			versions[r.Version] = true
		}
	}
	contract := opts.Contract
	for _, r := range results {
		contract = cmp.Or(contract, r.Contract)
	}
	var tried []fetch.Result
	for _, r := range results {
		switch r.Outcome {
		case "fetched", "present":
			tried = append(tried, r)
		default:
			p.Candidates = append(p.Candidates, Candidate{File: r.File, Version: r.Version, Outcome: r.Outcome, Reason: r.Reason})
		}
	}
	if len(results) == 0 {
		p.Candidates = append(p.Candidates, Candidate{Outcome: "none", Reason: fmt.Sprintf("the index %s lists no file of %s for %s/%s", opts.Index, plugin, runtime.GOOS, runtime.GOARCH)})
	}
	// Newest first, as the loader orders them.
	cands, _, err := loader.Discover(cache, plugin, runtime.GOOS, runtime.GOARCH, "")
	if err != nil && len(tried) > 0 {
		return nil, 0, err
	}
	fetched := map[string]bool{}
	for _, r := range tried {
		fetched[r.File] = true
	}
	lo := loader.Options{Trust: opts.Trust, Host: opts.Host, Contract: contract, Check: opts.Check, CheckFile: opts.Name, ProbeTimeout: opts.Timeout, PreflightOnly: true}
	var decided []Candidate
	for _, c := range cands {
		base := filepath.Base(c.File)
		if !fetched[base] {
			continue // in the cache, but not (or no longer) published for this host
		}
		if p.Chosen != nil {
			decided = append(decided, Candidate{File: base, Version: c.Version, Outcome: string(loader.NotTried), Reason: "older than the chosen version"})
			continue
		}
		d := loader.Try(ctx, c.File, lo)
		cand := Candidate{File: base, Version: c.Version, Outcome: string(d.Outcome), Reason: d.Reason}
		if d.Outcome == loader.Passed {
			sum, _, err := artifact.HashFile(c.File)
			if err != nil {
				return nil, 0, err
			}
			chosen := cand
			p.Chosen, p.source, p.sha256 = &chosen, c.File, sum
		}
		decided = append(decided, cand)
	}
	p.Candidates = append(decided, p.Candidates...)
	if p.Chosen == nil {
		return p, len(versions), nil
	}
	if p.Target, err = opts.target(plugin, p.Chosen.Version); err != nil {
		return nil, 0, err
	}
	p.Change = "install"
	if st, err := readState(opts, plugin); err == nil {
		p.Installed, p.InstalledYank = st.Version, yanks[st.Version]
		if cur, _, err := artifact.HashFile(filepath.Join(opts.Dir, st.Target)); err == nil && cur == p.sha256 && st.Target == filepath.Base(p.Target) {
			p.Change = "up-to-date"
		} else {
			switch c := artifact.CompareVersions(p.Chosen.Version, st.Version); {
			case c > 0:
				p.Change = "upgrade"
			case c < 0:
				p.Change = "downgrade"
			default:
				p.Change = "reinstall"
			}
		}
	}
	return p, len(versions), nil
}

// cacheKey names an index's folder in the cache.
func cacheKey(index string) string {
	sum := sha256.Sum256([]byte(index))
	return hex.EncodeToString(sum[:8])
}

// stateFile is a plugin's state in the folder.
func stateFile(opts Options, plugin string) string {
	return filepath.Join(opts.Dir, StateDir, plugin+".json")
}

// previousFile is where the file install replaced is kept.
func previousFile(opts Options, plugin string) string {
	return filepath.Join(opts.Dir, StateDir, plugin+".previous")
}

func readState(opts Options, plugin string) (*state, error) {
	data, err := os.ReadFile(stateFile(opts, plugin))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", stateFile(opts, plugin), err)
	}
	if st.Target == "" || strings.ContainsAny(st.Target, `/\`) || strings.HasPrefix(st.Target, ".") {
		return nil, fmt.Errorf("%s: no installed file", stateFile(opts, plugin))
	}
	return &st, nil
}

func writeState(opts Options, st state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return renameio.WriteFile(stateFile(opts, st.Plugin), append(data, '\n'), 0o644)
}

// apply puts a plan's chosen file into the folder: the file it replaces
// is kept as <plugin>.previous first, then the new one is written under a
// hidden temporary name and renamed over the target, so the host's
// folder holds the old file or the new one, never a part, and never two
// versions of the plugin (a file an earlier install wrote under another
// name is removed after the rename).
func apply(opts Options, p *Plan) error {
	if p.Change == "up-to-date" {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, StateDir), 0o755); err != nil {
		return err
	}
	old, _ := readState(opts, p.Plugin)
	if old == nil {
		if _, err := os.Stat(p.Target); err == nil {
			// A file plugship did not put there: kept, so that rollback
			// brings it back.
			old = &state{Plugin: p.Plugin, Version: "(not installed by plugship)", File: filepath.Base(p.Target), Target: filepath.Base(p.Target)}
		}
	}
	st := state{Plugin: p.Plugin, Version: p.Chosen.Version, File: p.Chosen.File, Target: filepath.Base(p.Target), SHA256: p.sha256}
	if old != nil {
		cur := filepath.Join(opts.Dir, old.Target)
		if sum, _, err := artifact.HashFile(cur); err == nil {
			if err := artifact.CopyFileAtomic(previousFile(opts, p.Plugin), cur, 0o644); err != nil {
				return fmt.Errorf("keeping %s for rollback: %w", cur, err)
			}
			st.Previous = &previous{Version: old.Version, File: old.File, Target: old.Target, SHA256: sum}
		}
	}
	if err := artifact.CopyFileAtomic(p.Target, p.source, 0o755); err != nil {
		return err
	}
	if old != nil && old.Target != filepath.Base(p.Target) {
		os.Remove(filepath.Join(opts.Dir, old.Target))
	}
	return writeState(opts, st)
}

// Rollback puts back, for each plugin, the file the last install replaced,
// atomically, and keeps the file it takes out as the new previous one: a
// second rollback undoes the first.
func Rollback(opts Options) ([]string, error) {
	opts.Name = cmp.Or(opts.Name, DefaultName)
	if opts.Dir == "" || len(opts.Plugins) == 0 {
		return nil, errors.New("name the host's plugin folder (-dir) and the plugins to roll back")
	}
	var done []string
	for _, plugin := range opts.Plugins {
		st, err := readState(opts, plugin)
		if err != nil {
			return done, fmt.Errorf("plugin %s: nothing installed by plugship install to roll back (%v)", plugin, err)
		}
		if st.Previous == nil {
			return done, fmt.Errorf("plugin %s: version %s is the first that plugship install put in %s: there is no previous one", plugin, st.Version, opts.Dir)
		}
		prev := previousFile(opts, plugin)
		if sum, _, err := artifact.HashFile(prev); err != nil || sum != st.Previous.SHA256 {
			return done, fmt.Errorf("plugin %s: the kept previous file %s is missing or changed (%v): install the version you want instead", plugin, prev, err)
		}
		cur := filepath.Join(opts.Dir, st.Target)
		curSum, _, err := artifact.HashFile(cur)
		if err != nil {
			return done, fmt.Errorf("plugin %s: %w", plugin, err)
		}
		// The previous file takes its own name back (a -name with
		// {version} gave it another); the current one becomes the previous.
		back := filepath.Join(opts.Dir, cmp.Or(st.Previous.Target, st.Target))
		swap := filepath.Join(opts.Dir, StateDir, "."+plugin+".swap")
		if err := artifact.CopyFileAtomic(swap, cur, 0o644); err != nil {
			return done, err
		}
		if err := artifact.CopyFileAtomic(back, prev, 0o755); err != nil {
			return done, err
		}
		if back != cur {
			os.Remove(cur)
		}
		if err := os.Rename(swap, prev); err != nil {
			return done, err
		}
		next := state{Plugin: plugin, Version: st.Previous.Version, File: st.Previous.File, Target: filepath.Base(back), SHA256: st.Previous.SHA256,
			Previous: &previous{Version: st.Version, File: st.File, Target: st.Target, SHA256: curSum}}
		if err := writeState(opts, next); err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("%s: %s -> %s (%s)", plugin, st.Version, next.Version, back))
	}
	return done, nil
}

// Report writes the plans for people: per plugin, the decision, then one
// line per candidate, its outcome and reason.
func Report(w io.Writer, plans []*Plan, dryRun bool) {
	for _, p := range plans {
		switch {
		case p.Chosen == nil:
			fmt.Fprintf(w, "%s: no version fits this host\n", p.Plugin)
		case p.Change == "up-to-date":
			fmt.Fprintf(w, "%s: version %s is installed as %s, up to date\n", p.Plugin, p.Chosen.Version, p.Target)
		case dryRun:
			fmt.Fprintf(w, "%s: would %s version %s as %s (dry run: nothing changed)\n", p.Plugin, p.Change, p.Chosen.Version, p.Target)
		default:
			from := ""
			switch {
			case p.InstalledYank != "":
				from = " (was " + p.Installed + ", yanked: " + p.InstalledYank + ")"
			case p.Installed != "":
				from = " (was " + p.Installed + ")"
			}
			fmt.Fprintf(w, "%s: %s version %s as %s%s\n", p.Plugin, pastTense(p.Change), p.Chosen.Version, p.Target, from)
		}
		for _, c := range p.Candidates {
			line := fmt.Sprintf("  %-16s %s", c.Outcome, cmp.Or(c.File, "-"))
			if c.Reason != "" {
				line += ": " + c.Reason
			}
			fmt.Fprintln(w, line)
		}
	}
}

func pastTense(change string) string {
	switch change {
	case "install":
		return "installed"
	case "upgrade":
		return "upgraded to"
	case "downgrade":
		return "downgraded to"
	case "reinstall":
		return "reinstalled"
	}
	return change
}
