// Package location reads a published plugship index and the assets it
// lists, wherever they are: a local channel (paths relative to
// index.json), GitHub (a repository's URL, its index branch or release),
// any URL, or an OCI registry (oci:// references, through a Registry).
// Package loader/fetch verifies and installs what it reads; plugship
// mirror copies it to another store.
package location
