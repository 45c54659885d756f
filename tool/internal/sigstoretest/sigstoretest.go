package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// GitHubIssuer is the OIDC issuer of GitHub Actions' ID tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Audience is the audience Sigstore clients ask GitHub for, and the one the
// Fulcio endpoint requires.
const Audience = "sigstore"

// Names of the variables Env returns besides GitHub's own.
const (
	EnvFulcioURL  = "PLUGSHIP_FULCIO_URL"
	EnvRekorURL   = "PLUGSHIP_REKOR_URL"
	EnvTSAURL     = "PLUGSHIP_TSA_URL"
	EnvOIDCIssuer = "PLUGSHIP_OIDC_ISSUER"
)

// Options describe the simulated workflow run and the services. Every field
// has a default.
type Options struct {
	// Repository is "owner/name" (default "acme/plugins").
	Repository string
	// Ref is the git ref the workflow runs for (default "refs/heads/main").
	Ref string
	// Workflow is the workflow file's path in the repository (default
	// ".github/workflows/release.yml").
	Workflow string
	// WorkflowName is the workflow's name: the "workflow" claim (default
	// "Release").
	WorkflowName string
	// JobWorkflowRef is the job_workflow_ref claim, the certificate's
	// identity. Default: Repository + "/" + Workflow + "@" + Ref. Set it to
	// simulate a reusable workflow living elsewhere.
	JobWorkflowRef string
	// SHA is the commit (default a fixed 40-hex string).
	SHA string
	// EventName is event_name (default "push").
	EventName string
	// RunnerEnvironment is runner_environment (default "github-hosted").
	RunnerEnvironment string
	// Visibility is repository_visibility (default "public").
	Visibility string
	// Issuer is the OIDC issuer: the tokens' iss claim, the discovery
	// document's issuer and the certificates' issuer extensions (default
	// GitHubIssuer). The issuer is served on loopback whatever its name.
	Issuer string
	// ServerURL is the GitHub server the identities are URLs of (default
	// "https://github.com").
	ServerURL string
	// TokenAlgorithm is "ES256" (default) or "RS256".
	TokenAlgorithm string
	// CertLifetime is how long issued certificates are valid (default 10
	// minutes, as Fulcio's).
	CertLifetime time.Duration
	// NoCTLog makes Fulcio answer with a detached, empty SCT, as a Fulcio
	// without a CT log does, and leaves ctlogs out of the trusted root.
	// By default every certificate carries an embedded SCT from a test CT
	// log whose key is in the trusted root.
	NoCTLog bool
	// Clock is the time all services use (default time.Now). SetClock
	// changes it later.
	Clock func() time.Time
}

func (o *Options) defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.Repository, "acme/plugins")
	def(&o.Ref, "refs/heads/main")
	def(&o.Workflow, ".github/workflows/release.yml")
	def(&o.WorkflowName, "Release")
	def(&o.JobWorkflowRef, o.Repository+"/"+o.Workflow+"@"+o.Ref)
	def(&o.SHA, "0123456789abcdef0123456789abcdef01234567")
	def(&o.EventName, "push")
	def(&o.RunnerEnvironment, "github-hosted")
	def(&o.Visibility, "public")
	def(&o.Issuer, GitHubIssuer)
	def(&o.ServerURL, "https://github.com")
	def(&o.TokenAlgorithm, "ES256")
	o.ServerURL = strings.TrimSuffix(o.ServerURL, "/")
	if o.CertLifetime == 0 {
		o.CertLifetime = 10 * time.Minute
	}
}

// Sigstore is one loopback Sigstore: a GitHub-shaped OIDC issuer, a Fulcio,
// a Rekor (v1 API), an RFC 3161 timestamp authority and, unless NoCTLog, a CT
// log key that signs the SCTs Fulcio embeds. Each New makes new keys and CAs,
// so two of them trust nothing of each other.
type Sigstore struct {
	opts Options

	mu    sync.Mutex
	clock func() time.Time
	// created is the real time at New; every CA, key and log is valid from
	// two years before it, so a test can sign in the past with SetClock.
	created time.Time

	oidc   *oidcServer
	fulcio *fulcioServer
	rekor  *rekorServer
	tsa    *tsaServer
	ctKey  *ecdsa.PrivateKey

	oidcSrv, fulcioSrv, rekorSrv, tsaSrv *httptest.Server
}

// pastValidity is how far before New every trust anchor is valid from.
const pastValidity = 2 * 365 * 24 * time.Hour

