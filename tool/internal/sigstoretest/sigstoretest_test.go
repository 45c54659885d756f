package sigstoretest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	testRepo = "acme/plugins"
	testRef  = "refs/tags/core/hello/v1.0.0"
	testSAN  = "https://github.com/acme/plugins/.github/workflows/release.yml@refs/tags/core/hello/v1.0.0"
)

func newTest(t *testing.T, mod ...func(*Options)) *Sigstore {
	o := Options{Repository: testRepo, Ref: testRef, Workflow: ".github/workflows/release.yml"}
	for _, m := range mod {
		m(&o)
	}
	return New(t, o)
}

// sanPolicy is the regular expression a team's policy would name: the
// release workflow of the repository, for any tag of the team.
const sanPolicy = `^https://github\.com/acme/plugins/\.github/workflows/release\.yml@refs/tags/core/.*$`

// verifyBundle verifies like a host offline: only the trusted root JSON,
// the bundle JSON and the artifact.
func verifyBundle(rootJSON, bundleJSON, artifact []byte, issuer, sanRegexp string, vopts ...verify.VerifierOption) (*verify.VerificationResult, error) {
	tr, err := root.NewTrustedRootFromJSON(rootJSON)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if len(vopts) == 0 {
		vopts = []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1), verify.WithSignedCertificateTimestamps(1)}
	}
	v, err := verify.NewVerifier(tr, vopts...)
	if err != nil {
		return nil, err
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", "", sanRegexp)
	if err != nil {
		return nil, err
	}
	return v.Verify(&b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(artifact)), verify.WithCertificateIdentity(id)))
}

