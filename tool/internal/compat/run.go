package compat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/stale"
	"github.com/plugship/plugship/tool/internal/symbols"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

// CacheFile holds cell results, relative to dist/.
const CacheFile = "compat/cache.json"

// plugins lists the plugin files under dist/plugins built for this
// platform. In the module's own dist folder, only those the team manifests
// claim (package stale): neither stale files nor those of a team whose
// manifest has problems are tried. (Another folder's files are tried in
// the module's hosts as they are: its registry does not describe them.)
func plugins(opts Options) ([]matrix.Plugin, error) {
	dist := opts.Dist
	files, err := artifact.PluginFiles(dist)
	if err != nil {
		return nil, err
	}
	notes := map[string]string{} // team/plugin -> note
	if dist == opts.Repo.DistDir() {
		reg, loadErr := teams.LoadDirs(opts.Root, opts.Repo.Teams, opts.Repo.Sources)
		if reg != nil {
			for _, p := range reg.Plugins() {
				notes[p.Team+"/"+p.Name] = p.Note
			}
		}
		files, _ = stale.New(reg, loadErr).Split(dist, files)
	}
	// The yanks of the last publish (publish.FetchMatrix copied its index).
	published, err := artifact.ReadIndexFile(filepath.Join(dist, filepath.FromSlash(artifact.PublishedIndexFile)))
	if err != nil {
		return nil, fmt.Errorf("%s, the index of the last publish: %w", artifact.PublishedIndexFile, err)
	}
	var ps []matrix.Plugin
	for _, f := range files {
		n, err := artifact.ParseName(filepath.Base(f))
		if err != nil || n.GOOS != runtime.GOOS || n.GOARCH != runtime.GOARCH {
			continue
		}
		sum, _, err := artifact.HashFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(dist, f)
		team := filepath.Base(filepath.Dir(filepath.Dir(f)))
		var profiles []string
		if m, err := artifact.ReadMetadata(f + artifact.MetadataSuffix); err == nil {
			profiles = m.Profiles
		}
		p := matrix.Plugin{Team: team, Plugin: n.Plugin, Version: n.Version, ABI: n.ABI, File: filepath.ToSlash(rel), SHA256: sum, Profiles: profiles, Note: notes[team+"/"+n.Plugin]}
		if y, ok := published.YankOf(team, n.Plugin, n.Version); ok {
			p.Yanked = y.Reason
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// maxSigKey bounds what sigKey reads of a signature: far more than any
// .sig the loader accepts (trust.ReadSignature refuses one over 4 KiB).
const maxSigKey = 64 << 10

// sigKey identifies a plugin file's signature for the cache key: its
// sha256, "" if it has none, or, for a file too large to be a signature
// (which the loader refuses unread), its size, without reading it.
func sigKey(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sum, n, err := artifact.HashReader(io.LimitReader(f, maxSigKey+1))
	if err != nil {
		return ""
	}
	if n > maxSigKey {
		fi, err := f.Stat()
		if err != nil {
			return ""
		}
		return fmt.Sprintf("larger than %d bytes: %d", maxSigKey, fi.Size())
	}
	return sum
}

// cacheKey identifies everything a cell's result depends on.
func cacheKey(p matrix.Plugin, h matrix.Host, sig, policy string, timeout time.Duration) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("v3\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%v\n%s\n%q\n%s", p.SHA256, h.SHA256, sig, policy, p.ID(), h.Name, p.File, timeout, h.ProbeSHA256, h.Check, h.CheckFile)))
	return hex.EncodeToString(sum[:])
}

type cache struct {
	mu      sync.Mutex
	old     map[string]matrix.Cell
	current map[string]matrix.Cell
}

func readCache(path string) *cache {
	c := &cache{old: map[string]matrix.Cell{}, current: map[string]matrix.Cell{}}
	if data, err := os.ReadFile(path); err == nil {
		json.Unmarshal(data, &c.old) // a damaged cache is an empty one
	}
	return c
}

func (c *cache) get(key string) (matrix.Cell, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cell, ok := c.old[key]
	if ok {
		c.current[key] = cell
	}
	return cell, ok
}

func (c *cache) put(key string, cell matrix.Cell) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current[key] = cell
}

// write keeps the entries of this run and of the previous one that no
// other run replaced (another shard's cells).
func (c *cache) write(path string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := map[string]matrix.Cell{}
	for k, v := range c.old {
		all[k] = v
	}
	for k, v := range c.current {
		all[k] = v
	}
	if len(all) > 100000 {
		all = c.current
	}
	data, err := json.Marshal(all)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	_, err = artifact.WriteFileIfChanged(path, data, 0o644)
	return err
}

