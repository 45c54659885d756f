package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/keylesssign"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/trust"
)

// signedIndex is the store's index statement after signIndex: the one
// it signed (By says who), or the published one, still due to nothing
// (By is "").
type signedIndex struct {
	*artifact.IndexStatement
	By string
}

// line is what publish, yank and refresh print of it.
func (s signedIndex) line() string {
	if s.By == "" {
		return fmt.Sprintf("index statement version %d is valid until %s: nothing to sign", s.Version, s.Expires.Format(time.RFC3339))
	}
	return fmt.Sprintf("index signed: version %d, expires %s, by %s", s.Version, s.Expires.Format(time.RFC3339), s.By)
}

// publishedPolicy is the trust policy to publish beside the index, and
// where it came from for messages: dist/trust.json (the sign step's),
// else the store's published one (a yank or refresh run where nothing
// was signed).
func publishedPolicy(ctx context.Context, opts Options, store Store) (data []byte, from string, err error) {
	file := filepath.Join(opts.Dist, artifact.TrustFile)
	data, err = os.ReadFile(file)
	if !errors.Is(err, fs.ErrNotExist) {
		return data, file, err
	}
	data, err = store.ReadIndex(ctx, artifact.TrustFile)
	if err == nil && data == nil {
		err = fmt.Errorf("no trust policy: %s does not exist and %s has none published; run go run mage.go sign first", file, store.Describe())
	}
	return data, artifact.TrustFile + " of " + store.Describe(), err
}

// signIndex publishes the trust policy beside the store's index ix and
// signs the index statement when it is due: when there is none, when it
// no longer names this index or policy, or does not verify under the
// policy, and when half its life has passed (refresh then signs it
// again).
func signIndex(ctx context.Context, opts Options, store Store, ix *artifact.Index) (signedIndex, error) {
	data, from, err := publishedPolicy(ctx, opts, store)
	if err != nil {
		return signedIndex{}, err
	}
	policy, err := keyless.Parse(data) // the statement may be keyless
	if err != nil {
		return signedIndex{}, fmt.Errorf("the trust policy %s: %w", from, err)
	}
	policy.Clock = opts.Now
	if policy.IndexSigner == nil {
		return signedIndex{}, fmt.Errorf("the trust policy %s names no index signer: run go run mage.go sign again (this plugship writes it) before publishing", from)
	}
	if err := putIndexFile(ctx, store, artifact.TrustFile, data); err != nil {
		return signedIndex{}, fmt.Errorf("publishing %s: %w", artifact.TrustFile, err)
	}
	digest, err := ix.ContentDigest()
	if err != nil {
		return signedIndex{}, err
	}
	trustSum := sha256.Sum256(data)
	prevData, err := store.ReadIndex(ctx, artifact.IndexStatementFile)
	if err != nil {
		return signedIndex{}, err
	}
	next := &artifact.IndexStatement{Version: 1, Index: digest, Trust: hex.EncodeToString(trustSum[:]), Expires: opts.Now().UTC().Add(opts.Repo.IndexExpiry).Truncate(time.Second)}
	if prevData != nil {
		prev, err := trust.ReadIndexStatement(prevData)
		if err != nil {
			return signedIndex{}, fmt.Errorf("the published %s of %s: %w; hosts that accepted it would refuse a new one numbered 1: fix or remove it by hand", artifact.IndexStatementFile, store.Describe(), err)
		}
		_, _, verr := policy.CheckIndex(store.Describe(), ix, prevData)
		if verr == nil && prev.Trust == next.Trust && opts.Now().Before(prev.Expires.Add(-opts.Repo.IndexExpiry/2)) {
			return signedIndex{IndexStatement: prev}, nil // still names this index and policy, and fresh
		}
		next.Version = prev.Version + 1
	}
	payload, err := next.Marshal()
	if err != nil {
		return signedIndex{}, err
	}
	envelope, by, err := signStatement(ctx, opts, payload)
	if err != nil {
		return signedIndex{}, fmt.Errorf("signing %s: %w", artifact.IndexStatementFile, err)
	}
	if _, _, err := policy.CheckIndex(store.Describe(), ix, envelope); err != nil {
		return signedIndex{}, fmt.Errorf("%s signed by %s would be refused by hosts under %s: %w; sign with the index key that policy names (%s, or .keys/%s) or one of its index identities, or run go run mage.go sign to write the policy for this signer", artifact.IndexStatementFile, by, from, err, keys.IndexKeyEnv, keys.IndexPrivateName)
	}
	if err := store.WriteIndex(ctx, artifact.IndexStatementFile, envelope); err != nil {
		return signedIndex{}, fmt.Errorf("publishing %s: %w", artifact.IndexStatementFile, err)
	}
	return signedIndex{IndexStatement: next, By: by}, nil
}

// signStatement signs the statement's payload: keylessly, as a Sigstore
// bundle of a DSSE envelope, where plugship.yaml names index.identities
// and an OIDC token is available (a workflow with id-token: write);
// else as a DSSE envelope with the index key. It returns the signed
// statement and who signed it, for output.
func signStatement(ctx context.Context, opts Options, payload []byte) ([]byte, string, error) {
	if len(opts.Repo.IndexIdentities) > 0 {
		token, err := keylesssign.IDToken(ctx, &http.Client{Timeout: time.Minute})
		if err != nil {
			return nil, "", err
		}
		if token != "" {
			ks := &keylesssign.Signer{Fulcio: opts.Repo.Fulcio, Rekor: opts.Repo.Rekor, Token: token}
			bundle, err := ks.Bundle(ctx, &sgsign.DSSEData{Data: payload, PayloadType: trust.InTotoPayloadType})
			return bundle, ks.Describe(), err
		}
	}
	signer, err := keys.IndexSigner(ctx, opts.Root, opts.Dist)
	if err != nil {
		return nil, "", err
	}
	envelope, err := attest.Envelope(signer, payload)
	return envelope, "the index " + signer.Describe(), err
}

// Refresh signs the published index statement again when half of its
// life has passed (or it no longer names the published index and
// policy), so that hosts never find it expired: the refresh workflow
// runs it every day. It changes nothing else.
func Refresh(ctx context.Context, opts Options, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	store, err := opts.store()
	if err != nil {
		return err
	}
	data, err := store.ReadIndex(ctx, IndexFile)
	if err != nil {
		return fmt.Errorf("reading the index of %s: %w", store.Describe(), err)
	}
	if data == nil {
		return fmt.Errorf("%s has no index to sign: publish first (go run mage.go publish)", store.Describe())
	}
	ix, err := artifact.ParseIndex(data)
	if err != nil {
		return fmt.Errorf("the index of %s: %w", store.Describe(), err)
	}
	signed, err := signIndex(ctx, opts, store, ix)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n  index %s\n", signed.line(), indexLocation(ctx, store))
	return nil
}
