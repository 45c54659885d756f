package badinput_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/verify"
	"github.com/plugship/plugship/trust"
)

// absurdSize is the size of the absurd signature, bundle and provenance:
// sparse files, so they cost no disk.
const absurdSize = 100 << 20

// readBound is the most a stage may read while it meets one absurd file:
// the limits (4 KiB signature, 1 MiB bundle, 4 MiB provenance), the plugin
// files and everything else it reads, far below absurdSize.
const readBound = 32 << 20

// TestAbsurdSignatureFiles: a .sig, a bundle and a provenance of 100 MiB,
// each beside its own plugin, through every stage that reads them. Every
// reader refuses it without reading it whole (this process reads far less
// than the file while the stage runs); the sign step, which reads them to
// see whether the file is signed already, replaces them.
func TestAbsurdSignatureFiles(t *testing.T) {
	f := signedFleet(t, "hugesig", "hugebundle", "hugeprov")
	ctx := context.Background()
	kinds := map[string]struct{ plugin, suffix string }{
		"huge-sig":        {"hugesig", trust.SignatureSuffix},
		"huge-bundle":     {"hugebundle", attest.BundleSuffix},
		"huge-provenance": {"hugeprov", attest.ProvenanceSuffix},
	}
	// Warm up: the host is built and its symbols read, the matrix run
	// once (its hosts built, its cells cached), so that what the stages
	// read below is what the damaged files make them read.
	policy := f.policy(t)
	f.try(t, f.files["hugesig"], policy)
	var out bytes.Buffer
	matrixRun := func() (n int64, err error) {
		out.Reset()
		n = readDuring(func() {
			err = compat.Main(ctx, compat.Options{Root: f.root, Dist: f.dist, Config: f.hostsConfig(t)}, &out)
		})
		return n, err
	}
	if _, err := matrixRun(); err != nil {
		t.Fatalf("matrix: %v\n%s", err, out.String())
	}
	// A matrix run reads about 100 MiB of its own (it hashes its hosts):
	// what it reads with nothing changed is the bound's base.
	matrixBase, _ := matrixRun()
	// The channel as published before the files were damaged; then its
	// copies are damaged too.
	index := f.channel(t, filepath.Join(t.TempDir(), "channel"), f.files["hugesig"], f.files["hugebundle"], f.files["hugeprov"])
	for _, k := range kinds {
		file := f.files[k.plugin]
		absurd(t, file+k.suffix, absurdSize)
		if k.suffix != attest.BundleSuffix { // the channel has no bundles: fetch does not take them
			absurd(t, filepath.Join(filepath.Dir(index), filepath.Base(file)+k.suffix), absurdSize)
		}
	}
	bounded := func(stage string, n int64) {
		t.Helper()
		if n > readBound {
			t.Errorf("%s read %d MiB while meeting files of %d MiB: it reads them whole", stage, n>>20, absurdSize>>20)
		}
	}

	// verify: each file on its own, then the step.
	for kind, k := range kinds {
		var r verify.Row
		n := readDuring(func() { r = verify.Check(policy, f.files[k.plugin]) })
		bounded("verify of "+kind, n)
		if r.Err == nil || !strings.Contains(r.Err.Error(), "larger than") {
			t.Errorf("verify of %s: %v, want a refusal for its size", kind, r.Err)
		}
		record(t, kind, "verify", Refused, fmt.Sprint(r.Err))
	}
	out.Reset()
	n := readDuring(func() { verify.Main(ctx, verify.Options{Root: f.mod}, &out) })
	bounded("the verify step", n)
	if !strings.Contains(out.String(), "0 of 3 artifacts verified") {
		t.Errorf("verify:\n%s", out.String())
	}

	// matrix: only the signature is read (for the cache key and by the
	// loader's check); the bundle and provenance are not its business.
	n, err := matrixRun()
	bounded("the matrix (beyond what it reads with nothing changed)", n-matrixBase)
	if err != nil {
		t.Fatalf("matrix: %v\n%s", err, out.String())
	}
	mx, err := matrix.Read(filepath.Join(f.dist, matrix.Dir, matrix.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	for kind, k := range kinds {
		for _, c := range mx.Cells {
			if !strings.HasPrefix(c.Plugin, "ok/"+k.plugin+"@1.0.0 ") {
				continue
			}
			switch {
			case kind == "huge-sig" && c.Outcome != matrix.OK:
				record(t, kind, "matrix", Refused, fmt.Sprintf("cell %s: %s: %s", c.Host, c.Outcome, c.Detail))
			case kind != "huge-sig" && c.Outcome == matrix.OK:
				record(t, kind, "matrix", NotApplied, fmt.Sprintf("cell %s: ok: the matrix checks the signature, not the %s (verify checks it)", c.Host, strings.TrimPrefix(k.suffix, ".")))
			default:
				t.Errorf("matrix cell of %s: %s %s", kind, c.Outcome, c.Detail)
			}
		}
	}

	// publish, to the local channel.
	out.Reset()
	n = readDuring(func() {
		err = publish.Main(ctx, publish.Options{Root: f.mod, Dist: f.dist, Getenv: func(string) string { return "" }}, &out)
	})
	// The publish step checks the signature only: it hashes the bundle
	// and provenance and copies them into the channel as they are.
	if err == nil || !strings.Contains(out.String(), "REFUSED    ok/hugesig@1.0.0") {
		t.Errorf("publish: %v\n%s", err, out.String())
	}
	for kind, k := range kinds {
		note := around(out.String(), "ok/"+k.plugin+"@1.0.0")
		if strings.Contains(out.String(), "published  ok/"+k.plugin+"@") {
			if n > absurdSize {
				note += "; it read the " + strings.TrimPrefix(k.suffix, ".") + " whole (hashed, and copied into the channel)"
			}
			record(t, kind, "publish", Accepted, note)
			continue
		}
		record(t, kind, "publish", Refused, note)
	}

	// fetch, from the channel whose copies are damaged.
	for kind, k := range kinds {
		if k.suffix == attest.BundleSuffix {
			record(t, kind, "fetch", NotApplied, "fetch takes the plugin file, its .sig and its provenance, not the bundle")
			continue
		}
		var res []fetch.Result
		n := readDuring(func() {
			res, err = fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: k.plugin, Dir: filepath.Join(t.TempDir(), "plugins"), Trust: policy})
		})
		bounded("fetch of "+kind, n)
		if err == nil || len(res) != 1 || res[0].Outcome != "refused" || !strings.Contains(res[0].Reason, "larger than") {
			t.Errorf("fetch of %s: %v %+v", kind, err, res)
			continue
		}
		record(t, kind, "fetch", Refused, res[0].Reason)
	}

	// loader: it reads the signature (and, for a team that signs
	// keylessly, the bundle, at most 1 MiB), never the provenance.
	for kind, k := range kinds {
		var d *loader.Decision
		n := readDuring(func() { d = f.try(t, f.files[k.plugin], policy) })
		bounded("loader.Try of "+kind, n)
		switch {
		case kind == "huge-sig" && d.Outcome != loader.Passed:
			record(t, kind, "loader", Refused, fmt.Sprintf("loader.Try: %s %s: %s", d.Outcome, d.Cause, d.Reason))
		case kind != "huge-sig" && d.Outcome == loader.Passed:
			record(t, kind, "loader", NotApplied, "loader.Try: passed; the loader checks the signature, not the "+strings.TrimPrefix(k.suffix, "."))
		default:
			t.Errorf("loader.Try of %s: %+v", kind, d)
		}
	}

	// sign, last: it finds them not up to date and replaces them, without
	// reading them whole; then everything verifies.
	out.Reset()
	n = readDuring(func() { err = sign.Main(ctx, sign.Options{Root: f.mod}, &out) })
	bounded("the sign step", n)
	if err != nil || !strings.Contains(out.String(), "3 signed") {
		t.Errorf("sign: %v\n%s", err, out.String())
	}
	for kind, k := range kinds {
		fi, err := os.Stat(f.files[k.plugin] + k.suffix)
		if err != nil || fi.Size() >= 1<<20 {
			t.Errorf("%s: %v; size %d after signing", kind, err, fi.Size())
		}
		record(t, kind, "sign", Replaced, k.plugin+"_"+around(out.String(), "signed     "+k.plugin+"_")+"; the file is written anew, the old one never read")
	}
	out.Reset()
	if err := verify.Main(ctx, verify.Options{Root: f.mod}, &out); err != nil {
		t.Errorf("verify after signing again: %v\n%s", err, out.String())
	}
}
