// Package publish is the publishing step: it takes every built, signed
// plugin version that the compatibility matrix approved and publishes it,
// to GitHub Releases or, with no GitHub settings, to a local channel in
// dist/channel/ (dist/ is configurable in plugship.yaml). Either way it
// keeps index.json, the catalogue hosts fetch from (see loader.Fetch).
//
// On GitHub each plugin version is one release, tagged
// <team>/<plugin>/v<version>, created as a draft, given its assets (the .so,
// its .sig, .sigstore.json, .intoto.json and metadata JSON, SHA256SUMS and
// the matrix.json that approved it) and then published. The release notes
// carry the plugin's row of the matrix. index.json is an asset of the
// release tagged plugship-index. In the channel the same assets live in
// dist/channel/<team>/<plugin>/v<version>/ and index.json beside them.
//
// A version is refused, with nothing uploaded, when its file is not signed
// by its team's key, when its digest is not in dist/compat/matrix.json or
// the matrix has a policy violation for it, or when that version was
// already published with other content. Nothing published is replaced:
// publishing identical content again succeeds and changes nothing, and a
// build of a published version for a new ABI (a host profile added since)
// is added to its release, whose notes are edited to list it.
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
