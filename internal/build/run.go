package build

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"golang.org/x/sync/errgroup"
)

// Outcome is what happened to one action.
type Outcome string

// Outcomes of an action.
const (
	Built    Outcome = "built"      // a new or changed .so was written
	UpToDate Outcome = "up-to-date" // the .so already held these bytes
	Failed   Outcome = "FAILED"     // see Result.Err; the previous .so, if any, is untouched
)

// Result is the outcome of one action.
type Result struct {
	Action  *Action
	Outcome Outcome
	Err     error
	Time    time.Duration
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
// prints one line per action to out as each finishes, failures with the
// compiler's message, then a summary line. Every action runs even when
// others fail; cancelling ctx stops the running builds.
func Run(ctx context.Context, actions []*Action, opts Options, out io.Writer) Summary {
	opts = opts.withDefaults()
	start := time.Now()
	rev := gitRevision(ctx, opts.Root)
	results := make([]Result, len(actions))
	var mu sync.Mutex
	g := new(errgroup.Group)
	g.SetLimit(opts.Jobs)
	for i, a := range actions {
		g.Go(func() error {
			t := time.Now()
			outcome, err := execute(ctx, a, opts, rev)
			r := Result{Action: a, Outcome: outcome, Err: err, Time: time.Since(t)}
			results[i] = r
			mu.Lock()
			defer mu.Unlock()
			printResult(out, opts.Root, r)
			return nil
		})
	}
	g.Wait()
	s := Summary{Results: results, Time: time.Since(start)}
	fmt.Fprintf(out, "%d built, %d up to date, %d failed, of %d plugin builds in %.1fs\n",
		s.Count(Built), s.Count(UpToDate), s.Count(Failed), len(results), s.Time.Seconds())
	return s
}

func printResult(out io.Writer, root string, r Result) {
	fmt.Fprintf(out, "  %-10s %-36s %5.1fs", r.Outcome, r.Action.ID(), r.Time.Seconds())
	if r.Outcome != Failed {
		rel, err := filepath.Rel(root, r.Action.Output)
		if err != nil {
			rel = r.Action.Output
		}
		fmt.Fprintf(out, "  %s\n", rel)
		return
	}
	fmt.Fprintln(out)
	for _, line := range strings.Split(strings.TrimRight(r.Err.Error(), "\n"), "\n") {
		fmt.Fprintf(out, "      %s\n", line)
	}
}

// execute builds one action; see the package doc for the steps.
func execute(ctx context.Context, a *Action, opts Options, rev revision) (Outcome, error) {
	if a.Err != nil {
		return Failed, a.Err
	}
	for _, dir := range []string{filepath.Dir(a.Staging), filepath.Dir(a.Output)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Failed, err
		}
	}
	if err := a.WriteOverlay(); err != nil {
		return Failed, fmt.Errorf("writing the overlay: %w", err)
	}
	cmd := exec.CommandContext(ctx, opts.Go, a.Args...)
	cmd.Dir = opts.Root
	cmd.Env = append(os.Environ(), a.Env...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Failed, fmt.Errorf("cancelled: %w", ctx.Err())
		}
		return Failed, fmt.Errorf("go build: %v\n%s", err, a.realPaths(opts.Root, output.String()))
	}
	sum, size, err := artifact.HashFile(a.Staging)
	if err != nil {
		return Failed, err
	}
	meta, err := a.metadata(opts, sum, size, rev)
	if err != nil {
		return Failed, err
	}
	outcome := UpToDate
	if old, _, err := artifact.HashFile(a.Output); err != nil || old != sum {
		if err := artifact.CopyFileAtomic(a.Output, a.Staging, 0o755); err != nil {
			return Failed, fmt.Errorf("writing %s: %w", a.Output, err)
		}
		outcome = Built
	}
	if _, err := artifact.WriteFileIfChanged(a.Metadata, meta, 0o644); err != nil {
		return Failed, fmt.Errorf("writing metadata: %w", err)
	}
	return outcome, nil
}

// realPaths rewrites compiler output to name the real source folder and
// paths relative to the module root.
func (a *Action) realPaths(root, s string) string {
	s = strings.ReplaceAll(s, a.Package, a.Source)
	return strings.ReplaceAll(s, root+string(filepath.Separator), "")
}

// metadata describes the staged file, from its own build info.
func (a *Action) metadata(opts Options, sum string, size int64, rev revision) ([]byte, error) {
	bi, err := buildinfo.ReadFile(a.Staging)
	if err != nil {
		return nil, fmt.Errorf("reading build info of %s: %w", a.Staging, err)
	}
	m := &artifact.Metadata{
		Schema:     artifact.MetadataSchema,
		Team:       a.Team,
		Plugin:     a.Plugin,
		Version:    a.Version,
		File:       filepath.Base(a.Output),
		SHA256:     sum,
		Size:       size,
		GoVersion:  bi.GoVersion,
		GOOS:       opts.GOOS,
		GOARCH:     opts.GOARCH,
		PluginPath: bi.Path,
		Module:     artifact.Module{Path: bi.Main.Path, Version: bi.Main.Version, Sum: bi.Main.Sum},
		Settings:   map[string]string{},
		Source:     a.Source,
		Revision:   rev.commit,
		Dirty:      rev.dirty,
	}
	for _, s := range bi.Settings {
		m.Settings[s.Key] = s.Value
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		m.Deps = append(m.Deps, artifact.Module{Path: d.Path, Version: d.Version, Sum: d.Sum})
	}
	sort.Slice(m.Deps, func(i, j int) bool { return m.Deps[i].Path < m.Deps[j].Path })
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("metadata for %s: %w", a.Output, err)
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

// PlatformOf asks the go command for its target GOOS and GOARCH.
func PlatformOf(ctx context.Context, goCmd string) (goos, goarch string, err error) {
	if goCmd == "" {
		goCmd = "go"
	}
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOOS", "GOARCH").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", "", fmt.Errorf("%s env: %v: %s", goCmd, err, ee.Stderr)
		}
		return "", "", fmt.Errorf("%s env: %w", goCmd, err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", "", fmt.Errorf("%s env GOOS GOARCH printed %q", goCmd, out)
	}
	return f[0], f[1], nil
}
