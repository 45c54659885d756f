package sigstoretest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

const signingCertPath = "/api/v2/signingCert"

// fulcioServer is Fulcio's v2 JSON API (the gRPC gateway's) for the
// GitHub workflow principal.
type fulcioServer struct {
	s            *Sigstore
	root         *x509.Certificate
	intermediate *x509.Certificate
	key          *ecdsa.PrivateKey

	mu       sync.Mutex
	provider *oidc.Provider
}

func newFulcioServer(s *Sigstore) (*fulcioServer, error) {
	r, i, k, err := newCA("sigstoretest-fulcio", x509.ExtKeyUsageCodeSigning, s.created)
	if err != nil {
		return nil, err
	}
	return &fulcioServer{s: s, root: r, intermediate: i, key: k}, nil
}

func (f *fulcioServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(signingCertPath, f.serveSigningCert)
	mux.HandleFunc("/api/v2/trustBundle", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"chains": []any{map[string]any{
			"certificates": []string{pemCert(f.intermediate), pemCert(f.root)},
		}}})
	})
	mux.HandleFunc("/api/v2/configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"issuers": []any{map[string]any{
			"issuerUrl": f.s.opts.Issuer, "audience": Audience, "challengeClaim": "sub",
		}}})
	})
	return mux
}

// grpcError writes an error as the gRPC gateway does.
func grpcError(w http.ResponseWriter, httpCode, grpcCode int, format string, args ...any) {
	writeJSON(w, httpCode, map[string]any{"code": grpcCode, "message": fmt.Sprintf(format, args...), "details": []any{}})
}

const (
	grpcInvalidArgument = 3
	grpcUnauthenticated = 16
	grpcInternal        = 13
)