// runCells fills m.Cells for the cells the shard holds (all when shard is
// nil), in m's order (sorted hosts and plugins, row by row), running them in
// parallel. It shows progress on out (package progress) and prints a line
// only for a cell that is unexpected or changed (see attention), every cell
// when progress.Verbose, then a summary line.
func runCells(ctx context.Context, opts Options, cfg *Config, m *matrix.Matrix, shard *matrix.Shard, out io.Writer) error {
	start := time.Now()
	// The policy the sign step wrote, read once: parsed, and hashed for the
	// cache keys.
	policyFile := filepath.Join(opts.Dist, artifact.TrustFile)
	data, err := os.ReadFile(policyFile)
	if err != nil {
		return fmt.Errorf("trust policy: %w (run go run mage.go sign first)", err)
	}
	policy, err := keyless.Parse(data)
	if err != nil {
		return fmt.Errorf("trust policy %s: %w (run go run mage.go sign first)", policyFile, err)
	}
	sum := sha256.Sum256(data)
	policySum := hex.EncodeToString(sum[:])
	type job struct {
		p    matrix.Plugin
		h    matrix.Host
		file string // the plugin file
		sig  string // sha256 of its signature; "" if it has none
	}
	var jobs []job
	i := 0
	for _, p := range m.Plugins {
		file := filepath.Join(opts.Dist, filepath.FromSlash(p.File))
		// A key's signature, or the keyless bundle (and provenance) that
		// stands for it: a cell is as good as what decided it.
		sig := sigKey(file+trust.SignatureSuffix) + " " + sigKey(file+trust.BundleSuffix)
		for _, h := range m.Hosts {
			if shard == nil || shard.Holds(i) {
				jobs = append(jobs, job{p, h, file, sig})
			}
			i++
		}
	}
	c := readCache(filepath.Join(opts.Dist, filepath.FromSlash(CacheFile)))
	previous := previousOutcomes(opts.Dist)
	req := matrix.NewRequirements(m.Plugins)
	timeout := time.Duration(cfg.Timeout)
	cells := make([]matrix.Cell, len(jobs))
	verbose := progress.Verbose()
	bar := progress.New(out, "cells", len(jobs))
	var mu sync.Mutex
	var tally cellTally
	g := new(errgroup.Group)
	g.SetLimit(opts.Jobs)
	for i, j := range jobs {
		g.Go(func() error {
			key := cacheKey(j.p, j.h, j.sig, policySum, timeout)
			cell, hit := c.get(key)
			if hit {
				cell.Cached = true
			} else {
				cell = runCell(ctx, opts, policy, j.p, j.h, j.file, timeout)
				c.put(key, cell)
			}
			cells[i] = cell
			a := attend(req, j.p, j.h, cell, previous)
			mu.Lock()
			defer mu.Unlock()
			tally.add(cell, a)
			if note := a.note(); verbose || note != "" {
				from := ""
				if hit {
					from = " (cached)"
				}
				// A quiet run shows only the cells to look at, without
				// their times, so that the line and its note fit in
				// progress.Width; the detail goes below.
				line := fmt.Sprintf("  [%*d/%d] %-36s %-12s %-16s", len(fmt.Sprint(len(jobs))), tally.cells, len(jobs), j.p.ID(), j.h.Name, cell.Outcome)
				if verbose {
					line += fmt.Sprintf(" %6.1f ms%s", cell.Millis, from)
				}
				line = progress.Fit(line, note)
				if a.detail != "" {
					line += progress.Indent(a.detail, "      ")
				}
				bar.Line("%s", line)
			}
			bar.Done(1)
			return nil
		})
	}
	g.Wait()
	bar.Finish()
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintln(out, tally.summary(time.Since(start), verbose))
	m.Cells = cells
	return c.write(filepath.Join(opts.Dist, filepath.FromSlash(CacheFile)))
}

// previousOutcomes returns the outcome of each cell (by Cell.Key) in the
// last matrix written to dist/compat/matrix.json, or nothing when there is
// none that can be read: a first run has nothing to compare with.
func previousOutcomes(dist string) map[string]string {
	old, err := matrix.Read(filepath.Join(dist, matrix.Dir, matrix.JSONFile))
	if err != nil {
		return nil
	}
	outcomes := make(map[string]string, len(old.Cells))
	for _, c := range old.Cells {
		outcomes[c.Key()] = c.Outcome
	}
	return outcomes
}

// attention says why a cell deserves a line of its own when the console
// is quiet; the zero value says it does not.
type attention struct {
	// unexpected is "must load" or "must be refused" when the cell breaks
	// what its host requires (matrix.Check's rule: the host's must_accept
	// and must_reject, and a file of another ABI must be refused).
	unexpected string
	// was is the cell's outcome in the last matrix written to
	// dist/compat/matrix.json (same plugin file ID and host) when that
	// differs from this run's; a cell that matrix lacks is not "changed".
	was string
	// detail is the first line of the cell's reason, when it did not load.
	detail string
}

// attend applies the rules of attention to one cell; previous maps
// Cell.Key to the outcomes of the last matrix.
func attend(req *matrix.Requirements, p matrix.Plugin, h matrix.Host, cell matrix.Cell, previous map[string]string) attention {
	var a attention
	// The requirement is matrix.Check's, so the console and the reports
	// cannot disagree.
	if required := req.Of(h, p); matrix.Violates(required, cell.Outcome) {
		a.unexpected = "must be refused"
		if required == "accept" {
			a.unexpected = "must load"
		}
	}
	if was, ok := previous[cell.Key()]; ok && was != cell.Outcome {
		a.was = was
	}
	if (a.unexpected != "" || a.was != "") && cell.Outcome != matrix.OK {
		a.detail, _, _ = strings.Cut(cell.Detail, "\n")
	}
	return a
}

