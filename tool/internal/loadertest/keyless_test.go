package loadertest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/sigstoretest"
	"github.com/plugship/plugship/trust"
)

// TestKeylessSignaturesInTheLoader: in a host that opted in to keyless
// signatures (keyless.Load), the marker plugin (its init writes a file)
// signed keylessly by the workflow team fixtures names is chosen and
// runs; signed by another workflow, changed after signing, or with an
// expired certificate and no proof of signing time, it is refused and its
// code never runs, not even in a probe. A host that did not opt in
// (trust.Load, no sigstore-go linked) refuses the keyless-only file,
// naming its bundle and what to import.
func TestKeylessSignaturesInTheLoader(t *testing.T) {
	opts := sigstoretest.Options{Repository: "acme/plugins", Ref: "refs/tags/fixtures/fx/v10.0.0", Workflow: ".github/workflows/release.yml"}
	s := sigstoretest.New(t, opts)
	opts.Workflow = ".github/workflows/nightly.yml"
	nightly := sigstoretest.New(t, opts)
	policy, err := keyless.Load(fixtureTrust)
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.AddIdentity("fixtures", trust.Identity{Issuer: trust.GitHubIssuer, Subject: s.Identity()}); err != nil {
		t.Fatal(err)
	}
	if err := policy.SetSigstoreRoot(sigstoretest.TrustedRootJSONOf(s, nightly)); err != nil {
		t.Fatal(err)
	}
	data, err := policy.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	trustFile := filepath.Join(t.TempDir(), "trust.json")
	if err := os.WriteFile(trustFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Base(fixtures["marker"])
	bytesOf := func(dir string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, marker))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		spoil  func(dir string) []byte // returns the bundle to write
		reason string                  // "" when it must be chosen
		plain  bool                    // run in the host that did not opt in to keyless
	}{
		{"signed by the team's workflow", func(dir string) []byte { return s.SignBlob(t, bytesOf(dir)) }, "", false},
		{"a host that did not opt in", func(dir string) []byte { return s.SignBlob(t, bytesOf(dir)) },
			"keyless signatures are not verified by this host: " + marker + trust.BundleSuffix + " is signed keylessly and the file has no key signature; refused: to accept keyless signatures, go get github.com/plugship/plugship/keyless and call keyless.Enable(policy)", true},
		{"signed by another workflow", func(dir string) []byte { return nightly.SignBlob(t, bytesOf(dir)) },
			"is signed keylessly by " + nightly.Identity() + " (issuer " + trust.GitHubIssuer + ")", false},
		{"changed after signing", func(dir string) []byte {
			b := s.SignBlob(t, bytesOf(dir))
			flipByte(t, filepath.Join(dir, marker))
			return b
		}, "artifact does not match digest", false},
		{"expired certificate, no log entry", func(dir string) []byte {
			return s.SignBlob(t, bytesOf(dir), sigstoretest.At(time.Now().Add(-time.Hour)), sigstoretest.WithoutTransparencyLog())
		}, "nothing proves the signature was made while its short-lived certificate was valid", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := folder(t, "marker", "good")
			os.Remove(filepath.Join(dir, marker+trust.SignatureSuffix)) // the key's signature: only the bundle counts
			if err := os.WriteFile(filepath.Join(dir, marker+trust.BundleSuffix), tc.spoil(dir), 0o644); err != nil {
				t.Fatal(err)
			}
			ran := filepath.Join(t.TempDir(), "marker")
			bin := keylessHost
			if tc.plain {
				bin = hostBin
			}
			stdout, stderr, code := runHost(t, bin, []string{"PLUGSHIP_TEST_MARKER=" + ran}, "-trust", trustFile, "-json", "-plugin", "fx", "-timeout", "2s", dir)
			var r loader.Report
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatalf("host printed no report (%v):\n%s\n%s", err, stdout, stderr)
			}
			ds := map[string]*loader.Decision{}
			for _, d := range r.Candidates {
				ds[d.Version] = d
			}
			_, err := os.Stat(ran)
			if tc.reason == "" {
				if code != 0 || r.Chosen == nil || r.Chosen.Version != "10.0.0" || err != nil {
					t.Fatalf("exit %d, chosen %+v, marker %v; want 10.0.0 chosen and run\n%s", code, r.Chosen, err, stderr)
				}
				return
			}
			if code != 0 || r.Chosen == nil || r.Chosen.Version != "1.0.0" {
				t.Fatalf("exit %d, chosen %+v; want 1.0.0", code, r.Chosen)
			}
			expect(t, ds, "10.0.0", loader.Unverified, tc.reason)
			if err == nil {
				t.Errorf("the refused plugin's init ran")
			}
			if d := ds["10.0.0"]; d != nil && !strings.Contains(d.Reason, marker+trust.BundleSuffix) {
				t.Errorf("the reason does not name the bundle: %s", d.Reason)
			}
		})
	}
}
