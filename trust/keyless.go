package trust

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
)

// BundleSuffix is appended to a plugin file's name to name its Sigstore
// bundle: key-based (beside the .sig), or keyless (a Fulcio certificate
// for a workflow's identity, with its transparency log entry), or a GitHub
// artifact attestation of the file (actions/attest).
const BundleSuffix = ".sigstore.json"

// MaxBundle bounds a bundle file: a certificate chain, a log entry with its
// inclusion proof and, for an attestation, a DSSE envelope of a provenance
// statement.
const MaxBundle = 1 << 20

// GitHubIssuer is the OIDC issuer of GitHub Actions' workflow tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Identity is a keyless signer a team trusts: a certificate from the
// trusted root's Fulcio for an OIDC identity, such as a GitHub Actions
// workflow. Every field that is set must match the certificate.
type Identity struct {
	// Issuer is the OIDC issuer, exactly: for GitHub Actions
	// https://token.actions.githubusercontent.com (GitHubIssuer).
	Issuer string `json:"issuer"`
	// Subject is the certificate's identity (its SAN) exactly, for a
	// workflow https://github.com/<owner>/<repo>/.github/workflows/<file>@<ref>;
	// SubjectRegexp is a regular expression it must match instead
	// (anchor it: ^...$). One of the two.
	Subject       string `json:"subject,omitempty"`
	SubjectRegexp string `json:"subject_regexp,omitempty"`
	// Repository and Ref, when set, must equal the certificate's source
	// repository (https://github.com/<owner>/<repo>) and source ref
	// (refs/tags/...), the workflow run's, from its Fulcio extensions.
	Repository string `json:"repository,omitempty"`
	Ref        string `json:"ref,omitempty"`
	// Revoked, when set, stops trusting files this identity signed at or
	// after its time (v2).
	Revoked *Revocation `json:"revoked,omitempty"`
}

// String says the identity for messages.
func (id Identity) String() string {
	s := id.Subject
	if s == "" {
		s = "/" + id.SubjectRegexp + "/"
	}
	s += " from " + id.Issuer
	if id.Repository != "" {
		s += ", repository " + id.Repository
	}
	if id.Ref != "" {
		s += ", ref " + id.Ref
	}
	return s
}

// Check reports what is wrong with the identity, naming the field.
func (id Identity) Check() error {
	if id.Issuer == "" {
		return fmt.Errorf("issuer: missing; GitHub Actions' is %s", GitHubIssuer)
	}
	if (id.Subject == "") == (id.SubjectRegexp == "") {
		return errors.New("subject or subject_regexp: give exactly one, such as subject: https://github.com/acme/plugins/.github/workflows/release.yml@refs/heads/main")
	}
	if id.SubjectRegexp != "" {
		if _, err := regexp.Compile(id.SubjectRegexp); err != nil {
			return fmt.Errorf("subject_regexp: %v", err)
		}
		if !strings.HasPrefix(id.SubjectRegexp, "^") || !strings.HasSuffix(id.SubjectRegexp, "$") {
			return fmt.Errorf("subject_regexp: %s: anchor it with ^ and $, or any identity containing it would match", artifact.Quote(id.SubjectRegexp))
		}
	}
	return nil
}

// KeylessChecker checks keyless Sigstore bundles for a policy. The module
// github.com/plugship/plugship/keyless provides one (keyless.Enable); this
// package has none, so that hosts that trust keys only do not link
// sigstore-go.
type KeylessChecker interface {
	// CheckBundle checks a keyless bundle (JSON) over a file whose sha256
	// is sum, for team: the certificate chains to p.SigstoreRoot, the
	// signing time is proven, and the identity is one of the team's.
	// label names the bundle in messages.
	CheckBundle(p *Policy, team, label string, sum []byte, bundle []byte) (*Verdict, error)
	// CheckProvenance is CheckBundle for a bundle holding a DSSE envelope
	// of an in-toto statement; it returns the statement's payload, which
	// the policy then checks (checkStatement).
	CheckProvenance(p *Policy, team, label string, sum []byte, bundle []byte) (*Verdict, []byte, error)
}

// ImportKeyless is what a host that meets a keyless-only file must do.
const ImportKeyless = "to accept keyless signatures, go get github.com/plugship/plugship/keyless and call keyless.Enable(policy) after loading the trust policy (or load it with keyless.Load)"

// ErrNoKeyless marks a file that only a keyless signature covers, met by
// a policy whose host did not opt in to keyless verification.
var ErrNoKeyless = errors.New("keyless signatures are not verified by this host")

// noKeyless is the refusal of a keyless-only bundle when p.Keyless is nil.
func (p *Policy) noKeyless(label string) error {
	return fmt.Errorf("%w: %s is signed keylessly and the file has no key signature; refused: %s", ErrNoKeyless, label, ImportKeyless)
}

// AddIdentity adds a keyless identity to team.
func (p *Policy) AddIdentity(team string, id Identity) error {
	if err := id.Check(); err != nil {
		return fmt.Errorf("team %s identity: %w", team, err)
	}
	t := p.Teams[team]
	if t == nil {
		t = &Team{}
		p.Teams[team] = t
	}
	for _, have := range t.Identities {
		if have == id {
			return nil
		}
	}
	t.Identities = append(t.Identities, id)
	return nil
}

