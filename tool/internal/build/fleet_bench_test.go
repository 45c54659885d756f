package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/teams"
)

// fleetEnv sets the number of plugin versions of BenchmarkBuildFleet, and
// fleetProfilesEnv its profiles: 1 (the go on PATH) or 2 (and the first
// profile of compat/hosts.yaml on another Go release).
const (
	fleetEnv         = "PLUGSHIP_BENCH_FLEET"
	fleetProfilesEnv = "PLUGSHIP_BENCH_FLEET_PROFILES"
)

// fleet is BenchmarkBuildFleet's generated module, built once per process:
// go test calls a benchmark once with b.N = 1 and again with -benchtime's
// count, and the cold builds and plain loops are measured the first time
// only.
var fleet struct {
	once    sync.Once
	dir     string // removed by TestMain
	mod     string
	sources []string
	ps      []profile.Profile
	err     error
	setup   map[string]float64 // metrics measured once
	changes int                // plugins changed so far
}

// BenchmarkBuildFleet measures plugship's build of a generated fleet
// (PLUGSHIP_BENCH_FLEET plugin versions, default 200: teams of 10
// plugins, two versions each, every plugin importing the contract and a
// helper package of the module; one profile, or two with
// PLUGSHIP_BENCH_FLEET_PROFILES=2) against the plain alternative, a
// sequential loop of go build -buildmode=plugin -trimpath over the same
// plugins (per toolchain, GOTOOLCHAIN set), in the same run:
//
//   - cold: the plugins' packages are new to the build cache (a fresh
//     nonce in every file), dist/ and the loop's outputs are empty;
//   - noop: nothing changed; also plugship without action keys (a go build
//     per file, the build before issue 19) and its first no-op after the
//     cold build (which checks the digests of files written within 100 ms
//     of their state);
//   - change1: after a change to one plugin (a different one each time).
//
// Seconds per build, ratios (plain/plugship for cold, plugship/plain for
// noop and change1), milliseconds per file, the cost of the one go list
// and of computing every key, and the peak resident memory of the whole
// process tree (this process and its children, sampled from /proc every
// 10 ms) during each cold build. The cold builds and the plain loops run
// once per process; the plugship noop and change1 builds b.N times.
func BenchmarkBuildFleet(b *testing.B) {
	ctx := context.Background()
	b.Setenv(progress.VerboseEnv, "")
	fleet.once.Do(func() { fleet.err = setupFleet(ctx) })
	if fleet.err != nil {
		b.Fatal(fleet.err)
	}
	opts := Options{Root: fleet.mod, Profiles: fleet.ps}
	ship := func() (time.Duration, string) {
		var out bytes.Buffer
		start := time.Now()
		if err := Main(ctx, Selection{}, opts, &out); err != nil {
			b.Fatalf("%v\n%s", err, out.String())
		}
		return time.Since(start), out.String()
	}
	var noop, change time.Duration
	var link float64
	files := len(fleet.sources) * len(fleet.ps)
	for i := 0; i < b.N; i++ {
		d, out := ship()
		if !strings.Contains(out, fmt.Sprintf("0 built, %d up to date", files)) {
			b.Fatalf("no-op build built something:\n%s", out)
		}
		noop += d
		src := fleet.sources[fleet.changes%len(fleet.sources)]
		fleet.changes++
		appendTo(b, fleet.mod, src+"/main.go", fmt.Sprintf("\nconst changed%d = %d\n", fleet.changes, fleet.changes))
		d, out = ship()
		if !strings.Contains(out, fmt.Sprintf("%d built, %d up to date", len(fleet.ps), files-len(fleet.ps))) {
			b.Fatalf("change-one build:\n%s", out)
		}
		change += d
		link += builtSeconds(b, out)
	}
	n := float64(b.N)
	s := fleet.setup
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(files), "plugin-files")
	for _, k := range []string{"cold-plain-s", "cold-plugship-s", "cold-speedup", "cold-plugship-peak-tree-MiB", "cold-plain-peak-tree-MiB",
		"noop-plain-s", "noop-nokeys-s", "noop-first-s", "golist-s", "keys-s", "change1-plain-s"} {
		b.ReportMetric(s[k], k)
	}
	b.ReportMetric(noop.Seconds()/n, "noop-plugship-s")
	b.ReportMetric(noop.Seconds()/n/float64(files)*1000, "noop-ms/file")
	b.ReportMetric(s["noop-nokeys-s"]/float64(files)*1000, "noop-nokeys-ms/file")
	b.ReportMetric(noop.Seconds()/n/s["noop-plain-s"], "noop-plugship/plain")
	b.ReportMetric(change.Seconds()/n, "change1-plugship-s")
	b.ReportMetric(link/n, "change1-its-build-s")
	b.ReportMetric(change.Seconds()/n/s["change1-plain-s"], "change1-plugship/plain")
}

