package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

// generatePEMKeyPair makes an ECDSA key pair and returns its private key
// and the public key as PKIX PEM, as cosign.pub holds it.
func generatePEMKeyPair(t testing.TB, curve elliptic.Curve) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestParse(t *testing.T) {
	_, pub := generatePEMKeyPair(t, elliptic.P256())
	good := New()
	if err := good.AddKey("payments", pub, "abc", false); err != nil {
		t.Fatal(err)
	}
	good.Plugins["fraud"] = "payments"
	data, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Plugins["fraud"] != "payments" || p.Verifier("abc") == nil || p.Strict {
		t.Errorf("parsed %+v", p)
	}
	for _, tc := range []struct{ data, want string }{
		{`{"schema":"plugship.trust/v0"}`, "schema"},
		{`{"schema":"plugship.trust/v1","extra":1}`, `unknown field "extra"`},
		{`{"schema":"plugship.trust/v1","teams":{},"plugins":{"fraud":"payments"}}`, "plugin fraud belongs to team payments, which has no keys"},
		{`{"schema":"plugship.trust/v1","teams":{"payments":{"keys":[{"id":"x","pem":"nope"}]}}}`, "team payments key 0"},
		{`{"schema":"plugship.trust/v1","teams":{"payments":{"keys":[]}}}`, "team payments has no keys"},
	} {
		if _, err := Parse([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want %q", tc.data, err, tc.want)
		}
	}
	if _, err := good.Check("/x/other_v1.0.0_linux_amd64_go1.26.8-1a2b3c4d.so"); err == nil || !strings.Contains(err.Error(), "plugin other is not in the trust policy") {
		t.Errorf("unknown plugin: %v", err)
	}
	if _, err := good.Check("/x/fraud.so"); err == nil {
		t.Errorf("bad name accepted")
	}
}

// FuzzParse: a trust policy may be embedded or read from disk.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"schema":"plugship.trust/v1","teams":{},"plugins":{}}`))
	f.Add([]byte(`{"schema":"plugship.trust/v1","teams":{"t":{"keys":[{"id":"x","pem":"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
	})
}
