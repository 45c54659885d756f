package publish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/oci"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/registrytest"
)

// published publishes the bundled plugins to a new registry and returns
// it, its repository's reference and the trust policy of the run.
func published(t *testing.T) (*registrytest.Server, string, string) {
	t.Helper()
	reg := registrytest.Start(t)
	d := dist(t)
	if out, err := publishTo(t, d, reg); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	return reg, "oci://" + reg.Host + "/acme/plugins", d
}

// TestFetchFromRegistry: a host fetches from the registry the files of
// one plugin for its ABI, by the repository's index, by a file's tag and
// by its digest; each file is pulled by digest and verified under the
// trust policy before it takes its name. A second fetch downloads
// nothing.
func TestFetchFromRegistry(t *testing.T) {
	reg, repo, d := published(t)
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fraud := plugtest.FileName("fraud", "1.3.0", abi)
	tag := "payments.fraud.v1.3.0." + abi

	// Without a registry client, an oci:// index says what to import.
	_, err = fetch.Plugins(ctx, fetch.Options{Index: repo, Plugin: "fraud", Dir: t.TempDir(), Trust: policy, ABI: abi})
	if err == nil || !strings.Contains(err.Error(), "go get github.com/plugship/plugship/oci") {
		t.Errorf("an oci:// index without Options.Registry: %v", err)
	}

	dir := filepath.Join(t.TempDir(), "plugins")
	reg.Requests()
	res, err := fetch.Plugins(ctx, fetch.Options{Index: repo, Registry: oci.New(), Plugin: "fraud", Dir: dir, Trust: policy, ABI: abi})
	if err != nil || len(res) != 1 || res[0].Outcome != "fetched" || res[0].File != fraud {
		t.Fatalf("fetch by the repository's index: %v %+v", err, res)
	}
	if got := strings.Join(files(t, dir), " "); got != fraud+" "+fraud+".sig" {
		t.Errorf("the folder holds %s", got)
	}
	t.Logf("requests of a fetch by the index: %v", reg.Requests())
	res, err = fetch.Plugins(ctx, fetch.Options{Index: repo, Registry: oci.New(), Plugin: "fraud", Dir: dir, Trust: policy, ABI: abi})
	if err != nil || res[0].Outcome != "present" {
		t.Errorf("second fetch: %v %+v", err, res)
	}
	if n := reg.Requests()["GET blob"]; n > 2 { // the layers of the index and its statement
		t.Errorf("a second fetch of a present file read %d blobs", n)
	}

	// By tag and by digest: the index of that one file comes from its
	// manifest and its referrers.
	r, err := remote.NewRepository(reg.Host + "/acme/plugins")
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	desc, err := r.Resolve(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{repo + ":" + tag, repo + "@" + desc.Digest.String()} {
		dir := t.TempDir()
		res, err := fetch.Plugins(ctx, fetch.Options{Index: ref, Registry: oci.New(), Plugin: "fraud", Dir: dir, Trust: policy})
		if err != nil || len(res) != 1 || res[0].Outcome != "fetched" || res[0].Contract != "github.com/plugship/plugship/contract" {
			t.Errorf("fetch %s: %v %+v", ref, err, res)
		}
		if got := strings.Join(files(t, dir), " "); got != fraud+" "+fraud+".sig" {
			t.Errorf("fetch %s: the folder holds %s", ref, got)
		}
	}

	// Names that are not plugship's say so.
	for ref, want := range map[string]string{
		repo + ":payments.fraud.v9.9.9." + abi:  "not in the registry",
		repo + ":" + oci.MatrixTag:              "is not a plugship index",
		"oci://" + reg.Host + "/acme/elsewhere": "not in the registry",
	} {
		_, err := fetch.Plugins(ctx, fetch.Options{Index: ref, Registry: oci.New(), Plugin: "fraud", Dir: t.TempDir(), Trust: policy})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ref) {
			t.Errorf("fetch %s: %v; want it named, with %q", ref, err, want)
		}
	}
}

