package badinput_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/trust"
)

// TestBadIndexStatements: what a host's fetch does with an index that is
// not the one its publisher signed last: replayed, expired, changed, with
// a damaged or foreign signature, or unsigned. Each is refused, the
// folder keeps the statement it accepted before, and the message says
// which it was and what to do.
func TestBadIndexStatements(t *testing.T) {
	f := signedFleet(t, "good")
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "channel")
	index := f.channel(t, dir, f.files["good"])
	statementFile := filepath.Join(dir, artifact.IndexStatementFile)
	plugins := filepath.Join(t.TempDir(), "plugins")
	fetchAt := func(ahead time.Duration) error {
		p := f.policy(t)
		p.Clock = func() time.Time { return time.Now().Add(ahead) }
		_, err := fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "good", Dir: plugins, Trust: p})
		return err
	}
	read := func(file string) []byte {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if err := fetchAt(0); err != nil {
		t.Fatal(err)
	}
	oldIndex, oldStatement := read(index), read(statementFile)
	signChannelAt(t, f.mod, f.dist, dir, time.Now().Add(4*24*time.Hour)) // refresh: version 2, same index, valid 11 days
	if err := fetchAt(0); err != nil {
		t.Fatal(err)
	}
	goodIndex, goodStatement := read(index), read(statementFile)

	foreign, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(foreign, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	st, err := trust.ReadIndexStatement(goodStatement)
	if err != nil {
		t.Fatal(err)
	}
	st.Version++
	payload, _ := st.Marshal()
	foreignStatement, err := attest.Envelope(sv, payload)
	if err != nil {
		t.Fatal(err)
	}
	damaged, err := plugtest.DamageSignature(goodStatement)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		kind   string
		ix, st []byte
		ahead  time.Duration
		is     error
		want   []string
	}{
		{"index-replayed", oldIndex, oldStatement, 0, trust.ErrIndexRolledBack, []string{"signed as version 1, older than version 2, which this host accepted before", "If the publisher really started its index again, delete"}},
		{"index-expired", goodIndex, goodStatement, 12 * 24 * time.Hour, trust.ErrIndexExpired, []string{"(version 2) expired at", "run the refresh workflow (go run mage.go refresh)"}},
		{"index-tampered", bytes.Replace(goodIndex, []byte(`"size": `), []byte(`"size": 9`), 1), goodStatement, 0, trust.ErrIndexChanged, []string{"says other files, versions or yanks", "it was changed after it was signed"}},
		{"index-bad-signature", goodIndex, damaged, 0, trust.ErrIndexSignature, []string{"does not verify under any index key of the trust policy"}},
		{"index-unsigned", goodIndex, nil, 0, trust.ErrIndexUnsigned, []string{"has no index.statement.json", "publish with a plugship that signs it"}},
		{"index-foreign-signer", goodIndex, foreignStatement, 0, trust.ErrIndexSignature, []string{"does not verify under any index key of the trust policy", "signed by someone else"}},
	} {
		if err := os.WriteFile(index, c.ix, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(statementFile)
		if c.st != nil {
			if err := os.WriteFile(statementFile, c.st, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		err := fetchAt(c.ahead)
		if !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want %v", c.kind, err, c.is)
			continue
		}
		missing := false
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: the refusal does not say %q:\n%v", c.kind, w, err)
				missing = true
			}
		}
		if !bytes.Equal(read(artifact.FetchedStatementFile(plugins, "good")), goodStatement) {
			t.Errorf("%s: the refused index replaced the statement the folder had accepted", c.kind)
			missing = true
		}
		if !missing {
			record(t, c.kind, "fetch", Refused, err.Error())
		}
	}
}
