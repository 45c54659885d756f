package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
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

// keylessSigner signs files keylessly: a fresh key pair per file, a
// certificate for it from Fulcio for the OIDC token's identity, the
// signature recorded in Rekor, all written as Sigstore bundles (v0.3).
type keylessSigner struct {
	fulcio, rekor string
	token         string
}

// Describe says how files are signed, for the console.
func (k *keylessSigner) Describe() string {
	return "a keyless certificate from " + k.fulcio + ", logged in " + k.rekor
}

// upToDateKeyless reports whether file's keyless bundle and provenance
// already verify under the policy and describe its current bytes.
func upToDateKeyless(policy *trust.Policy, file string, m *artifact.Metadata) bool {
	if policy == nil {
		return false
	}
	data, err := trust.ReadBundle(file + trust.BundleSuffix)
	if err != nil || !trust.IsKeyless(data) {
		return false
	}
	// The bundle must sign the file's current bytes, which must be the
	// build's: one pass over the file.
	sum, _, err := artifact.HashFile(file)
	if err != nil || sum != m.SHA256 {
		return false
	}
	if _, err := policy.CheckBundleDigest(m.File, sum, data); err != nil {
		return false
	}
	prov, err := trust.ReadBundle(file + trust.ProvenanceSuffix)
	if err != nil || !trust.IsBundle(prov) {
		return false
	}
	_, err = policy.CheckKeylessProvenance(prov, m.File, m.SHA256)
	return err == nil
}

// sign writes file's keyless bundle and its provenance as a keyless DSSE
// attestation, and removes a .sig left by key-based signing.
func (k *keylessSigner) sign(ctx context.Context, file string, m *artifact.Metadata) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != m.SHA256 {
		return fmt.Errorf("the file's sha256 %x differs from its build metadata's %s: it changed after the build; rebuild it", sum, m.SHA256)
	}
	statement, err := attest.Statement(m)
	if err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	bundle, err := k.bundle(ctx, &sgsign.PlainData{Data: data})
	if err != nil {
		return err
	}
	prov, err := k.bundle(ctx, &sgsign.DSSEData{Data: statement, PayloadType: trust.InTotoPayloadType})
	if err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	for _, w := range []struct {
		suffix string
		data   []byte
	}{
		{trust.ProvenanceSuffix, prov},
		{trust.BundleSuffix, bundle},
	} {
		if _, err := artifact.WriteFileIfChanged(file+w.suffix, w.data, 0o644); err != nil {
			return err
		}
	}
	if err := os.Remove(file + trust.SignatureSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// bundle signs content with a new key pair and certificate, logs it in
// Rekor and returns the bundle as JSON.
func (k *keylessSigner) bundle(ctx context.Context, content sgsign.Content) ([]byte, error) {
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	b, err := sgsign.Bundle(content, kp, sgsign.BundleOptions{
		CertificateProvider:        sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: k.fulcio, Retries: 2}),
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: k.token},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: k.rekor, Retries: 2})},
		Context:                    ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("keyless signing (Fulcio %s, Rekor %s): %w", k.fulcio, k.rekor, err)
	}
	out, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(b)
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// keylessTeams are the teams whose manifests sign keylessly.
func keylessTeams(reg *teams.Registry) map[string]bool {
	out := map[string]bool{}
	for _, t := range reg.Teams {
		if t.Signing.Keyless {
			out[t.Name] = true
		}
	}
	return out
}
