package registrytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/go-jose/go-jose/v4"
)

// tokenService is a token service of the Docker registry token protocol
// (distribution-spec's token authentication): GET <realm>?service=&scope=
// with HTTP basic authentication answers {"token": <JWT>}, signed with a
// key the registry trusts through a JWKS file.
type tokenService struct {
	user, password, realm string
	key                   *ecdsa.PrivateKey
	jwks                  string // the file of the public key
	issued                atomic.Int32
}

const (
	tokenIssuer   = "plugship-test-token-service"
	tokenAudience = "plugship-test-registry"
	tokenKeyID    = "plugship-test"
)

func newTokenService(t testing.TB, user, password, realm string) *tokenService {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: tokenKeyID, Algorithm: string(jose.ES256), Use: "sig"}}}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return &tokenService{user: user, password: password, realm: realm, key: key, jwks: file}
}

// options configure Distribution's token access controller.
func (ts *tokenService) options() configuration.Parameters {
	return configuration.Parameters{"realm": ts.realm, "service": tokenAudience, "issuer": tokenIssuer, "jwks": ts.jwks}
}

// access is one grant of a token's claims.
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

func (ts *tokenService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, password, ok := r.BasicAuth()
	if !ok || user != ts.user || password != ts.password {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
		return
	}
	var grants []access
	for _, scope := range r.URL.Query()["scope"] {
		for _, one := range strings.Split(scope, " ") {
			parts := strings.Split(one, ":")
			if len(parts) == 3 {
				grants = append(grants, access{Type: parts[0], Name: parts[1], Actions: strings.Split(parts[2], ",")})
			}
		}
	}
	now := time.Now()
	claims := map[string]any{
		"iss": tokenIssuer, "sub": user, "aud": r.URL.Query().Get("service"),
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": now.Format(time.RFC3339Nano), "access": grants,
	}
	payload, _ := json.Marshal(claims)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: ts.key, KeyID: tokenKeyID}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	token, _ := jws.CompactSerialize()
	ts.issued.Add(1)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": token, "access_token": token, "expires_in": 300, "issued_at": now.Format(time.RFC3339)})
}

// TokensIssued is how many tokens the token service gave (StartWithToken).
func (s *Server) TokensIssued() int {
	if s.tokens == nil {
		return 0
	}
	return int(s.tokens.issued.Load())
}
