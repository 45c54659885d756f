package attest

import (
	"bytes"
	"testing"
)

func TestBundleRoundTrip(t *testing.T) {
	data, err := Bundle([]byte("0123456789abcdef0123456789abcdef"), []byte("sig"), "key")
	if err != nil {
		t.Fatal(err)
	}
	digest, sig, hint, err := ParseBundle(data)
	if err != nil || string(digest) != "0123456789abcdef0123456789abcdef" || string(sig) != "sig" || hint != "key" {
		t.Errorf("ParseBundle = %q %q %q %v", digest, sig, hint, err)
	}
	for _, bad := range []string{`{}`, `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`, `nope`} {
		if _, _, _, err := ParseBundle([]byte(bad)); err == nil {
			t.Errorf("ParseBundle(%s) accepted", bad)
		}
	}
}

// FuzzParseBundle: bundles are read back from disk and releases.
func FuzzParseBundle(f *testing.F) {
	data, _ := Bundle(bytes.Repeat([]byte{1}, 32), []byte("sig"), "key")
	f.Add(data)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		digest, sig, hint, err := ParseBundle(data)
		if err != nil {
			return
		}
		again, err := Bundle(digest, sig, hint)
		if err != nil {
			t.Fatal(err)
		}
		d2, s2, h2, err := ParseBundle(again)
		if err != nil || !bytes.Equal(d2, digest) || !bytes.Equal(s2, sig) || h2 != hint {
			t.Fatalf("round trip changed the bundle: %v", err)
		}
	})
}
