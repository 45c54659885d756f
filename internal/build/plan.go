package build

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/teams"
	"golang.org/x/mod/modfile"
)

// VersionVar is the package-level string variable in every plugin's main
// package that the build sets to the manifest version.
const VersionVar = "version"

// virtualDir is the folder, inside each source folder, under which the
// per-version virtual packages live.
const virtualDir = "_plugship"

// WorkDir is the build's scratch folder inside dist/: staged outputs and
// overlay files. Nothing outside the build reads it.
const WorkDir = ".work/build"

// Options say where and for what to build.
type Options struct {
	Root   string // module root, holding go.mod, teams/ and plugin_sources/; default "."
	Dist   string // output folder; default <Root>/dist
	Go     string // go command; default "go" from PATH
	GOOS   string // target platform; default the go command's GOOS
	GOARCH string // target platform; default the go command's GOARCH
	Jobs   int    // go build processes at once; default runtime.NumCPU()
}

func (o Options) withDefaults() Options {
	o.Root, o.Dist = artifact.Dirs(o.Root, o.Dist)
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	return o
}

// Selection narrows a build to one team or one plugin. The zero value
// selects everything.
type Selection struct {
	Team   string // only this team's plugins
	Plugin string // only this plugin (of Team)
}

// ParseSelection parses "team" or "team/plugin".
func ParseSelection(s string) (Selection, error) {
	team, plugin, _ := strings.Cut(s, "/")
	if err := artifact.CheckName(team); err != nil {
		return Selection{}, fmt.Errorf("team in %s: %w", artifact.Quote(s), err)
	}
	if strings.Contains(s, "/") {
		if err := artifact.CheckName(plugin); err != nil {
			return Selection{}, fmt.Errorf("plugin in %s: %w (want team/plugin)", artifact.Quote(s), err)
		}
	}
	return Selection{Team: team, Plugin: plugin}, nil
}

// Action is one plugin version to build, fully decided.
type Action struct {
	Team    string
	Plugin  string
	Version string
	Source  string // source folder, relative to the module root

	Package string            // the version's unique import path (virtual)
	Overlay map[string]string // virtual file -> real file, absolute paths
	Args    []string          // arguments to the go command
	Env     []string          // set on top of the caller's environment

	OverlayFile string // where Overlay is written as go build -overlay JSON
	Staging     string // go build's -o: the staged output
	Output      string // the final .so
	Metadata    string // the final metadata JSON

	// Err, when set, says why this version cannot be built; Run reports it
	// as failed without running anything.
	Err error
}

// ID names the action in output: team/plugin v1.2.3.
func (a *Action) ID() string { return fmt.Sprintf("%s/%s v%s", a.Team, a.Plugin, a.Version) }

// Plan returns one action per selected plugin version, by team, plugin and
// newest version first. It reads the source folders but runs nothing.
func Plan(reg *teams.Registry, sel Selection, opts Options) ([]*Action, error) {
	opts = opts.withDefaults()
	if opts.GOOS == "" || opts.GOARCH == "" {
		return nil, fmt.Errorf("planning: GOOS and GOARCH must be set")
	}
	modPath, err := modulePath(opts.Root)
	if err != nil {
		return nil, err
	}
	plugins, err := selectPlugins(reg, sel)
	if err != nil {
		return nil, err
	}
	var actions []*Action
	for _, p := range plugins {
		for _, r := range p.Releases() {
			actions = append(actions, plan(modPath, p, r, opts))
		}
	}
	return actions, nil
}

