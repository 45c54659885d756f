package config

import "github.com/plugship/plugship/tool/internal/teams"

// Document is plugship.yaml as written, every field optional: the fields
// Parse knows, which it reads into a Config with the defaults filled in,
// and the source of the file's JSON Schema (schemas/plugship.schema.json),
// which editors use to complete and check it. The rules a schema cannot
// state (an import path that resolves, a folder inside the repository)
// are Parse's, and say so in the description.
type Document struct {
	// The format of the file: only 1 exists, so that a file written for a
	// later plugship is not misread.
	Version int `yaml:"version" jsonschema:"enum=1,default=1"`
	// The contract plugins are built against: a package of shared types
	// with an accessor and an element (the default), or symbols of given
	// types, for a host someone else releases.
	Contract ContractDocument `yaml:"contract"`
	// The repository's folders: slash-separated, relative to the module
	// root, inside it.
	Folders FoldersDocument `yaml:"folders"`
	// The Sigstore instance of keyless signing.
	Sigstore SigstoreDocument `yaml:"sigstore"`
	// Where publish puts the plugins besides the defaults.
	Publish PublishDocument `yaml:"publish"`
	// The signed statement of the index (index.statement.json): how long
	// it is valid and who signs it besides the repository's index key.
	Index IndexDocument `yaml:"index"`
}

// ContractDocument is plugship.yaml's contract section.
type ContractDocument struct {
	// The import path of the contract package, the types hosts and plugins
	// share; default the module path followed by /contract. It must be a
	// package the plugins' build resolves.
	Package string `yaml:"package" jsonschema:"minLength=1"`
	// The exported function hosts look up first (func() T).
	Accessor string `yaml:"accessor" jsonschema:"default=Showcase,pattern=^\\p{Lu}[\\p{L}\\p{N}_]*$"`
	// The exported variable hosts look up when there is no accessor.
	Element string `yaml:"element" jsonschema:"default=ShowcaseElement,pattern=^\\p{Lu}[\\p{L}\\p{N}_]*$"`
	// Symbols make the contract one of symbols, for a host someone else
	// releases: each entry is "Name Type", the type written as Go source,
	// exactly what plugin.Lookup returns and the host asserts (a
	// function's own type, or *T for a variable of type T), such as
	// "InitModule func(context.Context, runtime.Logger, *sql.DB,
	// runtime.NakamaModule, runtime.Initializer) error". Excludes accessor
	// and element. That each type is Go is Parse's rule.
	Symbols []string `yaml:"symbols" jsonschema:"minItems=1"`
	// The packages the symbols' types name besides the contract package
	// and the common standard library ones: "path", or "name path".
	Imports []string `yaml:"imports"`
}

// FoldersDocument is plugship.yaml's folders section.
type FoldersDocument struct {
	// <team>/team.yaml and <team>/cosign.pub.
	Teams string `yaml:"teams" jsonschema:"default=teams,minLength=1"`
	// <team>/<plugin>/: each plugin's main package.
	Sources string `yaml:"sources" jsonschema:"default=plugin_sources,minLength=1"`
	// The host profiles and the reference hosts.
	Hosts string `yaml:"hosts" jsonschema:"default=compat/hosts.yaml,minLength=1"`
	// Output only; deleted by clean.
	Dist string `yaml:"dist" jsonschema:"default=dist,minLength=1"`
}

// SigstoreDocument is plugship.yaml's sigstore section.
type SigstoreDocument struct {
	// The certificate authority of keyless signing: an https:// URL
	// (http:// only on loopback).
	Fulcio string `yaml:"fulcio" jsonschema:"default=https://fulcio.sigstore.dev,format=uri"`
	// The transparency log: an https:// URL (http:// only on loopback).
	Rekor string `yaml:"rekor" jsonschema:"default=https://rekor.sigstore.dev,format=uri"`
	// Sigstore's trusted root JSON, a file inside the repository; default
	// Sigstore's public-good root, fetched through its TUF repository when
	// signing.
	TrustedRoot string `yaml:"trusted_root" jsonschema:"minLength=1"`
}

// PublishDocument is plugship.yaml's publish section.
type PublishDocument struct {
	// An OCI registry repository to publish to instead of GitHub Releases
	// or the local channel: oci://<registry>/<repository>, such as
	// oci://ghcr.io/acme/plugins. Credentials come from Docker's
	// config.json and its helpers, or GITHUB_TOKEN for ghcr.io;
	// PLUGSHIP_REGISTRY overrides it.
	Registry string `yaml:"registry" jsonschema:"pattern=^oci://[^/]+/.+$"`
}

// IndexDocument is plugship.yaml's index section.
type IndexDocument struct {
	// How long a signed index statement is valid, a Go duration of hours
	// or minutes such as 168h (7 days, the default). Hosts refuse an index
	// whose statement expired; publish and refresh sign it again once
	// half of it has passed, so run refresh (the refresh workflow) at
	// least that often. At least 1h (a rule of the parser's).
	Expires string `yaml:"expires" jsonschema:"default=168h,pattern=^([0-9]+h)?([0-9]+m)?$"`
	// The keyless identities that sign the index statement where an OIDC
	// token is available (the release, yank and refresh workflows, with
	// permissions id-token: write), such as subject_regexp
	// ^https://github\.com/<owner>/<repo>/\.github/workflows/(release|yank|refresh)\.yml@refs/.*$;
	// elsewhere the index key signs it. Hosts accept either.
	Identities []teams.IdentityDocument `yaml:"identities"`
}

// known are the fields of plugship.yaml by section ("" is the top level),
// in the order of Document's fields.
var known = map[string][]string{
	"":         teams.YAMLFields(Document{}),
	"contract": teams.YAMLFields(ContractDocument{}),
	"folders":  teams.YAMLFields(FoldersDocument{}),
	"sigstore": teams.YAMLFields(SigstoreDocument{}),
	"publish":  teams.YAMLFields(PublishDocument{}),
	"index":    teams.YAMLFields(IndexDocument{}),
	// one entry of index.identities
	"index.identities[]": teams.YAMLFields(teams.IdentityDocument{}),
}
