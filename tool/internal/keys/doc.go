// Package keys manages the teams' signing keys: ECDSA P-256 key pairs in
// the formats cosign uses, so that cosign can check plugship's signatures.
//
// A team's public key is committed as teams/<team>/cosign.pub (the teams
// folder is configurable in plugship.yaml: folders.teams). Its private
// key is an encrypted PEM ("ENCRYPTED SIGSTORE PRIVATE KEY", scrypt and
// secretbox, as cosign generate-key-pair writes) kept out of git in
// .keys/<team>/cosign.key, or a KMS reference. For team <team>, the signer is,
// in order:
//
//  1. the environment variable PLUGSHIP_KEY_<TEAM> (team name upper-cased,
//     "-" as "_"): a path to an encrypted PEM, the PEM itself (from a CI
//     secret), or a KMS reference
//     (scheme://...). Compiled-in KMS providers: sigstore's CLI plugin
//     mechanism only, which runs an executable sigstore-kms-<scheme> found
//     on PATH; the cloud providers (awskms, gcpkms, azurekms, hashivault)
//     are separate modules and are not compiled in;
//  2. .keys/<team>/cosign.key;
//  3. a development key, generated once under dist/keys/dev/<team>/ (dist/
//     is configurable in plugship.yaml) with an empty password, so that a
//     fresh checkout builds and signs end to end.
//     It is labelled as such wherever it is used, and strict hosts refuse it.
//
// The password of an encrypted key comes from PLUGSHIP_KEY_PASSWORD_<TEAM>,
// else PLUGSHIP_KEY_PASSWORD (cosign's COSIGN_PASSWORD is not read, so that
// one team's password does not unlock another's key by accident).
//
// A signer whose public key differs from the committed teams/<team>/cosign.pub
// is refused: what it signs could not be verified.
//
// # Warnings
//
// Private keys are never written under dist/ except development keys, and
// never printed. Development keys protect nothing: anyone with the checkout
// can sign with them.
package keys
