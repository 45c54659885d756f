package loader

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/trust"
)

// DefaultProbeTimeout bounds one probe: opening a plugin and calling its
// Version and IsAcceptable.
const DefaultProbeTimeout = 10 * time.Second

// Options adjust Load. Set Trust; the rest defaults to the safe choice:
// preflight, then probe in a child process.
type Options struct {
	// GOOS and GOARCH select the files to consider; default this process's.
	GOOS, GOARCH string

	// ABI selects the files to consider by the ABI tag in their names;
	// default the host's own (see OwnABI), computed from its executable:
	// the files built for this host's profile or against its module graph.
	ABI string

	// Trust is the signing policy: a file is tried only if it is signed
	// by a key of the team that owns its plugin (see package trust).
	Trust *trust.Policy

	// Verify, when set, replaces Trust.Verify: it decides whether a file
	// may be read as code at all, before the preflight, the probe or
	// plugin.Open. Load refuses to run with neither Trust nor Verify.
	Verify func(file string) error

	// Host is the executable whose fingerprint plugins must match and which
	// is re-executed for probes; default this process's executable.
	Host string

	// Probe, when set, is the executable re-executed for probes instead
	// of Host: a program that calls HandleProbe, built with Host's Go
	// release, flags and module graph, for a Host that does not call
	// HandleProbe itself (the compatibility matrix's stand-in probes).
	Probe string

	// ProbeTimeout bounds each probe, or each run of Check; default
	// DefaultProbeTimeout.
	ProbeTimeout time.Duration

	// Check, when set, replaces the probe with the host's own command for
	// trying plugins, for hosts that do not call HandleProbe (Nakama's
	// "nakama check --runtime.path DIR"): Check[0] is the program, the
	// rest its arguments, in which {host} is Host, {dir} a fresh folder
	// that holds only the candidate, named CheckFile, {file} the
	// candidate's path in that folder, {plugin} and {version} the plugin's
	// name and version from the file name. Exit status 0 passes the
	// candidate; any other fails it (CheckFailed), with the command's last
	// lines of output, standard output and standard error, as the reason.
	// The command runs in a session of its own, is killed at ProbeTimeout,
	// and nothing it started outlives it. Try and the compatibility matrix
	// use it; a host that sets it for Load still opens the chosen file
	// in-process as a T.
	Check []string

	// CheckFile is the file name the candidate takes in Check's folder,
	// with the same placeholders; default DefaultCheckFile ({plugin}.so).
	CheckFile string

	// PreflightOnly makes Try stop after verification and the preflight
	// when Check is not set: for a host that can be neither probed (it
	// does not call HandleProbe: re-executing it would start it) nor
	// checked. Load ignores it.
	PreflightOnly bool

	// Symbols are the names to look up; default DefaultSymbols. A host
	// whose plugship.yaml names other symbols sets them, and calls
	// HandleProbe with the same names.
	Symbols Symbols

	// Contract is the import path of the contract package, whose
	// fingerprint is part of the ABI. Load and Watch set it from their
	// type argument (see ContractPackage); Try, which opens nothing in
	// this process, needs it set.
	Contract string

	// HealthyAfter turns on quarantine and rollback for long-running
	// hosts: the host must run this long after choosing a version before
	// that choice counts as good; if it dies sooner, its next start
	// quarantines the version and chooses the previous one (see State).
	// The host calls MarkHealthy before any planned exit within that time.
	// Zero (the default) reads and writes no state; DefaultHealthyAfter is
	// a good value.
	HealthyAfter time.Duration

	// InProcess skips the child process: candidates are opened and called
	// in this process. It saves a few milliseconds per candidate and needs
	// no HandleProbe, but a plugin that exits or crashes in init takes the
	// host with it, one that hangs hangs Load, and every candidate that
	// passed preflight stays loaded (plugins cannot be unloaded) even when
	// it is not chosen. Use it only for plugins you trust.
	InProcess bool
}

// ErrNoTrust is returned by Load when Options has neither Trust nor Verify:
// nothing unverified is ever opened.
var ErrNoTrust = errors.New("loader: no trust policy: set Options.Trust (see package trust), or Options.Verify")

// errUnnamedContract is returned when the type argument of Load, Watch or
// OwnABI is not a named type: it must name the contract package.
var errUnnamedContract = errors.New("loader: the contract type must be a named interface type declared in the contract package (such as contract.Greeter), not an interface literal")

// ErrNoAcceptable is returned (wrapped) by Load when no candidate passed.
var ErrNoAcceptable = errors.New("no acceptable plugin")

