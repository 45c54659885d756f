// Package sigstoretest runs a Sigstore on loopback for tests: the services a
// keyless signer meets in GitHub Actions, speaking their real protocols, so
// that sigstore-go's pkg/sign and pkg/verify (and cosign) work against them
// offline with real cryptography.
//
// New starts, for one simulated workflow run:
//
//   - a GitHub Actions ID-token endpoint: GET ACTIONS_ID_TOKEN_REQUEST_URL
//     plus "&audience=sigstore", with "Authorization: Bearer
//     ACTIONS_ID_TOKEN_REQUEST_TOKEN", answers {"count":1,"value":"<JWT>"};
//     no bearer token is a 401 and a wrong one a 403, both with a JSON
//     {"message":...}. The JWT (ES256 or RS256) carries GitHub's claims
//     (iss, aud, sub "repo:<owner>/<repo>:ref:<ref>", repository,
//     repository_owner, ref, sha, workflow, workflow_ref, job_workflow_ref,
//     event_name, runner_environment, run_id, exp/iat/nbf...). The issuer's
//     discovery document (/.well-known/openid-configuration) and JWKS are
//     served too; the discovery document names the configured issuer
//     (https://token.actions.githubusercontent.com by default) although it
//     is served on loopback.
//   - a Fulcio (POST /api/v2/signingCert, the v2 JSON API sigstore-go's
//     sign.Fulcio uses). It verifies the token against the issuer's
//     discovery and JWKS with go-oidc (signature, iss, aud "sigstore", exp),
//     requires the GitHub claims its GitHub workflow principal needs, checks
//     the public key and the proof of possession (a signature over the
//     token's sub), and issues a leaf from a test CA (root and intermediate,
//     as Fulcio's) valid for CertLifetime (10 minutes), with the SAN URI
//     ServerURL/<job_workflow_ref> and Fulcio's extensions: the issuer (.1.1
//     raw and .1.8 DER), the deprecated GitHub ones (.1.2 to .1.6, raw) and
//     .1.9 to .1.22 (DER UTF8String), exactly as sigstore-go's
//     certificate.ParseExtensions reads them. The answer is
//     signedCertificateEmbeddedSct with the chain leaf, intermediate, root
//     as PEM; the leaf embeds an SCT signed by a test CT log whose key is in
//     the trusted root (Options.NoCTLog: no SCT, the detached form, no
//     ctlogs in the root).
//   - a Rekor with the v1 API (POST /api/v1/log/entries, GET
//     /api/v1/log/entries/{uuid}, GET /api/v1/log/entries?logIndex=, GET
//     /api/v1/log, GET /api/v1/log/publicKey). Entries go through Rekor's own
//     types (hashedrekord and dsse v0.0.1, which verify the signature with
//     the certificate's key) and canonicalization into an RFC 6962 Merkle
//     tree. A 201 answers {entryID: {body, integratedTime, logID, logIndex,
//     verification: {signedEntryTimestamp, inclusionProof: {checkpoint,
//     hashes, logIndex, rootHash, treeSize}}}} with ETag and Location; an
//     entry already logged is a 409 whose Location is the existing entry's.
//     The SET and the checkpoint (a signed note whose origin is
//     "<host> - <treeID>", like Rekor v1's) are signed by the log's ECDSA
//     P-256 key.
//   - an RFC 3161 timestamp authority (POST /api/v1/timestamp) with its own
//     CA, its leaf's only extended key usage timeStamping, critical.
//
// TrustedRootJSON describes all of it (Fulcio chain, Rekor key with its log
// ID, TSA chain, CT log key, each valid from two years before New) in the
// sigstore trusted root format, which is all a verifier needs offline.
//
// Sign, SignBlob and SignDSSE sign through those services with sigstore-go's
// own pkg/sign. At signs as of another time (SetClock moves every service's
// clock), WithoutTransparencyLog leaves the Rekor entry out, and together they
// make a bundle whose certificate has expired with no proof of signing time.
// Each New has its own keys and CAs: a second instance (say with another
// Issuer) is another Sigstore, and TrustedRootJSONOf(a, b) trusts both.
//
// Not modelled: Fulcio's CSR requests, other OIDC providers' principals,
// Rekor v2 (tiles) and Rekor's search and index APIs, CT log submission
// (the SCT is signed directly, no CT log API is served), certificate
// revocation, rate limits and retries (no 5xx is ever returned on purpose).
package sigstoretest
