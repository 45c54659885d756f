// Package trust decides whether a plugin file may be opened: it must be
// signed, and signed by a key or a keyless identity of the team that owns
// the plugin.
//
// A [Policy] lists, per team, the public keys it signs with (and the
// keyless identities it accepts) and, per plugin,
// the team that owns it (from the team registry). plugship's sign step
// writes the policy for everything it signed as dist/trust.json; hosts
// either read such a file or embed one at build time:
//
//	//go:embed trust.json
//	var trustJSON []byte
//
//	policy, err := trust.Parse(trustJSON)
//	policy.Strict = true // refuse development keys
//	p, report, err := loader.Load[contract.Plugin](ctx, dir, "fraud", loader.Options{Trust: policy})
//
// [Policy.Verify] checks the file's .sig (base64 ASN.1 ECDSA signature over
// the file's bytes, as cosign sign-blob writes it) against the owning
// team's keys, streaming the file. A valid signature by another team's key
// is refused, and says so.
//
// A team may also name keyless identities ([Identity]: an OIDC issuer and
// a certificate identity, such as a GitHub Actions release workflow). A
// file of such a team is accepted by its .sigstore.json bundle: a Sigstore
// bundle whose Fulcio certificate chains to the policy's trusted root
// (SigstoreRoot), whose signing time a transparency log entry or a
// timestamp proves, that covers the file's sha256 (a message signature, or
// an attestation such as GitHub's whose subject is the file), and whose
// identity is one the team names. It is all checked offline, with
// sigstore-go; see [Policy.CheckBundle].
//
// The policy may also name an index signer ([IndexSigner]: the
// repository's index key, and the keyless identities of the workflows
// that publish). [Policy.CheckIndex] then checks the signed statement
// published beside index.json (artifact.IndexStatementFile): by that
// signer, of this index's content, not expired; fetch adds that it is not
// older than the last one accepted.
//
// # Warnings
//
// The policy is only as trustworthy as the way it reaches the host: embed
// it, or keep the file where only whoever installs plugins can write.
package trust
