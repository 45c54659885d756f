package hostmods

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// Side says which side of a module difference has the newer version.
type Side string

// The values of Difference.Newer.
const (
	PluginNewer Side = "plugin" // the plugins build with a newer version than the host links
	HostNewer   Side = "host"   // the host links a newer version
	Unordered   Side = ""       // not two semantic versions (a replacement by a folder, a pseudo-version mix): no order
)

// Difference is one module a plugin version and the host both link, at
// two versions.
type Difference struct {
	Plugin        string `json:"plugin"` // team/plugin, with " v<version>" when several versions are built
	Module        string `json:"module"`
	PluginVersion string `json:"plugin_version"` // the version the plugins build with (a replacement's, if replaced)
	HostVersion   string `json:"host_version"`   // the version the host links (a replacement's, if replaced)
	Newer         Side   `json:"newer"`
}

// Effective is the version a module builds from: its own, or its
// replacement's (replacePath, replaceVersion; both empty when not
// replaced), with the replacement's path when that differs. A module
// replaced by a folder builds as its required version: under -trimpath
// the go command records its files as <path>@<version>/..., wherever the
// folder is, exactly as for that version fetched from a proxy (build info
// gives such a replacement the version "(devel)"). Whether the folder
// holds that version's code is the package fingerprints' to tell.
func Effective(path, version, replacePath, replaceVersion string) string {
	switch {
	case replacePath == "" && replaceVersion == "":
		return version
	case replaceVersion == "" || replaceVersion == "(devel)":
		return version
	case replacePath == path:
		return replaceVersion
	}
	return replaceVersion + " (" + replacePath + ")"
}

// HostModules returns a binary's dependencies, path -> effective version.
func HostModules(bi *buildinfo.BuildInfo) map[string]string {
	mods := map[string]string{}
	for _, d := range bi.Deps {
		var rp, rv string
		if d.Replace != nil {
			rp, rv = d.Replace.Path, d.Replace.Version
		}
		mods[d.Path] = Effective(d.Path, d.Version, rp, rv)
	}
	return mods
}

// Graph returns the tag of a host's module graph: 8 hex digits of a
// SHA-256 over every module it links and its effective version (mods, as
// HostModules returns them). The build tags files made against a host's
// graph with it, and a host computes it from its own build info, so the
// two agree by construction (see artifact.WithGraph).
func Graph(mods map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "plugship.graph/v1\n")
	for _, m := range slices.Sorted(maps.Keys(mods)) {
		fmt.Fprintf(h, "%s %s\n", m, mods[m])
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}

// Compare lists, sorted by module, the modules plugin links (path ->
// version) that the host also links at another version.
func Compare(plugin string, pluginMods, hostMods map[string]string) []Difference {
	var ds []Difference
	keys := make([]string, 0, len(pluginMods))
	for k := range pluginMods {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, m := range keys {
		h, ok := hostMods[m]
		p := pluginMods[m]
		if !ok || h == p {
			continue
		}
		ds = append(ds, Difference{Plugin: plugin, Module: m, PluginVersion: p, HostVersion: h, Newer: Newer(p, h)})
	}
	return ds
}

// Newer says which of two versions is newer; Unordered unless both are
// valid semantic versions.
func Newer(plugin, host string) Side {
	if !semver.IsValid(plugin) || !semver.IsValid(host) {
		return Unordered
	}
	switch c := semver.Compare(plugin, host); {
	case c > 0:
		return PluginNewer
	case c < 0:
		return HostNewer
	}
	return Unordered
}

// Line says what differs about one module and the way out; host is the
// host executable as the user named it.
func Line(d Difference, host string) string {
	s := fmt.Sprintf("%s: module %s: plugins build with %s, the host links %s", d.Plugin, d.Module, d.PluginVersion, d.HostVersion)
	switch d.Newer {
	case PluginNewer:
		return s + fmt.Sprintf(" — the plugin needs a newer version than the host has: lower the requirement (go run mage.go check:align %s) or wait for a host release", host)
	case HostNewer:
		return s + fmt.Sprintf(": go run mage.go check:align %s raises it", host)
	}
	return s + ": make both sides build the same version (a replace directive on one side only, or a pseudo-version: align does not change these)"
}

// CannotLoad says why a host without package fingerprints cannot load
// plugins; settings are its build settings and err is what
// fingerprint.Read said.
func CannotLoad(settings map[string]string, err error) string {
	if settings["CGO_ENABLED"] != "1" {
		return "it was built with CGO_ENABLED=0, and plugin.Open needs cgo: build the host with CGO_ENABLED=1"
	}
	if strings.Contains(err.Error(), "no package fingerprints") {
		return "it does not import package plugin (or was built without cgo): a host that loads plugins imports plugin, or plugship's loader"
	}
	return err.Error()
}
