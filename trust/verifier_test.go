package trust

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// signer signs messages as cosign's keys do for the key's type.
type signer func(msg []byte) []byte

// keyPair makes a key of kind and returns its PKIX public key PEM and a
// signer.
func keyPair(t testing.TB, kind string) ([]byte, signer) {
	t.Helper()
	var pub crypto.PublicKey
	var sign signer
	switch kind {
	case "ecdsa":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, sign = &k.PublicKey, func(msg []byte) []byte {
			sum := sha256.Sum256(msg)
			sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub, sign = &k.PublicKey, func(msg []byte) []byte {
			sum := sha256.Sum256(msg)
			sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
	case "ed25519":
		p, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, sign = p, func(msg []byte) []byte { return ed25519.Sign(k, msg) }
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), sign
}

// TestVerifier: a signature over the message verifies under its key of
// each type and not under another key, nor over another message.
func TestVerifier(t *testing.T) {
	msg := []byte("the bytes of a plugin file")
	for _, kind := range []string{"ecdsa", "rsa", "ed25519"} {
		pemData, sign := keyPair(t, kind)
		otherPEM, _ := keyPair(t, kind)
		v, err := ParsePublicKey(pemData)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		other, err := ParsePublicKey(otherPEM)
		if err != nil {
			t.Fatal(err)
		}
		sig := sign(msg)
		if err := v.Verify(bytes.NewReader(msg), sig); err != nil {
			t.Errorf("%s: a good signature: %v", kind, err)
		}
		if err := v.Verify(bytes.NewReader(append(msg, '!')), sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: another message: %v, want ErrBadSignature", kind, err)
		}
		if err := other.Verify(bytes.NewReader(msg), sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: another key: %v, want ErrBadSignature", kind, err)
		}
	}
	if _, err := ParsePublicKey([]byte("not a key")); err == nil {
		t.Error("a non-PEM key parsed")
	}
}

// TestParsePublicKeyAgreesWithX509: the hand-written SubjectPublicKeyInfo
// decoder reads every key crypto/x509 reads to the same key, and refuses
// what it refuses.
func TestParsePublicKeyAgreesWithX509(t *testing.T) {
	var ders [][]byte
	for _, kind := range []string{"ecdsa", "rsa", "ed25519"} {
		pemData, _ := keyPair(t, kind)
		block, _ := pem.Decode(pemData)
		ders = append(ders, block.Bytes)
	}
	for _, curve := range []elliptic.Curve{elliptic.P384(), elliptic.P521()} {
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		ders = append(ders, der)
	}
	for i, der := range ders {
		want, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parsePKIX(der)
		if err != nil {
			t.Fatalf("key %d (%T): %v", i, want, err)
		}
		if !want.(interface{ Equal(crypto.PublicKey) bool }).Equal(got) {
			t.Errorf("key %d: %T differs from crypto/x509's", i, got)
		}
		for _, bad := range [][]byte{der[:len(der)-1], append(bytes.Clone(der), 0), {}} {
			if _, err := parsePKIX(bad); err == nil {
				t.Errorf("key %d: a spoilt copy parsed", i)
			}
		}
	}
}

// FuzzParsePublicKey: whatever parsePKIX accepts, crypto/x509 accepts as
// the same key.
func FuzzParsePublicKey(f *testing.F) {
	for _, kind := range []string{"ecdsa", "rsa", "ed25519"} {
		pemData, _ := keyPair(f, kind)
		block, _ := pem.Decode(pemData)
		f.Add(block.Bytes)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		got, err := parsePKIX(der)
		if err != nil {
			return
		}
		want, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatalf("parsePKIX accepted what crypto/x509 refuses (%v)", err)
		}
		if !want.(interface{ Equal(crypto.PublicKey) bool }).Equal(got) {
			t.Fatalf("parsePKIX read another key than crypto/x509")
		}
	})
}

// TestVerifyEnvelope: a DSSE envelope signed over its pre-authentication
// encoding verifies and yields its payload; another payload type, a
// changed payload or another key's signature is refused.
func TestVerifyEnvelope(t *testing.T) {
	pemData, sign := keyPair(t, "ecdsa")
	v, err := ParsePublicKey(pemData)
	if err != nil {
		t.Fatal(err)
	}
	envelope := func(payloadType string, payload, signed []byte) []byte {
		data, err := json.Marshal(map[string]any{
			"payloadType": payloadType,
			"payload":     base64.StdEncoding.EncodeToString(payload),
			"signatures":  []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sign(PAE(payloadType, signed)))}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	payload := []byte(`{"predicateType":"https://slsa.dev/provenance/v1"}`)
	got, err := VerifyEnvelope(v, envelope(InTotoPayloadType, payload, payload), InTotoPayloadType)
	if err != nil || !bytes.Equal(got, payload) {
		t.Errorf("a good envelope: %q, %v", got, err)
	}
	if _, err := VerifyEnvelope(v, envelope("text/plain", payload, payload), InTotoPayloadType); err == nil || !strings.Contains(err.Error(), `payload type "text/plain"`) {
		t.Errorf("another payload type: %v", err)
	}
	if _, err := VerifyEnvelope(v, envelope(InTotoPayloadType, []byte(`{"x":1}`), payload), InTotoPayloadType); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a changed payload: %v, want ErrBadSignature", err)
	}
	if want := "DSSEv1 4 type 7 payload"; string(PAE("type", []byte("payload"))) != want {
		t.Errorf("PAE = %q, want %q", PAE("type", []byte("payload")), want)
	}
}

// TestKeylessOnlyWithoutChecker: a policy without a KeylessChecker (a host
// that did not opt in) refuses a file that only a keyless bundle covers,
// naming the bundle and what to import, before reading the file as code.
func TestKeylessOnlyWithoutChecker(t *testing.T) {
	p := New()
	p.Plugins["fx"] = "fixtures"
	if err := p.AddIdentity("fixtures", Identity{Issuer: GitHubIssuer, Subject: "https://github.com/acme/plugins/.github/workflows/release.yml@refs/heads/main"}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetSigstoreRoot([]byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "fx_v1.0.0_linux_amd64_go1.26.8-1a2b3c4d.so")
	bundle := `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"AA=="}},"messageSignature":{}}`
	for name, data := range map[string]string{file: "code", file + BundleSuffix: bundle} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := p.Check(file)
	if !errors.Is(err, ErrNoKeyless) || !strings.Contains(err.Error(), filepath.Base(file)+BundleSuffix+" is signed keylessly") || !strings.Contains(err.Error(), ImportKeyless) {
		t.Errorf("Check = %v", err)
	}
	if IsKeyless([]byte(strings.Replace(bundle, `"certificate"`, `"publicKey"`, 1))) {
		t.Error("a key-based bundle taken for a keyless one")
	}
}
