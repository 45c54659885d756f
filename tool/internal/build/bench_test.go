package build

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/teams"
)

// BenchmarkBuildExamples measures, in one run and on a warm build cache,
// plugship's build against the plain alternative, a sequential loop of
// go build -buildmode=plugin -trimpath (what a Makefile would do), over a
// copy of the bundled examples:
//
//   - change: after a source change to every plugin (a comment appended to
//     each main package), both rebuild every plugin;
//   - noop: with nothing changed, both build again into their outputs;
//   - empty: both build into an empty output folder (every file linked).
//
// It reports seconds per build, the ratios plain/plugship for change and
// empty (speed-ups) and plugship/plain for noop (a slowdown must stay at or
// under 1.1), and memory: the largest go build process and plugship's own.
// Run it with go run mage.go bench.
func BenchmarkBuildExamples(b *testing.B) {
	ctx := context.Background()
	mod, reg := examplesCopy(b)
	opts := Options{Root: mod}
	targets, err := Targets(ctx, []profile.Profile{profile.Default()}, opts)
	if err != nil {
		b.Fatal(err)
	}
	actions, err := Plan(reg, Selection{}, targets, opts)
	if err != nil {
		b.Fatal(err)
	}
	var sources []string
	for _, a := range actions {
		sources = append(sources, a.Source)
	}
	plainDir := filepath.Join(mod, "plain")
	plain := func(out string) time.Duration {
		start := time.Now()
		for _, a := range actions {
			cmd := exec.Command("go", "build", "-buildmode=plugin", "-trimpath",
				"-o", filepath.Join(out, filepath.Base(a.Staging)), "./"+a.Source)
			cmd.Dir = mod
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-buildvcs=false")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", a.ID(), err, out)
			}
		}
		return time.Since(start)
	}
	ship := func(o Options) time.Duration {
		start := time.Now()
		if err := Main(ctx, Selection{}, o, io.Discard); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	// Warm both outputs and the build cache.
	plain(plainDir)
	ship(opts)

	var plainChange, shipChange, plainNoop, shipNoop, plainEmpty, shipEmpty time.Duration
	for i := 0; i < b.N; i++ {
		touchSources(b, mod, sources, "plain", i)
		plainChange += plain(plainDir)
		touchSources(b, mod, sources, "plugship", i)
		shipChange += ship(opts)
		plainNoop += plain(plainDir)
		shipNoop += ship(opts)
		plainEmpty += plain(b.TempDir())
		o := opts
		o.Dist = b.TempDir()
		shipEmpty += ship(o)
	}
	reportChangeNoop(b, plainChange, shipChange, plainNoop, shipNoop)
	b.ReportMetric(plainEmpty.Seconds()/shipEmpty.Seconds(), "empty-speedup")
	b.ReportMetric(float64(len(actions)), "plugins")

	// Memory: the largest go build process this benchmark waited for, and
	// what the plugship process itself holds. A build runs Jobs go builds
	// at once beside the plugship process.
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "go-build-peak-rss-MiB")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "plugship-go-sys-MiB")
}

// reportChangeNoop reports the seconds per iteration and the ratios of a
// change and a no-op build, plain against plugship.
func reportChangeNoop(b *testing.B, plainChange, shipChange, plainNoop, shipNoop time.Duration) {
	n := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(plainChange.Seconds()/n, "change-plain-s")
	b.ReportMetric(shipChange.Seconds()/n, "change-plugship-s")
	b.ReportMetric(plainChange.Seconds()/shipChange.Seconds(), "change-speedup")
	b.ReportMetric(plainNoop.Seconds()/n, "noop-plain-s")
	b.ReportMetric(shipNoop.Seconds()/n, "noop-plugship-s")
	b.ReportMetric(shipNoop.Seconds()/plainNoop.Seconds(), "noop-plugship/plain")
}

// touchSources appends a comment to the main.go of every source folder, a
// change that makes go build recompile and relink each plugin.
func touchSources(b *testing.B, mod string, sources []string, who string, i int) {
	b.Helper()
	for _, src := range sources {
		f, err := os.OpenFile(filepath.Join(mod, src, "main.go"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(f, "\n// bench %s %d\n", who, i)
		f.Close()
	}
}

// examplesCopy writes a scratch copy of the module with the bundled teams
// and plugin sources.
func examplesCopy(b *testing.B) (string, *teams.Registry) {
	b.Helper()
	mod := b.TempDir()
	if err := plugtest.Module(root, mod, nil); err != nil {
		b.Fatal(err)
	}
	for _, dir := range []string{teams.Dir, teams.SourcesDir} {
		if err := copyTree(filepath.Join(root, dir), filepath.Join(mod, dir)); err != nil {
			b.Fatal(err)
		}
	}
	reg, err := teams.Load(mod)
	if err != nil {
		b.Fatal(err)
	}
	return mod, reg
}

// BenchmarkBuildProfiles measures, in one run and on a warm build cache,
// building the bundled examples for the two bundled profiles (the go on
// PATH and go1.25.5) against the plain alternative, a sequential loop of
// go build -buildmode=plugin -trimpath per plugin per toolchain
// (GOTOOLCHAIN set for the second):
//
//   - change: after a source change to every plugin, both rebuild all;
//   - noop: nothing changed;
//   - shared: plugship with two identical profiles plus go1.25.5 (three
//     profiles, two targets) against the two profiles, after a change: the
//     cost of a profile that shares a build (target: about 1.0).
func BenchmarkBuildProfiles(b *testing.B) {
	ctx := context.Background()
	other := otherGoTarget(b)
	mod, reg := examplesCopy(b)
	two := []profile.Profile{profile.Default(), other.Env.Profile}
	three := append([]profile.Profile{{Name: "mirror", Flags: profile.DefaultFlags}}, two...)
	var sources []string
	for _, p := range reg.Plugins() {
		for _, r := range p.Releases() {
			sources = append(sources, path.Join(teams.SourcesDir, r.Source))
		}
	}
	toolchains := []string{"local", other.Env.GoVersion}
	plainDir := filepath.Join(mod, "plain")
	plain := func() time.Duration {
		start := time.Now()
		for _, tc := range toolchains {
			for i, src := range sources {
				cmd := exec.Command("go", "build", "-buildmode=plugin", "-trimpath", "-o", filepath.Join(plainDir, tc, fmt.Sprint(i)+".so"), "./"+src)
				cmd.Dir = mod
				cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN="+tc)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s with %s: %v\n%s", src, tc, err, out)
				}
			}
		}
		return time.Since(start)
	}
	ship := func(ps []profile.Profile) time.Duration {
		start := time.Now()
		if err := Main(ctx, Selection{}, Options{Root: mod, Profiles: ps}, io.Discard); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	plain()
	ship(two)
	var plainChange, shipChange, plainNoop, shipNoop, sharedChange time.Duration
	for i := 0; i < b.N; i++ {
		touchSources(b, mod, sources, "plain", i)
		plainChange += plain()
		touchSources(b, mod, sources, "plugship", i)
		shipChange += ship(two)
		plainNoop += plain()
		shipNoop += ship(two)
		touchSources(b, mod, sources, "shared", i)
		sharedChange += ship(three)
		ship(two) // back to the two profiles' own files
	}
	reportChangeNoop(b, plainChange, shipChange, plainNoop, shipNoop)
	b.ReportMetric(sharedChange.Seconds()/shipChange.Seconds(), "3-profiles/2-profiles")
	b.ReportMetric(float64(len(sources)*len(toolchains)), "plugin-builds")
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}
