package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/symbols"
	"golang.org/x/sync/errgroup"
)

// Outcome is what happened to one action.
type Outcome string

// Outcomes of an action.
const (
	Built    Outcome = "built"      // a new or changed .so was written
	UpToDate Outcome = "up-to-date" // the .so already held these bytes, or its key had not changed
	Failed   Outcome = "FAILED"     // see Result.Err; the previous .so, if any, is untouched
)

// Result is the outcome of one action.
type Result struct {
	Action  *Action
	Outcome Outcome
	Err     error
	Time    time.Duration
	File    string // the final .so, named with the built file's ABI
	ABI     string
	// GoBuild says whether go build ran: false when the action's key and
	// its file were unchanged (or it failed before). Why says, for a build
	// whose key changed, the first input that did (shown with
	// PLUGSHIP_VERBOSE=1).
	GoBuild bool
	Why     string

	state *buildState // to record once the metadata is written
}

// Summary is the outcome of a Run.
type Summary struct {
	Results []Result // in plan order
	Time    time.Duration
}

// Count returns how many results had outcome o.
func (s Summary) Count(o Outcome) int {
	n := 0
	for _, r := range s.Results {
		if r.Outcome == o {
			n++
		}
	}
	return n
}

// Err is nil when every action succeeded, or an error naming the failures.
func (s Summary) Err() error {
	var failed []string
	for _, r := range s.Results {
		if r.Outcome == Failed {
			failed = append(failed, r.Action.ID())
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d plugin builds failed: %s", len(failed), len(s.Results), strings.Join(failed, ", "))
}

// Run executes the plan: at most opts.Jobs go build processes at once. It
// shows progress on out (package progress) and prints a line for each
// action that built a new or changed file and for each failure, with the
// compiler's message, as it finishes, then a summary line; an action whose
// file was already up to date gets a line only when progress.Verbose.
// Every action runs even when others fail; cancelling ctx stops the
// running builds. The metadata of each file is written once all its
// builds are done, listing every profile it serves.
func Run(ctx context.Context, actions []*Action, opts Options, out io.Writer) Summary {
	opts = opts.base() // the actions carry every path: Run needs Root and Jobs only
	start := time.Now()
	rev := gitRevision(ctx, opts.Root)
	results := make([]Result, len(actions))
	outputs := &outputs{files: map[string]*output{}}
	verbose := progress.Verbose()
	bar := progress.New(out, "plugin builds", len(actions))
	g := new(errgroup.Group)
	g.SetLimit(opts.Jobs)
	for i, a := range actions {
		g.Go(func() error {
			t := time.Now()
			r := execute(ctx, a, opts, outputs)
			r.Time = time.Since(t)
			results[i] = r
			if verbose || r.Outcome != UpToDate {
				bar.Line("%s", formatResult(opts.Root, r))
			}
			bar.Done(1)
			return nil
		})
	}
	g.Wait()
	bar.Finish()
	order := map[string]int{} // profile -> position in the plan, for stable metadata
	for _, a := range actions {
		for _, p := range a.Target.Profiles {
			if _, ok := order[p]; !ok {
				order[p] = len(order)
			}
		}
	}
	for file, o := range outputs.files {
		if _, err := os.Stat(file); err != nil {
			continue // its build failed writing it: no metadata for a file that is not there
		}
		sort.SliceStable(o.profiles, func(i, j int) bool { return order[o.profiles[i]] < order[o.profiles[j]] })
		if err := writeMetadata(file, o, rev); err != nil {
			for i := range results {
				if results[i].File == file && results[i].Outcome != Failed {
					results[i].Outcome, results[i].Err = Failed, err
					io.WriteString(out, formatResult(opts.Root, results[i]))
				}
			}
		}
	}
	// Only now is each file complete, metadata and all: record the states
	// that let the next run skip its builds.
	for i := range results {
		r := &results[i]
		if r.state == nil || r.Outcome == Failed {
			continue
		}
		if err := r.state.record(r.Action.StateFile); err != nil {
			// The file is good; the next run builds it again.
			fmt.Fprint(out, progress.Fit("  "+r.Action.ID()+": "+err.Error(), fmt.Sprintf("(the next build runs go build for it again; check that %s is writable)", filepath.Dir(r.Action.StateFile))))
		}
	}
	s := Summary{Results: results, Time: time.Since(start)}
	fmt.Fprintf(out, "%d built, %d up to date, %d failed, of %d plugin builds in %.1fs\n",
		s.Count(Built), s.Count(UpToDate), s.Count(Failed), len(results), s.Time.Seconds())
	if s.Count(Built) > 0 && !verbose {
		plugins := filepath.Dir(filepath.Dir(actions[0].OutDir))
		if rel, err := filepath.Rel(opts.Root, plugins); err == nil && !strings.HasPrefix(rel, "..") {
			plugins = rel
		}
		fmt.Fprintf(out, "files: %s/<team>/<plugin>/<plugin>_v<version>_<os>_<arch>_<ABI>.so\n", plugins)
	}
	return s
}

// formatResult is the console line of one action, and for a failure the
// error's lines below it, indented; it ends in a newline. The line names
// the built file's ABI rather than its path, which follows from the
// action and the ABI (see [Summary]); PLUGSHIP_VERBOSE=1 adds the path
// and the input that changed.
func formatResult(root string, r Result) string {
	head := fmt.Sprintf("  %-10s %-42s %5.1fs", r.Outcome, r.Action.ID(), r.Time.Seconds())
	if r.Outcome == Failed {
		var b strings.Builder
		b.WriteString(head + "\n")
		for _, line := range strings.Split(strings.TrimRight(r.Err.Error(), "\n"), "\n") {
			fmt.Fprintf(&b, "      %s\n", line)
		}
		return b.String()
	}
	line := progress.Fit(head, "ABI "+r.ABI)
	if !progress.Verbose() {
		return line
	}
	rel, err := filepath.Rel(root, r.File)
	if err != nil {
		rel = r.File
	}
	line += "      " + rel + "\n"
	if r.Why != "" {
		line += progress.Indent("changed: "+strings.ReplaceAll(r.Why, root+string(filepath.Separator), ""), "      ")
	}
	return line
}

// outputs are the final files of a run, by path: builds for two targets
// whose files get the same ABI (and so the same name) meet here.
type outputs struct {
	mu    sync.Mutex
	files map[string]*output
}

type output struct {
	action   *Action // the first build that wrote it
	name     artifact.Name
	meta     *artifact.Metadata // from its build info, but for profiles and revision
	sum      string
	size     int64
	profiles []string
}

// claim records that a built the file with sum; the error says why it may
// not (another target built other bytes under the same name).
func (o *outputs) claim(file string, out *output) (first bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	prev := o.files[file]
	if prev == nil {
		o.files[file] = out
		return true, nil
	}
	a, sum := out.action, out.sum
	if prev.sum != sum {
		return false, fmt.Errorf("profiles %s and %s yield the same ABI but different bytes for %s: their trees differ only in modules the plugin alone uses; give one of them other flags, or build them in separate runs",
			prev.action.Target.Name(), a.Target.Name(), filepath.Base(file))
	}
	prev.profiles = append(prev.profiles, a.Target.Profiles...)
	return false, nil
}

// execute builds one action; see the package doc for the steps.
func execute(ctx context.Context, a *Action, opts Options, outs *outputs) Result {
	r := Result{Action: a, Outcome: Failed}
	fail := func(err error) Result { r.Outcome, r.Err, r.state = Failed, err, nil; return r }
	if a.Err != nil {
		return fail(a.Err)
	}
	var st *buildState
	if a.Key != "" {
		st = readState(a.StateFile)
		if st != nil && st.Key == a.Key {
			if ok, restat := st.current(); ok {
				// Nothing the build reads changed and the file is the one
				// it wrote: go build would find nothing to do.
				r.File, r.ABI = st.File, st.ABI
				first, err := outs.claim(st.File, &output{action: a, name: st.Meta.Name(), meta: st.Meta, sum: st.SHA256, size: st.Size, profiles: slices.Clone(a.Target.Profiles)})
				if err != nil {
					return fail(err)
				}
				if restat && first {
					r.state = st
				}
				r.Outcome = UpToDate
				return r
			}
		}
		if st != nil && st.Key != a.Key {
			r.Why = changed(st, a.Inputs)
		}
	}
	if err := os.MkdirAll(a.OutDir, 0o755); err != nil {
		return fail(err)
	}
	if err := a.WriteOverlay(); err != nil { // creates the staging folder too
		return fail(fmt.Errorf("writing the overlay: %w", err))
	}
	if err := a.checkHostModules(ctx); err != nil {
		return fail(err)
	}
	cmd := a.Target.Env.Command(ctx, a.Args...)
	cmd.Env = append(cmd.Env, a.Env...)
	r.GoBuild = true
	var compiler bytes.Buffer
	cmd.Stdout, cmd.Stderr = &compiler, &compiler
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fail(fmt.Errorf("cancelled: %w", ctx.Err()))
		}
		if sc := a.SymbolContract; sc != nil {
			if probs := sc.CheckErrors(compiler.String()); len(probs) > 0 {
				return fail(symbolProblems(a, probs))
			}
		}
		return fail(fmt.Errorf("go build (%s): %v\n%s", a.Target.Env.Describe(), err, a.realPaths(opts.Root, compiler.String())))
	}
	fp, err := fingerprint.Read(a.Staging)
	if err != nil {
		return fail(err)
	}
	if r.ABI, err = fp.ABI(a.Contract); err != nil {
		return fail(err)
	}
	if h := a.Target.Env.Host; h != nil {
		// Built against a host's module graph: another host of the same
		// ABI may link other versions, so the name says which graph.
		r.ABI = artifact.WithGraph(r.ABI, h.Graph)
	}
	if sc := a.SymbolContract; sc != nil {
		for _, sym := range sc.Symbols {
			if !sym.Var() && !fp.Funcs[sym.Name] {
				return fail(fmt.Errorf("exports %s as a variable, and the host asserts the function type %s (plugin.Lookup returns a variable's address, a *%s): declare func %s, or write the type as *%s in plugship.yaml contract.symbols if the host wants a variable",
					sym.Name, sym.Type, sym.Type, sym.Name, sym.Type))
			}
		}
	}
	if len(a.Symbols) > 0 && !slices.ContainsFunc(a.Symbols, func(s string) bool { return fp.Exports[s] }) {
		return fail(fmt.Errorf("exports neither %s: hosts look up these names (plugship.yaml contract.accessor and contract.element) and would refuse it; declare func %s() or var %s of the contract's type from %s",
			strings.Join(a.Symbols, " nor "), a.Symbols[0], a.Symbols[len(a.Symbols)-1], a.Contract))
	}
	name := artifact.Name{Plugin: a.Plugin, Version: a.Version, GOOS: a.Target.Env.GOOS, GOARCH: a.Target.Env.GOARCH, ABI: r.ABI}
	r.File = filepath.Join(a.OutDir, name.String())
	sum, size, err := artifact.HashFile(a.Staging)
	if err != nil {
		return fail(err)
	}
	meta := baseMetadata(a, name, fp, sum, size)
	first, err := outs.claim(r.File, &output{action: a, name: name, meta: meta, sum: sum, size: size, profiles: slices.Clone(a.Target.Profiles)})
	if err != nil {
		return fail(err)
	}
	r.Outcome = UpToDate
	if a.Key != "" {
		r.state = &buildState{Key: a.Key, File: r.File, ABI: r.ABI, SHA256: sum, Size: size, Meta: meta, Inputs: a.Inputs}
	}
	if !first {
		return r // another target wrote these bytes under this name
	}
	if old, _, err := artifact.HashFile(r.File); err != nil || old != sum {
		if err := artifact.CopyFileAtomic(r.File, a.Staging, 0o755); err != nil {
			return fail(fmt.Errorf("writing %s: %w", r.File, err))
		}
		r.Outcome = Built
	}
	return r
}

