package sigstoretest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	tokenPath     = "/_apis/distributedtask/hubs/Actions/idtoken"
	discoveryPath = "/.well-known/openid-configuration"
	jwksPath      = "/.well-known/jwks"
	tokenLifetime = 10 * time.Minute
)

// oidcServer is the GitHub Actions side: the runner's token endpoint and the
// issuer's discovery document and JWKS.
type oidcServer struct {
	s            *Sigstore
	baseURL      string
	requestToken string
	alg          jose.SignatureAlgorithm
	key          crypto.Signer
	kid          string
}

func newOIDCServer(s *Sigstore) (*oidcServer, error) {
	o := &oidcServer{s: s, requestToken: randomHex(20)}
	switch s.opts.TokenAlgorithm {
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		o.key, o.alg = k, jose.ES256
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		o.key, o.alg = k, jose.RS256
	default:
		return nil, fmt.Errorf("unsupported token algorithm %q (ES256 or RS256)", s.opts.TokenAlgorithm)
	}
	o.kid = hex.EncodeToString(keyID(o.key.Public())[:8])
	return o, nil
}

func (o *oidcServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(tokenPath, o.serveToken)
	mux.HandleFunc(discoveryPath, func(w http.ResponseWriter, r *http.Request) {
		// The issuer is the configured name (GitHub's by default), not this
		// loopback URL: a Fulcio maps the name to where it is served, and
		// go-oidc accepts that with InsecureIssuerURLContext.
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                o.s.opts.Issuer,
			"jwks_uri":                              o.baseURL + jwksPath,
			"subject_types_supported":               []string{"public", "pairwise"},
			"response_types_supported":              []string{"id_token"},
			"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_id", "repository_owner", "repository_owner_id", "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow", "workflow_ref", "workflow_sha", "head_ref", "base_ref", "event_name", "ref_type", "ref_protected", "environment", "environment_node_id", "job_workflow_ref", "job_workflow_sha", "repository_visibility", "runner_environment", "enterprise", "enterprise_id"},
			"id_token_signing_alg_values_supported": []string{string(o.alg)},
			"scopes_supported":                      []string{"openid"},
		})
	})
	mux.HandleFunc(jwksPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: o.key.Public(), KeyID: o.kid, Algorithm: string(o.alg), Use: "sig",
		}}})
	})
	return mux
}

// serveToken is GitHub's ACTIONS_ID_TOKEN_REQUEST_URL endpoint.
func (o *oidcServer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "method not allowed"})
		return
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unable to authenticate: no bearer token"})
		return
	}
	if tok != o.requestToken {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Forbidden: the token is not valid for this job"})
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		aud = o.s.opts.ServerURL + "/" + owner(o.s.opts.Repository)
	}
	jwtString, err := o.mint(func(c map[string]any) { c["aud"] = aud })
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": 1, "value": jwtString})
}

// claims are those of a GitHub Actions ID token for the configured run.
func (o *oidcServer) claims() map[string]any {
	opt := o.s.opts
	now := o.s.now()
	refType := "branch"
	if strings.HasPrefix(opt.Ref, "refs/tags/") {
		refType = "tag"
	}
	return map[string]any{
		"iss":                   opt.Issuer,
		"aud":                   Audience,
		"sub":                   "repo:" + opt.Repository + ":ref:" + opt.Ref,
		"jti":                   randomHex(16),
		"iat":                   now.Unix(),
		"nbf":                   now.Add(-5 * time.Second).Unix(),
		"exp":                   now.Add(tokenLifetime).Unix(),
		"ref":                   opt.Ref,
		"ref_type":              refType,
		"ref_protected":         "false",
		"sha":                   opt.SHA,
		"repository":            opt.Repository,
		"repository_id":         "123456789",
		"repository_owner":      owner(opt.Repository),
		"repository_owner_id":   "987654",
		"repository_visibility": opt.Visibility,
		"run_id":                runID,
		"run_number":            "7",
		"run_attempt":           "1",
		"actor":                 "octocat",
		"actor_id":              "583231",
		"workflow":              opt.WorkflowName,
		"workflow_ref":          opt.Repository + "/" + opt.Workflow + "@" + opt.Ref,
		"workflow_sha":          opt.SHA,
		"job_workflow_ref":      opt.JobWorkflowRef,
		"job_workflow_sha":      opt.SHA,
		"event_name":            opt.EventName,
		"runner_environment":    opt.RunnerEnvironment,
	}
}

func (o *oidcServer) mint(modify func(map[string]any)) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: o.alg, Key: jose.JSONWebKey{Key: o.key, KeyID: o.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	c := o.claims()
	if modify != nil {
		modify(c)
	}
	return jwt.Signed(signer).Claims(c).Serialize()
}

// MintToken returns an ID token signed by the issuer with the run's claims
// (aud "sigstore"), after modify changed them: for tests of what Fulcio
// refuses (an expired token, another audience, a missing claim...).
func (s *Sigstore) MintToken(modify func(claims map[string]any)) (string, error) {
	return s.oidc.mint(modify)
}

// IDToken fetches an ID token for audience "sigstore" the GitHub way, from
// TokenRequestURL with TokenRequestToken.
func (s *Sigstore) IDToken(t testing.TB) string {
	t.Helper()
	tok, err := FetchGitHubToken(context.Background(), s.TokenRequestURL(), s.TokenRequestToken(), Audience)
	if err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	return tok
}

// FetchGitHubToken is the GitHub Actions client side: GET
// requestURL&audience=<audience> with "Authorization: Bearer requestToken",
// returning the "value" of the JSON answer.
func FetchGitHubToken(ctx context.Context, requestURL, requestToken, audience string) (string, error) {
	u := requestURL
	if audience != "" {
		sep := "&"
		if !strings.Contains(u, "?") {
			sep = "?"
		}
		u += sep + "audience=" + url.QueryEscape(audience)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+requestToken)
	req.Header.Set("Accept", "application/json; api-version=2.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ID token request: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("ID token response: %w", err)
	}
	if v.Value == "" {
		return "", errors.New("ID token response has no value")
	}
	return v.Value, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
