package publish_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/oci"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/registrytest"
	"github.com/plugship/plugship/tool/internal/sign"
)

// publishTo publishes d to the registry reg (repository acme/plugins),
// named as users name it: PLUGSHIP_REGISTRY. env adds to the environment.
func publishTo(t testing.TB, d string, reg *registrytest.Server, env ...string) (string, error) {
	t.Helper()
	vars := map[string]string{publish.RegistryEnv: "oci://" + reg.Host + "/acme/plugins"}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	var out bytes.Buffer
	err := publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: func(k string) string { return vars[k] }}, &out)
	return out.String(), err
}

// TestRegistry publishes the bundled plugins to a real registry
// (Distribution, filesystem storage), then again: the second run uploads
// nothing. The index and the approving matrix are artifacts of their
// own; other bytes under a published tag are refused, naming both
// digests.
func TestRegistry(t *testing.T) {
	reg := registrytest.Start(t)
	d := dist(t)
	out, err := publishTo(t, d, reg)
	if err != nil || !strings.Contains(out, "16 published, 0 unchanged") {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	first := reg.Requests()
	if first["PUT blob"]+first["PUT upload"] == 0 || first["PUT manifest"] == 0 {
		t.Fatalf("the first publish uploaded nothing: %v", first)
	}
	out, err = publishTo(t, d, reg)
	if err != nil || !strings.Contains(out, "0 published, 16 unchanged") {
		t.Fatalf("republish: %v\n%s", err, out)
	}
	second := reg.Requests()
	if n := second["PUT upload"] + second["POST upload"] + second["PATCH upload"] + second["PUT blob"]; n != 0 {
		t.Errorf("republishing the same files uploaded %d blobs: %v", n, second)
	}
	t.Logf("requests: first publish %v; second %v", first, second)

	// The index, read back from the registry.
	store, _ := publish.NewRegistry("oci://"+reg.Host+"/acme/plugins", func(string) string { return "" }, true)
	data, err := store.ReadIndex(context.Background(), publish.IndexFile)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := artifact.ParseIndex(data)
	if err != nil || len(ix.Entries) != 16 {
		t.Fatalf("index from the registry: %v, %v", err, ix)
	}
	for _, e := range ix.Entries {
		if loc := e.Assets[e.File]; !strings.HasPrefix(loc, "oci://"+reg.Host+"/acme/plugins@sha256:"+e.SHA256) {
			t.Errorf("%s is at %s, want the repository's digest reference", e.File, loc)
		}
	}

	// Other bytes under a published version, signed and tested.
	fraud := filepath.Join(d, "plugins/payments/fraud", plugtest.FileName("fraud", "1.3.0", abi))
	data, _ = os.ReadFile(fraud)
	os.WriteFile(fraud, append(data, 0), 0o755)
	plugtest.WriteMetadata(fraud, "payments")
	var buf bytes.Buffer
	if err := sign.Main(context.Background(), sign.Options{Root: root, Dist: d}, &buf); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	retested(t, d, "payments/fraud@1.3.0 "+abi, fraud)
	reg.Requests()
	out, err = publishTo(t, d, reg)
	if err == nil || !strings.Contains(out, "already published with other content") {
		t.Errorf("other bytes under a published tag: %v\n%s", err, out)
	}
	if !strings.Contains(out, "payments.fraud.v1.3.0."+abi+" holds "+filepath.Base(fraud)+" with sha256 ") || !strings.Contains(out, ", this build ") {
		t.Errorf("the refusal does not name the tag and both digests:\n%s", out)
	}
	if n := reg.Requests()["PUT manifest"]; n > 2 { // the index and the matrix may move; no plugin tag does
		t.Errorf("the refused publish pushed %d manifests", n)
	}
}

// TestRegistryErrors: a 401, a 403 and a 500 each give a message that
// names the registry, the reference and what to do.
func TestRegistryErrors(t *testing.T) {
	reg := registrytest.Start(t)
	d := dist(t)
	for code, want := range map[int]string{
		http.StatusUnauthorized:        "the registry wants credentials (401): docker login " + reg.Host,
		http.StatusForbidden:           "need push access to acme/plugins",
		http.StatusInternalServerError: "run publish again, which uploads only what is missing",
	} {
		reg.Fail(func(r *http.Request) int {
			if r.Method == http.MethodHead || r.Method == http.MethodGet {
				return 0
			}
			return code
		})
		out, err := publishTo(t, d, reg)
		if err == nil || !strings.Contains(out, want) || !strings.Contains(out, "oci://"+reg.Host+"/acme/plugins:") {
			t.Errorf("answering %d: %v; want a line with %q and the reference:\n%s", code, err, want, out)
		}
	}
	reg.Fail(nil)
	if out, err := publishTo(t, d, reg); err != nil || !strings.Contains(out, "16 published") {
		t.Errorf("after the faults: %v\n%s", err, out)
	}
}

// dockerLogin writes what docker login would into $DOCKER_CONFIG: the
// credentials of reg.
func dockerLogin(t *testing.T, reg *registrytest.Server, user, password string) {
	t.Helper()
	config := `{"auths":{"` + reg.Host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte(user+":"+password)) + `"}}}`
	if err := os.WriteFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRegistryCredentials: a registry that asks for a password gets the
// one of Docker's config.json (DOCKER_CONFIG), which is never printed;
// without it the run says what to do.
func TestRegistryCredentials(t *testing.T) {
	const user, password = "ci", "s3cret-registry-password"
	reg := registrytest.StartWithPassword(t, user, password)
	d := dist(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	out, err := publishTo(t, d, reg)
	if err == nil || !strings.Contains(out, "the registry wants credentials (401): docker login "+reg.Host) {
		t.Errorf("without credentials: %v\n%s", err, out)
	}
	dockerLogin(t, reg, user, password)
	out, err = publishTo(t, d, reg)
	if err != nil || !strings.Contains(out, "16 published") {
		t.Fatalf("with docker login's credentials: %v\n%s", err, out)
	}
	if strings.Contains(out, password) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(user+":"+password))) {
		t.Errorf("the password appears in the output:\n%s", out)
	}
	if leaked, _ := exec.Command("grep", "-rl", password, d).Output(); len(leaked) > 0 {
		t.Errorf("the password was written into dist/: %s", leaked)
	}
}