// writeMetadata writes the metadata of one final file, from the build
// info of its staged copy.
func writeMetadata(file string, o *output, rev revision) error {
	meta, err := o.metadata(rev)
	if err != nil {
		return err
	}
	if _, err := artifact.WriteFileIfChanged(file+artifact.MetadataSuffix, meta, 0o644); err != nil {
		return fmt.Errorf("writing metadata: %w", err)
	}
	return nil
}

// realPaths rewrites compiler output to name the real source folder and
// paths relative to the module root.
func (a *Action) realPaths(root, s string) string {
	s = strings.ReplaceAll(s, a.Package, a.Source)
	if up, err := filepath.Rel(a.Target.Env.Dir, root); err == nil && up != "." {
		// go names the real files relative to the tree it runs in.
		s = strings.ReplaceAll(s, up+string(filepath.Separator), "")
	}
	s = strings.ReplaceAll(s, a.Target.Env.Dir+string(filepath.Separator), "")
	return strings.ReplaceAll(s, root+string(filepath.Separator), "")
}

// baseMetadata describes a built file, from its own build info, but for
// what each run sets (see output.metadata).
func baseMetadata(a *Action, n artifact.Name, fp *fingerprint.Fingerprint, sum string, size int64) *artifact.Metadata {
	bi := fp.BuildInfo
	m := &artifact.Metadata{
		Schema:     artifact.MetadataSchema,
		Team:       a.Team,
		Plugin:     a.Plugin,
		Version:    a.Version,
		File:       n.String(),
		SHA256:     sum,
		Size:       size,
		GoVersion:  bi.GoVersion,
		GOOS:       n.GOOS,
		GOARCH:     n.GOARCH,
		ABI:        n.ABI,
		PluginPath: bi.Path,
		Module:     artifact.Module{Path: bi.Main.Path, Version: bi.Main.Version, Sum: bi.Main.Sum},
		Settings:   maps.Clone(fp.Settings),
		Source:     a.Source,
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		m.Deps = append(m.Deps, artifact.Module{Path: d.Path, Version: d.Version, Sum: d.Sum})
	}
	sort.Slice(m.Deps, func(i, j int) bool { return m.Deps[i].Path < m.Deps[j].Path })
	return m
}

// metadata describes the file: its base metadata, the profiles it serves
// and the checkout's revision.
func (o *output) metadata(rev revision) ([]byte, error) {
	m := *o.meta
	m.Profiles, m.Revision, m.Dirty = o.profiles, rev.commit, rev.dirty
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("metadata for %s: %w", o.name, err)
	}
	return m.Marshal()
}

type revision struct {
	commit string
	dirty  bool
}

// gitRevision returns the checkout's commit, or nothing outside git.
func gitRevision(ctx context.Context, root string) revision {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return revision{}
	}
	r := revision{commit: strings.TrimSpace(string(out))}
	status, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	r.dirty = err != nil || len(bytes.TrimSpace(status)) > 0
	return r
}

// symbolProblems is the error of a version whose symbols do not fit the
// contract made of symbols: one line per symbol, naming the type found
// and the type wanted.
func symbolProblems(a *Action, probs []symbols.Problem) error {
	var b strings.Builder
	fmt.Fprintf(&b, "does not fit the contract of %s (plugship.yaml contract.symbols), so the host would refuse it:", a.Contract)
	for _, p := range probs {
		fmt.Fprintf(&b, "\n  %s", p.Msg)
	}
	return errors.New(b.String())
}
