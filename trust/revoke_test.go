package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRevokedKey: a key revoked from a time on. Its .sig proves no signing
// time, so the file is accepted until then and refused from then on,
// naming the key, the time and the reason. A policy that revokes is v2;
// v1 with a revocation is refused.
func TestRevokedKey(t *testing.T) {
	priv, pub := generatePEMKeyPair(t, elliptic.P256())
	p := New()
	if err := p.AddKey("payments", pub, "3f2a9c1b0d4e5f60", false); err != nil {
		t.Fatal(err)
	}
	p.Plugins["fraud"] = "payments"
	file := filepath.Join(t.TempDir(), "fraud_v1.3.0_linux_amd64_go1.26.8-166835a9.so")
	data := []byte("the plugin's bytes")
	sum := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, data, 0o644)
	os.WriteFile(file+SignatureSuffix, []byte(base64.StdEncoding.EncodeToString(sig)), 0o644)
	if _, err := p.Check(file); err != nil {
		t.Fatalf("before any revocation: %v", err)
	}
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	p.Teams["payments"].Keys[0].Revoked = &Revocation{At: at, Reason: "leaked in a CI log"}
	p.Clock = func() time.Time { return at.Add(-time.Minute) }
	if _, err := p.Check(file); err != nil {
		t.Errorf("a minute before the revocation: %v", err)
	}
	p.Clock = func() time.Time { return at }
	_, err = p.Check(file)
	if want := "revoked: signed with team payments's key 3f2a9c1b0d4e, revoked since 2026-12-03T10:00:00Z (leaked in a CI log), and a .sig proves no signing time; refused"; err == nil || !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), want) {
		t.Errorf("at the revocation: %v, want %q", err, want)
	}

	out, err := p.Marshal()
	if err != nil || !strings.Contains(string(out), `"schema": "plugship.trust/v2"`) {
		t.Fatalf("a policy that revokes: %v\n%s", err, out)
	}
	back, err := Parse(out)
	if err != nil || back.Teams["payments"].Keys[0].Revoked == nil || !back.Teams["payments"].Keys[0].Revoked.At.Equal(at) {
		t.Fatalf("parsed back: %v %+v", err, back)
	}
	v1 := strings.Replace(string(out), SchemaV2, SchemaV1, 1)
	if _, err := Parse([]byte(v1)); err == nil || !strings.Contains(err.Error(), "schema plugship.trust/v1 has no revocations") {
		t.Errorf("v1 with a revocation: %v", err)
	}
	p.Teams["payments"].Keys[0].Revoked = nil
	if out, _ := p.Marshal(); !strings.Contains(string(out), `"schema": "plugship.trust/v1"`) {
		t.Errorf("a policy that revokes nothing is not v1:\n%s", out)
	}
}

// TestRevokedIdentity: a keyless verdict is compared by its proven
// signing time.
func TestRevokedIdentity(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	id := Identity{Issuer: GitHubIssuer, Subject: "https://github.com/acme/plugins/.github/workflows/release.yml@refs/tags/payments/fraud/v1.3.0"}
	p := New()
	if err := p.AddIdentity("payments", id); err != nil {
		t.Fatal(err)
	}
	p.Teams["payments"].Identities[0].Revoked = &Revocation{At: at, Reason: "the workflow ran a hijacked action"}
	for _, c := range []struct {
		signed time.Time
		clock  time.Time
		want   string // "" accepted
	}{
		{at.Add(-time.Second), at.Add(time.Hour), ""},
		{at, at.Add(time.Hour), "revoked: signed at 2026-12-03T10:00:00Z by team payments's identity " + id.String() + ", revoked since 2026-12-03T10:00:00Z (the workflow ran a hijacked action); refused"},
		{time.Time{}, at.Add(-time.Hour), ""},
		{time.Time{}, at, "and nothing proves when; refused"},
	} {
		p.Clock = func() time.Time { return c.clock }
		err := p.revokedIdentity(&Verdict{Team: "payments", Identity: id.String(), SignedAt: c.signed})
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("signed at %v, now %v: %v, want %q", c.signed, c.clock, err, c.want)
		}
	}
}
