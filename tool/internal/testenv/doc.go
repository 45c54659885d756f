// Package testenv is go run mage.go test: it provides what a repository's
// tests need, then runs them all and refuses any skip.
//
// What the tests need: a C compiler (plugins need cgo) and plugin support,
// the Go toolchains and C compilers of the host profiles (compat/hosts.yaml),
// and, in plugship's own repository, chromium (the matrix page's test) and a
// cross C compiler for the other common architecture (the cross-profile
// test). A missing Debian package is installed when this process can (as
// root, or through sudo -n); otherwise it stops, naming what is missing and
// the exact command that installs it. Toolchains come through the module
// proxy.
//
// Then go test -json ./... runs (with any extra arguments), progress is
// printed per package, and the summary lists the packages that passed and
// failed and the output of every failing test. A skipped test fails the
// run: a test never skips because something is missing, and one that
// skips by choice (testing.Short) runs only with -short, which allows
// skips.
package testenv