// Load picks the newest acceptable version of plugin from the files in dir
// and returns it opened in this process as the host's contract T, with a
// report on every candidate.
//
// Versions yanked by the index the folder was fetched from (fetch.Plugins
// keeps it beside the plugins: artifact's FetchedIndexFile) are skipped,
// with the yank's reason. Then, newest first, each candidate is verified (Options.Verify), compared
// statically with the host (build info and package fingerprints; no plugin
// code runs), probed in a child process (open, symbol, Version must match
// the file name, IsAcceptable must be true), and only then opened here. A
// plugin whose symbol is not a T (see Resolve) fails the probe. The
// first to pass everything is chosen; any failure moves on to the next
// older version. The error wraps ErrNoAcceptable when none passed; the
// report is returned either way.
func Load[T Contract](ctx context.Context, dir, plugin string, opts Options) (T, *Report, error) {
	HandleProbe[T](opts.Symbols) // in a probe child whose main did not call it
	var none T
	start := time.Now()
	opts.Contract = ContractPackage[T]()
	opts, hostErr := opts.withDefaults()
	r := &Report{Plugin: plugin, Dir: dir, Platform: opts.GOOS + "/" + opts.GOARCH, ABI: opts.ABI, Host: opts.Host, Mode: "probe"}
	if opts.InProcess {
		r.Mode = "in-process"
	}
	defer func() { r.Duration = time.Since(start); r.Millis = millis(r.Duration) }()
	if opts.Verify == nil {
		return none, r, ErrNoTrust
	}
	if opts.Contract == "" {
		return none, r, errUnnamedContract
	}
	if hostErr != nil {
		return none, r, fmt.Errorf("finding this host's executable: %w", hostErr)
	}
	host, err := hostFingerprint(opts.Host)
	if err != nil {
		return none, r, fmt.Errorf("reading the host's own build: %w", err)
	}
	if opts.ABI == "" {
		if opts.ABI, err = host.HostABI(opts.Contract); err != nil {
			return none, r, fmt.Errorf("the host's own ABI: %w", err)
		}
		r.ABI = opts.ABI
	}
	cands, refused, err := Discover(dir, plugin, opts.GOOS, opts.GOARCH, opts.ABI)
	if err != nil {
		return none, r, err
	}
	// The yanks of the index the folder was fetched from (fetch.Plugins
	// keeps it there): a host that restarts offline still skips them.
	fetched, err := artifact.ReadFetchedIndex(dir, plugin)
	if err != nil {
		return none, r, err
	}
	state := &State{}
	if opts.HealthyAfter > 0 {
		if state, err = beginSelection(dir, plugin, opts.HealthyAfter); err != nil {
			r.Warnings = append(r.Warnings, "quarantine disabled: "+err.Error())
			state, opts.HealthyAfter = &State{}, 0
		}
	}
	var chosen T
	found := false
	for _, c := range cands {
		d := &Decision{File: c.File, Version: c.Version}
		r.Candidates = append(r.Candidates, d)
		if found {
			d.Outcome = NotTried
			continue
		}
		if y, ok := fetched.YankOf("", plugin, c.Version); ok {
			d.Outcome, d.Cause, d.Reason = Yanked, CauseYanked, y.Reason
			continue
		}
		if reason, ok := quarantined(state, c.File); ok {
			d.Outcome, d.Cause, d.Reason = Quarantined, CauseQuarantined, reason+"; clear the quarantine to try it again"
			continue
		}
		t := time.Now()
		chosen, found = decide[T](ctx, c, host, opts, d, true)
		d.Millis = millis(time.Since(t))
		if found {
			r.Chosen = d
		}
		if ctx.Err() != nil {
			return none, r, ctx.Err()
		}
	}
	for _, f := range refused {
		r.Candidates = append(r.Candidates, &Decision{File: f.File, Outcome: Refused, Cause: CauseBadFile, Reason: f.Reason})
	}
	if !found {
		return none, r, fmt.Errorf("%w: %s in %s: %d candidates for %s ABI %s, none passed%s", ErrNoAcceptable, plugin, dir, len(r.Candidates), r.Platform, opts.ABI, otherABIs(dir, plugin, opts.GOOS, opts.GOARCH, opts.ABI))
	}
	if opts.HealthyAfter > 0 {
		sum, _, err := artifact.HashFile(r.Chosen.File)
		if err == nil {
			err = selected(dir, plugin, filepath.Base(r.Chosen.File), sum, opts.HealthyAfter)
		}
		if err != nil {
			r.Warnings = append(r.Warnings, "quarantine disabled: "+err.Error())
		}
	}
	return chosen, r, nil
}

