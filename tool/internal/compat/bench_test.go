package compat_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/compat"
)

// BenchmarkMatrix measures the matrix over the fixtures (5 plugin files ×
// 2 hosts, one hanging cell bounded by the 2 s timeout): cells per second
// with an empty cache and with nothing changed, and how many
// preflight-rejected cells were probed anyway (must be 0).
func BenchmarkMatrix(b *testing.B) {
	opts := setUp(b)
	ctx := context.Background()
	compat.Main(ctx, opts, io.Discard) // build the hosts
	var cold, cached time.Duration
	cells := 0
	for i := 0; i < b.N; i++ {
		os.Remove(filepath.Join(opts.Dist, filepath.FromSlash(compat.CacheFile)))
		start := time.Now()
		compat.Main(ctx, opts, io.Discard)
		cold += time.Since(start)
		start = time.Now()
		compat.Main(ctx, opts, io.Discard)
		cached += time.Since(start)
		cells = len(readMatrix(b, opts).Cells)
	}
	probed := 0
	for _, c := range readMatrix(b, opts).Cells {
		if c.Outcome == "build-mismatch" && c.ProbeMillis > 0 {
			probed++
		}
	}
	n := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(cells), "cells")
	b.ReportMetric(cold.Seconds()/n, "cold-s")
	b.ReportMetric(cached.Seconds()/n, "cached-s")
	b.ReportMetric(float64(cells)*n/cold.Seconds(), "cold-cells/s")
	b.ReportMetric(float64(cells)*n/cached.Seconds(), "cached-cells/s")
	b.ReportMetric(float64(probed), "rejected-but-probed")
	// Memory: the largest child (a host build or a probe) and this process.
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "child-peak-rss-MiB")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "plugship-go-sys-MiB")
}