func plan(modPath string, p *teams.Plugin, r teams.Release, opts Options) *Action {
	name := artifact.Name{Plugin: p.Name, Version: r.Version, GOOS: opts.GOOS, GOARCH: opts.GOARCH}
	src := path.Join(teams.SourcesDir, r.Source)
	pkg := path.Join(modPath, src, virtualDir, "v"+r.Version)
	outDir := artifact.PluginDir(opts.Dist, p.Team, p.Name)
	workDir := filepath.Join(opts.Dist, filepath.FromSlash(WorkDir), p.Team, p.Name)
	a := &Action{
		Team:        p.Team,
		Plugin:      p.Name,
		Version:     r.Version,
		Source:      src,
		Package:     pkg,
		OverlayFile: filepath.Join(workDir, name.String()+".overlay.json"),
		Staging:     filepath.Join(workDir, name.String()),
		Output:      filepath.Join(outDir, name.String()),
		Metadata:    filepath.Join(outDir, name.String()+artifact.MetadataSuffix),
		Env:         []string{"CGO_ENABLED=1", "GOOS=" + opts.GOOS, "GOARCH=" + opts.GOARCH, "GOFLAGS="},
	}
	a.Args = []string{"build",
		"-buildmode=plugin", "-trimpath", "-buildvcs=false",
		"-overlay=" + a.OverlayFile,
		"-ldflags=-X=" + pkg + "." + VersionVar + "=" + r.Version,
		"-o", a.Staging,
		pkg,
	}
	a.Overlay, a.Err = overlay(opts.Root, src, virtualDir+"/v"+r.Version)
	return a
}

// overlay maps each file of the source folder to the same name in the
// virtual folder, and checks that the main package declares VersionVar.
func overlay(root, src, virtual string) (map[string]string, error) {
	dir := filepath.Join(root, filepath.FromSlash(src))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	var goFiles []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, ".") {
			continue
		}
		real := filepath.Join(dir, name)
		files[filepath.Join(dir, filepath.FromSlash(virtual), name)] = real
		if strings.HasSuffix(name, ".go") {
			goFiles = append(goFiles, path.Join(src, name))
		}
	}
	sort.Strings(goFiles)
	if err := checkVersionVar(root, src, goFiles); err != nil {
		return nil, err
	}
	return files, nil
}

// checkVersionVar reports an error unless one of the files (slash paths
// relative to root, as messages show them) declares a package-level string
// variable VersionVar that -X can set.
func checkVersionVar(root, src string, files []string) error {
	fset := token.NewFileSet()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return err
		}
		file, err := parser.ParseFile(fset, f, data, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if n.Name != VersionVar {
						continue
					}
					if typ, ok := vs.Type.(*ast.Ident); ok && typ.Name == "string" {
						return nil
					}
					if vs.Type == nil && i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							return nil
						}
					}
					return fmt.Errorf("%s: var %s must be a string (var %s = \"dev\"); the build sets it with -X", fset.Position(n.Pos()), VersionVar, VersionVar)
				}
			}
		}
	}
	return fmt.Errorf("%s: the main package declares no var %s; add `var %s = \"dev\"` and return it from Version(): the build sets it to the manifest version", src, VersionVar, VersionVar)
}

// WriteOverlay writes the action's overlay as go build -overlay JSON,
// unless the file already holds exactly that.
func (a *Action) WriteOverlay() error {
	data, err := json.MarshalIndent(struct{ Replace map[string]string }{a.Overlay}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(a.OverlayFile), 0o755); err != nil {
		return err
	}
	_, err = artifact.WriteFileIfChanged(a.OverlayFile, data, 0o644)
	return err
}

func modulePath(root string) (string, error) {
	file := filepath.Join(root, "go.mod")
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the module: %w", err)
	}
	p := modfile.ModulePath(data)
	if p == "" {
		return "", fmt.Errorf("%s: no module line", file)
	}
	return p, nil
}

func selectPlugins(reg *teams.Registry, sel Selection) ([]*teams.Plugin, error) {
	if sel.Team == "" {
		return reg.Plugins(), nil
	}
	t := reg.Team(sel.Team)
	if t == nil {
		var names []string
		for _, t := range reg.Teams {
			names = append(names, t.Name)
		}
		return nil, fmt.Errorf("no valid team %q in %s/ (teams: %s)", sel.Team, teams.Dir, strings.Join(names, ", "))
	}
	if sel.Plugin == "" {
		return t.Plugins, nil
	}
	var names []string
	for _, p := range t.Plugins {
		if p.Name == sel.Plugin {
			return []*teams.Plugin{p}, nil
		}
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("team %s has no valid plugin %q (plugins: %s)", sel.Team, sel.Plugin, strings.Join(names, ", "))
}
