// Package artifact is the data the toolchain's steps exchange through dist/
// (configurable in plugship.yaml: folders.dist):
// where each artifact lives, how a plugin file is named, and the metadata
// JSON written beside every plugin file. Steps never import each other; they
// read and write these files.
//
//	dist/plugins/<team>/<plugin>/<plugin>_v<version>_<goos>_<goarch>_<abi>.so
//	dist/plugins/<team>/<plugin>/<plugin>_v<version>_<goos>_<goarch>_<abi>.so.json
//
// for example fraud_v1.3.0_linux_amd64_go1.26.8-166835a9.so. The ABI tag
// (go<release>-<8 hex digits>, see fingerprint.ABI) says which hosts can
// load the file: one plugin version has one file per host ABI it was built
// for, and a host considers only the files of its own ABI.
//
// The file name is the one place the build, the loader, the matrix and
// publishing agree on what a file is: [ParseName] is the only parser of it.
//
// # Warnings
//
// Metadata describes a file; it does not vouch for it. Readers compare the
// recorded sha256 with the file before trusting either (see [Metadata.Check]).
package artifact
