// Package stale tells which files under dist/plugins the team manifests
// still claim. A plugin file (and each file beside it that shares its name:
// metadata, signature, bundle, provenance) is
//
//   - claimed when the manifest of the team folder it lies in lists its
//     plugin and version, whatever its platform or ABI (a file for an ABI
//     no profile builds now is still claimed: package build lists those);
//   - held when it is not claimed but its team's manifest has problems:
//     the manifest may be a typo being fixed, so the file is kept as it is,
//     and the steps neither handle it nor report it file by file;
//   - stale otherwise: its version, plugin or team is no longer in the
//     manifests (removed or renamed). The build moves it aside to
//     dist/.stale/; until then sign, verify, the matrix and publish skip it.
//
// A file whose name is not a plugin file name is claimed: the steps report
// it as they always have.
package stale

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/teams"
)

// Dir is where the build moves stale files, relative to dist/: one folder
// per run, named by its time, holding <team>/<plugin>/<file>. No step
// reads it.
const Dir = ".stale"

// Kind is what the manifests say of one file.
type Kind int

// Kinds of file.
const (
	Claimed Kind = iota
	Stale
	Held
)

// Claims is what a loaded team registry claims.
type Claims struct {
	teamsDir string
	off      bool                // the registry could not be read: everything counts as claimed
	held     map[string]bool     // team folders whose manifest has problems
	versions map[string][]string // team/plugin -> the versions its manifest lists
	listed   map[string]bool     // team -> its manifest loaded
	owner    map[string]string   // plugin -> the team listing it
}

// New returns the claims of reg, as teams.LoadDirs returned it with
// loadErr. A team with any problem in loadErr is held. When the registry
// could not be read at all (loadErr is not a teams.Problems), nothing is
// stale or held.
func New(reg *teams.Registry, loadErr error) *Claims {
	c := &Claims{held: map[string]bool{}, versions: map[string][]string{}, listed: map[string]bool{}, owner: map[string]string{}}
	if reg == nil {
		c.off = true
		return c
	}
	c.teamsDir = reg.TeamsFolder()
	if loadErr != nil {
		var ps teams.Problems
		if !errors.As(loadErr, &ps) {
			c.off = true
			return c
		}
		for _, p := range ps {
			rest, ok := strings.CutPrefix(p.File, c.teamsDir+"/")
			team, _, _ := strings.Cut(rest, "/")
			if !ok || team == "" {
				c.off = true // a problem outside any team: trust nothing
				return c
			}
			c.held[team] = true
		}
	}
	for _, t := range reg.Teams {
		c.listed[t.Name] = true
		for _, p := range t.Plugins {
			c.owner[p.Name] = t.Name
			for _, r := range p.Releases() {
				c.versions[t.Name+"/"+p.Name] = append(c.versions[t.Name+"/"+p.Name], r.Version)
			}
		}
	}
	return c
}

// Held reports whether team's manifest has problems.
func (c *Claims) Held(team string) bool { return c.held[team] }

// PluginFile returns the plugin file name that a base name under
// dist/plugins belongs to: the name itself for a .so, the .so it extends
// for a file beside it (<file>.so.sig, <file>.so.json, ...), and "" for
// anything else (temporary files included).
func PluginFile(base string) string {
	if artifact.IsTemporary(base) {
		return ""
	}
	for i := 0; ; {
		j := strings.Index(base[i:], artifact.PluginExt)
		if j < 0 {
			return ""
		}
		end := i + j + len(artifact.PluginExt)
		if end == len(base) || base[end] == '.' {
			if _, err := artifact.ParseName(base[:end]); err == nil {
				return base[:end]
			}
		}
		i = end
	}
}

// Kind says what the manifests say of file, a path under
// dist/plugins/<team>/<plugin>/.
func (c *Claims) Kind(dist, file string) Kind {
	k, _ := c.kind(dist, file)
	return k
}

// where is a file's place: its team and plugin folders and its parsed name.
type where struct {
	team, plugin string
	name         artifact.Name
	so           string // the plugin file it belongs to (its own name for a .so)
}

func (c *Claims) kind(dist, file string) (Kind, where) {
	var w where
	if c.off {
		return Claimed, w
	}
	rel, err := filepath.Rel(filepath.Join(dist, artifact.PluginsDir), file)
	if err != nil {
		return Claimed, w
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) != 3 {
		return Claimed, w
	}
	w.team, w.plugin, w.so = parts[0], parts[1], PluginFile(parts[2])
	if w.so == "" {
		return Claimed, w
	}
	w.name, _ = artifact.ParseName(w.so)
	if w.name.Plugin == w.plugin && slices.Contains(c.versions[w.team+"/"+w.plugin], w.name.Version) {
		return Claimed, w
	}
	if c.Held(w.team) {
		return Held, w
	}
	return Stale, w
}

