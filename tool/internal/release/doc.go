// Package release is what the release pipeline runs for one tag: given
// <team>/<plugin>/v<version>, it builds that plugin, signs it, runs the
// compatibility matrix and publishes. It refuses development keys. The GitHub workflow calls it through
// go run mage.go release <tag>, so the pipeline holds no logic of its own.
//
// The signing key may come from PLUGSHIP_RELEASE_KEY: a key reference
// (path or KMS) or the encrypted PEM itself (from a repository secret),
// used as the tag's team key (PLUGSHIP_KEY_<TEAM>); the password from
// PLUGSHIP_KEY_PASSWORD as usual.
package release