// New starts the services on loopback; they stop when the test ends.
func New(t testing.TB, opts Options) *Sigstore {
	t.Helper()
	opts.defaults()
	s := &Sigstore{opts: opts, clock: opts.Clock, created: time.Now()}
	if s.clock == nil {
		s.clock = time.Now
	}
	var err error
	if s.oidc, err = newOIDCServer(s); err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	s.oidcSrv = httptest.NewServer(s.oidc.handler())
	t.Cleanup(s.oidcSrv.Close)
	s.oidc.baseURL = s.oidcSrv.URL

	if !opts.NoCTLog {
		if s.ctKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	if s.fulcio, err = newFulcioServer(s); err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	s.fulcioSrv = httptest.NewServer(s.fulcio.handler())
	t.Cleanup(s.fulcioSrv.Close)

	s.rekorSrv = httptest.NewUnstartedServer(nil)
	if s.rekor, err = newRekorServer(s, s.rekorSrv.Listener.Addr().String()); err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	s.rekorSrv.Config.Handler = s.rekor.handler()
	s.rekorSrv.Start()
	t.Cleanup(s.rekorSrv.Close)

	if s.tsa, err = newTSAServer(s); err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	s.tsaSrv = httptest.NewServer(s.tsa.handler())
	t.Cleanup(s.tsaSrv.Close)
	return s
}

func (s *Sigstore) now() time.Time {
	s.mu.Lock()
	c := s.clock
	s.mu.Unlock()
	return c()
}

// SetClock sets the time every service uses from now on: the tokens' iat and
// exp, the certificates' validity, Rekor's integrated time, the TSA's time
// and the SCTs'. nil restores time.Now. Trust anchors are valid from two
// years before New, so clocks back to then work.
func (s *Sigstore) SetClock(clock func() time.Time) {
	if clock == nil {
		clock = time.Now
	}
	s.mu.Lock()
	s.clock = clock
	s.mu.Unlock()
}

// Options returns the options with their defaults filled in.
func (s *Sigstore) Options() Options { return s.opts }

// Issuer is the OIDC issuer URL the certificates name.
func (s *Sigstore) Issuer() string { return s.opts.Issuer }

// Identity is the certificates' SAN URI: ServerURL + "/" + JobWorkflowRef,
// for example https://github.com/acme/plugins/.github/workflows/release.yml@refs/tags/core/hello/v1.0.0.
func (s *Sigstore) Identity() string { return s.opts.ServerURL + "/" + s.opts.JobWorkflowRef }

// SourceRepositoryURI is the certificates' source repository extension
// (ServerURL + "/" + Repository).
func (s *Sigstore) SourceRepositoryURI() string { return s.opts.ServerURL + "/" + s.opts.Repository }

// OIDCURL is the loopback base URL serving the issuer's discovery document
// and JWKS (the issuer's name is Issuer()).
func (s *Sigstore) OIDCURL() string { return s.oidcSrv.URL }

// TokenRequestURL is ACTIONS_ID_TOKEN_REQUEST_URL: it already has a query,
// so a client appends "&audience=sigstore".
func (s *Sigstore) TokenRequestURL() string { return s.oidcSrv.URL + tokenPath + "?api-version=2.0" }

// TokenRequestToken is ACTIONS_ID_TOKEN_REQUEST_TOKEN.
func (s *Sigstore) TokenRequestToken() string { return s.oidc.requestToken }

// FulcioURL is the base URL for sign.FulcioOptions.BaseURL.
func (s *Sigstore) FulcioURL() string { return s.fulcioSrv.URL }

// RekorURL is the base URL for sign.RekorOptions.BaseURL.
func (s *Sigstore) RekorURL() string { return s.rekorSrv.URL }

// TSAURL is the full timestamp URL for sign.TimestampAuthorityOptions.URL.
func (s *Sigstore) TSAURL() string { return s.tsaSrv.URL + tsaPath }

// Env is the environment of a GitHub Actions job with `id-token: write`
// (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, GITHUB_* of the run) plus the
// service URLs under the Env* names.
func (s *Sigstore) Env() map[string]string {
	o := s.opts
	refName := o.Ref
	refType := "branch"
	if strings.HasPrefix(o.Ref, "refs/tags/") {
		refName, refType = strings.TrimPrefix(o.Ref, "refs/tags/"), "tag"
	} else {
		refName = strings.TrimPrefix(o.Ref, "refs/heads/")
	}
	return map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   s.TokenRequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": s.TokenRequestToken(),
		"GITHUB_SERVER_URL":              o.ServerURL,
		"GITHUB_REPOSITORY":              o.Repository,
		"GITHUB_REPOSITORY_OWNER":        owner(o.Repository),
		"GITHUB_REF":                     o.Ref,
		"GITHUB_REF_NAME":                refName,
		"GITHUB_REF_TYPE":                refType,
		"GITHUB_SHA":                     o.SHA,
		"GITHUB_WORKFLOW":                o.WorkflowName,
		"GITHUB_WORKFLOW_REF":            o.Repository + "/" + o.Workflow + "@" + o.Ref,
		"GITHUB_EVENT_NAME":              o.EventName,
		"GITHUB_RUN_ID":                  runID,
		"GITHUB_RUN_ATTEMPT":             "1",
		"RUNNER_ENVIRONMENT":             o.RunnerEnvironment,
		EnvFulcioURL:                     s.FulcioURL(),
		EnvRekorURL:                      s.RekorURL(),
		EnvTSAURL:                        s.TSAURL(),
		EnvOIDCIssuer:                    s.Issuer(),
	}
}