// TestRegistryInterrupted: a registry that stops answering partway
// through a publish leaves no tag on partial content, and the next run
// completes it.
func TestRegistryInterrupted(t *testing.T) {
	reg := registrytest.Start(t)
	d := dist(t)
	var puts atomic.Int32
	reg.Fail(func(r *http.Request) int {
		if r.Method == http.MethodPut && puts.Add(1) > 60 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	out, err := publishTo(t, d, reg)
	if err == nil {
		t.Fatalf("a publish with the registry failing partway succeeded:\n%s", out)
	}
	reg.Fail(nil)
	cut := referrersByTag(t, reg)
	if len(cut) == 0 || len(cut) >= 16 {
		t.Fatalf("the cut-off run tagged %d plugin files: the fault came too early or too late to test anything", len(cut))
	}
	t.Logf("the cut-off run tagged %d plugin files", len(cut))
	out, err = publishTo(t, d, reg)
	if err != nil || !strings.Contains(out, "0 refused, 0 failed, of 16 plugin versions") {
		t.Fatalf("the run after the fault: %v\n%s", err, out)
	}
	// Every tag the cut-off run set pointed at a complete plugin file: its
	// signatures were all there, as after the complete run.
	done := referrersByTag(t, reg)
	if len(done) != 16 {
		t.Errorf("%d plugin files tagged after the second run, want 16", len(done))
	}
	for tag, n := range cut {
		if n != done[tag] || n < 3 {
			t.Errorf("%s had %d referrers after the cut-off run, %d when complete", tag, n, done[tag])
		}
	}
	out, err = publishTo(t, d, reg)
	if err != nil || !strings.Contains(out, "0 published, 16 unchanged") {
		t.Errorf("a third run: %v\n%s", err, out)
	}
}

// referrersByTag returns the number of referrers (signatures, bundle,
// provenance, sums) of each plugin file tagged in reg, read with oras-go
// as any client would.
func referrersByTag(t *testing.T, reg *registrytest.Server) map[string]int {
	t.Helper()
	ctx := context.Background()
	repo, err := remote.NewRepository(reg.Host + "/acme/plugins")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	counts := map[string]int{}
	err = repo.Tags(ctx, "", func(tags []string) error {
		for _, tag := range tags {
			if strings.HasPrefix(tag, "plugship.") || strings.HasPrefix(tag, "sha256-") {
				continue
			}
			desc, err := repo.Resolve(ctx, tag)
			if err != nil {
				return err
			}
			n := 0
			if err := repo.Referrers(ctx, desc, "", func(rs []ocispec.Descriptor) error { n += len(rs); return nil }); err != nil {
				return err
			}
			counts[tag] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// TestRegistryToken: a registry that asks for bearer tokens, as GHCR,
// Docker Hub and Harbor do, gets them from its token service with docker
// login's credentials, for publishing and for fetching; a wrong password
// is refused by the token service, and the run says what to do.
func TestRegistryToken(t *testing.T) {
	const user, password = "ci", "s3cret-token-password"
	reg := registrytest.StartWithToken(t, user, password)
	d := dist(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dockerLogin(t, reg, user, "wrong")
	out, err := publishTo(t, d, reg)
	if err == nil || !strings.Contains(out, "the registry wants credentials (401): docker login "+reg.Host) {
		t.Errorf("a wrong password: %v\n%s", err, out)
	}
	dockerLogin(t, reg, user, password)
	out, err = publishTo(t, d, reg)
	if err != nil || !strings.Contains(out, "16 published") {
		t.Fatalf("with a token: %v\n%s", err, out)
	}
	if n := reg.TokensIssued(); n == 0 {
		t.Fatalf("published without a token: the registry did not ask for one")
	} else {
		t.Logf("tokens issued for publishing 16 plugin files: %d", n)
	}
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch.Plugins(context.Background(), fetch.Options{Index: "oci://" + reg.Host + "/acme/plugins", Registry: oci.New(), Plugin: "fraud", Dir: t.TempDir(), Trust: policy, ABI: abi})
	if err != nil || len(res) != 1 || res[0].Outcome != "fetched" {
		t.Errorf("fetch with a token: %v %+v", err, res)
	}
}
