package publish_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/oci"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/registrytest"
)

func mirror(t *testing.T, from, to string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := publish.Mirror(context.Background(), publish.MirrorOptions{From: from, To: to, Getenv: func(string) string { return "" }}, &out)
	return out.String(), err
}

// TestMirror copies the main job's channel into a registry, as for an
// air-gapped site, and back into a new channel: the second copy of each
// uploads nothing, a host fetches verified files from the registry, and
// the channel that comes back holds the same index, matrix and files.
func TestMirror(t *testing.T) {
	d := dist(t)
	var out bytes.Buffer
	if err := publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: func(string) string { return "" }}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	channel := filepath.Join(d, publish.ChannelDir)
	reg := registrytest.Start(t)
	repo := "oci://" + reg.Host + "/site/plugins"
	got, err := mirror(t, channel, repo)
	if err != nil || !strings.Contains(got, "16 copied, 0 already there, 0 failed, of 16 plugin files") {
		t.Fatalf("mirror into the registry: %v\n%s", err, got)
	}
	t.Logf("first mirror into the registry: %v", reg.Requests())
	got, err = mirror(t, channel, repo)
	if err != nil || !strings.Contains(got, "0 copied, 16 already there") {
		t.Fatalf("second mirror: %v\n%s", err, got)
	}
	second := reg.Requests()
	if n := second["PUT upload"] + second["POST upload"] + second["PATCH upload"] + second["PUT manifest"]; n != 0 {
		t.Errorf("mirroring again pushed %d times: %v", n, second)
	}
	t.Logf("second mirror: %v", second)

	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch.Plugins(context.Background(), fetch.Options{Index: repo, Registry: oci.New(), Plugin: "ledger", Dir: t.TempDir(), Trust: policy, ABI: abi})
	if err != nil || len(res) != 1 || res[0].Outcome != "fetched" {
		t.Errorf("fetch from the mirror: %v %+v", err, res)
	}

	back := filepath.Join(t.TempDir(), "channel")
	if got, err := mirror(t, repo, back); err != nil || !strings.Contains(got, "16 copied") {
		t.Fatalf("mirror back into a channel: %v\n%s", err, got)
	}
	for _, name := range []string{publish.IndexFile, matrix.JSONFile, "payments/fraud/v1.3.0/" + plugtest.FileName("fraud", "1.3.0", abi) + ".sig"} {
		a, _ := os.ReadFile(filepath.Join(channel, name))
		b, err := os.ReadFile(filepath.Join(back, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs after the round trip through the registry (%v)", name, err)
		}
	}
	if got, err := mirror(t, repo, back); err != nil || !strings.Contains(got, "0 copied, 16 already there") {
		t.Errorf("mirroring back again: %v\n%s", err, got)
	}
}

// TestMirrorRefusesWhatDoesNotMatch: a .so of the source that is not the
// one its index describes is not copied, and says why; the others are.
func TestMirrorRefusesWhatDoesNotMatch(t *testing.T) {
	d := dist(t)
	var out bytes.Buffer
	if err := publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: func(string) string { return "" }}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	channel := filepath.Join(d, publish.ChannelDir)
	name := plugtest.FileName("fraud", "1.3.0", abi)
	so := filepath.Join(channel, "payments/fraud/v1.3.0", name)
	data, _ := os.ReadFile(so)
	data[len(data)/2] ^= 1
	os.WriteFile(so, data, 0o644)
	dst := filepath.Join(t.TempDir(), "channel")
	got, err := mirror(t, channel, dst)
	if err == nil || !strings.Contains(got, "15 copied, 0 already there, 1 failed") || !strings.Contains(got, "FAILED     "+name) ||
		!strings.Contains(got, "the index says") || !strings.Contains(err.Error(), "1 plugin files not copied: "+name) {
		t.Errorf("mirror of a tampered file: %v\n%s", err, got)
	}
	if _, err := os.Stat(filepath.Join(dst, "payments/fraud/v1.3.0", name)); err == nil {
		t.Errorf("the tampered file was copied")
	}
	if got, err := mirror(t, channel, channel); err == nil || !strings.Contains(err.Error(), "both the source and the destination") {
		t.Errorf("mirror onto itself: %v\n%s", err, got)
	}
}