// Try runs, for one plugin file, every check Load runs before opening a
// file in the host: verification, preflight against opts.Host, and the
// probe, in a child process of opts.Host (which must call HandleProbe),
// or of opts.Probe; or, with opts.Check, the host's own check command in
// place of the probe; or nothing more with opts.PreflightOnly. It never
// opens the file in this process; opts.InProcess is ignored. The
// compatibility matrix and plugship install call it once per (file, host).
func Try(ctx context.Context, file string, opts Options) *Decision {
	opts.InProcess = false
	opts, hostErr := opts.withDefaults()
	d := &Decision{File: file}
	start := time.Now()
	defer func() { d.Millis = millis(time.Since(start)) }()
	var abi string
	if n, err := artifact.ParseName(filepath.Base(file)); err == nil {
		d.Version, abi = n.Version, n.ABI
	} else {
		d.Outcome, d.Cause, d.Reason = Refused, CauseBadFile, err.Error()
		return d
	}
	switch {
	case opts.Verify == nil:
		d.Outcome, d.Cause, d.Reason = Unverified, CauseUnsigned, ErrNoTrust.Error()
		return d
	case hostErr != nil:
		d.Outcome, d.Cause, d.Reason = Refused, CauseBadFile, hostErr.Error()
		return d
	case opts.Contract == "":
		d.Outcome, d.Cause, d.Reason = Refused, CauseBadFile, "loader.Try: Options.Contract is not set (the contract package's import path)"
		return d
	}
	host, err := hostFingerprint(opts.Host)
	if err != nil {
		d.Outcome, d.Cause, d.Reason = Incompatible, CauseBuildMismatch, "the host: "+err.Error()
		return d
	}
	decide[Contract](ctx, Candidate{File: file, Version: d.Version, ABI: abi}, host, opts, d, false)
	if d.Outcome == Chosen {
		d.Outcome = Passed
	}
	return d
}

// decide runs every check on one candidate, fills in d and, if open is
// set, opens it in this process and returns it as a T when chosen.
func decide[T Contract](ctx context.Context, c Candidate, host *fingerprint.Fingerprint, opts Options, d *Decision, open bool) (T, bool) {
	var none T
	fail := func(o Outcome, cause, format string, args ...any) (T, bool) {
		d.Outcome, d.Cause, d.Reason = o, cause, fmt.Sprintf(format, args...)
		return none, false
	}
	if err := opts.Verify(c.File); err != nil {
		cause := CauseBadSignature
		if errors.Is(err, trust.ErrUnsigned) {
			cause = CauseUnsigned
		}
		return fail(Unverified, cause, "%v", err)
	}
	fp, err := fingerprint.Read(c.File)
	if err != nil {
		return fail(Incompatible, CauseBadFile, "%v", err)
	}
	if diffs := fingerprint.Compare(host, fp); len(diffs) > 0 {
		d.Differences = diffs
		cause := CauseBuildMismatch
		if slices.ContainsFunc(diffs, func(df fingerprint.Difference) bool { return df.Kind == "go" }) {
			cause = CauseToolchainMismatch
		}
		return fail(Incompatible, cause, "built differently from this host: %s", summarize(diffs))
	}
	if abi, err := fp.ABI(opts.Contract); err != nil || abi != artifact.BaseABI(c.ABI) {
		return fail(Incompatible, CauseBadFile, "its name says ABI %s, its build gives %s%s: renamed, or not built by plugship", c.ABI, abi, errSuffix(err))
	}
	if _, bad := poisoned.Load(c.File); bad {
		return fail(Crashed, CausePanic, "crashed while loading earlier in this process; reopening it would hang")
	}
	if opts.PreflightOnly && len(opts.Check) == 0 && !open {
		d.Outcome, d.Cause = Chosen, CauseOK
		return none, false
	}
	if len(opts.Check) > 0 && !opts.InProcess {
		t := time.Now()
		outcome, err := hostCheck(ctx, opts, c, pluginName(c.File))
		d.ProbeMillis = millis(time.Since(t))
		if err != nil {
			cause := CauseHostCheck
			if outcome == TimedOut {
				cause = CauseTimeout
			}
			return fail(outcome, cause, "%v", err)
		}
	} else if !opts.InProcess {
		t := time.Now()
		tr, outcome, err := probe(ctx, cmp.Or(opts.Probe, opts.Host), c.File, opts.ProbeTimeout)
		d.ProbeMillis = millis(time.Since(t))
		if err != nil {
			cause := CauseExit
			switch {
			case outcome == "":
				outcome = Crashed
			case outcome == TimedOut:
				cause = CauseTimeout
			}
			return fail(outcome, cause, "%v", err)
		}
		if o, cause, reason := classify(tr, c); o != "" {
			return fail(o, cause, "in the probe: %s", reason)
		}
	}
	if !open {
		d.Outcome, d.Cause = Chosen, CauseOK
		return none, false
	}
	t := try[T](c.File, opts.Symbols, func(string) {})
	if t.Panic && t.Stage == stageOpen {
		poisoned.Store(c.File, true)
	}
	if o, cause, reason := classify(t, c); o != "" {
		return fail(o, cause, "%s", reason)
	}
	d.Outcome, d.Cause = Chosen, CauseOK
	return t.plugin.(T), true
}

