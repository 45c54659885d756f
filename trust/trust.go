package trust

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// Schema identifies the policy format: SchemaV1 while it revokes
// nothing, so that hosts built with an older loader keep reading it, and
// SchemaV2 once it revokes a key or identity, which such a host refuses
// (naming both) rather than trust what was revoked; SchemaV3 once it names
// an index signer, so that a host of v2 never takes an index this policy
// wants signed without checking it.
const (
	SchemaV1 = "plugship.trust/v1"
	SchemaV2 = "plugship.trust/v2" // v1 and revocations
	SchemaV3 = "plugship.trust/v3" // v2 and the index signer of the index
	Schema   = SchemaV3            // the newest this package reads and writes
)

// SignatureSuffix is appended to a plugin file's name to name its signature.
const SignatureSuffix = ".sig"

// maxSignature bounds a .sig file: base64 of an ECDSA P-256 signature is
// under 100 bytes.
const maxSignature = 4 << 10

// Policy says which keys may sign which plugins.
type Policy struct {
	Schema  string            `json:"schema" jsonschema:"enum=plugship.trust/v1,enum=plugship.trust/v2,enum=plugship.trust/v3"` // SchemaV1, SchemaV2 or SchemaV3
	Teams   map[string]*Team  `json:"teams"`
	Plugins map[string]string `json:"plugins"` // plugin name -> owning team
	// SigstoreRoot is Sigstore's trusted root (JSON: Fulcio certificate
	// authorities, transparency log keys, timestamp authorities) that
	// keyless bundles are checked against, offline. Required when a team
	// names identities.
	SigstoreRoot json.RawMessage `json:"sigstore_trusted_root,omitempty"`
	// IndexSigner is who signs the index statement (index.statement.json,
	// beside index.json): the repository's index key, or the publishing
	// workflows' keyless identities (v3). When it is
	// set, fetch and plugship install refuse an index without a statement
	// it signed, one whose expiry passed, and one older than the last they
	// accepted into the plugin folder.
	IndexSigner *IndexSigner `json:"index_signer,omitempty"`

	// Strict refuses development keys. It is the host's choice, not part of
	// the file.
	Strict bool `json:"-"`

	// Clock is the time revocations are compared with when a signature
	// proves none (a key's .sig); default time.Now.
	Clock func() time.Time `json:"-"`

	// Keyless checks keyless Sigstore bundles. It is nil unless the host
	// opted in: keyless.Enable(policy) from the module
	// github.com/plugship/plugship/keyless, which brings sigstore-go's
	// module graph with it. Without it a file whose team signs keylessly
	// is accepted only by a key's .sig, and one that has only a keyless
	// bundle is refused, saying what to import.
	Keyless KeylessChecker `json:"-"`

	verifiers map[string]Verifier // key ID -> verifier
}

// Team is one team's keys and keyless identities: a file of the team's is
// accepted when a key signed it (.sig) or one of the identities did (a
// keyless .sigstore.json bundle).
type Team struct {
	Keys       []Key      `json:"keys,omitempty"`
	Identities []Identity `json:"identities,omitempty"`
}

// Key is one public key.
type Key struct {
	ID          string `json:"id"`          // hex sha256 of the DER public key
	PEM         string `json:"pem"`         // PKIX public key PEM
	Development bool   `json:"development"` // a development key: refused in strict mode
	// Revoked, when set, stops trusting the key from its time on (v2).
	Revoked *Revocation `json:"revoked,omitempty"`
}

// maxPolicy bounds a policy file: keys, identities and a trusted root of a
// few KiB per team.
const maxPolicy = 16 << 20

