// Package docscheck tests the documentation (README.md and docs/): every
// relative link leads to a file of the repository and, with an anchor, to
// a heading in it, and every `go run mage.go <target>` names a target
// that exists, with the number of arguments it takes. It holds tests only.
package docscheck
