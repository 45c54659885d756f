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

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

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

// certificateIdentity is the sigstore-go form of id.
func (id Identity) certificateIdentity() (verify.CertificateIdentity, error) {
	san, err := verify.NewSANMatcher(id.Subject, id.SubjectRegexp)
	if err != nil {
		return verify.CertificateIdentity{}, err
	}
	issuer, err := verify.NewIssuerMatcher(id.Issuer, "")
	if err != nil {
		return verify.CertificateIdentity{}, err
	}
	return verify.NewCertificateIdentity(san, issuer, certificate.Extensions{SourceRepositoryURI: id.Repository, SourceRepositoryRef: id.Ref})
}

// keyless is what a policy needs to check keyless bundles: the trusted
// root and each team's identities in sigstore-go's form.
type keyless struct {
	root       *root.TrustedRoot
	identities map[string][]verify.CertificateIdentity // team -> identities, in policy order
}

// initKeyless prepares the identities and the trusted root; requireRoot
// makes identities without a root an error (a policy read by a host).
func (p *Policy) initKeyless(requireRoot bool) error {
	p.keyless = &keyless{identities: map[string][]verify.CertificateIdentity{}}
	named := false
	for name, t := range p.Teams {
		for i, id := range t.Identities {
			if err := id.Check(); err != nil {
				return fmt.Errorf("team %s identities[%d].%w", name, i, err)
			}
			ci, err := id.certificateIdentity()
			if err != nil {
				return fmt.Errorf("team %s identities[%d]: %w", name, i, err)
			}
			p.keyless.identities[name] = append(p.keyless.identities[name], ci)
			named = true
		}
	}
	if len(p.SigstoreRoot) > 0 {
		tr, err := root.NewTrustedRootFromJSON(p.SigstoreRoot)
		if err != nil {
			return fmt.Errorf("sigstore_trusted_root: %w", err)
		}
		p.keyless.root = tr
	} else if named && requireRoot {
		return errors.New("teams name keyless identities but the policy has no sigstore_trusted_root: keyless signatures are checked offline against it (plugship's sign step writes it from plugship.yaml's signing.trusted_root)")
	}
	return nil
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
	return p.initKeyless(false)
}

// SetSigstoreRoot sets the trusted root (Sigstore's trusted root JSON:
// Fulcio certificate authorities, transparency logs, timestamp
// authorities) that keyless bundles are checked against.
func (p *Policy) SetSigstoreRoot(data []byte) error {
	p.SigstoreRoot = json.RawMessage(bytes.TrimSpace(data))
	return p.initKeyless(false)
}

