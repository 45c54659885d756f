package teams

import (
	"reflect"
	"strings"
)

// Document is a team's manifest, teams/<team>/team.yaml, as written: the
// fields the parser knows, and the source of the file's JSON Schema
// (schemas/team.schema.json). Rules a schema cannot state (the name is
// the folder's, a source folder exists, previous versions are older) are
// the parser's, and the descriptions say so.
type Document struct {
	// The team's name, which is also its folder's under teams/: 1-64
	// characters of a-z, 0-9 and "-", starting with a letter or digit.
	Name string `yaml:"name" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]{0\\,63}$"`
	// Who owns the team's plugins: GitHub handles (@name) or e-mail
	// addresses.
	Owners []string `yaml:"owners" jsonschema:"required,minItems=1"`
	// The plugins the team ships, each once.
	Plugins []PluginDocument `yaml:"plugins" jsonschema:"required"`
	// How the team signs: with its key (dist/keys or teams/<team>/cosign.pub;
	// the default), or keylessly in its release workflow.
	Signing SigningDocument `yaml:"signing"`
}

// PluginDocument is one entry of a manifest's plugins.
type PluginDocument struct {
	// The plugin's name, unique in the team: 1-64 characters of a-z, 0-9
	// and "-", starting with a letter or digit.
	Name string `yaml:"name" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]{0\\,63}$"`
	// Its main package's folder, relative to the sources folder
	// (plugin_sources/, folders.sources of plugship.yaml); it must exist.
	Source string `yaml:"source" jsonschema:"required,minLength=1"`
	// The version built from source: a semantic version without a
	// leading "v", such as 1.2.0 or 2.0.0-rc.1.
	Version string `yaml:"version" jsonschema:"required,pattern=^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$"`
	// Older releases still built, each from a folder of its own; each
	// version older than the plugin's.
	Previous []ReleaseDocument `yaml:"previous"`
	// Why the plugin is there, for readers of the matrix, such as "built
	// not acceptable on purpose, to show hosts falling back".
	Note string `yaml:"note"`
}

// ReleaseDocument is one entry of a plugin's previous releases.
type ReleaseDocument struct {
	// The older version: a semantic version without a leading "v".
	Version string `yaml:"version" jsonschema:"required,pattern=^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$"`
	// The folder it is built from, relative to the sources folder.
	Source string `yaml:"source" jsonschema:"required,minLength=1"`
}

// SigningDocument is a manifest's signing section.
type SigningDocument struct {
	// Sign the team's files in its release workflow (GitHub Actions with
	// permissions id-token: write) with a short-lived Fulcio certificate
	// instead of the team's key; identities are then required (a rule of
	// the parser's).
	Keyless bool `yaml:"keyless" jsonschema:"default=false"`
	// The keyless signers whose bundles the team's files are accepted with.
	Identities []IdentityDocument `yaml:"identities"`
	// Keys and identities no longer trusted from a time on (a leaked key,
	// a compromised workflow); go run mage.go keys:rotate adds one.
	Revoked []RevocationDocument `yaml:"revoked"`
}

// RevocationDocument revokes one key or identity of the team's
// (trust.Revocation).
type RevocationDocument struct {
	// The key's ID: its first 12 hex digits (as messages name it) or all
	// 64; the public key stays in the teams folder (keys:rotate keeps it
	// as retired/<id>.pub). This or identity.
	Key string `yaml:"key"`
	// The identity's subject or subject_regexp, exactly as under
	// identities. This or key.
	Identity string `yaml:"identity"`
	// From when (RFC 3339, such as 2026-12-03T10:00:00Z): files signed
	// at or after it are refused, and key signatures (which prove no
	// signing time) from then on.
	At string `yaml:"at" jsonschema:"required,format=date-time"`
	// Why, for the people who read the refusal.
	Reason string `yaml:"reason" jsonschema:"required,minLength=1"`
}

// IdentityDocument is one keyless identity (trust.Identity).
type IdentityDocument struct {
	// The OIDC issuer, exactly: for GitHub Actions
	// https://token.actions.githubusercontent.com.
	Issuer string `yaml:"issuer" jsonschema:"required,minLength=1"`
	// The certificate's identity (its SAN) exactly, such as
	// https://github.com/<owner>/<repo>/.github/workflows/release.yml@refs/tags/<tag>;
	// this or subject_regexp (a rule of the parser's).
	Subject string `yaml:"subject"`
	// A regular expression the certificate's identity must match,
	// anchored: ^...$.
	SubjectRegexp string `yaml:"subject_regexp"`
	// The certificate's source repository must be this
	// (https://github.com/<owner>/<repo>).
	Repository string `yaml:"repository"`
	// The certificate's source ref must be this (refs/tags/...).
	Ref string `yaml:"ref"`
}

// The fields of each mapping of a manifest, in the order of the types'.
var (
	teamFields     = YAMLFields(Document{})
	pluginFields   = YAMLFields(PluginDocument{})
	releaseFields  = YAMLFields(ReleaseDocument{})
	signingFields  = YAMLFields(SigningDocument{})
	identityFields = YAMLFields(IdentityDocument{})
	revokedFields  = YAMLFields(RevocationDocument{})
)

// YAMLFields are the yaml names of the fields of v, a struct: the fields
// a parser of a file described by v's type knows (config's too).
func YAMLFields(v any) []string {
	t := reflect.TypeOf(v)
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		names = append(names, name)
	}
	return names
}