type signingCertRequest struct {
	Credentials struct {
		OIDCIdentityToken string `json:"oidcIdentityToken"`
	} `json:"credentials"`
	PublicKeyRequest struct {
		PublicKey struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession string `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
	CertificateSigningRequest string `json:"certificateSigningRequest"`
}

// githubClaims are the claims the GitHub workflow principal needs.
type githubClaims struct {
	Subject           string `json:"sub"`
	JobWorkflowRef    string `json:"job_workflow_ref"`
	JobWorkflowSHA    string `json:"job_workflow_sha"`
	Sha               string `json:"sha"`
	EventName         string `json:"event_name"`
	Repository        string `json:"repository"`
	RepositoryID      string `json:"repository_id"`
	RepositoryOwner   string `json:"repository_owner"`
	RepositoryOwnerID string `json:"repository_owner_id"`
	Visibility        string `json:"repository_visibility"`
	Workflow          string `json:"workflow"`
	WorkflowRef       string `json:"workflow_ref"`
	WorkflowSHA       string `json:"workflow_sha"`
	Ref               string `json:"ref"`
	RunID             string `json:"run_id"`
	RunAttempt        string `json:"run_attempt"`
	RunnerEnvironment string `json:"runner_environment"`
}

func (f *fulcioServer) verifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.provider == nil {
		// Discovery at the loopback URL, for an issuer named otherwise
		// (https://token.actions.githubusercontent.com by default).
		pctx := oidc.InsecureIssuerURLContext(context.Background(), f.s.opts.Issuer)
		p, err := oidc.NewProvider(pctx, f.s.oidc.baseURL)
		if err != nil {
			return nil, err
		}
		f.provider = p
	}
	return f.provider.Verifier(&oidc.Config{ClientID: Audience, Now: f.s.now}), nil
}

func (f *fulcioServer) serveSigningCert(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		grpcError(w, http.StatusMethodNotAllowed, 12, "method not allowed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		grpcError(w, http.StatusBadRequest, grpcInvalidArgument, "reading request: %v", err)
		return
	}
	var req signingCertRequest
	if err := json.Unmarshal(body, &req); err != nil {
		grpcError(w, http.StatusBadRequest, grpcInvalidArgument, "invalid request: %v", err)
		return
	}
	rawToken := req.Credentials.OIDCIdentityToken
	if rawToken == "" {
		rawToken, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if rawToken == "" {
		grpcError(w, http.StatusUnauthorized, grpcUnauthenticated, "There was an error processing the identity token")
		return
	}
	v, err := f.verifier(r.Context())
	if err != nil {
		grpcError(w, http.StatusInternalServerError, grpcInternal, "OIDC discovery: %v", err)
		return
	}
	idToken, err := v.Verify(r.Context(), rawToken)
	if err != nil {
		grpcError(w, http.StatusUnauthorized, grpcUnauthenticated, "There was an error processing the identity token: %v", err)
		return
	}
	var c githubClaims
	if err := idToken.Claims(&c); err != nil {
		grpcError(w, http.StatusUnauthorized, grpcUnauthenticated, "There was an error processing the identity token: %v", err)
		return
	}
	for name, v := range map[string]string{
		"sub": c.Subject, "job_workflow_ref": c.JobWorkflowRef, "sha": c.Sha, "event_name": c.EventName,
		"repository": c.Repository, "workflow": c.Workflow, "ref": c.Ref, "run_id": c.RunID, "run_attempt": c.RunAttempt,
	} {
		if v == "" {
			grpcError(w, http.StatusUnauthorized, grpcUnauthenticated, "There was an error processing the identity token: missing claim %s", name)
			return
		}
	}

	if req.CertificateSigningRequest != "" {
		grpcError(w, http.StatusBadRequest, grpcInvalidArgument, "sigstoretest: certificateSigningRequest is not supported, send publicKeyRequest")
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		grpcError(w, http.StatusBadRequest, grpcInvalidArgument, "The public key supplied in the request could not be parsed: %v", err)
		return
	}
	if err := cryptoutils.ValidatePubKey(pub); err != nil {
		grpcError(w, http.StatusBadRequest, grpcInvalidArgument, "The public key supplied in the request is insecure: %v", err)
		return
	}
	proof, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	if err != nil || len(proof) == 0 {
		grpcError(w, http.StatusBadRequest, grpcInvalidArgument, "The signature supplied in the request could not be decoded")
		return
	}
	// Fulcio's challenge for the GitHub workflow principal: a signature
	// over the token's subject.
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		grpcError(w, http.StatusBadRequest, grpcInvalidArgument, "The public key supplied in the request is not supported: %v", err)
		return
	}
	if err := sv.VerifySignature(bytes.NewReader(proof), strings.NewReader(c.Subject)); err != nil {
		grpcError(w, http.StatusBadRequest, grpcInvalidArgument, "The signature supplied in the request could not be verified")
		return
	}

	leaf, err := f.issue(pub, c)
	if err != nil {
		grpcError(w, http.StatusInternalServerError, grpcInternal, "issuing certificate: %v", err)
		return
	}
	chain := map[string]any{"certificates": []string{pemCert(leaf), pemCert(f.intermediate), pemCert(f.root)}}
	if f.s.ctKey != nil {
		writeJSON(w, http.StatusOK, map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": chain}})
	} else {
		writeJSON(w, http.StatusOK, map[string]any{"signedCertificateDetachedSct": map[string]any{"chain": chain}})
	}
}

// githubExtensions renders what Fulcio's GitHub workflow principal puts in a
// certificate.
func (f *fulcioServer) githubExtensions(c githubClaims) ([]pkix.Extension, error) {
	base := f.s.opts.ServerURL
	v1 := []struct {
		oid asn1.ObjectIdentifier
		val string
	}{
		{certificate.OIDIssuer, f.s.opts.Issuer},
		{certificate.OIDGitHubWorkflowTrigger, c.EventName},
		{certificate.OIDGitHubWorkflowSHA, c.Sha},
		{certificate.OIDGitHubWorkflowName, c.Workflow},
		{certificate.OIDGitHubWorkflowRepository, c.Repository},
		{certificate.OIDGitHubWorkflowRef, c.Ref},
	}
	v2 := []struct {
		oid asn1.ObjectIdentifier
		val string
	}{
		{certificate.OIDIssuerV2, f.s.opts.Issuer},
		{certificate.OIDBuildSignerURI, base + "/" + c.JobWorkflowRef},
		{certificate.OIDBuildSignerDigest, c.JobWorkflowSHA},
		{certificate.OIDRunnerEnvironment, c.RunnerEnvironment},
		{certificate.OIDSourceRepositoryURI, base + "/" + c.Repository},
		{certificate.OIDSourceRepositoryDigest, c.Sha},
		{certificate.OIDSourceRepositoryRef, c.Ref},
		{certificate.OIDSourceRepositoryIdentifier, c.RepositoryID},
		{certificate.OIDSourceRepositoryOwnerURI, base + "/" + c.RepositoryOwner},
		{certificate.OIDSourceRepositoryOwnerIdentifier, c.RepositoryOwnerID},
		{certificate.OIDBuildConfigURI, base + "/" + c.WorkflowRef},
		{certificate.OIDBuildConfigDigest, c.WorkflowSHA},
		{certificate.OIDBuildTrigger, c.EventName},
		{certificate.OIDRunInvocationURI, fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", base, c.Repository, c.RunID, c.RunAttempt)},
		{certificate.OIDSourceRepositoryVisibilityAtSigning, c.Visibility},
	}
	var exts []pkix.Extension
	for _, e := range v1 {
		if e.val != "" {
			// Deprecated extensions hold the raw string, not DER.
			exts = append(exts, pkix.Extension{Id: e.oid, Value: []byte(e.val)})
		}
	}
	for _, e := range v2 {
		if e.val == "" {
			continue
		}
		der, err := asn1.MarshalWithParams(e.val, "utf8")
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: e.oid, Value: der})
	}
	return exts, nil
}

func (f *fulcioServer) issue(pub crypto.PublicKey, c githubClaims) (*x509.Certificate, error) {
	san, err := url.Parse(f.s.opts.ServerURL + "/" + c.JobWorkflowRef)
	if err != nil {
		return nil, err
	}
	exts, err := f.githubExtensions(c)
	if err != nil {
		return nil, err
	}
	skid, err := cryptoutils.SKID(pub)
	if err != nil {
		return nil, err
	}
	now := f.s.now()
	tmpl := &x509.Certificate{
		SerialNumber:    serial(),
		NotBefore:       now,
		NotAfter:        now.Add(f.s.opts.CertLifetime),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:            []*url.URL{san},
		SubjectKeyId:    skid,
		ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.intermediate, pub, f.key)
	if err != nil {
		return nil, err
	}
	if f.s.ctKey != nil {
		// The SCT signs the certificate as it is without the SCT list (the
		// precertificate's TBS, RFC 6962 3.2); the list is the last
		// extension, so removing it gives back exactly these bytes.
		pre, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		ext, err := f.sctExtension(pre.RawTBSCertificate, now)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		if der, err = x509.CreateCertificate(rand.Reader, tmpl, f.intermediate, pub, f.key); err != nil {
			return nil, err
		}
	}
	return x509.ParseCertificate(der)
}

// sctExtension is an embedded SCT list with one SCT of the test CT log.
func (f *fulcioServer) sctExtension(tbs []byte, now time.Time) (pkix.Extension, error) {
	ts := uint64(now.UnixMilli())
	var logID [32]byte
	copy(logID[:], keyID(f.s.ctKey.Public()))
	sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: logID}, Timestamp: ts}
	entry := ct.LogEntry{Leaf: ct.MerkleTreeLeaf{
		Version:  ct.V1,
		LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{
			EntryType: ct.PrecertLogEntryType,
			Timestamp: ts,
			PrecertEntry: &ct.PreCert{
				IssuerKeyHash:  sha256.Sum256(f.intermediate.RawSubjectPublicKeyInfo),
				TBSCertificate: tbs,
			},
		},
	}}
	input, err := ct.SerializeSCTSignatureInput(sct, entry)
	if err != nil {
		return pkix.Extension{}, err
	}
	digest := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, f.s.ctKey, digest[:])
	if err != nil {
		return pkix.Extension{}, err
	}
	sct.Signature = ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	}
	sctBytes, err := cttls.Marshal(sct)
	if err != nil {
		return pkix.Extension{}, err
	}
	list, err := cttls.Marshal(ctx509.SignedCertificateTimestampList{SCTList: []ctx509.SerializedSCT{{Val: sctBytes}}})
	if err != nil {
		return pkix.Extension{}, err
	}
	val, err := asn1.Marshal(list)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: val}, nil
}

func pemCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}
