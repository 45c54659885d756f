package loader_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"plugin"
	"testing"
	"time"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/internal/plugtest"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/trust"
)

// BenchmarkSelection measures, in one run, what a host pays to pick a
// plugin, per selection:
//
//   - seed: the blog post's loop in this process (plugin.Open, Lookup,
//     IsAcceptable, newest first) over the Example's two files; after the
//     first iteration plugin.Open returns the already-loaded plugin;
//   - inprocess: Load with Options.InProcess over the same files
//     (verification and preflight added);
//   - probe: Load as hosts use it, with one child process per candidate;
//   - host: the reference host as a whole process facing the four
//     candidates (panics in init, not acceptable, other flags, good).
//
// It reports milliseconds per selection and inprocess and probe as ratios
// of seed. Run it with go run mage.go bench.
func BenchmarkSelection(b *testing.B) {
	ctx := context.Background()
	files := []string{
		filepath.Join(exampleDir, plugtest.FileName("showcase", "0.3.0")),
		filepath.Join(exampleDir, plugtest.FileName("showcase", "0.2.0")),
	}
	doneWhen := b.TempDir()
	for _, n := range []string{"panicinit", "notacceptable", "notrim", "good"} {
		if err := plugtest.CopyPlugin(doneWhen, fixtures[n]); err != nil {
			b.Fatal(err)
		}
	}
	var seed, inProcess, probe, host time.Duration
	for i := 0; i < b.N; i++ {
		t := time.Now()
		if v := seedSelect(b, files); v != "0.2.0" {
			b.Fatalf("seed loop chose %q", v)
		}
		seed += time.Since(t)

		t = time.Now()
		if p, r, err := loader.Load(ctx, exampleDir, "showcase", loader.Options{Trust: benchTrust(b), InProcess: true}); err != nil || p.Version() != "0.2.0" {
			b.Fatalf("in-process: %v\n%v", err, r)
		}
		inProcess += time.Since(t)

		t = time.Now()
		if p, r, err := loader.Load(ctx, exampleDir, "showcase", loader.Options{Trust: benchTrust(b)}); err != nil || p.Version() != "0.2.0" {
			b.Fatalf("probe: %v\n%v", err, r)
		}
		probe += time.Since(t)

		t = time.Now()
		if out, err := exec.Command(hostBin, "-trust", fixtureTrust, "-plugin", "fx", doneWhen).CombinedOutput(); err != nil {
			b.Fatalf("reference host: %v\n%s", err, out)
		}
		host += time.Since(t)
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / n }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(seed), "seed-ms/op")
	b.ReportMetric(ms(inProcess), "inprocess-ms/op")
	b.ReportMetric(ms(probe), "probe-ms/op")
	b.ReportMetric(ms(host), "host-4-candidates-ms/op")
	b.ReportMetric(inProcess.Seconds()/seed.Seconds(), "inprocess/seed")
	b.ReportMetric(probe.Seconds()/seed.Seconds(), "probe/seed")
}

func benchTrust(b *testing.B) *trust.Policy {
	p, err := trust.Load(exampleTrust)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// seedSelect is the blog post's selection: open each file newest first and
// keep the first acceptable.
func seedSelect(b *testing.B, files []string) string {
	for _, f := range files {
		p, err := plugin.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		s, err := p.Lookup(contract.AccessorSymbol)
		if err != nil {
			b.Fatal(err)
		}
		if v := s.(func() contract.Plugin)(); v.IsAcceptable() {
			return v.Version()
		}
	}
	return ""
}
