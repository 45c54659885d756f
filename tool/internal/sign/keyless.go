package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/keylesssign"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

// keylessSigner signs files keylessly: a fresh key pair per file, a
// certificate for it from Fulcio for the OIDC token's identity, the
// signature recorded in Rekor, all written as Sigstore bundles (v0.3).
type keylessSigner struct{ *keylesssign.Signer }

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
	bundle, err := k.Bundle(ctx, &sgsign.PlainData{Data: data})
	if err != nil {
		return err
	}
	prov, err := k.Bundle(ctx, &sgsign.DSSEData{Data: statement, PayloadType: trust.InTotoPayloadType})
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
