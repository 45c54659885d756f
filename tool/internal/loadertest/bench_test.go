package loadertest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"plugin"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/sign"
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
		filepath.Join(exampleDir, plugtest.FileName("showcase", "0.3.0", testABI)),
		filepath.Join(exampleDir, plugtest.FileName("showcase", "0.2.0", testABI)),
	}
	doneWhen := folder(b, "panicinit", "notacceptable", "notrim", "good")
	policy, err := keyless.Load(exampleTrust)
	if err != nil {
		b.Fatal(err)
	}
	var seed, inProcess, probe, host time.Duration
	for i := 0; i < b.N; i++ {
		t := time.Now()
		if v := seedSelect(b, files); v != "0.2.0" {
			b.Fatalf("seed loop chose %q", v)
		}
		seed += time.Since(t)

		t = time.Now()
		if p, r, err := loader.Load[contract.Plugin](ctx, exampleDir, "showcase", loader.Options{Trust: policy, InProcess: true}); err != nil || p.Version() != "0.2.0" {
			b.Fatalf("in-process: %v\n%v", err, r)
		}
		inProcess += time.Since(t)

		t = time.Now()
		if p, r, err := loader.Load[contract.Plugin](ctx, exampleDir, "showcase", loader.Options{Trust: policy}); err != nil || p.Version() != "0.2.0" {
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

// BenchmarkSelect30 measures the reference host, as a whole process,
// choosing among 30 signed versions of one plugin whose 3 newest are bad
// (one panics in init, one calls os.Exit in init, one is not acceptable):
// the target is under 250 ms. It also reports the plain seed-style host
// cost of one process start (the same host with nothing to choose).
func BenchmarkSelect30(b *testing.B) {
	dir, policy := thirtyVersions(b)
	// run times the host on folder in; it must choose 1.0.26, the newest good
	// version, or, in the empty folder, fail finding no acceptable plugin.
	run := func(in string) time.Duration {
		start := time.Now()
		out, err := exec.Command(hostBin, "-trust", policy, "-plugin", "many", in).CombinedOutput()
		d := time.Since(start)
		if in == dir {
			if err != nil || !strings.Contains(string(out), `Found newest valid plugin version: "1.0.26"`) {
				b.Fatalf("30 versions: %v\n%s", err, out)
			}
		} else if err == nil || !strings.Contains(string(out), "no acceptable plugin") {
			b.Fatalf("empty folder: %v\n%s", err, out)
		}
		return d
	}
	empty := b.TempDir()
	var select30, start time.Duration
	for i := 0; i < b.N; i++ {
		select30 += run(dir)
		start += run(empty)
	}
	n := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(select30.Seconds()*1000/n, "select-30-ms")
	b.ReportMetric(start.Seconds()*1000/n, "host-start-empty-ms")
}

// thirtyVersions builds and signs plugin "many": 27 good versions and, newest,
// panicinit, exitinit and notacceptable.
func thirtyVersions(b *testing.B) (dir, policy string) {
	b.Helper()
	mod := b.TempDir()
	files := map[string]string{}
	manifest := "name: many\nowners: [\"@bench\"]\nplugins:\n  - name: many\n    source: many/v29\n    version: 1.0.29\n    previous:\n"
	bad := map[int]string{29: "panicinit", 28: "exitinit", 27: "notacceptable"}
	for i := 0; i < 30; i++ {
		fixture := "good"
		if f, ok := bad[i]; ok {
			fixture = f
		}
		src, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures", fixture, "main.go"))
		if err != nil {
			b.Fatal(err)
		}
		files[fmt.Sprintf("plugin_sources/many/v%d/main.go", i)] = string(src)
		if i != 29 {
			manifest += fmt.Sprintf("      - version: 1.0.%d\n        source: many/v%d\n", i, i)
		}
	}
	files["teams/many/team.yaml"] = manifest
	if err := plugtest.Module(root, mod, files); err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		b.Fatalf("%v\n%s", err, out.String())
	}
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err != nil {
		b.Fatalf("%v\n%s", err, out.String())
	}
	return filepath.Join(mod, "dist/plugins/many/many"), filepath.Join(mod, "dist", sign.TrustFile)
}