func TestTokenEndpointIsGitHubs(t *testing.T) {
	s := newTest(t)
	env := s.Env()
	for _, k := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", EnvFulcioURL, EnvRekorURL, EnvTSAURL, EnvOIDCIssuer} {
		if env[k] == "" {
			t.Errorf("Env()[%s] is empty", k)
		}
	}
	if !strings.Contains(env["ACTIONS_ID_TOKEN_REQUEST_URL"], "?") {
		t.Errorf("request URL %q has no query for &audience= to extend", env["ACTIONS_ID_TOKEN_REQUEST_URL"])
	}

	get := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", env["ACTIONS_ID_TOKEN_REQUEST_URL"]+"&audience=sigstore", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(""); code != 401 || !strings.Contains(body, `"message"`) {
		t.Errorf("no token: %d %s, want 401 with a JSON message", code, body)
	}
	if code, body := get("Bearer wrong"); code != 403 || !strings.Contains(body, `"message"`) {
		t.Errorf("wrong token: %d %s, want 403 with a JSON message", code, body)
	}
	if _, err := FetchGitHubToken(context.Background(), env["ACTIONS_ID_TOKEN_REQUEST_URL"], "wrong", Audience); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("FetchGitHubToken with a wrong request token: %v, want a 403", err)
	}

	raw := s.IDToken(t)
	// Verify it as a relying party would, from the issuer's discovery.
	ctx := oidc.InsecureIssuerURLContext(context.Background(), GitHubIssuer)
	p, err := oidc.NewProvider(ctx, s.OIDCURL())
	if err != nil {
		t.Fatal(err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("token does not verify against the issuer's JWKS: %v", err)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"iss": GitHubIssuer, "aud": "sigstore", "sub": "repo:acme/plugins:ref:" + testRef,
		"repository": testRepo, "repository_owner": "acme", "ref": testRef,
		"job_workflow_ref": "acme/plugins/.github/workflows/release.yml@" + testRef,
		"workflow_ref":     "acme/plugins/.github/workflows/release.yml@" + testRef,
		"event_name":       "push", "runner_environment": "github-hosted",
	}
	for k, v := range want {
		if fmt.Sprint(c[k]) != v {
			t.Errorf("claim %s = %v, want %s", k, c[k], v)
		}
	}
	for _, k := range []string{"exp", "iat", "nbf", "sha"} {
		if c[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
}

// TestSignAndVerifyBlob is the whole keyless flow with sigstore-go's real
// pkg/sign, written out, and an offline verification with pkg/verify from
// nothing but the trusted root JSON.
func TestSignAndVerifyBlob(t *testing.T) {
	s := newTest(t)
	blob := []byte("hello plugin\n")

	idToken, err := FetchGitHubToken(context.Background(), s.Env()["ACTIONS_ID_TOKEN_REQUEST_URL"], s.Env()["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], "sigstore")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sign.Bundle(&sign.PlainData{Data: blob}, kp, sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL()}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: idToken},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL()})},
		TrustedRoot:                s.TrustedRoot(), // sign.Bundle verifies what it made
	})
	if err != nil {
		t.Fatal(err)
	}
	if pb.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" {
		t.Errorf("media type %s", pb.MediaType)
	}
	tle := pb.VerificationMaterial.TlogEntries[0]
	if tle.KindVersion.Kind != "hashedrekord" || tle.InclusionPromise == nil || tle.InclusionProof == nil || tle.InclusionProof.Checkpoint.GetEnvelope() == "" {
		t.Errorf("tlog entry lacks something: %v", tle)
	}
	bundleJSON, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	rootJSON := s.TrustedRootJSON()
	if !bytes.Contains(rootJSON, []byte(`"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"`)) &&
		!bytes.Contains(rootJSON, []byte(`"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"`)) {
		t.Errorf("trusted root media type missing: %s", rootJSON)
	}

	res, err := verifyBundle(rootJSON, bundleJSON, blob, GitHubIssuer, sanPolicy)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if res.Signature.Certificate.SubjectAlternativeName != testSAN || s.Identity() != testSAN {
		t.Errorf("SAN %q, Identity %q, want %q", res.Signature.Certificate.SubjectAlternativeName, s.Identity(), testSAN)
	}
	// The same with an exact SAN, and with the inclusion proof alone
	// (observer time from the SET) and the SET alone each checked below.
	if _, err := verifyBundle(rootJSON, bundleJSON, blob, GitHubIssuer, "^"+regexp.QuoteMeta(testSAN)+"$"); err != nil {
		t.Errorf("exact SAN: %v", err)
	}
	if _, err := verifyBundle(rootJSON, bundleJSON, blob, GitHubIssuer, sanPolicy, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)); err != nil {
		t.Errorf("WithObserverTimestamps: %v", err)
	}

	// The extensions parse back with sigstore-go and match a full identity.
	leaf, err := x509.ParseCertificate(pb.VerificationMaterial.GetCertificate().RawBytes)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := certificate.ParseExtensions(leaf.Extensions)
	if err != nil {
		t.Fatal(err)
	}
	wantExt := certificate.Extensions{
		Issuer:                              GitHubIssuer,
		GithubWorkflowTrigger:               "push",
		GithubWorkflowSHA:                   s.Options().SHA,
		GithubWorkflowName:                  "Release",
		GithubWorkflowRepository:            testRepo,
		GithubWorkflowRef:                   testRef,
		BuildSignerURI:                      testSAN,
		BuildSignerDigest:                   s.Options().SHA,
		RunnerEnvironment:                   "github-hosted",
		SourceRepositoryURI:                 "https://github.com/acme/plugins",
		SourceRepositoryDigest:              s.Options().SHA,
		SourceRepositoryRef:                 testRef,
		SourceRepositoryIdentifier:          "123456789",
		SourceRepositoryOwnerURI:            "https://github.com/acme",
		SourceRepositoryOwnerIdentifier:     "987654",
		BuildConfigURI:                      testSAN,
		BuildConfigDigest:                   s.Options().SHA,
		BuildTrigger:                        "push",
		RunInvocationURI:                    "https://github.com/acme/plugins/actions/runs/" + runID + "/attempts/1",
		SourceRepositoryVisibilityAtSigning: "public",
	}
	if ext != wantExt {
		t.Errorf("extensions\n got %+v\nwant %+v", ext, wantExt)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 10*time.Minute {
		t.Errorf("certificate lives %v, want 10m", d)
	}
	san, _ := verify.NewSANMatcher("", sanPolicy)
	iss, _ := verify.NewIssuerMatcher(GitHubIssuer, "")
	full, err := verify.NewCertificateIdentity(san, iss, certificate.Extensions{
		SourceRepositoryURI: "https://github.com/acme/plugins", SourceRepositoryRef: testRef, RunnerEnvironment: "github-hosted",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := full.Verify(*res.Signature.Certificate); err != nil {
		t.Errorf("identity with source repository and ref: %v", err)
	}
	other, _ := verify.NewCertificateIdentity(san, iss, certificate.Extensions{SourceRepositoryURI: "https://github.com/acme/other"})
	if err := other.Verify(*res.Signature.Certificate); err == nil {
		t.Errorf("identity naming another source repository matched")
	}
}

func TestRefusals(t *testing.T) {
	s := newTest(t)
	blob := []byte("plugin bytes")
	good := s.SignBlob(t, blob)
	rootJSON := s.TrustedRootJSON()
	if _, err := verifyBundle(rootJSON, good, blob, GitHubIssuer, sanPolicy); err != nil {
		t.Fatalf("good bundle: %v", err)
	}

	t.Run("another workflow", func(t *testing.T) {
		_, err := verifyBundle(rootJSON, good, blob, GitHubIssuer, `^https://github\.com/acme/plugins/\.github/workflows/other\.yml@.*$`)
		wantErr(t, err, "san value")
	})
	t.Run("another team's tags", func(t *testing.T) {
		_, err := verifyBundle(rootJSON, good, blob, GitHubIssuer, `^https://github\.com/acme/plugins/\.github/workflows/release\.yml@refs/tags/net/.*$`)
		wantErr(t, err, "san value")
	})
	t.Run("another issuer", func(t *testing.T) {
		_, err := verifyBundle(rootJSON, good, blob, "https://gitlab.com", sanPolicy)
		wantErr(t, err, "issuer")
	})
	t.Run("tampered blob", func(t *testing.T) {
		_, err := verifyBundle(rootJSON, good, []byte("plugin bytes!"), GitHubIssuer, sanPolicy)
		wantErr(t, err, "")
	})
	t.Run("expired certificate without proof of signing time", func(t *testing.T) {
		old := s.SignBlob(t, blob, At(time.Now().Add(-time.Hour)), WithoutTransparencyLog())
		// A verifier that needs the log has nothing to go on...
		_, err := verifyBundle(rootJSON, old, blob, GitHubIssuer, sanPolicy)
		wantErr(t, err, "")
		// ...and one that falls back to the current time finds it expired.
		_, err = verifyBundle(rootJSON, old, blob, GitHubIssuer, sanPolicy, verify.WithCurrentTime())
		wantErr(t, err, "leaf certificate verification failed")
		// The same certificate with a fresh signature is fine at its time.
		fresh := s.SignBlob(t, blob, WithoutTransparencyLog())
		if _, err := verifyBundle(rootJSON, fresh, blob, GitHubIssuer, sanPolicy, verify.WithCurrentTime()); err != nil {
			t.Errorf("fresh certificate with the current time: %v", err)
		}
	})
	t.Run("another CA", func(t *testing.T) {
		s2 := newTest(t)
		foreign := s2.SignBlob(t, blob)
		_, err := verifyBundle(rootJSON, foreign, blob, GitHubIssuer, sanPolicy)
		wantErr(t, err, "")
		// Trusting both, it verifies.
		if _, err := verifyBundle(TrustedRootJSONOf(s, s2), foreign, blob, GitHubIssuer, sanPolicy); err != nil {
			t.Errorf("under a root trusting both: %v", err)
		}
	})
	t.Run("another issuer trusted by the root", func(t *testing.T) {
		s2 := newTest(t, func(o *Options) { o.Issuer = "https://issuer.other.test" })
		if s2.Issuer() != "https://issuer.other.test" {
			t.Fatal(s2.Issuer())
		}
		b := s2.SignBlob(t, blob)
		both := TrustedRootJSONOf(s, s2)
		_, err := verifyBundle(both, b, blob, GitHubIssuer, sanPolicy)
		wantErr(t, err, "issuer")
		if _, err := verifyBundle(both, b, blob, "https://issuer.other.test", sanPolicy); err != nil {
			t.Errorf("naming its issuer: %v", err)
		}
	})
	t.Run("tampered SET and inclusion proof", func(t *testing.T) {
		var pb protobundle.Bundle
		if err := protojson.Unmarshal(good, &pb); err != nil {
			t.Fatal(err)
		}
		tle := pb.VerificationMaterial.TlogEntries[0]
		set := tle.InclusionPromise.SignedEntryTimestamp
		set[len(set)/2] ^= 1
		bad, _ := protojson.Marshal(&pb)
		_, err := verifyBundle(rootJSON, bad, blob, GitHubIssuer, sanPolicy)
		wantErr(t, err, "")
		set[len(set)/2] ^= 1
		tle.InclusionProof.RootHash[0] ^= 1
		bad, _ = protojson.Marshal(&pb)
		_, err = verifyBundle(rootJSON, bad, blob, GitHubIssuer, sanPolicy)
		wantErr(t, err, "")
	})
}

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatal("verified, want refused")
	}
	if substr != "" && !strings.Contains(strings.ToLower(err.Error()), substr) {
		t.Errorf("error %q does not mention %q", err, substr)
	}
	t.Logf("refused: %v", err)
}

// TestSignedLongAgo: a certificate that expired long ago still verifies
// through the log's integrated time, and the TSA's timestamp alone also
// proves the time.
func TestSignedLongAgo(t *testing.T) {
	s := newTest(t)
	blob := []byte("last year's plugin")
	ago := time.Now().Add(-300 * 24 * time.Hour)
	b := s.SignBlob(t, blob, At(ago))
	res, err := verifyBundle(s.TrustedRootJSON(), b, blob, GitHubIssuer, sanPolicy)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got := res.VerifiedTimestamps[0].Timestamp; got.Sub(ago).Abs() > time.Second {
		t.Errorf("integrated time %v, want %v", got, ago)
	}

	ts := s.SignBlob(t, blob, At(ago), WithoutTransparencyLog(), WithTimestamp())
	if _, err := verifyBundle(s.TrustedRootJSON(), ts, blob, GitHubIssuer, sanPolicy, verify.WithSignedTimestamps(1), verify.WithSignedCertificateTimestamps(1)); err != nil {
		t.Fatalf("verify with the TSA's timestamp: %v", err)
	}
	// Both proofs together.
	both := s.SignBlob(t, blob, WithTimestamp())
	if _, err := verifyBundle(s.TrustedRootJSON(), both, blob, GitHubIssuer, sanPolicy,
		verify.WithTransparencyLog(1), verify.WithSignedTimestamps(1), verify.WithIntegratedTimestamps(1)); err != nil {
		t.Fatalf("verify with log and TSA: %v", err)
	}
}

func TestDSSEInToto(t *testing.T) {
	s := newTest(t)
	blob := []byte("plugin.so bytes")
	sum := sha256.Sum256(blob)
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"hello.so","digest":{"sha256":"%s"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://plugship.dev/build/v1"}}}`, hex.EncodeToString(sum[:]))
	b := s.SignDSSE(t, "application/vnd.in-toto+json", []byte(stmt))
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	if pb.GetDsseEnvelope() == nil || pb.VerificationMaterial.TlogEntries[0].KindVersion.Kind != "dsse" {
		t.Fatalf("not a DSSE bundle with a dsse entry: %v", pb.VerificationMaterial.TlogEntries[0].KindVersion)
	}
	res, err := verifyBundle(s.TrustedRootJSON(), b, blob, GitHubIssuer, sanPolicy)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if res.Statement == nil || res.Statement.PredicateType != "https://slsa.dev/provenance/v1" {
		t.Errorf("statement %v", res.Statement)
	}
	if _, err := verifyBundle(s.TrustedRootJSON(), b, []byte("another file"), GitHubIssuer, sanPolicy); err == nil {
		t.Error("statement verified for a file it does not name")
	}
}

// TestRekorLog checks the log itself: inclusion proofs of old entries in a
// grown tree, the 409 for a duplicate, and sigstore-go's conflict path.
func TestRekorLog(t *testing.T) {
	for n := 1; n <= 17; n++ {
		var leaves [][]byte
		for i := 0; i < n; i++ {
			leaves = append(leaves, rfc6962.DefaultHasher.HashLeaf([]byte{byte(i)}))
		}
		root := mth(leaves)
		for i := 0; i < n; i++ {
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(n), leaves[i], inclusionPath(i, leaves), root); err != nil {
				t.Fatalf("n=%d i=%d: %v", n, i, err)
			}
		}
	}

	s := newTest(t)
	blob := []byte("x")
	first := s.SignBlob(t, blob)
	for i := 0; i < 4; i++ {
		s.SignBlob(t, []byte{byte(i)})
	}
	if s.RekorEntries() != 5 {
		t.Fatalf("%d entries, want 5", s.RekorEntries())
	}
	// The first entry, fetched now, is proven in the tree of 5.
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(first, &pb); err != nil {
		t.Fatal(err)
	}
	tle := pb.VerificationMaterial.TlogEntries[0]
	uuid := hex.EncodeToString(rfc6962.DefaultHasher.HashLeaf(tle.CanonicalizedBody))
	resp, err := http.Get(s.RekorURL() + "/api/v1/log/entries/" + uuid)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]struct {
		Verification struct {
			InclusionProof struct {
				TreeSize int64    `json:"treeSize"`
				Hashes   []string `json:"hashes"`
			} `json:"inclusionProof"`
		} `json:"verification"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if len(got) != 1 {
		t.Fatalf("GET by UUID: %v", got)
	}
	for id, e := range got {
		if !strings.HasSuffix(id, uuid) || len(id) != 80 {
			t.Errorf("entry ID %s", id)
		}
		if e.Verification.InclusionProof.TreeSize != 5 || len(e.Verification.InclusionProof.Hashes) == 0 {
			t.Errorf("proof %+v", e.Verification.InclusionProof)
		}
	}
	entry, err := tlog.NewTlogEntry(tle)
	if err != nil {
		t.Fatal(err)
	}
	tr := s.TrustedRoot()
	if err := tlog.VerifySET(entry, tr.RekorLogs()); err != nil {
		t.Errorf("SET: %v", err)
	}

	// The same signature again: Rekor answers 409 with the entry's
	// location, and sigstore-go's client fetches the existing entry.
	rk := sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL()})
	again := &protobundle.Bundle{}
	if err := protojson.Unmarshal(first, again); err != nil {
		t.Fatal(err)
	}
	again.VerificationMaterial.TlogEntries = nil
	certPEM := pemCert(mustCert(t, again.VerificationMaterial.GetCertificate().RawBytes))
	if err := rk.GetTransparencyLogEntry(context.Background(), []byte(certPEM), again); err != nil {
		t.Fatalf("resubmitting: %v", err)
	}
	if s.RekorEntries() != 5 || again.VerificationMaterial.TlogEntries[0].LogIndex != tle.LogIndex {
		t.Errorf("duplicate logged anew: %d entries, index %d vs %d", s.RekorEntries(), again.VerificationMaterial.TlogEntries[0].LogIndex, tle.LogIndex)
	}
	againJSON, _ := protojson.Marshal(again)
	if _, err := verifyBundle(s.TrustedRootJSON(), againJSON, blob, GitHubIssuer, sanPolicy); err != nil {
		t.Errorf("bundle with the fetched existing entry: %v", err)
	}
	// And the 409 itself, raw.
	body := fmt.Sprintf(`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"%s"}},"signature":{"content":"%s","publicKey":{"content":"%s"}}}}`,
		hex.EncodeToString(sha256Sum(blob)), base64.StdEncoding.EncodeToString(pb.GetMessageSignature().Signature), base64.StdEncoding.EncodeToString([]byte(certPEM)))
	resp, err = http.Post(s.RekorURL()+"/api/v1/log/entries", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 409 || !strings.HasSuffix(resp.Header.Get("Location"), uuid) {
		t.Errorf("duplicate: %d %s Location %q", resp.StatusCode, b, resp.Header.Get("Location"))
	}
	// A signature that does not verify is refused.
	bad := strings.Replace(body, hex.EncodeToString(sha256Sum(blob)), hex.EncodeToString(sha256Sum([]byte("y"))), 1)
	resp, err = http.Post(s.RekorURL()+"/api/v1/log/entries", "application/json", strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("bad signature: %d, want 400", resp.StatusCode)
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func mustCert(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFulcioRefuses: what Fulcio checks before issuing.
func TestFulcioRefuses(t *testing.T) {
	s := newTest(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubPEM, _ := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	sub := "repo:acme/plugins:ref:" + testRef
	proofOf := func(k *ecdsa.PrivateKey, msg string) string {
		d := sha256.Sum256([]byte(msg))
		sig, _ := ecdsa.SignASN1(rand.Reader, k, d[:])
		return base64.StdEncoding.EncodeToString(sig)
	}
	post := func(token, proof string) (int, string) {
		body, _ := json.Marshal(map[string]any{
			"credentials":      map[string]string{"oidcIdentityToken": token},
			"publicKeyRequest": map[string]any{"publicKey": map[string]string{"algorithm": "ECDSA", "content": string(pubPEM)}, "proofOfPossession": proof},
		})
		resp, err := http.Post(s.FulcioURL()+"/api/v2/signingCert", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tok := s.IDToken(t)
	if code, body := post(tok, proofOf(key, sub)); code != 200 || !strings.Contains(body, "signedCertificateEmbeddedSct") {
		t.Fatalf("good request: %d %s", code, body)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if code, body := post(tok, proofOf(other, sub)); code != 400 {
		t.Errorf("proof by another key: %d %s", code, body)
	}
	if code, body := post(tok, proofOf(key, "repo:acme/other:ref:refs/heads/main")); code != 400 {
		t.Errorf("proof over another subject: %d %s", code, body)
	}
	for name, mod := range map[string]func(map[string]any){
		"expired":        func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() },
		"other audience": func(c map[string]any) { c["aud"] = "https://github.com/acme" },
		"other issuer":   func(c map[string]any) { c["iss"] = "https://token.actions.example" },
		"no workflow":    func(c map[string]any) { delete(c, "job_workflow_ref") },
	} {
		bad, err := s.MintToken(mod)
		if err != nil {
			t.Fatal(err)
		}
		if code, body := post(bad, proofOf(key, sub)); code != 401 {
			t.Errorf("%s token: %d %s, want 401", name, code, body)
		}
	}
	// A token signed by another issuer's key, claiming this issuer.
	s2 := newTest(t)
	forged, _ := s2.MintToken(nil)
	if code, body := post(forged, proofOf(key, sub)); code != 401 {
		t.Errorf("token signed by another key: %d %s, want 401", code, body)
	}
}

func TestOptions(t *testing.T) {
	t.Run("RS256 and no CT log", func(t *testing.T) {
		s := newTest(t, func(o *Options) { o.TokenAlgorithm = "RS256"; o.NoCTLog = true })
		blob := []byte("b")
		b := s.SignBlob(t, blob)
		if _, err := verifyBundle(s.TrustedRootJSON(), b, blob, GitHubIssuer, sanPolicy, verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1)); err != nil {
			t.Fatalf("verify: %v", err)
		}
		_, err := verifyBundle(s.TrustedRootJSON(), b, blob, GitHubIssuer, sanPolicy)
		wantErr(t, err, "sct")
	})
	t.Run("reusable workflow", func(t *testing.T) {
		s := newTest(t, func(o *Options) {
			o.JobWorkflowRef = "plugship/workflows/.github/workflows/sign.yml@refs/heads/main"
		})
		if s.Identity() != "https://github.com/plugship/workflows/.github/workflows/sign.yml@refs/heads/main" {
			t.Fatal(s.Identity())
		}
		blob := []byte("b")
		res, err := verifyBundle(s.TrustedRootJSON(), s.SignBlob(t, blob), blob, GitHubIssuer, "^"+regexp.QuoteMeta(s.Identity())+"$")
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Signature.Certificate.BuildConfigURI; got != "https://github.com/acme/plugins/.github/workflows/release.yml@"+testRef {
			t.Errorf("build config URI %s", got)
		}
	})
}
