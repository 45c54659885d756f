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
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/registrytest"
	"github.com/plugship/plugship/tool/internal/sign"
)

// TestChannelResigned: team showcase's key changes after its versions
// were published to the channel (here its development key, made anew),
// and the sign step signs every file again. The next publish replaces the
// published signatures with the new ones ("re-signed"), never the .so;
// a host fetching under the new policy takes the files, and one whose
// folder holds the old signatures gets the new ones.
func TestChannelResigned(t *testing.T) {
	d := dist(t)
	none := func(string) string { return "" }
	var out bytes.Buffer
	if err := publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: none}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	index := filepath.Join(d, publish.ChannelDir, publish.IndexFile)
	host := filepath.Join(t.TempDir(), "plugins")
	oldPolicy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fetch.Plugins(context.Background(), fetch.Options{Index: index, Plugin: "showcase", Dir: host, Trust: oldPolicy, ABI: abi}); err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(d, publish.ChannelDir, "showcase/showcase/v0.2.0", plugtest.FileName("showcase", "0.2.0", abi))
	soBefore, _ := os.ReadFile(so)
	sigBefore, _ := os.ReadFile(so + ".sig")

	rotateDevKey(t, d)
	out.Reset()
	if err := publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: none}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "re-signed  showcase/showcase@0.2.0 ") || !strings.Contains(out.String(), "re-signed, ") || strings.Contains(out.String(), "re-signed  payments/") {
		t.Errorf("publish after the key changed:\n%s", out.String())
	}
	soAfter, _ := os.ReadFile(so)
	sigAfter, _ := os.ReadFile(so + ".sig")
	if !bytes.Equal(soBefore, soAfter) || bytes.Equal(sigBefore, sigAfter) {
		t.Errorf("the .so changed (%v), or the signature did not (%v)", !bytes.Equal(soBefore, soAfter), bytes.Equal(sigBefore, sigAfter))
	}
	newPolicy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch.Plugins(context.Background(), fetch.Options{Index: index, Plugin: "showcase", Dir: host, Trust: newPolicy, ABI: abi})
	if err != nil {
		t.Fatalf("fetch under the new policy: %v %+v", err, res)
	}
	for _, r := range res {
		if r.Outcome != "fetched" {
			t.Errorf("%+v: want the new signature fetched over the old", r)
		}
	}
	if _, err := newPolicy.Check(filepath.Join(host, filepath.Base(so))); err != nil {
		t.Errorf("the host's copy under the new policy: %v", err)
	}
	out.Reset()
	if err := publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: none}, &out); err != nil || strings.Contains(out.String(), "re-signed") {
		t.Errorf("publishing again: %v\n%s", err, out.String())
	}
}

