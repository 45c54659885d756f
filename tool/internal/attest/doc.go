// Package attest holds the formats of what signing writes beside a plugin
// file, shared by the sign and verify steps: the key-based Sigstore bundle
// and the DSSE-signed in-toto provenance statement.
package attest
