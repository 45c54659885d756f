package sigstoretest

import (
	"context"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// A SignOption changes how Sign makes a bundle.
type SignOption func(*signConfig)

type signConfig struct {
	noTlog  bool
	tsa     bool
	idToken string
	at      time.Time
}

// WithoutTransparencyLog leaves the bundle without a Rekor entry (so without
// a proof of signing time unless WithTimestamp).
func WithoutTransparencyLog() SignOption { return func(c *signConfig) { c.noTlog = true } }

// WithTimestamp adds an RFC 3161 timestamp from the TSA.
func WithTimestamp() SignOption { return func(c *signConfig) { c.tsa = true } }

// WithIDToken uses this token instead of fetching one from the token
// endpoint (for example one from MintToken, or another instance's).
func WithIDToken(token string) SignOption { return func(c *signConfig) { c.idToken = token } }

// At signs as if the time were t: the services' clock is t while signing, so
// the certificate is valid from t for CertLifetime and Rekor and the TSA
// record t. At(time.Now().Add(-time.Hour)) with WithoutTransparencyLog makes
// a bundle whose certificate expired with no proof of when it signed. Not for
// parallel use with other signing on the same Sigstore.
func At(t time.Time) SignOption { return func(c *signConfig) { c.at = t } }

// Sign signs content the way a keyless client does with sigstore-go's
// pkg/sign: an ephemeral ECDSA P-256 key, a certificate from Fulcio for an
// ID token fetched the GitHub way, an entry in Rekor, and optionally a
// timestamp. The bundle is v0.3 (a single certificate, not a chain).
func (s *Sigstore) Sign(ctx context.Context, content sign.Content, opts ...SignOption) (*protobundle.Bundle, error) {
	var c signConfig
	for _, o := range opts {
		o(&c)
	}
	if !c.at.IsZero() {
		s.mu.Lock()
		saved := s.clock
		s.mu.Unlock()
		at := c.at
		s.SetClock(func() time.Time { return at })
		defer s.SetClock(saved)
	}
	tok := c.idToken
	if tok == "" {
		var err error
		if tok, err = FetchGitHubToken(ctx, s.TokenRequestURL(), s.TokenRequestToken(), Audience); err != nil {
			return nil, err
		}
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	bo := sign.BundleOptions{
		Context:                    ctx,
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL()}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: tok},
	}
	if !c.noTlog {
		bo.TransparencyLogs = []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL()})}
	}
	if c.tsa {
		bo.TimestampAuthorities = []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL()})}
	}
	return sign.Bundle(content, kp, bo)
}

// SignBlob signs data as a message signature (cosign sign-blob's kind) and
// returns the bundle's JSON; it fails the test on error.
func (s *Sigstore) SignBlob(t testing.TB, data []byte, opts ...SignOption) []byte {
	t.Helper()
	return s.mustJSON(t, &sign.PlainData{Data: data}, opts)
}

// SignDSSE signs payload in a DSSE envelope of payloadType (for an in-toto
// statement "application/vnd.in-toto+json") and returns the bundle's JSON.
func (s *Sigstore) SignDSSE(t testing.TB, payloadType string, payload []byte, opts ...SignOption) []byte {
	t.Helper()
	return s.mustJSON(t, &sign.DSSEData{Data: payload, PayloadType: payloadType}, opts)
}

func (s *Sigstore) mustJSON(t testing.TB, content sign.Content, opts []SignOption) []byte {
	t.Helper()
	b, err := s.Sign(context.Background(), content, opts...)
	if err != nil {
		t.Fatalf("sigstoretest: signing: %v", err)
	}
	j, err := protojson.Marshal(b)
	if err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	return j
}
