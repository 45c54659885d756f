package build

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkBuildExamples measures, in one run and on a warm build cache,
// the three builds a team developer lives with, over the bundled examples:
//
//   - plain: a sequential loop of go build -buildmode=plugin -trimpath, one
//     per source folder, into an empty folder (what a Makefile would do);
//   - full: plugship's build into an empty dist/ (every version linked);
//   - noop: plugship's build again with nothing changed.
//
// It reports each in seconds per build and full and noop as ratios of plain.
// Run it with go run mage.go bench.
func BenchmarkBuildExamples(b *testing.B) {
	ctx := context.Background()
	actions, err := Plan(examples.reg, Selection{}, examples.opts)
	if err != nil {
		b.Fatal(err)
	}
	var plain, full, noop time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		for _, a := range actions {
			cmd := exec.Command("go", "build", "-buildmode=plugin", "-trimpath",
				"-o", filepath.Join(dir, filepath.Base(a.Output)), "./"+a.Source)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", a.ID(), err, out)
			}
		}
		plain += time.Since(start)

		opts := examples.opts
		opts.Dist = filepath.Join(dir, "dist")
		start = time.Now()
		if err := Main(ctx, Selection{}, opts, io.Discard); err != nil {
			b.Fatal(err)
		}
		full += time.Since(start)

		start = time.Now()
		if err := Main(ctx, Selection{}, opts, io.Discard); err != nil {
			b.Fatal(err)
		}
		noop += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(plain.Seconds()/n, "plain-s/op")
	b.ReportMetric(full.Seconds()/n, "full-s/op")
	b.ReportMetric(noop.Seconds()/n, "noop-s/op")
	b.ReportMetric(full.Seconds()/plain.Seconds(), "full/plain")
	b.ReportMetric(noop.Seconds()/plain.Seconds(), "noop/plain")
	b.ReportMetric(float64(len(actions)), "plugins")
}
