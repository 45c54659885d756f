// The showcase plugin from the seed blog post, as the post wrote it; only the
// version comes from teams/showcase/team.yaml instead of a literal.
package main

import "github.com/plugship/plugship/contract"

// version is set by plugship's build (-X) to the manifest version.
var version = "dev"

// ShowcaseElement is the variable used as the plugin entry
// point.
var ShowcaseElement contract.Plugin = &plugin{version}

// Showcase returns the current ShowcaseElement.
func Showcase() contract.Plugin { return ShowcaseElement }

type plugin struct {
	version string
}

// Version returns this plugin instance version.
func (p *plugin) Version() string {
	return p.version
}

// IsAcceptable returns true if this plugin is acceptable for our very
// demanding criteria.
func (p *plugin) IsAcceptable() bool {
	return true
}

// This is just because this has to be a main package.
func main() {}
