// Package trust decides whether a plugin file may be opened: it must be
// signed, and signed by the key of the team that owns the plugin.
//
// A [Policy] lists, per team, the public keys it signs with and, per plugin,
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
// # Warnings
//
// The policy is only as trustworthy as the way it reaches the host: embed
// it, or keep the file where only whoever installs plugins can write.
package trust