// Load reads a policy file.
func Load(path string) (*Policy, error) {
	data, err := readAtMost(path, maxPolicy, "trust policy")
	if err != nil {
		return nil, fmt.Errorf("trust policy: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("trust policy %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and checks a policy: every key must parse, every plugin's
// team must be listed.
func Parse(data []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if p.Schema != SchemaV1 && p.Schema != SchemaV2 && p.Schema != SchemaV3 {
		return nil, fmt.Errorf("schema %s, want %s, %s or %s: a newer plugship wrote it; rebuild the host with a newer loader", artifact.Quote(p.Schema), SchemaV1, SchemaV2, SchemaV3)
	}
	if err := p.init(); err != nil {
		return nil, err
	}
	if p.Schema == SchemaV1 && p.revoked() {
		return nil, fmt.Errorf("schema %s has no revocations (they came with %s), and a host of v1 would trust what they revoke: refused; write it with plugship's sign step", SchemaV1, SchemaV2)
	}
	if p.Schema != SchemaV3 && p.IndexSigner != nil {
		return nil, fmt.Errorf("schema %s has no index signer (it came with %s), and a host of %s would take the index unchecked: refused; write it with plugship's sign step", p.Schema, SchemaV3, p.Schema)
	}
	return &p, nil
}

func (p *Policy) init() error {
	p.verifiers = map[string]Verifier{}
	named := false
	for name, t := range p.Teams {
		if t == nil || len(t.Keys) == 0 && len(t.Identities) == 0 {
			return fmt.Errorf("team %s has no keys and no keyless identities", name)
		}
		for i, k := range t.Keys {
			v, err := ParsePublicKey([]byte(k.PEM))
			if err != nil {
				return fmt.Errorf("team %s key %d: %w", name, i, err)
			}
			p.verifiers[k.ID] = v
		}
		for i, id := range t.Identities {
			if err := id.Check(); err != nil {
				return fmt.Errorf("team %s identities[%d].%w", name, i, err)
			}
			named = true
		}
	}
	if r := p.IndexSigner; r != nil {
		if len(r.Keys) == 0 && len(r.Identities) == 0 {
			return errors.New("index_signer names no key and no keyless identity: drop it, or name who signs the index")
		}
		for i, id := range r.Identities {
			if err := id.Check(); err != nil {
				return fmt.Errorf("index_signer identities[%d].%w", i, err)
			}
			named = true
		}
		for i, k := range r.Keys {
			v, err := ParsePublicKey([]byte(k.PEM))
			if err != nil {
				return fmt.Errorf("index_signer key %d: %w", i, err)
			}
			p.verifiers[k.ID] = v
		}
	}
	for plugin, team := range p.Plugins {
		if p.Teams[team] == nil {
			return fmt.Errorf("plugin %s belongs to team %s, which has no keys in the policy", plugin, team)
		}
	}
	if named && len(p.SigstoreRoot) == 0 {
		return errors.New("teams name keyless identities but the policy has no sigstore_trusted_root: keyless signatures are checked offline against it (plugship's sign step writes it from plugship.yaml's signing.trusted_root)")
	}
	return nil
}

// New returns an empty policy to fill with AddKey.
func New() *Policy {
	return &Policy{Schema: Schema, Teams: map[string]*Team{}, Plugins: map[string]string{}, verifiers: map[string]Verifier{}}
}

// AddKey adds a public key (PEM) to team.
func (p *Policy) AddKey(team string, pemData []byte, id string, development bool) error {
	v, err := ParsePublicKey(pemData)
	if err != nil {
		return fmt.Errorf("team %s: %w", team, err)
	}
	t := p.Teams[team]
	if t == nil {
		t = &Team{}
		p.Teams[team] = t
	}
	for _, k := range t.Keys {
		if k.ID == id {
			return nil
		}
	}
	t.Keys = append(t.Keys, Key{ID: id, PEM: string(pemData), Development: development})
	sort.Slice(t.Keys, func(i, j int) bool { return t.Keys[i].ID < t.Keys[j].ID })
	p.verifiers[id] = v
	return nil
}

// Marshal returns the policy as indented JSON: schema v1 while it
// revokes nothing, v2 once it does, v3 once it names an index signer.
func (p *Policy) Marshal() ([]byte, error) {
	p.Schema = SchemaV1
	switch {
	case p.IndexSigner != nil:
		p.Schema = SchemaV3
	case p.revoked():
		p.Schema = SchemaV2
	}
	data, err := json.MarshalIndent(p, "", "  ")
	return append(data, '\n'), err
}

// Verdict says who signed a file: a key of the team (KeyID), or a keyless
// identity the team names (Identity, with the certificate's Signer).
type Verdict struct {
	Team        string
	KeyID       string
	Development bool
	Identity    string // the policy's identity that matched, for a keyless signature
	Signer      string // the certificate's identity, issuer, repository and ref
	// SignedAt is when the signature was made, as its transparency log
	// entry or signed timestamp proves (the earliest); zero when nothing
	// proves it (a key's .sig).
	SignedAt time.Time
}

// ErrUnsigned marks a file without a signature.
var ErrUnsigned = errors.New("not signed")

// Verify checks that file is signed by a key of the team that owns its
// plugin. It is what loader.Options.Verify runs.
func (p *Policy) Verify(file string) error {
	_, err := p.Check(file)
	return err
}

// Check is Verify, also saying which key or identity signed. A team that
// names keyless identities is checked by the file's keyless bundle when
// it has one, else by its .sig.
func (p *Policy) Check(file string) (*Verdict, error) {
	name := filepath.Base(file)
	plugin, team, err := p.owner(name)
	if err != nil {
		return nil, err
	}
	if len(p.Teams[team].Identities) > 0 {
		data, err := ReadBundle(file + BundleSuffix)
		keyless := err == nil && IsKeyless(data)
		if keyless && p.Keyless != nil {
			return p.CheckBundle(file, name, data)
		}
		if len(p.Teams[team].Keys) == 0 || keyless && !exists(file+SignatureSuffix) {
			switch {
			case keyless:
				err = p.noKeyless(name + BundleSuffix)
			case err == nil:
				err = fmt.Errorf("%w: %s holds no keyless signature, and team %s signs keylessly only; sign it in the team's release workflow", ErrUnsigned, name+BundleSuffix, team)
			}
			return nil, err
		}
	}
	sig, err := ReadSignature(file + SignatureSuffix)
	if err != nil {
		return nil, err
	}
	return p.checkSignature(file, name, plugin, team, sig)
}

// CheckSignature checks sig over the file at path, which is the plugin
// file called name (its final name, while it is still being downloaded
// under another).
func (p *Policy) CheckSignature(path, name string, sig []byte) (*Verdict, error) {
	plugin, team, err := p.owner(name)
	if err != nil {
		return nil, err
	}
	return p.checkSignature(path, name, plugin, team, sig)
}

// owner returns the plugin of the file called name and the team that owns
// it.
func (p *Policy) owner(name string) (plugin, team string, err error) {
	n, err := artifact.ParseName(name)
	if err != nil {
		return "", "", err
	}
	team, ok := p.Plugins[n.Plugin]
	if !ok {
		return "", "", fmt.Errorf("plugin %s is not in the trust policy: no team owns it", n.Plugin)
	}
	return n.Plugin, team, nil
}

// checkSignature is CheckSignature once the plugin's owner is known.
func (p *Policy) checkSignature(path, name, plugin, team string, sig []byte) (*Verdict, error) {
	for _, k := range p.Teams[team].Keys {
		if err := VerifyFile(p.verifiers[k.ID], sig, path); err != nil {
			continue
		}
		if k.Development && p.Strict {
			return nil, fmt.Errorf("signed with team %s's DEVELOPMENT key %s; refused in strict mode: sign with the team's key", team, k.ID[:12])
		}
		if err := p.revokedKey(team, k); err != nil {
			return nil, err
		}
		return &Verdict{Team: team, KeyID: k.ID, Development: k.Development}, nil
	}
	for other, t := range p.Teams {
		if other == team {
			continue
		}
		for _, k := range t.Keys {
			if VerifyFile(p.verifiers[k.ID], sig, path) == nil {
				return nil, fmt.Errorf("signed by key %s of team %s, but plugin %s belongs to team %s; refused", k.ID[:12], other, plugin, team)
			}
		}
	}
	return nil, fmt.Errorf("signature %s does not match the file under any key of team %s: the file changed after signing, or another key signed it", name+SignatureSuffix, team)
}

// Provenance: the envelope beside a plugin file, and what it holds.
const (
	ProvenanceSuffix  = ".intoto.json"                   // appended to the plugin file's name
	InTotoPayloadType = "application/vnd.in-toto+json"   // the DSSE payload type
	SLSAPredicateType = "https://slsa.dev/provenance/v1" // the statement's predicate
)

// CheckProvenance verifies a provenance envelope (DSSE, in-toto statement)
// with the key keyID and checks that its subject is the file called name
// with this sha256. A file's signature covers its bytes only; the
// provenance binds them to the name, so a signed file cannot pose as
// another version.
func (p *Policy) CheckProvenance(envelope []byte, keyID, name, sha256 string) error {
	v := p.verifiers[keyID]
	if v == nil {
		return fmt.Errorf("key %s is not in the trust policy", keyID)
	}
	return VerifyProvenance(v, envelope, name, sha256)
}

// VerifyProvenance verifies a provenance envelope with v and checks that
// its subject is the file called name with this sha256.
func VerifyProvenance(v Verifier, envelope []byte, name, sha256 string) error {
	payload, err := VerifyEnvelope(v, envelope, InTotoPayloadType)
	if err != nil {
		return fmt.Errorf("provenance of %s does not verify: %w", name, err)
	}
	return checkStatement(payload, name, sha256)
}

// checkStatement checks that an in-toto statement (JSON) is SLSA
// provenance whose one subject is the file called name with this sha256.
func checkStatement(payload []byte, name, sha256 string) error {
	var st struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(payload, &st); err != nil || st.PredicateType != SLSAPredicateType || len(st.Subject) != 1 {
		return fmt.Errorf("provenance of %s: not an in-toto SLSA provenance statement with one subject", name)
	}
	if st.Subject[0].Name != name || st.Subject[0].Digest["sha256"] != sha256 {
		return fmt.Errorf("provenance is about %s (sha256 %.12s), not %s (sha256 %.12s): refused", artifact.Quote(st.Subject[0].Name), st.Subject[0].Digest["sha256"], name, sha256)
	}
	return nil
}

// ReadSignature reads a .sig file: base64 of the signature's bytes.
func ReadSignature(path string) ([]byte, error) {
	data, err := readAtMost(path, maxSignature, "signature")
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no signature %s; sign it with go run mage.go sign", ErrUnsigned, filepath.Base(path))
	}
	if err != nil {
		return nil, err
	}
	sig, err := DecodeSignature(data)
	if err != nil {
		return nil, fmt.Errorf("signature %s: %w", filepath.Base(path), err)
	}
	return sig, nil
}

// readAtMost reads a file of at most limit bytes; a larger one is refused
// unread, naming it as what. A missing file's error is an os.ErrNotExist.
func readAtMost(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s %s is larger than %d bytes: refused unread", what, filepath.Base(path), limit)
	}
	return data, nil
}

// DecodeSignature decodes the content of a .sig file.
func DecodeSignature(data []byte) ([]byte, error) {
	if len(data) > maxSignature {
		return nil, fmt.Errorf("larger than %d bytes", maxSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return sig, nil
}

// Verifier returns the verifier of the key with this ID, or nil.
func (p *Policy) Verifier(keyID string) Verifier { return p.verifiers[keyID] }

// VerifyFile checks sig over file's bytes, streaming the file.
func VerifyFile(v Verifier, sig []byte, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	return v.Verify(f, sig)
}

// exists reports whether a file is there.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