// builtSeconds reads the time of the first "built" line of a build's output.
func builtSeconds(b *testing.B, out string) float64 {
	m := regexp.MustCompile(`(?m)^\s+built\s+\S+ v\S+ \[\S+\]\s+([0-9.]+)s`).FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no built line in:\n%s", out)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	return f
}

// setupFleet generates the fleet and measures what runs once.
func setupFleet(ctx context.Context) error {
	n := 200
	if v := os.Getenv(fleetEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			return fmt.Errorf("%s=%q: want a number of plugin versions, at least 2", fleetEnv, v)
		}
	}
	dir, err := os.MkdirTemp("", "plugship-fleet-")
	if err != nil {
		return err
	}
	fleet.dir, fleet.mod = dir, filepath.Join(dir, "mod")
	files, sources := fleetFiles(n, strconv.FormatInt(time.Now().UnixNano(), 36))
	files[fleetHelper+"/helper.go"] += "\n// " + strconv.FormatInt(time.Now().UnixNano(), 36) + "\n"
	if err := writeModule(fleet.mod, files); err != nil {
		return err
	}
	fleet.sources = sources
	fleet.ps = []profile.Profile{profile.Default()}
	toolchains := []string{"local"}
	switch v := os.Getenv(fleetProfilesEnv); v {
	case "", "1":
	case "2":
		ps, err := profile.Load(filepath.Join(root, profile.ConfigFile))
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ps, func(p profile.Profile) bool { return p.Go != "" && p.Binary == "" && p.Module == "" && p.Ref == "" })
		if i < 0 {
			return fmt.Errorf("%s=2: %s has no profile on another Go release", fleetProfilesEnv, profile.ConfigFile)
		}
		fleet.ps = append(fleet.ps, ps[i])
		toolchains = append(toolchains, ps[i].Go)
	default:
		return fmt.Errorf("%s=%q: want 1 or 2", fleetProfilesEnv, v)
	}
	s := map[string]float64{}
	fleet.setup = s
	plainOut := filepath.Join(dir, "plain")
	plain := func() (time.Duration, error) {
		start := time.Now()
		for _, tc := range toolchains {
			for i, src := range sources {
				cmd := exec.Command("go", "build", "-buildmode=plugin", "-trimpath", "-o", filepath.Join(plainOut, tc, strconv.Itoa(i)+".so"), "./"+src)
				cmd.Dir = fleet.mod
				cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN="+tc)
				if out, err := cmd.CombinedOutput(); err != nil {
					return 0, fmt.Errorf("go build ./%s with %s: %v\n%s", src, tc, err, out)
				}
			}
		}
		return time.Since(start), nil
	}
	opts := Options{Root: fleet.mod, Profiles: fleet.ps}
	ship := func() (time.Duration, error) {
		var out bytes.Buffer
		start := time.Now()
		if err := Main(ctx, Selection{}, opts, &out); err != nil {
			return 0, fmt.Errorf("%v\n%s", err, out.String())
		}
		return time.Since(start), nil
	}
	measure := func(name string, f func() (time.Duration, error)) error {
		d, err := f()
		s[name] = d.Seconds()
		return err
	}

	// Cold: the plain loop first, so that the helper package is compiled
	// by it; each compiles its own plugin packages.
	stop := peakTree()
	err = measure("cold-plain-s", plain)
	s["cold-plain-peak-tree-MiB"] = stop()
	if err != nil {
		return err
	}
	stop = peakTree()
	err = measure("cold-plugship-s", ship)
	s["cold-plugship-peak-tree-MiB"] = stop()
	if err != nil {
		return err
	}
	s["cold-speedup"] = s["cold-plain-s"] / s["cold-plugship-s"]
	if err := measure("noop-first-s", ship); err != nil {
		return err
	}
	if err := measure("noop-plain-s", plain); err != nil {
		return err
	}
	// The build before action keys: every action runs go build.
	if err := measure("noop-nokeys-s", func() (time.Duration, error) {
		start := time.Now()
		reg, err := teams.Load(fleet.mod)
		if err != nil {
			return 0, err
		}
		targets, err := Targets(ctx, fleet.ps, opts)
		if err != nil {
			return 0, err
		}
		actions, err := Plan(reg, Selection{}, targets, opts)
		if err != nil {
			return 0, err
		}
		if err := Run(ctx, actions, opts, io.Discard).Err(); err != nil {
			return 0, err
		}
		// Keys as well, so that the next run finds the states current.
		if err := Keys(ctx, actions, opts); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}); err != nil {
		return err
	}
	if err := measureKeys(ctx, opts, s); err != nil {
		return err
	}
	if err := appendFile(filepath.Join(fleet.mod, sources[len(sources)-1], "main.go"), "\nconst changedPlain = 1\n"); err != nil {
		return err
	}
	if err := measure("change1-plain-s", plain); err != nil {
		return err
	}
	_, err = ship() // plugship's build of that change, not measured
	return err
}

