package publish_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/registrytest"
	"github.com/plugship/plugship/tool/internal/sign"
)

// publishTo publishes d to the registry reg (repository acme/plugins).
func publishTo(t *testing.T, d string, reg *registrytest.Server) (string, error) {
	t.Helper()
	store, err := publish.NewRegistry("oci://"+reg.Host+"/acme/plugins", func(string) string { return "" }, true)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Store: store, Getenv: func(string) string { return "" }}, &out)
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
