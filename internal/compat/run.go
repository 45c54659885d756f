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
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/matrix"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/trust"
)

// CacheFile holds cell results, relative to dist/.
const CacheFile = "compat/cache.json"

// plugins lists the plugin files under dist/plugins built for this platform.
func plugins(dist string) ([]matrix.Plugin, error) {
	files, err := artifact.PluginFiles(dist)
	if err != nil {
		return nil, err
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
		ps = append(ps, matrix.Plugin{Team: team, Plugin: n.Plugin, Version: n.Version, ABI: n.ABI, File: filepath.ToSlash(rel), SHA256: sum, Profiles: profiles})
	}
	return ps, nil
}

// cacheKey identifies everything a cell's result depends on.
func cacheKey(p matrix.Plugin, h matrix.Host, sig, policy string, timeout time.Duration) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("v1\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%v", p.SHA256, h.SHA256, sig, policy, p.ID(), h.Name, p.File, timeout)))
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
// parallel and printing a progress line per cell.
func runCells(ctx context.Context, opts Options, cfg *Config, m *matrix.Matrix, shard *matrix.Shard, out io.Writer) error {
	// The policy the sign step wrote, read once: parsed, and hashed for the
	// cache keys.
	policyFile := filepath.Join(opts.Dist, artifact.TrustFile)
	data, err := os.ReadFile(policyFile)
	if err != nil {
		return fmt.Errorf("trust policy: %w (run go run mage.go sign first)", err)
	}
	policy, err := trust.Parse(data)
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
		sig, _, _ := artifact.HashFile(file + trust.SignatureSuffix)
		for _, h := range m.Hosts {
			if shard == nil || shard.Holds(i) {
				jobs = append(jobs, job{p, h, file, sig})
			}
			i++
		}
	}
	c := readCache(filepath.Join(opts.Dist, filepath.FromSlash(CacheFile)))
	timeout := time.Duration(cfg.Timeout)
	cells := make([]matrix.Cell, len(jobs))
	var mu sync.Mutex
	done := 0
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
			mu.Lock()
			defer mu.Unlock()
			done++
			from := ""
			if hit {
				from = " (cached)"
			}
			fmt.Fprintf(out, "  [%*d/%d] %-40s %-14s %-18s %6.1f ms%s\n", len(fmt.Sprint(len(jobs))), done, len(jobs), j.p.ID(), j.h.Name, cell.Outcome, cell.Millis, from)
			return nil
		})
	}
	g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	m.Cells = cells
	return c.write(filepath.Join(opts.Dist, filepath.FromSlash(CacheFile)))
}

// runCell tries one plugin file in one host.
func runCell(ctx context.Context, opts Options, policy *trust.Policy, p matrix.Plugin, h matrix.Host, file string, timeout time.Duration) matrix.Cell {
	d := loader.Try(ctx, file, loader.Options{
		Trust:        policy,
		Host:         HostPath(opts.Dist, h.Name),
		Contract:     opts.Repo.Contract,
		ProbeTimeout: timeout,
	})
	cell := matrix.Cell{
		Plugin: p.ID(), Host: h.Name, PluginSHA256: p.SHA256, HostSHA256: h.SHA256,
		Outcome: d.Cause, Detail: d.Reason, Millis: d.Millis, ProbeMillis: d.ProbeMillis,
	}
	if d.Outcome == loader.Passed {
		cell.Outcome, cell.Detail = matrix.OK, ""
	}
	for _, df := range d.Differences {
		cell.Differences = append(cell.Differences, df.String())
	}
	sort.Strings(cell.Differences)
	return cell
}
