package keylesssign

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/plugship/plugship/internal/artifact"
)

// Environment variables of keyless signing.
const (
	// IDTokenEnv holds an OIDC identity token to sign with, as cosign's
	// SIGSTORE_ID_TOKEN: any issuer the certificate authority accepts.
	IDTokenEnv = "SIGSTORE_ID_TOKEN"
	// GitHub Actions gives a job that has permissions id-token: write these
	// two: a URL to request the workflow's token from, and the bearer
	// token for the request.
	ActionsTokenURLEnv     = "ACTIONS_ID_TOKEN_REQUEST_URL"
	ActionsRequestTokenEnv = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// idTokenAudience is the audience Fulcio expects.
const idTokenAudience = "sigstore"

// maxTokenResponse bounds the token endpoint's answer.
const maxTokenResponse = 64 << 10

// IDToken returns the OIDC identity token to sign keylessly with: the
// one in SIGSTORE_ID_TOKEN, or the GitHub Actions workflow's, requested
// with audience sigstore. "" and no error when there is none (not in a
// workflow with permissions id-token: write).
func IDToken(ctx context.Context, client *http.Client) (string, error) {
	if t := strings.TrimSpace(os.Getenv(IDTokenEnv)); t != "" {
		return t, nil
	}
	reqURL, bearer := os.Getenv(ActionsTokenURLEnv), os.Getenv(ActionsRequestTokenEnv)
	if reqURL == "" || bearer == "" {
		return "", nil
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ActionsTokenURLEnv, err)
	}
	q := u.Query()
	q.Set("audience", idTokenAudience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting the workflow's OIDC token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return "", fmt.Errorf("reading the workflow's OIDC token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("requesting the workflow's OIDC token: %s: %s (does the job have permissions: id-token: write?)", resp.Status, strings.TrimSpace(string(body)))
	}
	var tok struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.Value == "" {
		return "", fmt.Errorf("the workflow's OIDC token endpoint answered %q, want {\"value\": \"<token>\"}", artifact.Quote(string(body)))
	}
	return tok.Value, nil
}

// Signer signs keylessly with sigstore-go: for each signature a fresh key
// pair, a certificate for it from the Fulcio at Fulcio for the identity
// of Token, and an entry in the Rekor at Rekor.
type Signer struct {
	Fulcio, Rekor string
	Token         string
}

// Describe says how it signs, for the console.
func (k *Signer) Describe() string {
	return "a keyless certificate from " + k.Fulcio + ", logged in " + k.Rekor
}

// Bundle signs content with a new key pair and a certificate for the
// token's identity, logs it in Rekor and returns the Sigstore bundle
// (v0.3) as JSON.
func (k *Signer) Bundle(ctx context.Context, content sgsign.Content) ([]byte, error) {
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	b, err := sgsign.Bundle(content, kp, sgsign.BundleOptions{
		CertificateProvider:        sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: k.Fulcio, Retries: 2}),
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: k.Token},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: k.Rekor, Retries: 2})},
		Context:                    ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("keyless signing (Fulcio %s, Rekor %s): %w", k.Fulcio, k.Rekor, err)
	}
	out, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(b)
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
