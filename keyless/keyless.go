package keyless

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/plugship/plugship/trust"
)

// Enable makes policy check keyless bundles: it checks that the policy's
// trusted root and every team's identities are usable, and sets
// policy.Keyless.
func Enable(policy *trust.Policy) error {
	c := &checker{}
	if len(policy.SigstoreRoot) > 0 {
		if _, err := c.root(policy.SigstoreRoot); err != nil {
			return fmt.Errorf("sigstore_trusted_root: %w", err)
		}
	}
	for name := range policy.Teams {
		if _, err := identities(policy, name); err != nil {
			return err
		}
	}
	policy.Keyless = c
	return nil
}

// Load is trust.Load, then Enable.
func Load(path string) (*trust.Policy, error) {
	p, err := trust.Load(path)
	if err != nil {
		return nil, err
	}
	if err := Enable(p); err != nil {
		return nil, fmt.Errorf("trust policy %s: %w", path, err)
	}
	return p, nil
}

// Parse is trust.Parse, then Enable.
func Parse(data []byte) (*trust.Policy, error) {
	p, err := trust.Parse(data)
	if err != nil {
		return nil, err
	}
	if err := Enable(p); err != nil {
		return nil, err
	}
	return p, nil
}

// checker is the trust.KeylessChecker of sigstore-go. It keeps the last
// trusted root it parsed: a policy's root rarely changes, and parsing it
// costs more than the rest of a check.
type checker struct {
	mu      sync.Mutex
	rootSum [sha256.Size]byte
	parsed  *root.TrustedRoot
}

// root parses the trusted root JSON, once per content.
func (c *checker) root(data []byte) (*root.TrustedRoot, error) {
	sum := sha256.Sum256(data)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parsed != nil && sum == c.rootSum {
		return c.parsed, nil
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, err
	}
	c.rootSum, c.parsed = sum, tr
	return tr, nil
}

// certificateIdentity is the sigstore-go form of id.
func certificateIdentity(id trust.Identity) (verify.CertificateIdentity, error) {
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

// identities are team's identities in the policy, in sigstore-go's form.
func identities(p *trust.Policy, team string) ([]verify.CertificateIdentity, error) {
	var list []verify.CertificateIdentity
	for i, id := range p.Teams[team].Identities {
		ci, err := certificateIdentity(id)
		if err != nil {
			return nil, fmt.Errorf("team %s identities[%d]: %w", team, i, err)
		}
		list = append(list, ci)
	}
	return list, nil
}

// CheckBundle implements trust.KeylessChecker.
func (c *checker) CheckBundle(p *trust.Policy, team, label string, sum []byte, data []byte) (*trust.Verdict, error) {
	v, _, err := c.check(p, team, label, sum, data)
	return v, err
}

// CheckProvenance implements trust.KeylessChecker.
func (c *checker) CheckProvenance(p *trust.Policy, team, label string, sum []byte, data []byte) (*trust.Verdict, []byte, error) {
	v, b, err := c.check(p, team, label, sum, data)
	if err != nil {
		return nil, nil, err
	}
	env := b.GetDsseEnvelope()
	if env == nil || env.PayloadType != trust.InTotoPayloadType {
		return nil, nil, fmt.Errorf("%s: the bundle holds no in-toto DSSE envelope", label)
	}
	return v, env.Payload, nil
}

// check verifies a keyless bundle over a file whose sha256 is sum, signed
// by an identity of team; label is the bundle's file name, for messages.
func (c *checker) check(p *trust.Policy, team, label string, sum []byte, data []byte) (*trust.Verdict, *bundle.Bundle, error) {
	tr, err := c.root(p.SigstoreRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("sigstore_trusted_root: %w", err)
	}
	ids, err := identities(p, team)
	if err != nil {
		return nil, nil, err
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, nil, fmt.Errorf("%s: not a Sigstore bundle: %w", label, err)
	}
	// The signing time must be proven (a log entry's or a timestamp
	// authority's), every log entry present must verify, and when the
	// trusted root lists certificate transparency logs the certificate
	// must carry their promise (an SCT), as cosign requires by default.
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if entries, _ := b.TlogEntries(); len(entries) > 0 {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if len(tr.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(tr, opts...)
	if err != nil {
		return nil, nil, err
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
		return nil, nil, fmt.Errorf("%s does not verify: %w%s", label, err, hint)
	}
	cert := res.Signature.Certificate
	if cert == nil {
		return nil, nil, fmt.Errorf("%s holds no certificate: not a keyless signature", label)
	}
	signer := cert.SubjectAlternativeName + " (issuer " + cert.Issuer + ")"
	if cert.SourceRepositoryURI != "" {
		signer += " in " + cert.SourceRepositoryURI
		if cert.SourceRepositoryRef != "" {
			signer += " at " + cert.SourceRepositoryRef
		}
	}
	// The bundle verified; whose it is is a matter of its certificate,
	// compared as sigstore-go's identity policy compares it.
	// When it was signed: the earliest time a log entry or a timestamp
	// authority vouches for (revocations are compared with it).
	var signedAt time.Time
	for _, ts := range res.VerifiedTimestamps {
		if signedAt.IsZero() || ts.Timestamp.Before(signedAt) {
			signedAt = ts.Timestamp
		}
	}
	for i, ci := range ids {
		if ci.Verify(*cert) == nil {
			return &trust.Verdict{Team: team, Identity: p.Teams[team].Identities[i].String(), Signer: signer, SignedAt: signedAt}, &b, nil
		}
	}
	// Refused: the other teams' identities, only now, to say whose it is.
	for other := range p.Teams {
		if other == team {
			continue
		}
		oids, err := identities(p, other)
		if err != nil {
			return nil, nil, err
		}
		if _, err := verify.CertificateIdentities(oids).Verify(*cert); err == nil {
			return nil, nil, fmt.Errorf("%s is signed keylessly by %s, an identity of team %s, but the plugin belongs to team %s; refused", label, signer, other, team)
		}
	}
	var want []string
	for _, id := range p.Teams[team].Identities {
		want = append(want, id.String())
	}
	return nil, nil, fmt.Errorf("%s is signed keylessly by %s, which team %s's policy does not name (it accepts %s); refused", label, signer, team, strings.Join(want, "; "))
}
