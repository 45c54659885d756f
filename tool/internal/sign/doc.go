// Package sign signs every plugin file in dist/plugins with its team's key
// (package keys) and writes, beside each <file>.so (dist/ and teams/ are
// configurable in plugship.yaml; package internal/config):
//
//   - <file>.so.sig: the base64 ASN.1 ECDSA signature over the file's
//     bytes, as cosign sign-blob writes it; cosign verify-blob --key
//     teams/<team>/cosign.pub --signature <file>.so.sig
//     --insecure-ignore-tlog=true <file>.so accepts it;
//   - <file>.so.sigstore.json: the same signature as a key-based Sigstore
//     bundle (v0.3, message signature, no transparency log entry);
//   - <file>.so.intoto.json: a DSSE envelope, signed with the same key, of an
//     in-toto statement whose subject is the file's sha256 and whose
//     predicate is SLSA provenance v1: builder, source revision, Go version,
//     build settings and every module linked in, from the build's metadata.
//
// and dist/trust.json, the [trust.Policy] for what it signed: each team's
// public keys (development keys marked) and each plugin's owning team.
//
// A file is signed only if its build metadata agrees with it (sha256) and
// with the team registry (the team that lists the plugin). Files are
// streamed, never read whole. A file whose signature, bundle and provenance
// already verify under the current key is left alone, so signing again
// with nothing changed writes nothing.
//
// A full check of a file (its metadata, its ELF build information, its
// digest, signature, bundle and provenance) leaves a sign state in
// dist/.work/sign/<path under dist>.state.json: the identities (size,
// modification and change times, inode, device) of the file, its metadata,
// .sig, .sigstore.json and .intoto.json (or that they were missing), taken
// before the check, with the contract package, the plugship build and what
// the check trusted: the team's public key ID, or a digest of a keyless
// team's identities and the Sigstore trusted root. While all of them hold,
// the next run reads only the metadata (for the owner check) and the
// state, and reports the file up to date. Any change to one of the files,
// a new key, a change to the identities or trusted root, a state that is
// missing, unreadable or of another plugship, and any file changed within
// 100 ms of its identity being taken (racily clean, as in git) bring back
// the full check, and re-signing when it fails. The state is a convenience
// for the sign step: verify and the loader check everything, always.
//
// # Warnings
//
// ECDSA signatures are randomised: re-signing a file produces different
// bytes. Key-based signing talks to no service: trust comes from the team
// keys alone.
//
// # Keyless signing
//
// A team whose manifest says signing.keyless is signed, where an OIDC
// token is available (SIGSTORE_ID_TOKEN, or GitHub Actions with
// permissions id-token: write), with sigstore-go: per file a fresh key
// pair, a certificate from the Fulcio of plugship.yaml's sigstore.fulcio
// for the token's identity, and an entry in the Rekor of sigstore.rekor.
// Beside the file go its Sigstore bundle (.sigstore.json, v0.3) and its
// provenance as a keyless DSSE attestation (.intoto.json); no .sig. A file
// whose keyless bundle and provenance already verify is left alone.
// Without a token such a team's new files get a development key, as for a
// team without keys. dist/trust.json then carries the team's identities
// and the trusted root they are checked against (keys.TrustedRoot).
package sign
