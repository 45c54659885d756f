// Package artifact is the data the toolchain's steps exchange through dist/:
// where each artifact lives, how a plugin file is named, and the metadata
// JSON written beside every plugin file. Steps never import each other; they
// read and write these files.
//
//	dist/plugins/<team>/<plugin>/<plugin>_v<version>_<goos>_<goarch>.so
//	dist/plugins/<team>/<plugin>/<plugin>_v<version>_<goos>_<goarch>.so.json
//
// The file name is the one place the build, the loader, the matrix and
// publishing agree on what a file is: [ParseName] is the only parser of it.
//
// # Warnings
//
// Metadata describes a file; it does not vouch for it. Readers compare the
// recorded sha256 with the file before trusting either (see [Metadata.Check]).
package artifact
