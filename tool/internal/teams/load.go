package teams

import (
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
)

// Load is LoadDirs with the default folders, teams/ and plugin_sources/;
// a step reads them from plugship.yaml (package internal/config) and calls
// LoadDirs.
func Load(root string) (*Registry, error) {
	return LoadDirs(root, Dir, SourcesDir)
}

// LoadDirs reads every <teamsDir>/<team>/team.yaml under the module root
// and checks each plugin's source folders, under sourcesDir, on disk. Both
// folders are slash paths relative to root; "" means the default. It
// returns the registry of valid teams and plugins, and, if anything was
// wrong, a Problems error listing every problem. A team or plugin with a
// problem is left out; the rest is usable.
func LoadDirs(root, teamsDir, sourcesDir string) (*Registry, error) {
	if teamsDir == "" {
		teamsDir = Dir
	}
	if sourcesDir == "" {
		sourcesDir = SourcesDir
	}
	reg := &Registry{Root: root, TeamsDir: teamsDir, SourcesDir: sourcesDir}
	entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(teamsDir)))
	if err != nil {
		return reg, fmt.Errorf("reading the team registry: %w", err)
	}
	var problems Problems
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" {
			continue
		}
		file := path.Join(teamsDir, name, ManifestName)
		if err := artifact.CheckName(name); err != nil {
			problems = append(problems, &Problem{File: path.Join(teamsDir, name), Msg: fmt.Sprintf("team folder: %v", err)})
			continue
		}
		data, err := readManifest(filepath.Join(root, filepath.FromSlash(file)))
		if err != nil {
			msg := err.Error()
			if errors.Is(err, fs.ErrNotExist) {
				msg = fmt.Sprintf("missing: every folder under %s/ needs a team.yaml (name, owners, plugins)", teamsDir)
			}
			problems = append(problems, &Problem{File: file, Msg: msg})
			continue
		}
		t, ps := parse(file, data, sourcesDir)
		problems = append(problems, ps...)
		if t == nil {
			continue
		}
		t.Plugins = slices.DeleteFunc(t.Plugins, func(p *Plugin) bool {
			ok, ps := checkSources(root, sourcesDir, t, p)
			problems = append(problems, ps...)
			return !ok
		})
		reg.Teams = append(reg.Teams, t)
	}
	problems = append(problems, reg.dropSharedNames()...)
	problems = append(problems, reg.dropSharedSources()...)
	return reg, problems.err()
}

// checkSources checks every release's source folder of p on disk, dropping
// bad older releases. It reports false when the current release is bad.
func checkSources(root, sourcesDir string, t *Team, p *Plugin) (bool, Problems) {
	var problems Problems
	bad := func(r Release) bool {
		err := checkSource(root, sourcesDir, t.Name, r.Source)
		if err != nil {
			problems = append(problems, &Problem{File: t.File, Line: r.line, Field: r.field + ".source", Msg: err.Error()})
		}
		return err != nil
	}
	if bad(p.Releases()[0]) {
		return false, problems
	}
	p.Previous = slices.DeleteFunc(p.Previous, bad)
	return true, problems
}

// checkSource checks that <sourcesDir>/<src> is a folder inside
// <sourcesDir>/<team>/, symlinks resolved, holding a main package.
func checkSource(root, sourcesDir, team, src string) error {
	shown := path.Join(sourcesDir, src)
	if first, _, _ := strings.Cut(src, "/"); first != team {
		return fmt.Errorf("%s is outside the team's folder %s/%s/; a team builds only its own sources", shown, sourcesDir, team)
	}
	sources := filepath.Join(root, filepath.FromSlash(sourcesDir))
	teamDir, err := filepath.EvalSymlinks(filepath.Join(sources, team))
	if err != nil {
		return fmt.Errorf("%s: %w", shown, notExist(err))
	}
	// The team's folder must be itself, in the module: through a link out
	// of the module the build would take code the module's revision (and
	// so the provenance) does not hold; through one to another team's
	// folder, that team's code.
	if err := checkTeamFolder(root, sources, sourcesDir, team, teamDir); err != nil {
		return err
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(sources, filepath.FromSlash(src)))
	if err != nil {
		return fmt.Errorf("%s: %w", shown, notExist(err))
	}
	if rel, err := filepath.Rel(teamDir, dir); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s resolves (through a symlink) to %s, outside %s/%s/", shown, dir, sourcesDir, team)
	}
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("%s is a file; want the folder of the plugin's main package", shown)
	}
	pkg, err := build.ImportDir(dir, 0)
	var noGo *build.NoGoError
	switch {
	case errors.As(err, &noGo):
		return fmt.Errorf("%s has no Go files; want the folder of the plugin's main package", shown)
	case err != nil:
		return fmt.Errorf("%s: %v", shown, err)
	case pkg.Name != "main":
		return fmt.Errorf("%s is package %s, not a main package; a plugin is built from package main", shown, pkg.Name)
	}
	return nil
}