// Setenv sets Env() in the test's environment with t.Setenv (so not in
// parallel tests).
func (s *Sigstore) Setenv(t testing.TB) {
	t.Helper()
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
}

// TrustedRoot is what a verifier needs offline: the Fulcio chain, the Rekor
// key, the TSA chain and the CT log key (unless NoCTLog).
func (s *Sigstore) TrustedRoot() *root.TrustedRoot { return TrustedRootOf(s) }

// TrustedRootJSON is TrustedRoot in the protobuf-specs JSON form
// (mediaType application/vnd.dev.sigstore.trustedroot+json;version=0.1),
// the file cosign's --trusted-root and root.NewTrustedRootFromJSON read.
func (s *Sigstore) TrustedRootJSON() []byte { return TrustedRootJSONOf(s) }

// TrustedRootOf is one trusted root trusting all the given instances (for
// example two issuers with their own CAs).
func TrustedRootOf(ss ...*Sigstore) *root.TrustedRoot {
	var cas []root.CertificateAuthority
	var tsas []root.TimestampingAuthority
	ctlogs := map[string]*root.TransparencyLog{}
	rekors := map[string]*root.TransparencyLog{}
	for _, s := range ss {
		start := s.created.Add(-pastValidity)
		cas = append(cas, &root.FulcioCertificateAuthority{
			Root:                s.fulcio.root,
			Intermediates:       []*x509.Certificate{s.fulcio.intermediate},
			ValidityPeriodStart: start,
			URI:                 s.FulcioURL(),
		})
		tsas = append(tsas, &root.SigstoreTimestampingAuthority{
			Root:                s.tsa.root,
			Intermediates:       []*x509.Certificate{s.tsa.intermediate},
			Leaf:                s.tsa.leaf,
			ValidityPeriodStart: start,
			URI:                 s.TSAURL(),
		})
		id := keyID(s.rekor.key.Public())
		rekors[hex.EncodeToString(id)] = &root.TransparencyLog{
			BaseURL:             s.RekorURL(),
			ID:                  id,
			ValidityPeriodStart: start,
			HashFunc:            crypto.SHA256,
			PublicKey:           s.rekor.key.Public(),
			SignatureHashFunc:   crypto.SHA256,
		}
		if s.ctKey != nil {
			id := keyID(s.ctKey.Public())
			ctlogs[hex.EncodeToString(id)] = &root.TransparencyLog{
				BaseURL:             "https://ctfe.sigstoretest.invalid/test",
				ID:                  id,
				ValidityPeriodStart: start,
				HashFunc:            crypto.SHA256,
				PublicKey:           s.ctKey.Public(),
				SignatureHashFunc:   crypto.SHA256,
			}
		}
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, ctlogs, tsas, rekors)
	if err != nil {
		panic(err) // only an unsupported media type fails
	}
	return tr
}

// TrustedRootJSONOf is TrustedRootOf as JSON.
func TrustedRootJSONOf(ss ...*Sigstore) []byte {
	b, err := TrustedRootOf(ss...).MarshalJSON()
	if err != nil {
		panic(err)
	}
	return b
}

// RekorEntries is how many entries the log holds.
func (s *Sigstore) RekorEntries() int { return s.rekor.size() }

// keyID is the log ID of a key: SHA-256 of its DER PKIX encoding.
func keyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(der)
	return sum[:]
}

func owner(repo string) string {
	o, _, _ := strings.Cut(repo, "/")
	return o
}

const runID = "4242424242"

// newCA makes a self-signed root and an intermediate under it, with the
// intermediate's extended key usage limited to eku.
func newCA(name string, eku x509.ExtKeyUsage, created time.Time) (rootCert, interCert *x509.Certificate, interKey *ecdsa.PrivateKey, err error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	notBefore := created.Add(-pastValidity - time.Hour)
	notAfter := created.Add(10 * 365 * 24 * time.Hour)
	rt := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"sigstoretest"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	der, err := x509.CreateCertificate(rand.Reader, rt, rt, rootKey.Public(), rootKey)
	if err != nil {
		return nil, nil, nil, err
	}
	if rootCert, err = x509.ParseCertificate(der); err != nil {
		return nil, nil, nil, err
	}
	interKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	it := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name + "-intermediate", Organization: []string{"sigstoretest"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{eku},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err = x509.CreateCertificate(rand.Reader, it, rootCert, interKey.Public(), rootKey)
	if err != nil {
		return nil, nil, nil, err
	}
	if interCert, err = x509.ParseCertificate(der); err != nil {
		return nil, nil, nil, err
	}
	return rootCert, interCert, interKey, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		panic(err)
	}
	return n
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Hostname()
}
