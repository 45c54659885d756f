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
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
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

	priv, _ := keys.DevPaths(d, "showcase")
	if err := os.RemoveAll(filepath.Dir(priv)); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := sign.Main(context.Background(), sign.Options{Root: root, Dist: d}, &out); err != nil {
		t.Fatalf("sign: %v\n%s", err, out.String())
	}
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