// checkTeamFolder reports an error unless the team's source folder,
// resolved to teamDir, is <sources>/<team> inside the module, symlinks
// resolved: neither it nor the sources folder may be a link elsewhere.
func checkTeamFolder(root, sources, sourcesDir, team, teamDir string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	realSources, err := filepath.EvalSymlinks(sources)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(realRoot, realSources); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s/ resolves (through a symlink) to %s, outside the module; plugin sources must be in the module, whose revision the provenance records: replace the link by the folder", sourcesDir, realSources)
	}
	if teamDir != filepath.Join(realSources, team) {
		return fmt.Errorf("%s/%s/ resolves (through a symlink) to %s; a team's source folder must be a folder, not a link: replace the link by the folder", sourcesDir, team, teamDir)
	}
	return nil
}

func notExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("does not exist")
	}
	return err
}

// dropSharedNames removes plugins whose name two teams list: a plugin
// belongs to exactly one team.
func (r *Registry) dropSharedNames() Problems {
	owners := map[string][]*Team{}
	for _, t := range r.Teams {
		for _, p := range t.Plugins {
			owners[p.Name] = append(owners[p.Name], t)
		}
	}
	var problems Problems
	for _, t := range r.Teams {
		t.Plugins = slices.DeleteFunc(t.Plugins, func(p *Plugin) bool {
			if len(owners[p.Name]) < 2 {
				return false
			}
			var others []string
			for _, o := range owners[p.Name] {
				if o != t {
					others = append(others, o.File)
				}
			}
			problems = append(problems, &Problem{File: t.File, Line: p.Line, Field: p.field + ".name",
				Msg: fmt.Sprintf("plugin %q is also listed by %s; a plugin belongs to exactly one team, so neither is built", p.Name, strings.Join(others, ", "))})
			return true
		})
	}
	return problems
}

// dropSharedSources removes releases built from a folder another release
// already uses: each version needs its own source folder.
func (r *Registry) dropSharedSources() Problems {
	type use struct {
		p *Plugin
		v string
	}
	first := map[string]use{}
	var problems Problems
	for _, t := range r.Teams {
		t.Plugins = slices.DeleteFunc(t.Plugins, func(p *Plugin) bool {
			var bad []string
			for _, rel := range p.Releases() {
				dir, err := filepath.EvalSymlinks(filepath.Join(r.Root, filepath.FromSlash(r.SourcesFolder()), filepath.FromSlash(rel.Source)))
				if err != nil {
					dir = rel.Source
				}
				if u, dup := first[dir]; dup {
					problems = append(problems, &Problem{File: t.File, Line: rel.line, Field: rel.field + ".source",
						Msg: fmt.Sprintf("version %s uses source %s/%s, already the source of %s v%s; give each version its own folder", rel.Version, r.SourcesFolder(), rel.Source, u.p.ID(), u.v)})
					bad = append(bad, rel.Version)
					continue
				}
				first[dir] = use{p, rel.Version}
			}
			if slices.Contains(bad, p.Version) {
				return true
			}
			p.Previous = slices.DeleteFunc(p.Previous, func(rel Release) bool { return slices.Contains(bad, rel.Version) })
			return false
		})
	}
	return problems
}

// Report prints the problems of a Load error to out, one per line under a
// heading that says what they cost (e.g. "these plugins are not built"),
// and returns the short error to end the run with: the count, since the
// problems are listed above. It returns nil for a nil error.
func Report(out io.Writer, err error, consequence string) error {
	if err == nil {
		return nil
	}
	fmt.Fprintf(out, "team registry problems (%s):\n", consequence)
	var ps Problems
	if !errors.As(err, &ps) {
		fmt.Fprintf(out, "  %v\n", err)
		return err
	}
	for _, p := range ps {
		fmt.Fprintf(out, "  %v\n", p)
	}
	return fmt.Errorf("%d problems in the team registry (listed above)", len(ps))
}