// TestRegistryReferrerSwapped: whoever can push to the repository attaches
// another team's real signature of a plugin file (signed with the labs
// team's key) in place of its own team's, by the referrers tag schema and
// in the index: both fetches refuse the file, and nothing takes its name.
func TestRegistryReferrerSwapped(t *testing.T) {
	reg, repo, d := published(t)
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fraud := plugtest.FileName("fraud", "1.3.0", abi)
	tag := "payments.fraud.v1.3.0." + abi
	copyOf := filepath.Join(t.TempDir(), fraud)
	data, err := os.ReadFile(filepath.Join(d, "plugins/payments/fraud", fraud))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyOf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := plugtest.SignFile(root, d, "labs", copyOf); err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(copyOf + ".sig")
	if err != nil {
		t.Fatal(err)
	}

	// The attacker's client: oras-go, as the oras CLI would.
	r, err := remote.NewRepository(reg.Host + "/acme/plugins")
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	r.SkipReferrersGC = true // Distribution does not delete manifests
	plugin, err := r.Resolve(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	layer := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(sig), Size: int64(len(sig)),
		Annotations: map[string]string{ocispec.AnnotationTitle: fraud + ".sig"}}
	if err := r.Push(ctx, layer, bytes.NewReader(sig)); err != nil {
		t.Fatal(err)
	}
	forged, err := oras.PackManifest(ctx, r, oras.PackManifestVersion1_1, oci.ArtifactSignature, oras.PackManifestOptions{
		Subject: &plugin, Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	// Both attached, the team's and the forged one: refused, naming both.
	_, err = fetch.Plugins(ctx, fetch.Options{Index: repo + ":" + tag, Registry: oci.New(), Plugin: "fraud", Dir: t.TempDir(), Trust: policy})
	if err == nil || !strings.Contains(err.Error(), "two different "+fraud+".sig are attached to it") || !strings.Contains(err.Error(), forged.Digest.String()) {
		t.Errorf("a second signature attached: %v", err)
	}

	// Swap: the referrers index lists only the forged signature (and the
	// other referrers, which the forged one does not replace, are gone
	// too, as a careless attacker leaves it).
	swapped, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{forged}})
	listing := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(swapped), Size: int64(len(swapped))}
	if err := r.PushReference(ctx, listing, bytes.NewReader(swapped), "sha256-"+plugin.Digest.Encoded()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := fetch.Plugins(ctx, fetch.Options{Index: repo + ":" + tag, Registry: oci.New(), Plugin: "fraud", Dir: dir, Trust: policy})
	if err == nil || len(res) != 1 || res[0].Outcome != "refused" {
		t.Fatalf("a swapped signature: %v %+v", err, res)
	}
	if !strings.Contains(res[0].Reason, "signed by key") || !strings.Contains(res[0].Reason, "of team labs, but plugin fraud belongs to team payments") {
		t.Errorf("the refusal does not name the key's team and the plugin's: %s", res[0].Reason)
	}
	if names := files(t, dir); len(names) != 0 {
		t.Errorf("the folder holds %v after a refused fetch", names)
	}

	// The same swap in the repository's index: its location of the
	// signature names the forged one's blob.
	store := oci.New()
	ixData, err := store.Index(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := artifact.ParseIndex(ixData)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range ix.Entries {
		if e.File == fraud {
			ix.Entries[i].Assets[fraud+".sig"] = oci.Location(repo, layer.Digest.Encoded())
		}
	}
	forgedIndex, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ixLayer := ocispec.Descriptor{MediaType: "application/json", Digest: digest.FromBytes(forgedIndex), Size: int64(len(forgedIndex))}
	if err := r.Push(ctx, ixLayer, bytes.NewReader(forgedIndex)); err != nil {
		t.Fatal(err)
	}
	m, err := oras.PackManifest(ctx, r, oras.PackManifestVersion1_1, oci.ArtifactIndex, oras.PackManifestOptions{Layers: []ocispec.Descriptor{ixLayer}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Tag(ctx, m, oci.IndexTag); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	res, err = fetch.Plugins(ctx, fetch.Options{Index: repo, Registry: oci.New(), Plugin: "fraud", Dir: dir, Trust: policy, ABI: abi})
	if err == nil || len(res) != 1 || res[0].Outcome != "refused" || !strings.Contains(res[0].Reason, "of team labs, but plugin fraud belongs to team payments") {
		t.Fatalf("a swapped signature in the index: %v %+v", err, res)
	}
	if names := files(t, dir); len(names) != 0 {
		t.Errorf("the folder holds %v after a refused fetch", names)
	}
}

// TestInstallFromRegistry: plugship install, the command a Dockerfile
// runs, installs the newest showcase version that fits the showcase host
// from a registry that asks for a password, with the credentials of
// docker login (DOCKER_CONFIG); without them it says what to do.
func TestInstallFromRegistry(t *testing.T) {
	const user, password = "deploy", "s3cret-pull-password"
	reg := registrytest.StartWithPassword(t, user, password)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dockerLogin(t, reg, user, password)
	d := dist(t)
	if out, err := publishTo(t, d, reg); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	bin := filepath.Join(t.TempDir(), "plugship")
	if err := plugtest.Go(filepath.Join(root, "cmd", "plugship"), "build", "-o", bin, "."); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(t.TempDir(), "modules")
	install := func(env ...string) (string, error) {
		cmd := exec.Command(bin, "install", "-host", compat.HostPath(built, "showcase"), "-index", "oci://"+reg.Host+"/acme/plugins",
			"-trust", filepath.Join(d, "trust.json"), "-dir", folder, "-cache", filepath.Join(t.TempDir(), "cache"), "showcase")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	reg.Requests()
	out, err := install()
	if err != nil || !strings.Contains(out, "showcase: installed version 0.2.0 as ") {
		t.Fatalf("plugship install from the registry: %v\n%s", err, out)
	}
	t.Logf("plugship install from the registry: requests %v", reg.Requests())
	got, err := os.ReadFile(filepath.Join(folder, "showcase.so"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(d, "plugins/showcase/showcase", plugtest.FileName("showcase", "0.2.0", abi)))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("showcase.so is not the published 0.2.0 file for the host's ABI (%v)", err)
	}
	if strings.Contains(out, password) {
		t.Errorf("the password appears in the output:\n%s", out)
	}

	out, err = install("DOCKER_CONFIG=" + t.TempDir())
	if err == nil || !strings.Contains(out, "oci://"+reg.Host+"/acme/plugins: the registry wants credentials (401): docker login "+reg.Host) {
		t.Errorf("without credentials: %v\n%s", err, out)
	}
}

// stockTool is the path of a stock client the tests cross-check with,
// which go run mage.go test installs (testenv).
func stockTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH: go run mage.go test installs it (%v)", name, err)
	}
	return path
}

// TestStockClients: what plugship publishes is what stock clients read.
// oras pulls a plugin file by its tag and lists its referrers, pulls its
// signature by digest, and cosign verify-blob accepts the pair with the
// team's public key from trust.json.
func TestStockClients(t *testing.T) {
	orasBin, cosignBin := stockTool(t, "oras"), stockTool(t, "cosign")
	reg, _, d := published(t)
	fraud := plugtest.FileName("fraud", "1.3.0", abi)
	ref := reg.Host + "/acme/plugins:payments.fraud.v1.3.0." + abi
	dir := t.TempDir()
	tool := func(bin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	tool(orasBin, "pull", "--plain-http", "-o", dir, ref)
	for _, name := range []string{fraud, fraud + ".json"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		want, _ := os.ReadFile(filepath.Join(d, "plugins/payments/fraud", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("oras pull: %s is not the published file (%v)", name, err)
		}
	}
	var tree struct {
		Referrers []struct {
			Digest       string            `json:"digest"`
			ArtifactType string            `json:"artifactType"`
			Annotations  map[string]string `json:"annotations"`
		} `json:"referrers"`
	}
	listing := tool(orasBin, "discover", "--plain-http", "--format", "json", ref)
	if err := json.Unmarshal([]byte(listing), &tree); err != nil {
		t.Fatalf("oras discover: %v\n%s", err, listing)
	}
	var sig string
	titles := map[string]bool{}
	for _, m := range tree.Referrers {
		if m.ArtifactType != oci.ArtifactSignature {
			t.Errorf("oras discover: referrer %s of artifact type %q", m.Digest, m.ArtifactType)
		}
		titles[m.Annotations[ocispec.AnnotationTitle]] = true
		if m.Annotations[ocispec.AnnotationTitle] == fraud+".sig" {
			sig = m.Digest
		}
	}
	for _, want := range []string{fraud + ".sig", fraud + ".sigstore.json", fraud + ".intoto.json", "SHA256SUMS-" + abi} {
		if !titles[want] {
			t.Errorf("oras discover lists no referrer %s: %s", want, listing)
		}
	}
	if sig == "" {
		t.Fatalf("no signature among the referrers:\n%s", listing)
	}
	tool(orasBin, "pull", "--plain-http", "-o", dir, reg.Host+"/acme/plugins@"+sig)

	var policy struct {
		Teams map[string]struct {
			Keys []struct {
				PEM string `json:"pem"`
			} `json:"keys"`
		} `json:"teams"`
	}
	data, err := os.ReadFile(filepath.Join(d, "trust.json"))
	if err != nil || json.Unmarshal(data, &policy) != nil || len(policy.Teams["payments"].Keys) == 0 {
		t.Fatalf("trust.json: %v", err)
	}
	pub := filepath.Join(dir, "payments.pub")
	if err := os.WriteFile(pub, []byte(policy.Teams["payments"].Keys[0].PEM), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tool(cosignBin, "verify-blob", "--key", pub, "--signature", filepath.Join(dir, fraud+".sig"), "--insecure-ignore-tlog=true", filepath.Join(dir, fraud))
	if !strings.Contains(out, "Verified OK") {
		t.Errorf("cosign verify-blob: %s", out)
	}
}
