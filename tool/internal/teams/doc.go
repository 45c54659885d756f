// Package teams reads and validates the team registry: one manifest per team,
// teams/<team>/team.yaml, naming the team's owners and the plugins it ships.
// The registry's folder (teams/) and the plugins' sources folder
// (plugin_sources/) are configurable in plugship.yaml (folders.teams,
// folders.sources; see package internal/config): [LoadDirs] takes them,
// [Load] assumes the defaults, and problems name the folders in use.
//
//	# teams/payments/team.yaml
//	name: payments               # must equal the folder name
//	owners:                      # GitHub handles or e-mail addresses
//	  - "@payments-leads"
//	  - payments-oncall@example.com
//	plugins:
//	  - name: fraud              # unique across all teams
//	    source: payments/fraud   # main package, under plugin_sources/payments/
//	    version: 1.3.0           # semver, MAJOR.MINOR.PATCH[-pre][+build], no "v"
//	    previous:                # optional: older releases still built and shipped
//	      - version: 1.2.0
//	        source: payments/fraud-1.2
//
// Names (team, plugin) are 1 to 64 characters of a-z, 0-9 and "-", starting
// with a letter or digit: they become folder and file names, so separators,
// "..", upper case and spaces are refused. A plugin belongs to exactly one
// team; its source folders lie under plugin_sources/<team>/ and hold a main
// package.
//
// [Load] reports every problem it finds, each with file, line and field
// (teams/payments/team.yaml:9: plugins[0].version: "1.2" is not semver ...),
// and returns the registry of everything that is valid, so callers can go on
// with the good plugins and still fail the run.
//
// # Warnings
//
// Load checks that a source folder holds a main package; it does not compile
// it. A manifest larger than 1 MiB is refused unread.
package teams
