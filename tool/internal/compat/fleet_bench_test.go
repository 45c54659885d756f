package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/trust"
)

// matrixFleetEnv sets the number of plugin files (versions) of
// BenchmarkMatrixFleet.
const matrixFleetEnv = "PLUGSHIP_BENCH_MATRIX_FLEET"

// matrixFleetHosts is the number of reference hosts of the fleet matrix.
const matrixFleetHosts = 10

func TestMain(m *testing.M) {
	code := m.Run()
	if matrixFleet.dir != "" {
		os.RemoveAll(matrixFleet.dir)
	}
	os.Exit(code)
}

// matrixFleet is BenchmarkMatrixFleet's module, made once per process (go
// test calls a benchmark once with b.N = 1 and again with -benchtime's
// count), and what it measured once.
var matrixFleet struct {
	once  sync.Once
	err   error
	dir   string // to remove
	mod   string
	opts  compat.Options
	files []string // plugin files
	hosts []string // host names
	s     map[string]float64
}

// BenchmarkMatrixFleet runs the compatibility matrix and the publish step
// over a fleet of N plugin files (default 20, PLUGSHIP_BENCH_MATRIX_FLEET)
// × 10 reference hosts (./compat/hosts/showcase under 10 names, each
// requiring the fleet's team to load). The fleet is one small plugin built
// with the toolchain, copied under N names of one team, signed by the sign
// step (a development key). It measures, once per process:
//
//   - first: the matrix with no hosts built and an empty cache; hosts-s is
//     it less the cold matrix, the hosts' build;
//   - plain: the plain alternative, one process per cell, one after the
//     other: the host binary run as the seed ran it, on the plugin's
//     folder with -in-process (it verifies the signature and opens the
//     plugin in itself, as the seed's host did), and, as plain-probe, the
//     same without -in-process (the host probes the candidate in a child,
//     its default: two processes per cell);
//   - publish-cold: the publish step to the local channel with nothing
//     published, against a plain copy of every version's files (plugin
//     file, metadata, signature) into a folder;
//
// and b.N times the matrix cold (cache.json removed, hosts built), the
// matrix cached (nothing changed) and the publish no-op (nothing changed),
// against the plain copy again.
func BenchmarkMatrixFleet(b *testing.B) {
	b.Setenv(progress.VerboseEnv, "")
	matrixFleet.once.Do(func() { matrixFleet.err = setupMatrixFleet() })
	if matrixFleet.err != nil {
		b.Fatal(matrixFleet.err)
	}
	f := &matrixFleet
	ctx := context.Background()
	cells := len(f.files) * len(f.hosts)
	var cold, cached, noop time.Duration
	var coldCells, cachedCells float64 // the cells' part, from the summary line
	for i := 0; i < b.N; i++ {
		if err := os.Remove(filepath.Join(f.opts.Dist, filepath.FromSlash(compat.CacheFile))); err != nil {
			b.Fatal(err)
		}
		d, out, err := timeMatrix(ctx, f.opts)
		if err != nil {
			b.Fatalf("cold matrix: %v\n%s", err, out)
		}
		checkFleetMatrix(b, f.opts, cells, false)
		cold += d
		coldCells += cellSeconds(b, out, false)
		d, out, err = timeMatrix(ctx, f.opts)
		if err != nil {
			b.Fatalf("cached matrix: %v\n%s", err, out)
		}
		checkFleetMatrix(b, f.opts, cells, true)
		cached += d
		cachedCells += cellSeconds(b, out, true)
		d, out, err = timePublish(ctx, f.mod)
		if err != nil || !strings.Contains(out, fmt.Sprintf("0 published, %d unchanged", len(f.files))) {
			b.Fatalf("no-op publish: %v\n%s", err, out)
		}
		noop += d
	}
	n := float64(b.N)
	s := f.s
	coldS, cachedS, noopS := cold.Seconds()/n, cached.Seconds()/n, noop.Seconds()/n
	ms := func(sec float64, per int) float64 { return sec / float64(per) * 1000 }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(len(f.files)), "plugin-files")
	b.ReportMetric(float64(cells), "cells")
	b.ReportMetric(s["file-MiB"], "file-MiB")
	b.ReportMetric(s["hosts-s"], "hosts-s")
	b.ReportMetric(coldS, "cold-s")
	b.ReportMetric(ms(coldS, cells), "cold-ms/cell")
	b.ReportMetric(coldCells/n, "cold-cells-s")
	b.ReportMetric(cachedS, "cached-s")
	b.ReportMetric(cachedCells/n, "cached-cells-s")
	b.ReportMetric(ms(cachedS, cells), "cached-ms/cell")
	b.ReportMetric(s["plain-s"], "plain-s")
	b.ReportMetric(ms(s["plain-s"], cells), "plain-ms/cell")
	b.ReportMetric(s["plain-probe-s"], "plain-probe-s")
	b.ReportMetric(ms(s["plain-probe-s"], cells), "plain-probe-ms/cell")
	b.ReportMetric(s["plain-s"]/coldS, "cold-speedup")
	b.ReportMetric(cachedS/s["plain-s"], "cached/plain")
	b.ReportMetric(s["publish-cold-s"], "publish-cold-s")
	b.ReportMetric(ms(s["publish-cold-s"], len(f.files)), "publish-cold-ms/version")
	b.ReportMetric(s["copy-s"], "copy-s")
	b.ReportMetric(ms(s["copy-s"], len(f.files)), "copy-ms/version")
	b.ReportMetric(s["publish-cold-s"]/s["copy-s"], "publish-cold/copy")
	b.ReportMetric(noopS, "publish-noop-s")
	b.ReportMetric(ms(noopS, len(f.files)), "publish-noop-ms/version")
	b.ReportMetric(noopS/s["copy-s"], "publish-noop/copy")
	b.Logf("fleet: %d plugin files (%.1f MiB each) × %d hosts = %d cells, %d jobs", len(f.files), s["file-MiB"], len(f.hosts), cells, f.opts.Jobs)
	b.Logf("hosts built: %.2f s (first run %.2f s less a cold one)", s["hosts-s"], s["first-s"])
	b.Logf("matrix cold: %.2f s, %.2f ms/cell; plain, one host process per cell (-in-process): %.2f s, %.2f ms/cell (%.2f× faster); plain with the host's probe child: %.2f s, %.2f ms/cell",
		coldS, ms(coldS, cells), s["plain-s"], ms(s["plain-s"], cells), s["plain-s"]/coldS, s["plain-probe-s"], ms(s["plain-probe-s"], cells))
	b.Logf("matrix cold, its cells alone (summary line, 0.1 s steps): %.1f s; cached: %.1f s, the rest (hosts checked with go build, %d files hashed, reports) %.2f s",
		coldCells/n, cachedCells/n, len(f.files), cachedS-cachedCells/n)
	b.Logf("matrix cached: %.3f s, %.3f ms/cell (%.4f× the plain time)", cachedS, ms(cachedS, cells), cachedS/s["plain-s"])
	b.Logf("publish cold: %.3f s, %.2f ms/version; plain copy: %.3f s, %.2f ms/version (%.1f× its time)",
		s["publish-cold-s"], ms(s["publish-cold-s"], len(f.files)), s["copy-s"], ms(s["copy-s"], len(f.files)), s["publish-cold-s"]/s["copy-s"])
	b.Logf("publish no-op: %.3f s, %.2f ms/version (%.1f× the plain copy)", noopS, ms(noopS, len(f.files)), noopS/s["copy-s"])
}

