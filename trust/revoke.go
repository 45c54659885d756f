package trust

import (
	"errors"
	"fmt"
	"time"
)

// Revocation stops trusting a key or a keyless identity from a time on:
// a file it signed before then (as a transparency log entry or a signed
// timestamp proves) is still accepted; one signed at or after it is
// refused, and so, from then on, is every file whose signature proves no
// time (a key's .sig). Reason is for the people who read the refusal.
type Revocation struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason" jsonschema:"minLength=1"`
}

// String says the revocation for messages.
func (r *Revocation) String() string {
	return fmt.Sprintf("revoked since %s (%s)", r.At.UTC().Format(time.RFC3339), r.Reason)
}

// ErrRevoked marks a signature by a revoked key or identity.
var ErrRevoked = errors.New("revoked")

// now is the policy's clock.
func (p *Policy) now() time.Time {
	if p.Clock != nil {
		return p.Clock()
	}
	return time.Now()
}

// revokedKey refuses a key's .sig once the key's revocation has begun: a
// .sig proves no signing time.
func (p *Policy) revokedKey(team string, k Key) error {
	if k.Revoked == nil || p.now().Before(k.Revoked.At) {
		return nil
	}
	return fmt.Errorf("%w: signed with team %s's key %s, %s, and a .sig proves no signing time; refused: re-sign it with the team's current key (go run mage.go sign), or sign keylessly", ErrRevoked, team, k.ID[:12], k.Revoked)
}

// revokedIdentity refuses a keyless verdict whose identity was revoked at
// or before the proven signing time.
func (p *Policy) revokedIdentity(v *Verdict) error {
	t := p.Teams[v.Team]
	if t == nil {
		return nil
	}
	for _, id := range t.Identities {
		if id.Revoked == nil || id.String() != v.Identity {
			continue
		}
		if v.SignedAt.IsZero() {
			if p.now().Before(id.Revoked.At) {
				return nil
			}
			return fmt.Errorf("%w: signed by team %s's identity %s, %s, and nothing proves when; refused", ErrRevoked, v.Team, v.Identity, id.Revoked)
		}
		if v.SignedAt.Before(id.Revoked.At) {
			return nil
		}
		return fmt.Errorf("%w: signed at %s by team %s's identity %s, %s; refused: sign it again in the team's current workflow", ErrRevoked, v.SignedAt.UTC().Format(time.RFC3339), v.Team, v.Identity, id.Revoked)
	}
	return nil
}

// revoked reports whether the policy revokes anything (a trust/v2 policy).
func (p *Policy) revoked() bool {
	for _, t := range p.Teams {
		for _, k := range t.Keys {
			if k.Revoked != nil {
				return true
			}
		}
		for _, id := range t.Identities {
			if id.Revoked != nil {
				return true
			}
		}
	}
	return false
}