// SetSigstoreRoot sets the trusted root (Sigstore's trusted root JSON:
// Fulcio certificate authorities, transparency logs, timestamp
// authorities) that keyless bundles are checked against.
func (p *Policy) SetSigstoreRoot(data []byte) error {
	trimmed := bytes.TrimSpace(data)
	if !json.Valid(trimmed) {
		return errors.New("sigstore trusted root: not valid JSON")
	}
	p.SigstoreRoot = json.RawMessage(trimmed)
	return nil
}

// IsKeyless reports whether a bundle (JSON) holds a certificate: a keyless
// signature or attestation, rather than one by a key. It reads the
// bundle's media type and verification material only (protobuf JSON
// names, camelCase or snake_case); checking it is the KeylessChecker's.
func IsKeyless(data []byte) bool {
	var b struct {
		MediaType   string                     `json:"mediaType"`
		Material    map[string]json.RawMessage `json:"verificationMaterial"`
		MaterialOld map[string]json.RawMessage `json:"verification_material"`
	}
	if json.Unmarshal(data, &b) != nil || !strings.HasPrefix(b.MediaType, bundleMediaType) {
		return false
	}
	m := b.Material
	if m == nil {
		m = b.MaterialOld
	}
	for _, k := range []string{"certificate", "x509CertificateChain", "x509_certificate_chain"} {
		if v := bytes.TrimSpace(m[k]); len(v) > 0 && string(v) != "null" {
			return true
		}
	}
	return false
}

// ReadBundle reads a bundle file, at most MaxBundle bytes.
func ReadBundle(path string) ([]byte, error) {
	data, err := readAtMost(path, MaxBundle, "bundle")
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no signature %s or bundle %s; sign it with go run mage.go sign", ErrUnsigned, strings.TrimSuffix(filepath.Base(path), BundleSuffix)+SignatureSuffix, filepath.Base(path))
	}
	return data, err
}

// CheckBundle checks a keyless bundle over the file at path, which is the
// plugin file called name: its certificate chains to the trusted root's
// Fulcio, its signing time is proven (a transparency log entry, or a
// signed timestamp) within the certificate's life, it covers the file's
// sha256 (a message signature, or an attestation whose subject is the
// file), and its identity is one the owning team's policy names. It needs
// p.Keyless (see KeylessChecker); without it the bundle is refused.
func (p *Policy) CheckBundle(path, name string, data []byte) (*Verdict, error) {
	if p.Keyless == nil {
		return nil, p.noKeyless(name + BundleSuffix)
	}
	sum, _, err := artifact.HashFile(path)
	if err != nil {
		return nil, err
	}
	return p.CheckBundleDigest(name, sum, data)
}

// CheckBundleDigest is CheckBundle for a file whose sha256 (hex) the
// caller already has: the file is not read again.
func (p *Policy) CheckBundleDigest(name, sha256hex string, data []byte) (*Verdict, error) {
	_, team, err := p.owner(name)
	if err != nil {
		return nil, err
	}
	sum, err := hex.DecodeString(sha256hex)
	if err != nil {
		return nil, fmt.Errorf("sha256 %s: %w", artifact.Quote(sha256hex), err)
	}
	label := name + BundleSuffix
	if p.Keyless == nil {
		return nil, p.noKeyless(label)
	}
	if err := p.keylessReady(label, team); err != nil {
		return nil, err
	}
	v, err := p.Keyless.CheckBundle(p, team, label, sum, data)
	if err != nil {
		return nil, err
	}
	if err := p.revokedIdentity(v); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return v, nil
}

// keylessReady says what the policy lacks to check a keyless bundle of
// team's.
func (p *Policy) keylessReady(label, team string) error {
	if len(p.SigstoreRoot) == 0 {
		return fmt.Errorf("%s is signed keylessly, but the trust policy has no sigstore_trusted_root to check it against", label)
	}
	if t := p.Teams[team]; t == nil || len(t.Identities) == 0 {
		return fmt.Errorf("%s is signed keylessly, but team %s names no keyless identity in the trust policy (signing.identities in its team.yaml)", label, team)
	}
	return nil
}

// bundleMediaType starts the media type of every Sigstore bundle version.
const bundleMediaType = "application/vnd.dev.sigstore.bundle"

// IsBundle reports whether data looks like a Sigstore bundle (it has a
// mediaType), rather than a bare DSSE envelope or signature.
func IsBundle(data []byte) bool {
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	return json.Unmarshal(data, &probe) == nil && strings.HasPrefix(probe.MediaType, bundleMediaType)
}

// CheckKeylessProvenance checks provenance written keylessly: a Sigstore
// bundle holding a DSSE envelope of an in-toto SLSA provenance statement,
// signed by an identity of the team that owns the file called name, whose
// one subject is that file with this sha256 (hex). It needs p.Keyless.
func (p *Policy) CheckKeylessProvenance(data []byte, name, sha256hex string) (*Verdict, error) {
	_, team, err := p.owner(name)
	if err != nil {
		return nil, err
	}
	sum, err := hex.DecodeString(sha256hex)
	if err != nil {
		return nil, fmt.Errorf("sha256 %s: %w", artifact.Quote(sha256hex), err)
	}
	label := name + ProvenanceSuffix
	if p.Keyless == nil {
		return nil, p.noKeyless(label)
	}
	if err := p.keylessReady(label, team); err != nil {
		return nil, err
	}
	v, payload, err := p.Keyless.CheckProvenance(p, team, label, sum, data)
	if err != nil {
		return nil, err
	}
	if err := p.revokedIdentity(v); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return v, checkStatement(payload, name, sha256hex)
}