// timeMatrix runs the matrix.
func timeMatrix(ctx context.Context, opts compat.Options) (time.Duration, string, error) {
	var out bytes.Buffer
	start := time.Now()
	err := compat.Main(ctx, opts, &out)
	return time.Since(start), out.String(), err
}

// timePublish publishes mod's dist/ to its local channel.
func timePublish(ctx context.Context, mod string) (time.Duration, string, error) {
	var out bytes.Buffer
	dist := filepath.Join(mod, "dist")
	start := time.Now()
	err := publish.Main(ctx, publish.Options{Root: mod, Store: &publish.Channel{Dir: filepath.Join(dist, publish.ChannelDir)}}, &out)
	return time.Since(start), out.String(), err
}

// cellSeconds reads the time of the cells from the matrix's summary line,
// checking that it says all or none came from the cache, as cached says
// (checkFleetMatrix counts the cells).
func cellSeconds(b *testing.B, out string, cached bool) float64 {
	b.Helper()
	cache := "nothing from cache"
	if cached {
		cache = "all from cache"
	}
	m := regexp.MustCompile(`(?m)^matrix tried in ([0-9.]+)s, ` + cache).FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("want a summary line of cells tried, %s, in:\n%s", cache, out)
	}
	sec, _ := strconv.ParseFloat(m[1], 64)
	return sec
}

// checkFleetMatrix fails unless matrix.json holds every cell, each ok and
// from the cache or not as cached says.
func checkFleetMatrix(b *testing.B, opts compat.Options, cells int, cached bool) {
	b.Helper()
	m := readMatrix(b, opts)
	if len(m.Cells) != cells {
		b.Fatalf("%d cells, want %d", len(m.Cells), cells)
	}
	for _, c := range m.Cells {
		if c.Outcome != matrix.OK || c.Cached != cached {
			b.Fatalf("cell %s in %s: %s (cached %v, want %v) %s", c.Plugin, c.Host, c.Outcome, c.Cached, cached, c.Detail)
		}
	}
}

