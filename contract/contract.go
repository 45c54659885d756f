package contract

// Major is the contract's major version. Every host and plugin compiled
// against this package shares it; it changes only with the package path.
const Major = 1

// Version is the full contract version, "v<Major>".
const Version = "v1"

// AccessorSymbol is the name of the exported function
// func() Plugin that hosts look up first.
const AccessorSymbol = "Showcase"

// ElementSymbol is the name of the exported package variable of type Plugin
// that hosts look up when a plugin has no accessor. plugin.Lookup returns it
// as a *Plugin.
const ElementSymbol = "ShowcaseElement"

// Plugin represents a valid plugin.
type Plugin interface {
	// IsAcceptable reports whether this plugin is fit to run in the current
	// environment (hardware, network, configuration). Hosts try versions
	// newest first and keep the first that is acceptable.
	IsAcceptable() bool
	// Version is the plugin's semantic version without a leading "v",
	// the same as the version in its file name and team manifest.
	Version() string
}
