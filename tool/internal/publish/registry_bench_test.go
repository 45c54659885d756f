package publish_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/oci"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/registrytest"
)

// registryFleetEnv sets the number of plugin versions of
// BenchmarkRegistryFleet.
const registryFleetEnv = "PLUGSHIP_BENCH_REGISTRY_FLEET"

// BenchmarkRegistryFleet publishes N plugin versions (default 100,
// PLUGSHIP_BENCH_REGISTRY_FLEET) to a registry on loopback (Distribution,
// filesystem storage) through the registry store, the step publish runs
// for each approved version: the fraud plugin's real files (.so,
// metadata, signature, bundle, provenance, SHA256SUMS), each made
// distinct per version by a trailing counter, so that every version is
// new content. It measures, in one run:
//
//   - cold: every version into an empty repository, then the index;
//   - noop: the same again, nothing changed;
//   - oras: the plain alternative into another repository, the same
//     layout with the stock client: per version, oras push of the .so and
//     its metadata, then oras attach of each of the four other files (5
//     processes per version);
//   - oras-push: oras push of the .so and metadata alone (1 process per
//     version, no signatures attached), the least a registry publish does;
//   - oras-noop: the oras push loop again, nothing changed.
//
// and, on the bundled plugins published as the main job publishes them,
// install: fetch.Plugins of fraud's newest file into an empty folder from
// the registry's index (index, .so, signature and provenance, each
// verified), against oras pull of its tag and of its signature (2
// processes).
func BenchmarkRegistryFleet(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv(registryFleetEnv)); err == nil && v > 0 {
		n = v
	}
	orasBin := stockTool(b, "oras")
	ctx := context.Background()
	name := plugtest.FileName("fraud", "1.3.0", abi)
	src := filepath.Join(built, "plugins/payments/fraud")
	kinds := []string{"", ".json", ".sig", ".sigstore.json", ".intoto.json"}
	base := map[string][]byte{}
	for _, k := range kinds {
		data, err := os.ReadFile(filepath.Join(src, name+k))
		if err != nil {
			b.Fatal(err)
		}
		base[k] = data
	}
	meta, err := artifact.ParseMetadata(base[".json"])
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	versions := make([]*publish.Version, n)
	for i := range versions {
		m := *meta
		m.Version = fmt.Sprintf("1.%d.0", i)
		m.File = plugtest.FileName("fraud", m.Version, abi)
		dir := filepath.Join(work, strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		v := &publish.Version{Meta: &m, Tag: "payments/fraud/v" + m.Version, Final: true}
		for _, k := range kinds {
			data := append(append([]byte{}, base[k]...), fmt.Sprintf("\n%d\n", i)...)
			file := filepath.Join(dir, m.File+k)
			if err := os.WriteFile(file, data, 0o644); err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256(data)
			v.Assets = append(v.Assets, publish.Asset{Name: m.File + k, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Path: file})
		}
		sums := []byte(fmt.Sprintf("%s  %s\n", v.Assets[0].SHA256, m.File))
		file := filepath.Join(dir, publish.SumsFile+"-"+abi)
		if err := os.WriteFile(file, sums, 0o644); err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256(sums)
		v.Assets = append(v.Assets, publish.Asset{Name: filepath.Base(file), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(sums)), Path: file})
		m.SHA256, m.Size = v.Assets[0].SHA256, v.Assets[0].Size
		versions[i] = v
	}
	oras := func(dir string, args ...string) []byte {
		cmd := exec.Command(orasBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+work)
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("oras %v: %v\n%s", args, err, out)
		}
		return out
	}
	for b.Loop() {
		reg := registrytest.Start(b)
		publishAll := func() (time.Duration, map[string]int) {
			store, err := publish.NewRegistry("oci://"+reg.Host+"/acme/plugins", func(string) string { return "" }, true)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			var entries artifact.Index
			entries.Schema = artifact.IndexSchema
			for _, v := range versions {
				locs, _, err := store.Release(ctx, v)
				if err != nil {
					b.Fatal(err)
				}
				e := v.Meta.Entry("")
				e.Assets = locs
				entries.Put(e)
			}
			data, err := entries.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			if old, err := store.ReadIndex(ctx, publish.IndexFile); err != nil {
				b.Fatal(err)
			} else if string(old) != string(data) {
				if err := store.WriteIndex(ctx, publish.IndexFile, data); err != nil {
					b.Fatal(err)
				}
			}
			return time.Since(start), reg.Requests()
		}
		cold, coldReq := publishAll()
		noop, noopReq := publishAll()

		orasLoop := func(repo string, attach bool) time.Duration {
			start := time.Now()
			for i, v := range versions {
				dir := filepath.Join(work, strconv.Itoa(i))
				tag := reg.Host + "/" + repo + ":" + fmt.Sprintf("payments.fraud.v%s.%s", v.Meta.Version, abi)
				oras(dir, "push", "--plain-http", "--artifact-type", oci.ArtifactPlugin, tag,
					v.Assets[0].Name+":"+oci.MediaTypePlugin, v.Assets[1].Name+":"+oci.MediaTypeMetadata)
				if attach {
					for _, a := range v.Assets[2:] {
						oras(dir, "attach", "--plain-http", "--artifact-type", oci.ArtifactSignature, tag, a.Name)
					}
				}
			}
			return time.Since(start)
		}
		plain := orasLoop("plain", true)
		plainReq := reg.Requests()
		push := orasLoop("push", false)
		pushNoop := orasLoop("push", false)
		reg.Requests()

		// Install: the bundled plugins, published as the main job does.
		install, plainInstall := benchInstall(b, oras)
		b.ReportMetric(install.Seconds()*1000, "install-ms")
		b.ReportMetric(plainInstall.Seconds()*1000, "oras-pull-ms")
		per := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(n) }
		b.ReportMetric(cold.Seconds(), "cold-s")
		b.ReportMetric(per(cold), "cold-ms/version")
		b.ReportMetric(noop.Seconds(), "noop-s")
		b.ReportMetric(per(noop), "noop-ms/version")
		b.ReportMetric(plain.Seconds(), "oras-s")
		b.ReportMetric(push.Seconds(), "oras-push-s")
		b.ReportMetric(pushNoop.Seconds(), "oras-noop-s")
		b.ReportMetric(plain.Seconds()/cold.Seconds(), "oras/cold")
		b.ReportMetric(noop.Seconds()/pushNoop.Seconds(), "noop/oras-noop")
		b.Logf("%d versions: cold %.2fs (requests %v); no-op %.2fs (requests %v); oras push+attach loop %.2fs (requests %v); oras push loop %.2fs, again %.2fs",
			n, cold.Seconds(), coldReq, noop.Seconds(), noopReq, plain.Seconds(), plainReq, push.Seconds(), pushNoop.Seconds())
	}
}

