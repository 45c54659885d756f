package trust

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
)

// Verifier checks signatures made by one public key, as cosign and
// sigstore/sigstore make them: ECDSA (ASN.1) and RSA (PKCS #1 v1.5) over
// the message's SHA-256, Ed25519 over the message itself. It is the
// standard library's crypto only, so that a host that trusts keys links
// nothing else.
type Verifier interface {
	// Verify checks sig over everything message holds.
	Verify(message io.Reader, sig []byte) error
	// PublicKey is the key that signatures are checked with.
	PublicKey() crypto.PublicKey
}

// ErrBadSignature marks a signature that does not match the message under
// the key: the message changed, or another key signed it.
var ErrBadSignature = errors.New("invalid signature")

// ParsePublicKey reads a PKIX public key PEM ("PUBLIC KEY", as cosign
// writes cosign.pub) of an ECDSA (P-256, P-384, P-521), RSA or Ed25519
// key into a Verifier.
//
// It decodes the SubjectPublicKeyInfo with encoding/asn1 rather than
// crypto/x509, which would add about 0.8 MB (and package net) to every
// host; x509.ParsePKIXPublicKey reads the same keys, and the tests check
// that both agree.
func ParsePublicKey(pemData []byte) (Verifier, error) {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	pub, err := parsePKIX(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return NewVerifier(pub)
}

// The algorithms and named curves of RFC 5480 and RFC 8410.
var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidEd25519     = asn1.ObjectIdentifier{1, 3, 101, 112}
	namedCurves    = map[string]elliptic.Curve{
		"1.2.840.10045.3.1.7": elliptic.P256(),
		"1.3.132.0.34":        elliptic.P384(),
		"1.3.132.0.35":        elliptic.P521(),
	}
)

// parsePKIX decodes a DER SubjectPublicKeyInfo.
func parsePKIX(der []byte) (crypto.PublicKey, error) {
	var info struct {
		Algorithm struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue `asn1:"optional"`
		}
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("not a PKIX public key: %w", err)
	} else if len(rest) > 0 {
		return nil, errors.New("not a PKIX public key: trailing data")
	}
	key := info.PublicKey.RightAlign()
	switch alg := info.Algorithm.Algorithm; {
	case alg.Equal(oidECPublicKey):
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &curve); err != nil {
			return nil, errors.New("ECDSA key without a named curve")
		}
		c := namedCurves[curve.String()]
		if c == nil {
			return nil, fmt.Errorf("ECDSA key on curve %s: want P-256, P-384 or P-521", curve)
		}
		return ecdsa.ParseUncompressedPublicKey(c, key)
	case alg.Equal(oidRSA):
		if !bytes.Equal(info.Algorithm.Parameters.FullBytes, asn1.NullBytes) {
			return nil, errors.New("RSA key without NULL parameters")
		}
		var k struct {
			N *big.Int
			E int
		}
		if rest, err := asn1.Unmarshal(key, &k); err != nil || len(rest) > 0 || k.N == nil || k.N.Sign() <= 0 || k.E < 3 || k.E&1 == 0 || k.E > 1<<31-1 {
			return nil, errors.New("malformed RSA public key")
		}
		return &rsa.PublicKey{N: k.N, E: k.E}, nil
	case alg.Equal(oidEd25519):
		if len(info.Algorithm.Parameters.FullBytes) != 0 {
			return nil, errors.New("Ed25519 key with parameters")
		}
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 key of %d bytes, want %d", len(key), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(key), nil
	default:
		return nil, fmt.Errorf("key algorithm %s: plugship verifies ECDSA, RSA and Ed25519 keys", alg)
	}
}

// NewVerifier returns the Verifier of an ECDSA, RSA or Ed25519 public key.
func NewVerifier(pub crypto.PublicKey) (Verifier, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsaVerifier{k}, nil
	case *rsa.PublicKey:
		return rsaVerifier{k}, nil
	case ed25519.PublicKey:
		return ed25519Verifier{k}, nil
	}
	return nil, fmt.Errorf("public key of type %T: plugship verifies ECDSA, RSA and Ed25519 keys", pub)
}

type ecdsaVerifier struct{ k *ecdsa.PublicKey }

func (v ecdsaVerifier) PublicKey() crypto.PublicKey { return v.k }

func (v ecdsaVerifier) Verify(message io.Reader, sig []byte) error {
	sum, err := digest(message)
	if err != nil {
		return err
	}
	if !ecdsa.VerifyASN1(v.k, sum, sig) {
		return ErrBadSignature
	}
	return nil
}

type rsaVerifier struct{ k *rsa.PublicKey }

func (v rsaVerifier) PublicKey() crypto.PublicKey { return v.k }

func (v rsaVerifier) Verify(message io.Reader, sig []byte) error {
	sum, err := digest(message)
	if err != nil {
		return err
	}
	if rsa.VerifyPKCS1v15(v.k, crypto.SHA256, sum, sig) != nil {
		return ErrBadSignature
	}
	return nil
}

type ed25519Verifier struct{ k ed25519.PublicKey }

func (v ed25519Verifier) PublicKey() crypto.PublicKey { return v.k }

// Verify reads the whole message: Ed25519 signs the message, not a digest.
func (v ed25519Verifier) Verify(message io.Reader, sig []byte) error {
	data, err := io.ReadAll(message)
	if err != nil {
		return err
	}
	if !ed25519.Verify(v.k, data, sig) {
		return ErrBadSignature
	}
	return nil
}

// digest is the SHA-256 of everything r holds, streamed.
func digest(r io.Reader) ([]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// maxEnvelope bounds a DSSE envelope: a provenance statement of a few KiB.
const maxEnvelope = 1 << 20

// VerifyEnvelope checks a DSSE envelope (JSON: payloadType, payload and
// signatures, base64) whose payload type is payloadType: some signature in
// it must verify under v over the envelope's pre-authentication encoding
// (DSSE v1, as sigstore/sigstore's dsse package signs it). It returns the
// decoded payload.
func VerifyEnvelope(v Verifier, envelope []byte, payloadType string) ([]byte, error) {
	if len(envelope) > maxEnvelope {
		return nil, fmt.Errorf("envelope larger than %d bytes", maxEnvelope)
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	if env.PayloadType != payloadType {
		return nil, fmt.Errorf("payload type %q, want %q", env.PayloadType, payloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload: not base64: %w", err)
	}
	if len(env.Signatures) == 0 {
		return nil, errors.New("the envelope holds no signature")
	}
	pae := PAE(env.PayloadType, payload)
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			continue
		}
		if v.Verify(bytes.NewReader(pae), sig) == nil {
			return payload, nil
		}
	}
	return nil, fmt.Errorf("no signature of the envelope verifies under the key: %w", ErrBadSignature)
}

// PAE is DSSE's pre-authentication encoding of a payload: what the
// envelope's signatures sign.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}