// Group is the unclaimed files of one plugin (or, when its team is held or
// gone, of one team).
type Group struct {
	Kind     Kind
	Team     string
	Plugin   string   // "" for a whole team
	Plugins  []string // for a whole team: its plugins' folders
	Versions []string // the versions no longer listed, when the plugin still is
	Files    []string // every file, sorted: each .so before the files beside it
	Count    int      // how many of Files are plugin files (.so); the rest are beside them
	Manifest string   // the team's manifest, e.g. teams/payments/team.yaml
	Why      string   // e.g. "no longer in teams/payments/team.yaml"
}

// Rel is the group's folder relative to dist/plugins: team or team/plugin.
func (g *Group) Rel() string {
	if g.Plugin == "" {
		return g.Team
	}
	return g.Team + "/" + g.Plugin
}

// What is "2 files of payments/oldplugin" or "4 files of team payments
// (fraud, ledger)", counting plugin files (or, when only files beside
// them are left, those).
func (g *Group) What() string {
	n, noun := g.Count, "files"
	if n == 0 {
		n, noun = len(g.Files), "leftover files"
	}
	if n == 1 {
		noun = strings.TrimSuffix(noun, "s")
	}
	if g.Plugin == "" {
		return fmt.Sprintf("%d %s of team %s (%s)", n, noun, g.Team, strings.Join(g.Plugins, ", "))
	}
	s := fmt.Sprintf("%d %s of %s/%s", n, noun, g.Team, g.Plugin)
	for i, v := range g.Versions {
		if i == 0 {
			s += " v" + v
		} else {
			s += ", v" + v
		}
	}
	return s
}

// Split returns the files (paths under dist/plugins/<team>/<plugin>/) the
// manifests claim, in their order, and the others, grouped by plugin (by
// team for a team held or gone), sorted.
func (c *Claims) Split(dist string, files []string) (claimed []string, groups []*Group) {
	byKey := map[string]*Group{}
	for _, f := range files {
		k, w := c.kind(dist, f)
		if k == Claimed {
			claimed = append(claimed, f)
			continue
		}
		g := c.group(byKey, k, w)
		g.Files = append(g.Files, f)
		if filepath.Base(f) == w.so {
			g.Count++
		}
		if g.Plugin == "" && !slices.Contains(g.Plugins, w.plugin) {
			g.Plugins = append(g.Plugins, w.plugin)
		}
		if g.Plugin != "" && c.versions[g.Team+"/"+g.Plugin] != nil && w.name.Plugin == w.plugin && !slices.Contains(g.Versions, w.name.Version) {
			g.Versions = append(g.Versions, w.name.Version)
		}
	}
	for _, g := range byKey {
		sort.Strings(g.Files)
		sort.Strings(g.Plugins)
		sort.Slice(g.Versions, func(i, j int) bool { return artifact.CompareVersions(g.Versions[i], g.Versions[j]) > 0 })
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Rel() < groups[j].Rel() })
	return claimed, groups
}

// group returns the group of a file at w, creating it with its reason.
func (c *Claims) group(byKey map[string]*Group, k Kind, w where) *Group {
	key := w.team
	if k == Stale && c.listed[w.team] {
		key += "/" + w.plugin
	}
	if g := byKey[key]; g != nil {
		return g
	}
	manifest := path.Join(c.teamsDir, w.team, teams.ManifestName)
	g := &Group{Kind: k, Team: w.team, Manifest: manifest}
	switch {
	case k == Held:
		g.Why = manifest + " has problems"
	case !c.listed[w.team]:
		g.Why = fmt.Sprintf("no longer in %s/ (no team %s)", c.teamsDir, w.team)
	default:
		g.Plugin = w.plugin
		vs := c.versions[w.team+"/"+w.plugin]
		switch {
		case vs == nil && c.owner[w.plugin] != "":
			g.Why = fmt.Sprintf("no longer in %s (plugin %s is now team %s's)", manifest, w.plugin, c.owner[w.plugin])
		case vs == nil:
			g.Why = "no longer in " + manifest
		default:
			g.Why = fmt.Sprintf("no longer in %s, which lists v%s", manifest, strings.Join(vs, ", v"))
		}
	}
	byKey[key] = g
	return g
}

// Report prints, for sign, verify and the like, one line per group of
// plugin files that the step skips (indented by two spaces, as the steps'
// result lines are), and returns how many plugin files it skipped.
func Report(out io.Writer, groups []*Group) int {
	n := 0
	for _, g := range groups {
		n += g.Count
		switch g.Kind {
		case Stale:
			fmt.Fprintf(out, "  %-10s %s, stale: %s; go run mage.go build moves them to dist/%s/\n", "skipped", g.What(), g.Why, Dir)
		case Held:
			fmt.Fprintf(out, "  %-10s %s: %s (listed above); they are kept as they are until it is fixed\n", "skipped", g.What(), g.Why)
		}
	}
	return n
}
