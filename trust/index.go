package trust

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// IndexSignerRole names the index signer in messages and verdicts.
const IndexSignerRole = "index signer"

// The refusals of an index statement. Each error names the statement,
// what failed and what to do; errors.Is tells them apart.
var (
	// ErrIndexUnsigned: the store has no statement, though the policy
	// names an index signer.
	ErrIndexUnsigned = errors.New("index not signed")
	// ErrIndexSignature: the statement's signature does not verify under
	// the index signer (or is the wrong kind, or revoked).
	ErrIndexSignature = errors.New("index signature refused")
	// ErrIndexChanged: index.json is not the file the statement signs.
	ErrIndexChanged = errors.New("index changed after signing")
	// ErrIndexExpired: the statement's expiry has passed.
	ErrIndexExpired = errors.New("index statement expired")
	// ErrIndexRolledBack: the statement is older than one already
	// accepted (fetch checks it; see artifact.FetchedStatementFile).
	ErrIndexRolledBack = errors.New("index rolled back")
)

// IndexSigner is who signs the index statement: the repository's index
// keys (the committed one, and a development key), and the keyless
// identities of the workflows that publish (plugship.yaml's
// index.identities), checked as a team's against the policy's trusted
// root.
type IndexSigner struct {
	Keys       []Key      `json:"keys,omitempty"`
	Identities []Identity `json:"identities,omitempty"`
}

// AddIndexKey makes the key (PEM, its ID) an index signer.
func (p *Policy) AddIndexKey(pemData []byte, id string, development bool) error {
	v, err := ParsePublicKey(pemData)
	if err != nil {
		return fmt.Errorf("index key: %w", err)
	}
	if p.IndexSigner == nil {
		p.IndexSigner = &IndexSigner{}
	}
	for _, k := range p.IndexSigner.Keys {
		if k.ID == id {
			return nil
		}
	}
	p.IndexSigner.Keys = append(p.IndexSigner.Keys, Key{ID: id, PEM: string(pemData), Development: development})
	p.verifiers[id] = v
	return nil
}

// AddIndexIdentity makes a keyless identity an index signer.
func (p *Policy) AddIndexIdentity(id Identity) error {
	if err := id.Check(); err != nil {
		return fmt.Errorf("index identity: %w", err)
	}
	if p.IndexSigner == nil {
		p.IndexSigner = &IndexSigner{}
	}
	if !slices.Contains(p.IndexSigner.Identities, id) {
		p.IndexSigner.Identities = append(p.IndexSigner.Identities, id)
	}
	return nil
}

// CheckIndex checks the signed statement (the content of
// index.statement.json) of an index: it is signed by the policy's index
// signer (a DSSE envelope by an index key, or a keyless Sigstore bundle of
// it by an index identity, which needs p.Keyless), it names this index's
// ContentDigest, and it has not expired (p.Clock). It returns what the
// statement says and who signed it. where names the index's store in
// messages.
func (p *Policy) CheckIndex(where string, ix *artifact.Index, statement []byte) (*artifact.IndexStatement, *Verdict, error) {
	label := artifact.IndexStatementFile + " of " + where
	if p.IndexSigner == nil {
		return nil, nil, errors.New("the trust policy names no index signer to check the index with")
	}
	if statement == nil {
		return nil, nil, fmt.Errorf("%w: %s has no %s, and this host's trust policy wants the index signed by its index signer; refused: publish with a plugship that signs it (go run mage.go publish), or check that the index is the one you meant", ErrIndexUnsigned, where, artifact.IndexStatementFile)
	}
	digest, err := ix.ContentDigest()
	if err != nil {
		return nil, nil, err
	}
	var (
		verdict *Verdict
		payload []byte
	)
	if IsBundle(statement) {
		verdict, payload, err = p.checkIndexBundle(label, digest, statement)
	} else {
		verdict, payload, err = p.checkIndexEnvelope(label, statement)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w; the index may have been changed or signed by someone else: fetch it from the publisher's own store, or publish again", ErrIndexSignature, err)
	}
	st, err := artifact.ParseIndexStatement(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrIndexSignature, err)
	}
	if st.Index != digest {
		return nil, nil, fmt.Errorf("%w: %s of %s says other files, versions or yanks (content sha256 %.12s) than its signed statement (version %d, %.12s): it was changed after it was signed (or a publish is writing it: fetch again in a minute); refused", ErrIndexChanged, artifact.IndexFile, where, digest, st.Version, st.Index)
	}
	if now := p.now(); !now.Before(st.Expires) {
		return nil, nil, fmt.Errorf("%w: %s (version %d) expired at %s, %s ago: the publisher has not signed the index again (the release workflow's refresh does it every day), or someone is serving an old copy; refused: run the refresh workflow (go run mage.go refresh), and until then hosts keep what they have", ErrIndexExpired, label, st.Version, st.Expires.UTC().Format(time.RFC3339), now.Sub(st.Expires).Round(time.Second))
	}
	return st, verdict, nil
}

