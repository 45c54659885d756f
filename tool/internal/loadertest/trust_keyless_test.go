package loadertest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/tool/internal/sigstoretest"
	"github.com/plugship/plugship/trust"
)

// keylessFile writes a plugin file's bytes under a plugin file name.
func keylessFile(t *testing.T) (file string, data []byte) {
	t.Helper()
	data = []byte("the bytes of fx 1.0.0, standing for a plugin\n")
	file = filepath.Join(t.TempDir(), "fx_v1.0.0_linux_amd64_go1.26.8-00000000.so")
	if err := os.WriteFile(file, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return file, data
}

// keylessPolicy is the policy a host reads: plugin fx of team fixtures,
// which names ids, the root trusting ss, after a round trip through JSON.
func keylessPolicy(t *testing.T, rootJSON []byte, ids map[string][]trust.Identity) *trust.Policy {
	t.Helper()
	p := trust.New()
	p.Plugins["fx"] = "fixtures"
	for team, list := range ids {
		for _, id := range list {
			if err := p.AddIdentity(team, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.SetSigstoreRoot(rootJSON); err != nil {
		t.Fatal(err)
	}
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := keyless.Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return parsed
}

// TestKeyless: a file signed keylessly in a simulated GitHub Actions run
// verifies under a policy naming that workflow (exactly, by an anchored
// regular expression, with its repository and ref), and is refused under
// one naming another workflow, another issuer, another repository or
// another team's identity; a tampered file is refused, and so is a bundle
// whose certificate expired with no proof of signing time, while one
// signed last year with its transparency log entry still verifies. A
// GitHub artifact attestation (a DSSE in-toto statement about the file)
// is accepted like a signature.
func TestKeyless(t *testing.T) {
	s := sigstoretest.New(t, sigstoretest.Options{Repository: "acme/plugins", Ref: "refs/tags/fixtures/fx/v1.0.0", Workflow: ".github/workflows/release.yml"})
	other := sigstoretest.New(t, sigstoretest.Options{Repository: "acme/plugins", Ref: "refs/tags/fixtures/fx/v1.0.0", Workflow: ".github/workflows/release.yml", Issuer: "https://accounts.example.com"})
	rootJSON := sigstoretest.TrustedRootJSONOf(s, other)
	identity := s.Identity()
	if want := "https://github.com/acme/plugins/.github/workflows/release.yml@refs/tags/fixtures/fx/v1.0.0"; identity != want {
		t.Fatalf("identity %s, want %s", identity, want)
	}
	file, data := keylessFile(t)
	bundle := s.SignBlob(t, data)
	write := func(b []byte) {
		t.Helper()
		if err := os.WriteFile(file+trust.BundleSuffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(bundle)

	exact := trust.Identity{Issuer: trust.GitHubIssuer, Subject: identity}
	for _, tc := range []struct {
		name string
		ids  map[string][]trust.Identity
		want string // "" when it must verify
	}{
		{"exact", map[string][]trust.Identity{"fixtures": {exact}}, ""},
		{"regexp, repository and ref", map[string][]trust.Identity{"fixtures": {{Issuer: trust.GitHubIssuer,
			SubjectRegexp: `^https://github\.com/acme/plugins/\.github/workflows/release\.yml@refs/tags/fixtures/.*$`,
			Repository:    "https://github.com/acme/plugins", Ref: "refs/tags/fixtures/fx/v1.0.0"}}}, ""},
		{"another workflow", map[string][]trust.Identity{"fixtures": {{Issuer: trust.GitHubIssuer, Subject: strings.Replace(identity, "release.yml", "nightly.yml", 1)}}},
			"is signed keylessly by " + identity + " (issuer " + trust.GitHubIssuer + ") in https://github.com/acme/plugins at refs/tags/fixtures/fx/v1.0.0, which team fixtures's policy does not name"},
		{"another issuer", map[string][]trust.Identity{"fixtures": {{Issuer: "https://accounts.example.com", Subject: identity}}}, "which team fixtures's policy does not name"},
		{"another repository", map[string][]trust.Identity{"fixtures": {{Issuer: trust.GitHubIssuer, Subject: identity, Repository: "https://github.com/acme/forked"}}}, "does not name"},
		{"another team's identity", map[string][]trust.Identity{"fixtures": {{Issuer: trust.GitHubIssuer, Subject: identity + "x"}}, "others": {exact}},
			"an identity of team others, but the plugin belongs to team fixtures; refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := keylessPolicy(t, rootJSON, tc.ids).Check(file)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && (v.Team != "fixtures" || v.KeyID != "" || !strings.Contains(v.Signer, identity)):
				t.Errorf("verdict %+v", v)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v\nwant %q", err, tc.want)
			}
		})
	}

	policy := keylessPolicy(t, rootJSON, map[string][]trust.Identity{"fixtures": {exact}})
	// Signed by the other Sigstore (another issuer): trusted root, wrong identity.
	write(other.SignBlob(t, data))
	if _, err := policy.Check(file); err == nil || !strings.Contains(err.Error(), "(issuer https://accounts.example.com)") {
		t.Errorf("signed under another issuer: %v", err)
	}
	// Tampered after signing.
	write(bundle)
	if err := os.WriteFile(file, append(data, '!'), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Check(file); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("a tampered file: %v", err)
	} else {
		t.Logf("a tampered file: %v", err)
	}
	if err := os.WriteFile(file, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// Expired certificate and no proof of when it signed.
	write(s.SignBlob(t, data, sigstoretest.At(time.Now().Add(-time.Hour)), sigstoretest.WithoutTransparencyLog()))
	if _, err := policy.Check(file); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("an expired certificate without a log entry: %v", err)
	} else {
		t.Logf("an expired certificate without a log entry: %v", err)
	}
	// Signed last year, logged then: it still verifies.
	write(s.SignBlob(t, data, sigstoretest.At(time.Now().AddDate(-1, 0, 0))))
	if _, err := policy.Check(file); err != nil {
		t.Errorf("signed a year ago, logged: %v", err)
	}
	// A GitHub artifact attestation of the file (actions/attest: a DSSE
	// in-toto statement whose subject is the file's digest).
	sum := sha256.Sum256(data)
	statement, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []map[string]any{{"name": filepath.Base(file), "digest": map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		"predicateType": "https://slsa.dev/provenance/v1",
		"predicate":     map[string]any{"buildDefinition": map[string]any{"buildType": "https://actions.github.io/buildtypes/workflow/v1"}},
	})
	write(s.SignDSSE(t, trust.InTotoPayloadType, statement))
	if _, err := policy.Check(file); err != nil {
		t.Errorf("an artifact attestation: %v", err)
	}
	// ... and as the file's provenance, which binds it to its name.
	prov := s.SignDSSE(t, trust.InTotoPayloadType, statement)
	if _, err := policy.CheckKeylessProvenance(prov, filepath.Base(file), hex.EncodeToString(sum[:])); err != nil {
		t.Errorf("keyless provenance: %v", err)
	}
	if _, err := policy.CheckKeylessProvenance(prov, "fx_v2.0.0_linux_amd64_go1.26.8-00000000.so", hex.EncodeToString(sum[:])); err == nil || !strings.Contains(err.Error(), "provenance is about") {
		t.Errorf("provenance under another name: %v", err)
	}
	// No bundle, no .sig: unsigned.
	os.Remove(file + trust.BundleSuffix)
	if _, err := policy.Check(file); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("no bundle: %v", err)
	}
}

// TestKeylessPolicyNeedsRoot: a policy naming identities without a
// trusted root is refused when a host reads it; identity problems name
// their field.
func TestKeylessPolicyNeedsRoot(t *testing.T) {
	p := trust.New()
	p.Plugins["fx"] = "fixtures"
	if err := p.AddIdentity("fixtures", trust.Identity{Issuer: trust.GitHubIssuer, Subject: "https://github.com/acme/plugins/.github/workflows/release.yml@refs/heads/main"}); err != nil {
		t.Fatal(err)
	}
	data, _ := p.Marshal()
	if _, err := trust.Parse(data); err == nil || !strings.Contains(err.Error(), "no sigstore_trusted_root") {
		t.Errorf("Parse without a root: %v", err)
	}
	for _, tc := range []struct {
		id   trust.Identity
		want string
	}{
		{trust.Identity{Subject: "x"}, "issuer: missing"},
		{trust.Identity{Issuer: "i"}, "subject or subject_regexp: give exactly one"},
		{trust.Identity{Issuer: "i", SubjectRegexp: "acme"}, "anchor it with ^ and $"},
		{trust.Identity{Issuer: "i", SubjectRegexp: "^(acme$"}, "subject_regexp: error parsing regexp"},
	} {
		if err := tc.id.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.id, err, tc.want)
		}
	}
}

// TestKeylessRevocation: the release workflow's identity is revoked from a
// time on (its runner was compromised). A file it signed, logged in Rekor
// before that time, is still accepted; one logged after it is refused,
// naming the revocation; the same for a signed timestamp without a log
// entry.
func TestKeylessRevocation(t *testing.T) {
	s := sigstoretest.New(t, sigstoretest.Options{Repository: "acme/plugins", Ref: "refs/tags/fixtures/fx/v1.0.0", Workflow: ".github/workflows/release.yml"})
	file, data := keylessFile(t)
	revokedAt := time.Now().Add(-time.Hour).Truncate(time.Second)
	id := trust.Identity{Issuer: s.Issuer(), Subject: s.Identity()}
	p := trust.New()
	p.Plugins["fx"] = "fixtures"
	if err := p.AddIdentity("fixtures", id); err != nil {
		t.Fatal(err)
	}
	p.Teams["fixtures"].Identities[0].Revoked = &trust.Revocation{At: revokedAt, Reason: "the release runner was compromised"}
	if err := p.SetSigstoreRoot(sigstoretest.TrustedRootJSONOf(s)); err != nil {
		t.Fatal(err)
	}
	js, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	policy, err := keyless.Parse(js) // as a host reads it: plugship.trust/v2
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	for _, c := range []struct {
		name string
		at   time.Time
		opts []sigstoretest.SignOption
		ok   bool
	}{
		{"logged two hours ago", revokedAt.Add(-time.Hour), nil, true},
		{"logged a minute ago", time.Now().Add(-time.Minute), nil, false},
		{"timestamped two hours ago, not logged", revokedAt.Add(-time.Hour), []sigstoretest.SignOption{sigstoretest.WithoutTransparencyLog(), sigstoretest.WithTimestamp()}, true},
		{"timestamped a minute ago, not logged", time.Now().Add(-time.Minute), []sigstoretest.SignOption{sigstoretest.WithoutTransparencyLog(), sigstoretest.WithTimestamp()}, false},
	} {
		bundle := s.SignBlob(t, data, append(c.opts, sigstoretest.At(c.at))...)
		if err := os.WriteFile(file+trust.BundleSuffix, bundle, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := policy.Check(file)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.ok && !v.SignedAt.Equal(c.at.Truncate(time.Second)):
			t.Errorf("%s: signed at %v, the verdict says %v", c.name, c.at, v.SignedAt)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), "by team fixtures's identity "+id.String()+", revoked since "+revokedAt.UTC().Format(time.RFC3339)+" (the release runner was compromised); refused")):
			t.Errorf("%s: %v, want the revocation named", c.name, err)
		}
	}
}