// setupMatrixFleet makes the fleet and measures what runs once.
func setupMatrixFleet() error {
	n := 20
	if v := os.Getenv(matrixFleetEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return fmt.Errorf("%s=%q: want a positive number", matrixFleetEnv, v)
		}
	}
	f := &matrixFleet
	f.s = map[string]float64{}
	root, err := plugtest.Root()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "plugship-matrix-fleet-")
	if err != nil {
		return err
	}
	f.dir = dir
	f.mod = filepath.Join(dir, "mod")
	var hosts strings.Builder
	hosts.WriteString("timeout: 10s\nhosts:\n")
	for i := range matrixFleetHosts {
		name := fmt.Sprintf("ref%02d", i)
		f.hosts = append(f.hosts, name)
		fmt.Fprintf(&hosts, "  - name: %s\n    package: ./compat/hosts/showcase\n    flags: [-trimpath]\n    must_accept: [fleet]\n", name)
	}
	if err := plugtest.Module(root, f.mod, map[string]string{
		"teams/fleet/team.yaml":               plugtest.FleetManifest(1),
		"plugin_sources/fleet/p00000/main.go": fleetSource,
		"hosts.yaml":                          hosts.String(),
	}); err != nil {
		return err
	}
	ctx := context.Background()
	var out bytes.Buffer
	if err := build.Main(ctx, build.Selection{}, build.Options{Root: f.mod}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	dist := filepath.Join(f.mod, "dist")
	src, err := plugtest.Find(filepath.Join(dist, "plugins/fleet/p00000"), "p00000", "1.0.0")
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	f.s["file-MiB"] = float64(fi.Size()) / (1 << 20)
	// N copies under N names, each with metadata as the build writes it.
	if f.files, err = plugtest.CopyFleet(f.mod, dist, src, fleetSource, n); err != nil {
		return err
	}
	out.Reset()
	if err := sign.Main(ctx, sign.Options{Root: f.mod}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	f.opts = compat.Options{Root: root, Dist: dist, Config: filepath.Join(f.mod, "hosts.yaml"), Jobs: runtime.NumCPU()}

	// The first run builds the hosts; a cold run after it does not.
	d, o, err := timeMatrix(ctx, f.opts)
	if err != nil {
		return fmt.Errorf("first matrix: %v\n%s", err, o)
	}
	f.s["first-s"] = d.Seconds()
	if err := os.Remove(filepath.Join(dist, filepath.FromSlash(compat.CacheFile))); err != nil {
		return err
	}
	d, o, err = timeMatrix(ctx, f.opts)
	if err != nil {
		return fmt.Errorf("cold matrix: %v\n%s", err, o)
	}
	f.s["hosts-s"] = f.s["first-s"] - d.Seconds()

	// The plain alternative: one host process per cell, one after the
	// other, as the seed's host ran (exit status 0: a version chosen).
	trustFile := filepath.Join(dist, artifact.TrustFile)
	plain := func(args ...string) (time.Duration, error) {
		start := time.Now()
		for _, file := range f.files {
			plugin := filepath.Base(filepath.Dir(file))
			for _, h := range f.hosts {
				a := append([]string{"-trust", trustFile, "-plugin", plugin}, args...)
				cmd := exec.Command(compat.HostPath(dist, h), append(a, filepath.Dir(file))...)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), `Found newest valid plugin version: "1.0.0"`) {
					return 0, fmt.Errorf("%s %q: %v\n%s%s", h, cmd.Args, err, stdout.String(), stderr.String())
				}
			}
		}
		return time.Since(start), nil
	}
	if d, err = plain("-in-process"); err != nil {
		return err
	}
	f.s["plain-s"] = d.Seconds()
	if d, err = plain(); err != nil {
		return err
	}
	f.s["plain-probe-s"] = d.Seconds()

	// Publish: cold, then the plain copy of the same files.
	d, o, err = timePublish(ctx, f.mod)
	if err != nil || !strings.Contains(o, fmt.Sprintf("%d published, 0 unchanged", n)) {
		return fmt.Errorf("cold publish: %v\n%s", err, o)
	}
	f.s["publish-cold-s"] = d.Seconds()
	copyDir := filepath.Join(dir, "copy")
	start := time.Now()
	for _, file := range f.files {
		to := filepath.Join(copyDir, filepath.Base(filepath.Dir(file)))
		if err := os.MkdirAll(to, 0o755); err != nil {
			return err
		}
		for _, suffix := range []string{"", artifact.MetadataSuffix, trust.SignatureSuffix} {
			data, err := os.ReadFile(file + suffix)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(to, filepath.Base(file)+suffix), data, 0o644); err != nil {
				return err
			}
		}
	}
	f.s["copy-s"] = time.Since(start).Seconds()
	return nil
}

// fleetSource is the fleet's plugin: acceptable, any version.
const fleetSource = `package main

import "github.com/plugship/plugship/contract"

var version = "dev"

type p struct{}

func (p) Version() string    { return version }
func (p) IsAcceptable() bool { return true }

func Showcase() contract.Plugin { return p{} }

func main() {}
`
