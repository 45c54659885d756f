package sign_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/trust"
)

// signFleetEnv sets the number of plugin files of BenchmarkSignFleet.
const signFleetEnv = "PLUGSHIP_BENCH_SIGN_FLEET"

func TestMain(m *testing.M) {
	code := m.Run()
	if signFleet.dir != "" {
		os.RemoveAll(signFleet.dir)
	}
	os.Exit(code)
}

// signFleet is BenchmarkSignFleet's module, made once per process, and
// what it measured once.
var signFleet struct {
	once  sync.Once
	err   error
	dir   string // to remove
	mod   string
	files []string
	s     map[string]float64
}

// BenchmarkSignFleet signs a fleet of N plugin files (default 200,
// PLUGSHIP_BENCH_SIGN_FLEET): one small plugin built with the toolchain,
// copied under N names of one keyed team, each with its metadata. It
// measures, once per process:
//
//   - plain: the plain alternative, as `cosign sign-blob` would do each
//     file, one after the other: sha256 and ECDSA P-256 over the file with
//     sigstore's signature package, the base64 signature written out;
//   - cold: the sign step with nothing signed (signature, bundle and
//     provenance for every file; the team key decrypted once);
//   - noop-full: the sign step with nothing changed but no sign state, so
//     every file is checked in full as before the state existed (the
//     median of 3 runs);
//
// and b.N times the no-op with the state holding for every file (after a
// run past the racy window recorded it).
func BenchmarkSignFleet(b *testing.B) {
	b.Setenv(progress.VerboseEnv, "")
	b.Setenv(keys.PasswordEnv, password)
	signFleet.once.Do(func() { signFleet.err = setupSignFleet() })
	if signFleet.err != nil {
		b.Fatal(signFleet.err)
	}
	f := &signFleet
	n := len(f.files)
	var noop time.Duration
	for i := 0; i < b.N; i++ {
		before := sign.FullChecks()
		d, out, err := timeSign(f.mod)
		if err != nil || !strings.Contains(out, fmt.Sprintf("0 signed, %d up to date", n)) {
			b.Fatalf("no-op sign: %v\n%s", err, out)
		}
		if c := sign.FullChecks() - before; c != 0 {
			b.Fatalf("no-op sign with the state checked %d files in full", c)
		}
		noop += d
	}
	s := f.s
	perFile := func(sec float64) float64 { return sec / float64(n) * 1000 }
	noopS := noop.Seconds() / float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n), "plugin-files")
	b.ReportMetric(s["file-MiB"], "file-MiB")
	b.ReportMetric(s["plain-s"], "plain-s")
	b.ReportMetric(perFile(s["plain-s"]), "plain-ms/file")
	b.ReportMetric(s["cold-s"], "cold-s")
	b.ReportMetric(perFile(s["cold-s"]), "cold-ms/file")
	b.ReportMetric(s["cold-s"]/s["plain-s"], "cold/plain")
	b.ReportMetric(s["noop-full-s"], "noop-full-s")
	b.ReportMetric(perFile(s["noop-full-s"]), "noop-full-ms/file")
	b.ReportMetric(s["noop-full-s"]/s["plain-s"], "noop-full/plain")
	b.ReportMetric(noopS, "noop-s")
	b.ReportMetric(perFile(noopS), "noop-ms/file")
	b.ReportMetric(noopS/s["plain-s"], "noop/plain")
	b.ReportMetric(s["noop-full-s"]/noopS, "noop-full/noop")
}

// timeSign runs the sign step on mod.
func timeSign(mod string) (time.Duration, string, error) {
	var out bytes.Buffer
	start := time.Now()
	err := sign.Main(context.Background(), sign.Options{Root: mod}, &out)
	return time.Since(start), out.String(), err
}

// setupSignFleet makes the fleet and measures what runs once.
func setupSignFleet() error {
	n := 200
	if v := os.Getenv(signFleetEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return fmt.Errorf("%s=%q: want a positive number", signFleetEnv, v)
		}
	}
	f := &signFleet
	f.s = map[string]float64{}
	dir, err := os.MkdirTemp("", "plugship-sign-fleet-")
	if err != nil {
		return err
	}
	f.dir = dir
	f.mod = filepath.Join(dir, "mod")
	if err := plugtest.Module(filepath.Join("..", "..", ".."), f.mod, map[string]string{
		"teams/fleet/team.yaml":               plugtest.FleetManifest(1),
		"plugin_sources/fleet/p00000/main.go": source("one"),
	}); err != nil {
		return err
	}
	if _, _, err := keys.Generate(f.mod, "fleet", []byte(password)); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: f.mod}, &out); err != nil {
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
	if f.files, err = plugtest.CopyFleet(f.mod, dist, src, source("one"), n); err != nil {
		return err
	}

	// The plain alternative, with a key of its own (no decryption).
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	signer, err := signature.LoadECDSASigner(priv, crypto.SHA256)
	if err != nil {
		return err
	}
	sigs := filepath.Join(dir, "plain")
	if err := os.MkdirAll(sigs, 0o755); err != nil {
		return err
	}
	for _, file := range f.files { // page cache
		if _, err := os.ReadFile(file); err != nil {
			return err
		}
	}
	start := time.Now()
	for i, file := range f.files {
		fh, err := os.Open(file)
		if err != nil {
			return err
		}
		sig, err := signer.SignMessage(fh)
		fh.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(sigs, strconv.Itoa(i)+trust.SignatureSuffix), []byte(base64.StdEncoding.EncodeToString(sig)), 0o644); err != nil {
			return err
		}
	}
	f.s["plain-s"] = time.Since(start).Seconds()

	d, out2, err := timeSign(f.mod)
	if err != nil || !strings.Contains(out2, fmt.Sprintf("%d signed, 0 up to date", n)) {
		return fmt.Errorf("cold sign: %v\n%s", err, out2)
	}
	f.s["cold-s"] = d.Seconds()

	// Before the state: every file checked in full.
	state := filepath.Join(dist, ".work", "sign")
	var full []float64
	for range 3 {
		if err := os.RemoveAll(state); err != nil {
			return err
		}
		before := sign.FullChecks()
		d, out, err := timeSign(f.mod)
		if err != nil || !strings.Contains(out, fmt.Sprintf("0 signed, %d up to date", n)) || sign.FullChecks()-before != int64(n) {
			return fmt.Errorf("no-op sign without the state: %v\n%s", err, out)
		}
		full = append(full, d.Seconds())
	}
	slices.Sort(full)
	f.s["noop-full-s"] = full[1]

	// Past the racy window, one full check records a state that holds.
	time.Sleep(150 * time.Millisecond)
	if _, out, err := timeSign(f.mod); err != nil {
		return fmt.Errorf("recording the state: %v\n%s", err, out)
	}
	return nil
}