// rotateDevKey gives team showcase a new development key and signs d
// again with it, as keys:rotate and sign do with a team key.
func rotateDevKey(t *testing.T, d string) {
	t.Helper()
	priv, _ := keys.DevPaths(d, "showcase")
	if err := os.RemoveAll(filepath.Dir(priv)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := sign.Main(context.Background(), sign.Options{Root: root, Dist: d}, &out); err != nil {
		t.Fatalf("sign: %v\n%s", err, out.String())
	}
}

// TestGitHubResigned: the same on GitHub. A mutable release gets the new
// signatures in place of the old assets; an immutable one keeps its
// assets, and the new signatures go on the branch plugship-index under
// resigned/<tag>/, where the index points hosts. Either way a host
// fetching under the new policy takes the files, and a publish after
// that changes nothing.
func TestGitHubResigned(t *testing.T) {
	for _, immutable := range []bool{false, true} {
		t.Run(map[bool]string{false: "mutable", true: "immutable"}[immutable], func(t *testing.T) {
			srv := fastServer(t)
			srv.Immutable = immutable
			d := dist(t)
			if out, err := run(t, context.Background(), d, srv); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			name := plugtest.FileName("showcase", "0.2.0", abi)
			before := releaseOf(srv, "showcase/showcase/v0.2.0")
			rotateDevKey(t, d)
			out, err := run(t, context.Background(), d, srv)
			if err != nil || !strings.Contains(out, "re-signed  showcase/showcase@0.2.0 ") {
				t.Fatalf("publish after the key changed: %v\n%s", err, out)
			}
			after := releaseOf(srv, "showcase/showcase/v0.2.0")
			if before[name] != after[name] {
				t.Errorf("the .so asset was replaced")
			}
			if sigReplaced := before[name+".sig"] != after[name+".sig"]; sigReplaced == immutable {
				t.Errorf("immutable %v: the release's .sig asset replaced: %v", immutable, sigReplaced)
			}
			var index string
			if immutable {
				ix := branchIndex(t, srv)
				for _, e := range ix.Entries {
					if e.File == name && !strings.HasSuffix(e.Assets[name+".sig"], "/raw/"+publish.IndexBranch+"/"+publish.ResignedDir+"/showcase/showcase/v0.2.0/"+name+".sig") {
						t.Errorf("the index points hosts to %s for the re-signed .sig", e.Assets[name+".sig"])
					}
				}
				if _, ok := srv.File(publish.IndexBranch, publish.ResignedDir+"/showcase/showcase/v0.2.0/"+name+".sig"); !ok {
					t.Errorf("no re-signed .sig on the branch")
				}
				index = srv.API.URL + "/acme/plugins/raw/" + publish.IndexBranch + "/" + publish.IndexFile
			} else {
				index = srv.API.URL + "/acme/plugins/releases/download/" + publish.IndexTag + "/" + publish.IndexFile
			}
			policy, err := keyless.Load(filepath.Join(d, "trust.json"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := fetch.Plugins(context.Background(), fetch.Options{Index: index, Plugin: "showcase", Dir: t.TempDir(), Trust: policy, Token: token, ABI: abi})
			if err != nil || len(res) != 2 {
				t.Errorf("fetch under the new policy: %v %+v", err, res)
			}
			if out, err := run(t, context.Background(), d, srv); err != nil || strings.Contains(out, "re-signed") {
				t.Errorf("publishing again: %v\n%s", err, out)
			}
		})
	}
}

// TestRegistryResigned: the same in a registry. The new signatures are
// attached to the published plugin manifest beside the old ones,
// annotated as re-signed, and count from then on: the repository's index
// points to them, and so does the index of the file by its tag.
func TestRegistryResigned(t *testing.T) {
	reg := registrytest.Start(t)
	d := dist(t)
	if out, err := publishTo(t, d, reg); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	rotateDevKey(t, d)
	out, err := publishTo(t, d, reg)
	if err != nil || !strings.Contains(out, "re-signed  showcase/showcase@0.2.0 ") || strings.Contains(out, "re-signed  payments/") {
		t.Fatalf("publish after the key changed: %v\n%s", err, out)
	}
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	repo := "oci://" + reg.Host + "/acme/plugins"
	tag, err := oci.Tag("showcase", "showcase", "0.2.0", abi)
	if err != nil {
		t.Fatal(err)
	}
	for _, index := range []string{repo, repo + ":" + tag} {
		res, err := fetch.Plugins(context.Background(), fetch.Options{Index: index, Registry: oci.New(), Plugin: "showcase", Dir: t.TempDir(), Trust: policy, ABI: abi})
		if err != nil || len(res) == 0 {
			t.Errorf("fetch of %s under the new policy: %v %+v", index, err, res)
		}
	}
	reg.Requests()
	if out, err := publishTo(t, d, reg); err != nil || strings.Contains(out, "re-signed") {
		t.Errorf("publishing again: %v\n%s", err, out)
	}
	for k, n := range reg.Requests() {
		if strings.HasPrefix(k, "PUT") || strings.HasPrefix(k, "POST") {
			t.Errorf("publishing again: %d %s", n, k)
		}
	}
}