// measureKeys times the one go list of the first target and all of Keys.
func measureKeys(ctx context.Context, opts Options, s map[string]float64) error {
	reg, err := teams.Load(opts.Root)
	if err != nil {
		return err
	}
	targets, err := Targets(ctx, fleet.ps, opts)
	if err != nil {
		return err
	}
	actions, err := Plan(reg, Selection{}, targets[:1], opts)
	if err != nil {
		return err
	}
	all, err := Plan(reg, Selection{}, targets, opts)
	if err != nil {
		return err
	}
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := listPackages(ctx, targets[0], actions, filepath.Join(o.Dist, filepath.FromSlash(workDir), targets[0].Name(), "list.overlay.json")); err != nil {
		return err
	}
	s["golist-s"] = time.Since(start).Seconds()
	start = time.Now()
	if err := Keys(ctx, all, opts); err != nil {
		return err
	}
	s["keys-s"] = time.Since(start).Seconds()
	return nil
}

// writeModule writes a module like plugtest.Module.
func writeModule(dir string, files map[string]string) error {
	for _, f := range []string{"go.mod", "go.sum", "contract/contract.go", "contract/doc.go"} {
		if _, ok := files[f]; ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return err
		}
		files[f] = string(data)
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// cleanupFleet removes the fleet's module; TestMain calls it.
func cleanupFleet() {
	if fleet.dir != "" {
		os.RemoveAll(fleet.dir)
	}
}

// peakTree samples, every 10 ms until the returned function is called,
// the resident memory of this process and all its descendants, and
// returns the largest sum seen, in MiB.
func peakTree() (stop func() float64) {
	var peak atomic.Int64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if v := treeRSS(os.Getpid()); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		return float64(peak.Load()) / (1 << 20)
	}
}

// treeRSS is the resident memory, in bytes, of pid and its descendants,
// from /proc/<pid>/stat.
func treeRSS(pid int) int64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	rss := map[int]int64{}
	page := int64(os.Getpagesize())
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... rss is field 24; comm may hold spaces.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 22 {
			continue
		}
		parent[p], _ = strconv.Atoi(f[1])
		pages, _ := strconv.ParseInt(f[21], 10, 64)
		rss[p] = pages * page
	}
	var total int64
	for p := range rss {
		for q := p; q > 1; q = parent[q] {
			if q == pid {
				total += rss[p]
				break
			}
		}
	}
	return total
}
