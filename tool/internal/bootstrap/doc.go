// Package bootstrap tests mage.go, the zero-install bootstrap of
// `go run mage.go <target>` (a //go:build ignore file, which cannot hold
// tests of its own), and how runs started at once share a checkout: their
// compile of the magefiles and their writes to dist/.
package bootstrap
