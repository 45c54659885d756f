// Package publish is the publishing step: it takes every built, signed
// plugin version that the compatibility matrix approved and publishes it,
// to GitHub Releases or, with no GitHub settings, to a local channel in
// dist/channel/ (dist/ is configurable in plugship.yaml), or to an OCI
// registry repository (PLUGSHIP_REGISTRY or publish.registry:
// oci://<registry>/<repository>; see Registry, registry.go, for the
// layout). Each way it keeps index.json, the catalogue hosts fetch from
// (see package loader/fetch).
//
// On GitHub each plugin version is one release, tagged
// <team>/<plugin>/v<version>, created as a draft, given its assets (the .so,
// its .sig, .sigstore.json, .intoto.json and metadata JSON, SHA256SUMS and
// the matrix.json that approved it) and then published. The release notes
// carry the plugin's row of the matrix. index.json is an asset of the
// release tagged plugship-index (on a repository with immutable releases,
// on a branch: see below). In the channel the same assets live in
// dist/channel/<team>/<plugin>/v<version>/ and index.json beside them.
//
// On a repository with immutable releases (GitHub's setting "Enable
// release immutability"), a published release takes no new asset and its
// tag can never be used again. A version's release still gets the builds
// of every ABI the profiles make while it is a draft, and is published
// once, complete. A build that appears after it was published (a host
// profile added since) gets a follow-up release of its own, tagged
// <team>/<plugin>/v<version>+<abi> (the ABI as semver build metadata), made
// the same way and never marked Latest; the published release is not
// touched, not even its notes. Immutability is read per release, from the
// "immutable" field GitHub returns (an upload refused as immutable counts
// too), so a release published before the setting was turned on still
// takes new builds as before. index.json and matrix.json, which every
// publish replaces, then live on the branch plugship-index (an orphan
// branch holding only them and a README), written through the contents
// API and served at <repository>/raw/plugship-index/index.json; see
// index.go for when the branch is chosen, and how the first publish there
// carries over the entries of an index release. The index names, for each
// file, the release that holds it, so hosts (fetch.Plugins) find follow-ups
// without knowing about them.
//
// A version is refused, with nothing uploaded, when its file is not signed
// by its team's key, when its digest is not in dist/compat/matrix.json or
// the matrix has a policy violation for it, or when that version was
// already published with other content. Nothing published is replaced:
// publishing identical content again succeeds and changes nothing, and a
// build of a published version for a new ABI (a host profile added since)
// is added to its release, whose notes are edited to list it (on a
// repository with immutable releases it gets a follow-up release instead).
//
// A published version whose signature no longer verifies under the
// current policy (its team's key was rotated and revoked, see
// keys.Rotate) while this build's does gets this build's signatures,
// bundle, provenance and checksums ("re-signed"): in the channel and in a
// mutable release in place of the old ones; for an immutable release on
// the branch plugship-index under resigned/<tag>/ (ResignedDir), which
// the index names as the version's asset locations. Its .so never
// changes. Yank (yank.go) withdraws a version from hosts, or gives it
// back, by recording it in index.json.
//
// Publishing is resumable: a run interrupted at any point is completed by
// the next, with one copy of each asset (drafts are found by listing, as
// GitHub's get-by-tag does not return drafts; a half-uploaded asset is
// replaced). Transient failures (5xx, 429, secondary rate limits, dropped
// connections) are retried with exponential backoff that honours
// Retry-After.
//
// Configuration comes from the environment GitHub Actions provides:
// GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name) and GITHUB_API_URL (and
// GITHUB_UPLOAD_URL for a GitHub Enterprise upload host that is not
// <api>/uploads). The token never appears in output or errors.
package publish
