package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// TestCheckIndex: a statement signed with the policy's index key is
// accepted until it expires, refused for another index, and refused in
// strict mode when the key is a development key; a policy with an index
// signer is v3, and v2 with one is refused.
func TestCheckIndex(t *testing.T) {
	priv, pub := generatePEMKeyPair(t, elliptic.P256())
	p := New()
	if err := p.AddIndexKey(pub, "7c59aa0064a3beef", true); err != nil {
		t.Fatal(err)
	}
	ix := &artifact.Index{Entries: []artifact.Entry{{Team: "payments", Plugin: "fraud", Version: "1.3.0", File: "fraud_v1.3.0_linux_amd64_go1.26.8-166835a9.so", SHA256: strings.Repeat("a", 64), Size: 1}}}
	digest, err := ix.ContentDigest()
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	payload, err := (&artifact.IndexStatement{Version: 3, Expires: expires, Index: digest}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(PAE(InTotoPayloadType, payload))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	envelope, _ := json.Marshal(map[string]any{"payloadType": InTotoPayloadType, "payload": base64.StdEncoding.EncodeToString(payload),
		"signatures": []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sig)}}})

	p.Clock = func() time.Time { return expires.Add(-time.Hour) }
	st, v, err := p.CheckIndex("channel", ix, envelope)
	if err != nil || st.Version != 3 || v.KeyID != "7c59aa0064a3beef" || !v.Development {
		t.Fatalf("a valid statement: %+v %+v %v", st, v, err)
	}
	if read, err := ReadIndexStatement(envelope); err != nil || *read != *st {
		t.Errorf("ReadIndexStatement = %+v, %v; CheckIndex read %+v", read, err, st)
	}
	p.Clock = func() time.Time { return expires }
	if _, _, err := p.CheckIndex("channel", ix, envelope); !errors.Is(err, ErrIndexExpired) {
		t.Errorf("at its expiry: %v", err)
	}
	p.Clock = func() time.Time { return expires.Add(-time.Hour) }
	other := &artifact.Index{Entries: append([]artifact.Entry{}, ix.Entries...)}
	other.Entries[0].Size = 2
	if _, _, err := p.CheckIndex("channel", other, envelope); !errors.Is(err, ErrIndexChanged) {
		t.Errorf("another index: %v", err)
	}
	located := &artifact.Index{Entries: append([]artifact.Entry{}, ix.Entries...)}
	located.Entries[0].Assets = map[string]string{located.Entries[0].File: "elsewhere/" + located.Entries[0].File}
	if _, _, err := p.CheckIndex("channel", located, envelope); err != nil {
		t.Errorf("the same index with other locations (a mirror's): %v", err)
	}
	p.Strict = true
	if _, _, err := p.CheckIndex("channel", ix, envelope); !errors.Is(err, ErrIndexSignature) || !strings.Contains(err.Error(), "DEVELOPMENT index key 7c59aa0064a3") {
		t.Errorf("a development key in strict mode: %v", err)
	}

	data, err := p.Marshal()
	if err != nil || p.Schema != SchemaV3 {
		t.Fatalf("Marshal: schema %s, %v", p.Schema, err)
	}
	if _, err := Parse(data); err != nil {
		t.Errorf("Parse of its own v3: %v", err)
	}
	v2 := strings.Replace(string(data), SchemaV3, SchemaV2, 1)
	if _, err := Parse([]byte(v2)); err == nil || !strings.Contains(err.Error(), "schema plugship.trust/v2 has no index signer") {
		t.Errorf("v2 with an index signer: %v", err)
	}
}
