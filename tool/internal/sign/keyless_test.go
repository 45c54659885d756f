package sign_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/sigstoretest"
	"github.com/plugship/plugship/tool/internal/verify"
	"github.com/plugship/plugship/trust"
)

// TestKeylessSigning runs the sign step as the release workflow does, in a
// simulated GitHub Actions job against a loopback Sigstore: a team with
// signing.keyless gets, for its file, a keyless Sigstore bundle and a
// keyless provenance attestation, no .sig; dist/trust.json names the
// team's identity and carries the trusted root; verify and the loader's
// checks accept the file; signing again logs nothing new. Outside a
// workflow (no token), a new version of that team gets a development key,
// said once.
func TestKeylessSigning(t *testing.T) {
	s := sigstoretest.New(t, sigstoretest.Options{Repository: "acme/plugins", Ref: "refs/tags/keyless/gamma/v3.0.0", Workflow: ".github/workflows/release.yml"})
	mod := t.TempDir()
	identity := `^https://github\.com/acme/plugins/\.github/workflows/release\.yml@refs/tags/keyless/.*$`
	if err := plugtest.Module(filepath.Join("..", "..", ".."), mod, map[string]string{
		"plugship.yaml":            "version: 1\nsigstore:\n  fulcio: " + s.FulcioURL() + "\n  rekor: " + s.RekorURL() + "\n  trusted_root: trust/sigstore-root.json\n",
		"trust/sigstore-root.json": string(s.TrustedRootJSON()),
		"teams/keyless/team.yaml": "name: keyless\nowners: [\"@l\"]\nsigning:\n  keyless: true\n  identities:\n    - issuer: " + trust.GitHubIssuer +
			"\n      subject_regexp: " + identity + "\n      repository: https://github.com/acme/plugins\n" +
			"plugins:\n  - name: gamma\n    source: keyless/gamma\n    version: 3.0.0\n",
		"plugin_sources/keyless/gamma/main.go": source("gamma"),
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out bytes.Buffer
	if err := build.Main(ctx, build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s.Setenv(t)
	out.Reset()
	if err := sign.Main(ctx, sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("sign:\n%s", out.String())
	file, err := plugtest.Find(filepath.Join(mod, "dist/plugins/keyless/gamma"), "gamma", "3.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "signed     gamma_v3.0.0_") || !strings.Contains(out.String(), "a keyless certificate from "+s.FulcioURL()) {
		t.Errorf("the sign step's output does not say it signed keylessly")
	}
	if _, err := os.Stat(file + trust.SignatureSuffix); err == nil {
		t.Errorf("a keyless file got a .sig")
	}
	bundle, err := os.ReadFile(file + trust.BundleSuffix)
	if err != nil || !trust.IsKeyless(bundle) || !strings.Contains(string(bundle), "application/vnd.dev.sigstore.bundle.v0.3+json") {
		t.Fatalf("bundle: %v\n%.300s", err, bundle)
	}
	prov, err := os.ReadFile(file + trust.ProvenanceSuffix)
	if err != nil || !trust.IsBundle(prov) || !strings.Contains(string(prov), "dsseEnvelope") {
		t.Fatalf("provenance: %v\n%.300s", err, prov)
	}
	entries := s.RekorEntries()
	if entries != 2 {
		t.Errorf("%d Rekor entries, want 2 (the file and its provenance)", entries)
	}

	policy, err := keyless.Load(filepath.Join(mod, "dist", sign.TrustFile))
	if err != nil {
		t.Fatal(err)
	}
	if ids := policy.Teams["keyless"].Identities; len(ids) != 1 || ids[0].SubjectRegexp != identity || len(policy.SigstoreRoot) == 0 {
		t.Errorf("trust.json: team keyless %+v, root %d bytes", policy.Teams["keyless"], len(policy.SigstoreRoot))
	}
	v, err := policy.Check(file)
	if err != nil || v.KeyID != "" || !strings.Contains(v.Signer, s.Identity()) {
		t.Errorf("the policy's check: %+v %v", v, err)
	}
	d := loader.Try(ctx, file, loader.Options{Trust: policy, InProcess: true, Contract: "github.com/plugship/plugship/contract"})
	if d.Outcome == loader.Unverified {
		t.Errorf("the loader refuses the keyless file: %s", d.Reason)
	}
	out.Reset()
	if err := verify.Main(ctx, verify.Options{Root: mod}, &out); err != nil || !strings.Contains(out.String(), "keyless") {
		t.Errorf("verify: %v\n%s", err, out.String())
	}

	// The matrix tries it in the showcase host (the trust policy's keyless
	// check included), publish puts it in the channel with its bundle and
	// no .sig, and a host fetches it from there, checking the bundle and
	// the keyless provenance.
	repoRoot, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	hostsFile := filepath.Join(mod, "compat", "hosts.yaml")
	if err := plugtest.WriteFile(hostsFile, "hosts:\n  - name: showcase\n    package: ./compat/hosts/showcase\n    must_accept: [keyless]\n"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := compat.Main(ctx, compat.Options{Root: repoRoot, Dist: filepath.Join(mod, "dist"), Config: hostsFile}, &out); err != nil {
		t.Fatalf("matrix: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := publish.Main(ctx, publish.Options{Root: mod, Getenv: func(string) string { return "" }}, &out); err != nil {
		t.Fatalf("publish: %v\n%s", err, out.String())
	}
	fetched := filepath.Join(t.TempDir(), "plugins")
	res, err := fetch.Plugins(ctx, fetch.Options{Index: filepath.Join(mod, "dist", publish.ChannelDir, publish.IndexFile), Plugin: "gamma", Dir: fetched, Trust: policy})
	if err != nil || len(res) != 1 || res[0].Outcome != "fetched" {
		t.Fatalf("fetch: %+v %v", res, err)
	}
	if _, err := policy.Check(filepath.Join(fetched, filepath.Base(file))); err != nil {
		t.Errorf("the fetched file: %v", err)
	}

	// Again: nothing to sign, nothing logged.
	out.Reset()
	if err := sign.Main(ctx, sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "0 signed, 1 up to date") || s.RekorEntries() != entries {
		t.Errorf("signing again: %d Rekor entries (was %d)\n%s", s.RekorEntries(), entries, out.String())
	}

	// Off the workflow: a new version gets a development key, said once.
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
	manifest := filepath.Join(mod, "teams/keyless/team.yaml")
	data, _ := os.ReadFile(manifest)
	if err := os.WriteFile(manifest, []byte(strings.Replace(strings.Replace(string(data), "version: 3.0.0", "version: 3.1.0\n    previous:\n      - version: 3.0.0\n        source: keyless/gamma", 1), "source: keyless/gamma\n    version", "source: keyless/gamma31\n    version", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := plugtest.WriteFile(filepath.Join(mod, "plugin_sources/keyless/gamma31/main.go"), source("gamma 3.1")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := build.Main(ctx, build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	out.Reset()
	if err := sign.Main(ctx, sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("sign off the workflow:\n%s", out.String())
	if n := strings.Count(out.String(), "team keyless signs keylessly in its release workflow; there is no OIDC token here"); n != 1 {
		t.Errorf("the no-token notice appears %d times", n)
	}
	if !strings.Contains(out.String(), "1 signed, 1 up to date") || !strings.Contains(out.String(), "DEVELOPMENT key") {
		t.Errorf("off the workflow: want 3.1.0 signed with a development key and 3.0.0 up to date:\n%s", out.String())
	}
}
