// Package registrytest runs a real OCI registry for tests: CNCF
// Distribution (github.com/distribution/distribution/v3), the reference
// implementation, in-process on loopback, with filesystem storage in a
// folder of the test's. It counts the requests it answers, so that a
// test can check that a second publish uploads nothing.
//
// Distribution v3.1 has no OCI 1.1 referrers API: clients (oras-go) fall
// back to the referrers tag schema (a tag sha256-<digest> holding an
// index of the referrers), which is what registries without the API
// need.
package registrytest
