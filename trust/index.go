package trust

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// ReleaseRole names the release signer in messages and verdicts.
const ReleaseRole = "release"

// The refusals of an index statement. Each error names the statement,
// what failed and what to do; errors.Is tells them apart.
var (
	// ErrIndexUnsigned: the store has no statement, though the policy
	// names a release signer.
	ErrIndexUnsigned = errors.New("index not signed")
	// ErrIndexSignature: the statement's signature does not verify under
	// the release signer (or is the wrong kind, or revoked).
	ErrIndexSignature = errors.New("index signature refused")
	// ErrIndexChanged: index.json is not the file the statement signs.
	ErrIndexChanged = errors.New("index changed after signing")
	// ErrIndexExpired: the statement's expiry has passed.
	ErrIndexExpired = errors.New("index statement expired")
	// ErrIndexRolledBack: the statement is older than one already
	// accepted (fetch checks it; see artifact.FetchedStatementFile).
	ErrIndexRolledBack = errors.New("index rolled back")
)

// AddReleaseKey makes the key (PEM, its ID) a release signer.
func (p *Policy) AddReleaseKey(pemData []byte, id string, development bool) error {
	v, err := ParsePublicKey(pemData)
	if err != nil {
		return fmt.Errorf("release key: %w", err)
	}
	if p.Release == nil {
		p.Release = &Team{}
	}
	for _, k := range p.Release.Keys {
		if k.ID == id {
			return nil
		}
	}
	p.Release.Keys = append(p.Release.Keys, Key{ID: id, PEM: string(pemData), Development: development})
	p.verifiers[id] = v
	return nil
}

// AddReleaseIdentity makes a keyless identity a release signer.
func (p *Policy) AddReleaseIdentity(id Identity) error {
	if err := id.Check(); err != nil {
		return fmt.Errorf("release identity: %w", err)
	}
	if p.Release == nil {
		p.Release = &Team{}
	}
	for _, have := range p.Release.Identities {
		if have == id {
			return nil
		}
	}
	p.Release.Identities = append(p.Release.Identities, id)
	return nil
}

// release is the policy seen with the release signer as its one team, as
// the keyless checker and the revocation checks take it.
func (p *Policy) release() *Policy {
	return &Policy{Teams: map[string]*Team{ReleaseRole: p.Release}, SigstoreRoot: p.SigstoreRoot, Clock: p.Clock, Strict: p.Strict, verifiers: p.verifiers}
}

// CheckIndex checks the signed statement (the content of
// index.statement.json) of an index: it is signed by the policy's release
// signer (a DSSE envelope by a release key, or a keyless Sigstore bundle
// by a release identity, which needs p.Keyless), it names this index's
// ContentDigest, and it has not expired (p.Clock). It returns what the
// statement says and who signed it. where names the index's store in
// messages.
func (p *Policy) CheckIndex(where string, ix *artifact.Index, statement []byte) (*artifact.IndexStatement, *Verdict, error) {
	label := artifact.IndexStatementFile + " of " + where
	if p.Release == nil {
		return nil, nil, errors.New("the trust policy names no release signer to check the index with")
	}
	if statement == nil {
		return nil, nil, fmt.Errorf("%w: %s has no %s, and this host's trust policy wants the index signed by its release signer; refused: publish with a plugship that signs it (go run mage.go publish), or check that the index is the one you meant", ErrIndexUnsigned, where, artifact.IndexStatementFile)
	}
	digest, err := ix.ContentDigest()
	if err != nil {
		return nil, nil, err
	}
	sum, _ := hex.DecodeString(digest)
	rp := p.release()
	var (
		payload []byte
		verdict *Verdict
	)
	if IsKeyless(statement) {
		if p.Keyless == nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrIndexSignature, p.noKeyless(label))
		}
		if len(p.SigstoreRoot) == 0 || len(p.Release.Identities) == 0 {
			return nil, nil, fmt.Errorf("%w: %s is signed keylessly, but the trust policy names no release identity (and trusted root) to check it with: sign the index with the release key, or add the release workflow to index.identities in plugship.yaml", ErrIndexSignature, label)
		}
		verdict, payload, err = p.Keyless.CheckProvenance(rp, ReleaseRole, label, sum, statement)
		if err == nil {
			err = rp.revokedIdentity(verdict)
		}
	} else {
		verdict, payload, err = rp.checkReleaseEnvelope(label, statement)
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

// checkReleaseEnvelope verifies a DSSE envelope under the release keys
// (rp is p.release()).
func (rp *Policy) checkReleaseEnvelope(label string, envelope []byte) (*Verdict, []byte, error) {
	t := rp.Teams[ReleaseRole]
	if len(t.Keys) == 0 {
		return nil, nil, fmt.Errorf("%s is signed with a key, but the trust policy names no release key (only keyless identities)", label)
	}
	for _, k := range t.Keys {
		payload, err := VerifyEnvelope(rp.verifiers[k.ID], envelope, InTotoPayloadType)
		if err != nil {
			continue
		}
		if k.Development && rp.Strict {
			return nil, nil, fmt.Errorf("%s is signed with the DEVELOPMENT release key %s; refused in strict mode: publish with the repository's release key", label, k.ID[:12])
		}
		if err := rp.revokedKey(ReleaseRole, k); err != nil {
			return nil, nil, err
		}
		return &Verdict{Team: ReleaseRole, KeyID: k.ID, Development: k.Development}, payload, nil
	}
	return nil, nil, fmt.Errorf("%s does not verify under any release key of the trust policy", label)
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
