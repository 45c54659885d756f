// Package verify checks every signed artifact in dist/plugins against the
// key of the team that owns it, as the team registry says, and prints a
// table: artifact, team, key, result. dist/ and the registry's folder are
// configurable in plugship.yaml (package internal/config).
//
// For each plugin file it checks the signature (.sig), the Sigstore bundle
// (.sigstore.json: digest and signature) and the provenance (.intoto.json:
// DSSE signature and subject digest), all under the owning team's keys. A
// valid signature by another team's key fails. In strict mode
// (PLUGSHIP_STRICT=1) development keys fail too.
package verify
