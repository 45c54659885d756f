// Package keylesssign signs keylessly, as the sign step signs plugin
// files and publish signs the index statement: it finds the OIDC identity
// token (SIGSTORE_ID_TOKEN, or the GitHub Actions workflow's) and signs
// content with a short-lived certificate from Fulcio for that identity,
// logged in Rekor, returning a Sigstore bundle.
package keylesssign
