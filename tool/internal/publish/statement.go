package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/trust"
)

// indexSigner signs the index statement for one store.
type indexSigner struct {
	opts   Options
	policy []byte // the trust.json published beside the index, whose index signer must accept the statement
	from   string // where policy came from, for messages
}

// newIndexSigner reads the trust policy to publish: dist/trust.json (the
// sign step's), else the store's published one (a yank or refresh run
// where nothing was signed).
func newIndexSigner(ctx context.Context, opts Options, store Store) (*indexSigner, error) {
	file := filepath.Join(opts.Dist, artifact.TrustFile)
	data, err := os.ReadFile(file)
	from := file
	if errors.Is(err, fs.ErrNotExist) {
		from = artifact.TrustFile + " of " + store.Describe()
		data, err = store.ReadIndex(ctx, artifact.TrustFile)
		if err == nil && data == nil {
			err = fmt.Errorf("no trust policy: %s does not exist and %s has none published; run go run mage.go sign first", file, store.Describe())
		}
	}
	if err != nil {
		return nil, err
	}
	return &indexSigner{opts: opts, policy: data, from: from}, nil
}

// sign publishes the trust policy beside the store's index ix and signs
// the index statement when it is due: when there is none, when it no
// longer names this index or policy, or does not verify under the
// policy, and when half its life has passed (refresh then signs it
// again). It returns the line to print, "" when nothing changed.
func (s *indexSigner) sign(ctx context.Context, store Store, ix *artifact.Index) (string, error) {
	policy, err := keyless.Parse(s.policy)
	if err != nil {
		return "", fmt.Errorf("the trust policy %s: %w", s.from, err)
	}
	policy.Clock = s.opts.Now
	if policy.IndexSigner == nil {
		return "", fmt.Errorf("the trust policy %s names no index signer: run go run mage.go sign again (this plugship writes it) before publishing", s.from)
	}
	if old, err := store.ReadIndex(ctx, artifact.TrustFile); err != nil {
		return "", err
	} else if string(old) != string(s.policy) {
		if err := store.WriteIndex(ctx, artifact.TrustFile, s.policy); err != nil {
			return "", fmt.Errorf("publishing %s: %w", artifact.TrustFile, err)
		}
	}
	digest, err := ix.ContentDigest()
	if err != nil {
		return "", err
	}
	trustSum := sha256.Sum256(s.policy)
	prevData, err := store.ReadIndex(ctx, artifact.IndexStatementFile)
	if err != nil {
		return "", err
	}
	next := &artifact.IndexStatement{Version: 1, Index: digest, Trust: hex.EncodeToString(trustSum[:]), Expires: s.opts.Now().UTC().Add(s.opts.Repo.IndexExpiry).Truncate(time.Second)}
	if prevData != nil {
		prev, err := trust.ReadIndexStatement(prevData)
		if err != nil {
			return "", fmt.Errorf("the published %s of %s: %w; hosts that accepted it would refuse a new one numbered 1: fix or remove it by hand", artifact.IndexStatementFile, store.Describe(), err)
		}
		_, _, verr := policy.CheckIndex(store.Describe(), ix, prevData)
		if verr == nil && prev.Trust == next.Trust && s.opts.Now().Before(prev.Expires.Add(-s.opts.Repo.IndexExpiry/2)) {
			return "", nil // still names this index and policy, and fresh
		}
		next.Version = prev.Version + 1
	}
	signer, err := keys.IndexSigner(ctx, s.opts.Root, s.opts.Dist)
	if err != nil {
		return "", fmt.Errorf("signing %s: %w", artifact.IndexStatementFile, err)
	}
	payload, err := next.Marshal()
	if err != nil {
		return "", err
	}
	envelope, err := attest.Envelope(signer, payload)
	if err != nil {
		return "", fmt.Errorf("signing %s with %s: %w", artifact.IndexStatementFile, signer.Describe(), err)
	}
	if _, _, err := policy.CheckIndex(store.Describe(), ix, envelope); err != nil {
		return "", fmt.Errorf("%s signed with %s would be refused by hosts under %s: %w; sign with the index key that policy names (%s, or .keys/%s), or run go run mage.go sign to write the policy for this key", artifact.IndexStatementFile, signer.Describe(), s.from, err, keys.IndexKeyEnv, keys.IndexPrivateName)
	}
	if err := store.WriteIndex(ctx, artifact.IndexStatementFile, envelope); err != nil {
		return "", fmt.Errorf("publishing %s: %w", artifact.IndexStatementFile, err)
	}
	return fmt.Sprintf("index signed: version %d, expires %s, by the index %s", next.Version, next.Expires.Format(time.RFC3339), signer.Describe()), nil
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
	line, err := signIndex(ctx, opts, store, ix)
	if err != nil {
		return err
	}
	if line == "" {
		prev, _ := store.ReadIndex(ctx, artifact.IndexStatementFile)
		st, err := trust.ReadIndexStatement(prev)
		if err != nil {
			return err
		}
		line = fmt.Sprintf("index statement version %d is valid until %s: nothing to sign", st.Version, st.Expires.Format(time.RFC3339))
	}
	fmt.Fprintf(out, "%s\n  index %s\n", line, indexLocation(ctx, store))
	return nil
}