// benchInstall publishes the bundled plugins to a new registry and
// measures plugship's fetch of fraud's newest file for this ABI from the
// registry's index (verified) into an empty folder, against oras pull of
// the file's tag, oras discover of its referrers and oras pull of its
// signature (not verified).
func benchInstall(b *testing.B, oras func(dir string, args ...string) []byte) (plugship, plain time.Duration) {
	reg := registrytest.Start(b)
	d := dist(b)
	if out, err := publishTo(b, d, reg); err != nil {
		b.Fatalf("publish: %v\n%s", err, out)
	}
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	res, err := fetch.Plugins(context.Background(), fetch.Options{Index: "oci://" + reg.Host + "/acme/plugins", Registry: oci.New(),
		Plugin: "fraud", Dir: b.TempDir(), Trust: policy, ABI: abi, Newest: 1})
	plugship = time.Since(start)
	if err != nil || len(res) != 1 || res[0].Outcome != "fetched" {
		b.Fatalf("fetch: %v %+v", err, res)
	}
	dir := b.TempDir()
	ref := reg.Host + "/acme/plugins:payments.fraud.v1.3.0." + abi
	start = time.Now()
	oras(dir, "pull", "--plain-http", "-o", dir, ref)
	var tree struct {
		Referrers []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"referrers"`
	}
	if err := json.Unmarshal(oras(dir, "discover", "--plain-http", "--format", "json", ref), &tree); err != nil {
		b.Fatal(err)
	}
	for _, r := range tree.Referrers {
		if r.Annotations[ocispec.AnnotationTitle] == res[0].File+".sig" {
			oras(dir, "pull", "--plain-http", "-o", dir, reg.Host+"/acme/plugins@"+r.Digest)
		}
	}
	plain = time.Since(start)
	if _, err := os.Stat(filepath.Join(dir, res[0].File+".sig")); err != nil {
		b.Fatalf("oras pulled no signature: %v", err)
	}
	return plugship, plain
}
