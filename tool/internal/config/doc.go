// Package config reads the repository configuration, plugship.yaml, at the
// module root (the folder holding go.mod). The file is optional: without
// it, and for an empty file or an empty document, every field has its
// default, which is the layout of this repository. Every step (build,
// sign, verify, compat, publish, release, clean) reads it once, through
// [Load], and uses its folders.
//
// The whole file, every field with its default:
//
//	# plugship.yaml
//	version: 1                         # optional; only 1 exists
//	contract:
//	  package: <module>/contract       # import path of the contract package
//	  accessor: Showcase               # exported func hosts look up first
//	  element: ShowcaseElement         # exported variable looked up when there is no accessor
//	folders:                           # slash-separated, relative to the module root
//	  teams: teams                     # <team>/team.yaml and <team>/cosign.pub
//	  sources: plugin_sources          # <team>/<plugin>/: each plugin's main package
//	  hosts: compat/hosts.yaml         # the host profiles and the reference hosts
//	  dist: dist                       # output only; deleted by clean
//
// Fields, each optional:
//
//   - version: the file format, 1. Any other value is refused, so that a
//     file written for a later plugship is not misread.
//   - contract.package: the import path of the package holding the types
//     hosts and plugins share. Default: the module path (from go.mod)
//     followed by /contract. It may be the module itself, a package of
//     it, or a package of another module; it must be a valid import path
//     (golang.org/x/mod/module.CheckImportPath) whose first element has a
//     dot unless it lies in the module (else Go takes it for a standard
//     library package). A path with an internal element is accepted only
//     when the plugins (<module>/<sources>/...) may import it under Go's
//     internal rule: the path before /internal must be the module, a
//     parent of it, or a folder of it that holds folders.sources. It may
//     not lie under folders.sources or folders.dist.
//   - contract.accessor: the name of the exported function
//     (func() contract.Plugin) hosts look up first in a plugin. Default
//     Showcase.
//   - contract.element: the name of the exported variable hosts look up
//     when a plugin has no accessor. Default ShowcaseElement. Both names
//     must be exported Go identifiers (a letter first, upper case) and
//     differ from each other.
//   - folders.teams: the team registry, one folder per team. Default teams.
//   - folders.sources: the plugins' sources, <team>/<plugin>/ under it.
//     Default plugin_sources. It becomes part of every plugin's import
//     path, so it must be valid in one (no spaces, no leading dot).
//   - folders.hosts: the file of host profiles and reference hosts. Default
//     compat/hosts.yaml. It must end in .yaml or .yml.
//   - folders.dist: the output folder. Default dist.
//
// Every folder is a clean relative slash path inside the module root: no
// leading "/", no "..", not ".", no backslash, no trailing "/" (path.Clean
// leaves it unchanged). The teams folder and the sources folder are
// distinct and neither holds the other; dist neither holds nor lies inside
// either of them, and the hosts file is not inside dist (dist is deleted
// by clean).
//
// # Problems
//
// [Parse] and [Load] report every problem in the file, not only the first,
// each with file, line, field and what to write instead, in the format of
// the team registry's problems ([teams.Problem]):
//
//	plugship.yaml:7: contract.accessor: "greeter" is not an exported Go identifier: write a name that starts with an upper-case letter, such as Greeter
//
// Unknown fields (with the closest known field as a suggestion), duplicate
// fields, values of the wrong kind (a list where a mapping is wanted, a
// mapping where a single value is), and YAML syntax errors (one problem,
// at the line the YAML parser names) are all problems. A step refuses to
// run with a configuration that has any.
//
// # Warnings
//
// A file larger than 1 MiB is refused unread. A contract package under
// internal/ of this module cannot be imported by host programs in other
// modules. Only plugship.yaml is read: a plugship.yml beside go.mod is an
// error, so that it is not silently ignored.
package config
