// Package schema generates the JSON Schemas of plugship's files from the
// Go types that read them, for editors and for other programs: the three
// YAML files people write (plugship.yaml, teams/<team>/team.yaml,
// compat/hosts.yaml) and the JSON files plugship writes and others read
// (a plugin's build metadata, matrix.json, index.json, trust.json).
//
// The schemas are committed in the repository's schemas/ folder and
// served from it at stable URLs (URL); every YAML file plugship writes or
// holds starts with the yaml-language-server line that names its schema
// (Header), so editors complete and check fields as people type. The
// descriptions are the types' doc comments, the defaults and patterns
// their jsonschema tags. A rule JSON Schema cannot state (a folder that
// exists, a version older than another) stays the parser's, and the
// field's description says so.
//
// The package's tests fail when a committed schema differs from what
// Generate makes (go test ./internal/schema -args -update rewrites them),
// and validate every such file of the repository, the scaffold and the
// main job against its schema with a real validator, which must also
// reject each of a set of bad files that plugship's own parsers reject.
//
// testdata/editor-check.mjs shows an editor using them: it drives
// yaml-language-server (VS Code's YAML language server, from npm) over LSP
// on a plugship.yaml that starts with the scaffold's line, with the schema
// URLs served from schemas/ on loopback, and checks that it completes the
// missing fields and the contract's, and reports a misspelt field. It is
// run by hand (npm install yaml-language-server@1, then node
// editor-check.mjs <repository root> [<file>]); the tests need no Node.
package schema