// quarantined reports whether the state quarantines file's current bytes.
func quarantined(s *State, file string) (string, bool) {
	base := filepath.Base(file)
	if !slices.ContainsFunc(s.Quarantine, func(q QuarantineEntry) bool { return q.File == base }) {
		return "", false
	}
	sum, _, err := artifact.HashFile(file)
	if err != nil {
		return "", false
	}
	return s.quarantined(base, sum)
}

// poisoned holds files whose init panicked in this process: the runtime
// would hang on opening them again.
var poisoned sync.Map

// classify maps a trial to an outcome and cause; "" when the candidate
// passed.
func classify(t trial, c Candidate) (Outcome, string, string) {
	switch {
	case t.Panic:
		return Crashed, CausePanic, fmt.Sprintf("%s in %s", t.Err, describeStage(t.Stage))
	case t.Err != "" && t.Stage == stageOpen:
		return OpenFailed, CauseOpenFailed, t.Err
	case t.Err != "" && t.Stage == stageSymbol:
		cause := t.Cause
		if cause == "" {
			cause = CauseMissingSymbol
		}
		return BadSymbol, cause, t.Err
	case t.Err != "":
		return Crashed, CausePanic, t.Err
	case t.Version != c.Version:
		return VersionMismatch, CauseVersionMismatch, fmt.Sprintf("Version() returned %s, the file name says %s", artifact.Quote(t.Version), c.Version)
	case !t.Acceptable:
		return NotAcceptable, CauseNotAcceptable, "IsAcceptable() returned false"
	}
	return "", "", ""
}

// summarize lists differences for a one-line reason: all of them, grouped.
func summarize(diffs []fingerprint.Difference) string {
	var parts, pkgs []string
	for _, d := range diffs {
		if d.Kind == "package" {
			pkgs = append(pkgs, d.Name)
			continue
		}
		parts = append(parts, d.String())
	}
	switch {
	case len(pkgs) == 1:
		parts = append(parts, "1 package differs: "+pkgs[0])
	case len(pkgs) > 1:
		parts = append(parts, fmt.Sprintf("%d packages differ: %s", len(pkgs), strings.Join(pkgs, ", ")))
	}
	return strings.Join(parts, "; ")
}

func errSuffix(err error) string {
	if err != nil {
		return " (" + err.Error() + ")"
	}
	return ""
}

func (o Options) withDefaults() (Options, error) {
	o.GOOS = cmp.Or(o.GOOS, runtime.GOOS)
	o.GOARCH = cmp.Or(o.GOARCH, runtime.GOARCH)
	if o.Verify == nil && o.Trust != nil {
		o.Verify = o.Trust.Verify
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = DefaultProbeTimeout
	}
	o.CheckFile = cmp.Or(o.CheckFile, DefaultCheckFile)
	var err error
	if o.Host == "" {
		o.Host, err = os.Executable()
	}
	return o, err
}

// pluginName is the plugin's name from a file name, "" if it has none.
func pluginName(file string) string {
	n, err := artifact.ParseName(filepath.Base(file))
	if err != nil {
		return ""
	}
	return n.Plugin
}

// hostFingerprints caches the fingerprint of each host executable.
var hostFingerprints sync.Map // path -> *fingerprint.Fingerprint

func hostFingerprint(path string) (*fingerprint.Fingerprint, error) {
	if fp, ok := hostFingerprints.Load(path); ok {
		return fp.(*fingerprint.Fingerprint), nil
	}
	fp, err := fingerprint.Read(path)
	if err != nil {
		return nil, err
	}
	hostFingerprints.Store(path, fp)
	return fp, nil
}