// note is "UNEXPECTED (must load)", "CHANGED (was ok)", both, or "".
func (a attention) note() string {
	var parts []string
	if a.unexpected != "" {
		parts = append(parts, "UNEXPECTED ("+a.unexpected+")")
	}
	if a.was != "" {
		parts = append(parts, "CHANGED (was "+a.was+")")
	}
	return strings.Join(parts, ", ")
}

// cellTally counts the cells of a run for its summary line.
type cellTally struct {
	cells, cached, unexpected, changed int
	outcomes                           map[string]int
}

func (t *cellTally) add(c matrix.Cell, a attention) {
	t.cells++
	if c.Cached {
		t.cached++
	}
	if a.unexpected != "" {
		t.unexpected++
	}
	if a.was != "" {
		t.changed++
	}
	if t.outcomes == nil {
		t.outcomes = map[string]int{}
	}
	t.outcomes[c.Outcome]++
}

// summary is one line: "matrix tried in 1.2s, 93% from cache; 0
// unexpected, 0 changed since the last run". The verdict that follows
// holds the one count of cells, by what each host requires; the number
// tried and the raw outcomes ("64 cells ...: 14 ok, 50 refused (32
// toolchain-mismatch, ...)", most of them refusals of files built for
// other hosts, as required) are for verbose runs only.
func (t *cellTally) summary(d time.Duration, verbose bool) string {
	if !verbose {
		cache := fmt.Sprintf("%d%% from cache", min(max(t.cached*100/max(t.cells, 1), 1), 99))
		switch t.cached {
		case 0:
			cache = "nothing from cache"
		case t.cells:
			cache = "all from cache"
		}
		return fmt.Sprintf("matrix tried in %.1fs, %s; %d unexpected, %d changed since the last run", d.Seconds(), cache, t.unexpected, t.changed)
	}
	refused := t.cells - t.outcomes[matrix.OK]
	type count struct {
		outcome string
		n       int
	}
	var causes []count
	for o, n := range t.outcomes {
		if o != matrix.OK {
			causes = append(causes, count{o, n})
		}
	}
	sort.Slice(causes, func(i, j int) bool {
		if causes[i].n != causes[j].n {
			return causes[i].n > causes[j].n
		}
		return causes[i].outcome < causes[j].outcome
	})
	s := fmt.Sprintf("%d cells (%d from cache) in %.1fs: %d ok, %d refused", t.cells, t.cached, d.Seconds(), t.outcomes[matrix.OK], refused)
	if len(causes) > 0 {
		var parts []string
		for _, c := range causes {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.outcome))
		}
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s + fmt.Sprintf("; %d unexpected, %d changed since the last run", t.unexpected, t.changed)
}

// runCell tries one plugin file in one host.
func runCell(ctx context.Context, opts Options, policy *trust.Policy, p matrix.Plugin, h matrix.Host, file string, timeout time.Duration) matrix.Cell {
	lo := loader.Options{
		Trust:        policy,
		Host:         HostPath(opts.Dist, h.Name),
		Contract:     opts.Repo.Contract,
		ProbeTimeout: timeout,
	}
	evidence := matrix.EvidenceProbe
	switch {
	case len(h.Check) > 0:
		lo.Check, lo.CheckFile, evidence = h.Check, h.CheckFile, matrix.EvidenceHostCheck
	case h.Probe == matrix.StandInCheck:
		// The stand-in of a contract made of symbols is a check command.
		lo.Check, evidence = []string{StandInPath(opts.Dist, h.Name), "{dir}"}, matrix.EvidenceStandIn
	case h.Probe != "":
		lo.Probe, evidence = StandInPath(opts.Dist, h.Name), matrix.EvidenceStandIn
	}
	d := loader.Try(ctx, file, lo)
	if d.ProbeMillis == 0 {
		evidence = matrix.EvidencePreflight
	}
	cell := matrix.Cell{
		Plugin: p.ID(), Host: h.Name, PluginSHA256: p.SHA256, HostSHA256: h.SHA256,
		Outcome: d.Cause, Detail: d.Reason, Millis: d.Millis, ProbeMillis: d.ProbeMillis, Evidence: evidence,
	}
	if d.Outcome == loader.Passed {
		cell.Outcome, cell.Detail = matrix.OK, ""
	}
	if evidence == matrix.EvidenceStandIn && d.Cause == loader.CauseHostCheck {
		// The stand-in check names the cause its failure line starts with.
		for _, c := range symbols.StandInCauses {
			if i := strings.Index(d.Reason, c+": "); i >= 0 {
				cell.Outcome, cell.Detail = c, "in the stand-in: "+d.Reason[i+len(c)+2:]
				break
			}
		}
	}
	for _, df := range d.Differences {
		cell.Differences = append(cell.Differences, df.String())
	}
	sort.Strings(cell.Differences)
	return cell
}
