// Package keyless lets a host accept plugin files signed keylessly: by a
// short-lived Sigstore certificate for an OIDC identity (a GitHub Actions
// release workflow) instead of a team's key.
//
// It is a module of its own, github.com/plugship/plugship/keyless, because
// it needs sigstore-go, whose module graph (protobuf, TUF, transparency
// log clients) every plugin of a host that links it must then share.
// Hosts that trust keys only import github.com/plugship/plugship/trust
// and link none of it. A host opts in explicitly:
//
//	policy, err := keyless.Load("trust.json") // trust.Load, then Enable
//	...
//	p, report, err := loader.Load[contract.Plugin](ctx, dir, "fraud", loader.Options{Trust: policy})
//
// or keyless.Enable(policy) on a policy it parsed itself. Without it, a
// file that only a keyless bundle covers is refused, naming the bundle and
// this package (trust.ErrNoKeyless).
//
// A keyless bundle is accepted when its Fulcio certificate chains to the
// policy's trusted root (sigstore_trusted_root), a transparency log entry
// or a timestamp proves the signing time within the certificate's life,
// it covers the file's sha256 (a message signature, or an attestation
// such as GitHub's whose subject is the file), and its identity is one the
// owning team names. All of it is checked offline, with sigstore-go.
//
// # Warnings
//
// The trusted root is as trustworthy as the way it reaches the host, like
// the rest of the policy: embed it, or keep it where only whoever installs
// plugins can write.
package keyless
