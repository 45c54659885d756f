// Package oci reads plugship's plugin files from OCI registries (GHCR,
// Harbor, Artifactory, ECR, Zot, Distribution), for package
// loader/fetch and plugship install:
//
//	policy, err := trust.Load("trust.json")
//	...
//	results, err := fetch.Plugins(ctx, fetch.Options{
//		Index:    "oci://ghcr.io/acme/plugins", // or ...:<tag>, ...@sha256:<digest>
//		Registry: oci.New(),
//		Plugin:   "fraud", Dir: dir, Trust: policy, ABI: abi,
//	})
//
// It is a module of its own, github.com/plugship/plugship/oci, because
// its client, oras-go, brings modules (the OCI image-spec, go-digest,
// golang.org/x/sync) into the module graph of every host that links it,
// and so of every plugin of that host. Hosts whose plugins arrive by
// other means do not carry them.
//
// # Layout
//
// plugship's publish step writes one repository per publish target:
//
//   - each plugin file (one ABI of one version) is a manifest of artifact
//     type [ArtifactPlugin], tagged by [Tag]
//     (<team>.<plugin>.v<version>.<abi>), whose layers are the .so
//     ([MediaTypePlugin]) and its build metadata ([MediaTypeMetadata]),
//     titled with their file names, and whose annotations name the team,
//     plugin, version, ABI, contract package, source and revision;
//   - its signature, Sigstore bundle, provenance and checksums are
//     manifests of artifact type [ArtifactSignature] whose subject is the
//     plugin manifest (OCI 1.1 referrers, found through the referrers API
//     or the referrers tag schema), one titled layer each;
//   - the index (index.json) and the approving matrix (matrix.json) are
//     manifests of artifact type [ArtifactIndex], tagged [IndexTag] and
//     [MatrixTag]: the only tags that move.
//
// The index lists each file's assets as digest references,
// oci://<registry>/<repository>@sha256:<digest>.
//
// # Credentials
//
// Registry reads Docker's config.json and its credential helpers (docker
// login, DOCKER_CONFIG), and for ghcr.io, when they hold nothing,
// GITHUB_TOKEN (as GITHUB_ACTOR). A registry on loopback is talked to
// over http://, any other over https://.
//
// # Warnings
//
// Nothing here verifies a signature: a blob is checked against its
// digest, and fetch checks the file's signature and provenance under the
// trust policy before the file takes its name. A registry is as
// trustworthy as its access control, like any other publish target.
package oci