// IsKeyless reports whether a bundle (JSON) holds a certificate: a keyless
// signature or attestation, rather than one by a key.
func IsKeyless(data []byte) bool {
	var b bundle.Bundle
	if b.UnmarshalJSON(data) != nil {
		return false
	}
	vm := b.GetVerificationMaterial()
	return vm.GetCertificate() != nil || vm.GetX509CertificateChain() != nil
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
// file), and its identity is one the owning team's policy names.
func (p *Policy) CheckBundle(path, name string, data []byte) (*Verdict, error) {
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
	return p.checkBundle(name+BundleSuffix, team, sum, data)
}

// checkBundle is CheckBundle once the file's digest and owner are known;
// label is the bundle's file name, for messages.
func (p *Policy) checkBundle(label, team string, sum []byte, data []byte) (*Verdict, error) {
	k := p.keyless
	if k == nil || k.root == nil {
		return nil, fmt.Errorf("%s is signed keylessly, but the trust policy has no sigstore_trusted_root to check it against", label)
	}
	if len(k.identities[team]) == 0 {
		return nil, fmt.Errorf("%s is signed keylessly, but team %s names no keyless identity in the trust policy (signing.identities in its team.yaml)", label, team)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%s: not a Sigstore bundle: %w", label, err)
	}
	// The signing time must be proven (a log entry's or a timestamp
	// authority's), every log entry present must verify, and when the
	// trusted root lists certificate transparency logs the certificate
	// must carry their promise (an SCT), as cosign requires by default.
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if entries, _ := b.TlogEntries(); len(entries) > 0 {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if len(k.root.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(k.root, opts...)
	if err != nil {
		return nil, err
	}
	// The signature and the time, once, under any identity; the identity
	// is matched against the verified certificate below, so that a bundle
	// of another identity says whose it is.
	res, err := v.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha256", sum), verify.WithoutIdentitiesUnsafe()))
	if err != nil {
		hint := ""
		switch msg := err.Error(); {
		case strings.Contains(msg, "artifact does not match"):
			hint = " (the file changed after signing, or the bundle is another file's)"
		case strings.Contains(msg, "timestamps"):
			hint = " (nothing proves the signature was made while its short-lived certificate was valid: no transparency log entry or timestamp the trusted root vouches for)"
		case strings.Contains(msg, "certificate"):
			hint = " (its certificate does not chain to a certificate authority of the trusted root)"
		}
		return nil, fmt.Errorf("%s does not verify: %w%s", label, err, hint)
	}
	c := res.Signature.Certificate
	if c == nil {
		return nil, fmt.Errorf("%s holds no certificate: not a keyless signature", label)
	}
	signer := c.SubjectAlternativeName + " (issuer " + c.Issuer + ")"
	if c.SourceRepositoryURI != "" {
		signer += " in " + c.SourceRepositoryURI
		if c.SourceRepositoryRef != "" {
			signer += " at " + c.SourceRepositoryRef
		}
	}
	// The bundle verified; whose it is is a matter of its certificate,
	// compared as sigstore-go's identity policy compares it.
	for i, ci := range k.identities[team] {
		if ci.Verify(*c) == nil {
			return &Verdict{Team: team, Identity: p.Teams[team].Identities[i].String(), Signer: signer}, nil
		}
	}
	for other, ids := range k.identities {
		if other == team {
			continue
		}
		if _, err := verify.CertificateIdentities(ids).Verify(*c); err == nil {
			return nil, fmt.Errorf("%s is signed keylessly by %s, an identity of team %s, but the plugin belongs to team %s; refused", label, signer, other, team)
		}
	}
	var want []string
	for _, id := range p.Teams[team].Identities {
		want = append(want, id.String())
	}
	return nil, fmt.Errorf("%s is signed keylessly by %s, which team %s's policy does not name (it accepts %s); refused", label, signer, team, strings.Join(want, "; "))
}

// IsBundle reports whether data looks like a Sigstore bundle (it has a
// mediaType), rather than a bare DSSE envelope or signature.
func IsBundle(data []byte) bool {
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	return json.Unmarshal(data, &probe) == nil && strings.HasPrefix(probe.MediaType, "application/vnd.dev.sigstore.bundle")
}

// CheckKeylessProvenance checks provenance written keylessly: a Sigstore
// bundle holding a DSSE envelope of an in-toto SLSA provenance statement,
// signed by an identity of the team that owns the file called name, whose
// one subject is that file with this sha256 (hex).
func (p *Policy) CheckKeylessProvenance(data []byte, name, sha256hex string) (*Verdict, error) {
	_, team, err := p.owner(name)
	if err != nil {
		return nil, err
	}
	sum, err := hex.DecodeString(sha256hex)
	if err != nil {
		return nil, fmt.Errorf("sha256 %s: %w", artifact.Quote(sha256hex), err)
	}
	v, err := p.checkBundle(name+ProvenanceSuffix, team, sum, data)
	if err != nil {
		return nil, err
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	env := b.GetDsseEnvelope()
	if env == nil || env.PayloadType != InTotoPayloadType {
		return nil, fmt.Errorf("provenance of %s: the bundle holds no in-toto DSSE envelope", name)
	}
	return v, checkStatement(env.Payload, name, sha256hex)
}