// checkIndexBundle verifies a keyless Sigstore bundle of the statement
// (a DSSE envelope whose subject is the index's content digest) under the
// index identities.
func (p *Policy) checkIndexBundle(label, digest string, bundle []byte) (*Verdict, []byte, error) {
	if p.Keyless == nil {
		return nil, nil, p.noKeyless(label)
	}
	if len(p.IndexSigner.Identities) == 0 || len(p.SigstoreRoot) == 0 {
		return nil, nil, fmt.Errorf("%s is signed keylessly, but the trust policy names no index identity (and trusted root) to check it with: add the publishing workflows to index.identities in plugship.yaml and sign again", label)
	}
	sum, err := hex.DecodeString(digest)
	if err != nil {
		return nil, nil, err
	}
	// The keyless checker and the revocations take a team: the index
	// signer's identities as one.
	view := &Policy{Teams: map[string]*Team{IndexSignerRole: {Identities: p.IndexSigner.Identities}}, SigstoreRoot: p.SigstoreRoot, Clock: p.Clock}
	v, payload, err := p.Keyless.CheckProvenance(view, IndexSignerRole, label, sum, bundle)
	if err == nil {
		err = view.revokedIdentity(v)
	}
	return v, payload, err
}

// checkIndexEnvelope verifies a DSSE envelope under the index keys.
func (p *Policy) checkIndexEnvelope(label string, envelope []byte) (*Verdict, []byte, error) {
	if len(p.IndexSigner.Keys) == 0 {
		return nil, nil, fmt.Errorf("%s is signed with a key, but the trust policy names no index key (only keyless identities)", label)
	}
	for _, k := range p.IndexSigner.Keys {
		payload, err := VerifyEnvelope(p.verifiers[k.ID], envelope, InTotoPayloadType)
		if err != nil {
			continue
		}
		if k.Development && p.Strict {
			return nil, nil, fmt.Errorf("%s is signed with the DEVELOPMENT index key %s; refused in strict mode: publish with the repository's index key", label, k.ID[:12])
		}
		if err := p.revokedKey(IndexSignerRole, k); err != nil {
			return nil, nil, err
		}
		return &Verdict{Team: IndexSignerRole, KeyID: k.ID, Development: k.Development}, payload, nil
	}
	return nil, nil, fmt.Errorf("%s does not verify under any index key of the trust policy", label)
}

// ReadIndexStatement returns what a statement (a DSSE envelope, or a
// Sigstore bundle holding one) says, without checking its signature: for
// the publisher, who numbers the next statement after it, never for a
// host.
func ReadIndexStatement(data []byte) (*artifact.IndexStatement, error) {
	var env struct {
		Payload string `json:"payload"`
		Bundle  *struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%s: not a DSSE envelope or Sigstore bundle: %w", artifact.IndexStatementFile, err)
	}
	if env.Bundle != nil {
		env.Payload = env.Bundle.Payload
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%s: payload: %w", artifact.IndexStatementFile, err)
	}
	return artifact.ParseIndexStatement(payload)
}
