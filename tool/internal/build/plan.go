package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/symbols"
	"github.com/plugship/plugship/tool/internal/teams"
	"golang.org/x/mod/modfile"
)

// versionVar is the package-level string variable in every plugin's main
// package that the build sets to the manifest version.
const versionVar = "version"

// virtualDir is the folder, inside each source folder, under which the
// per-version virtual packages live.
const virtualDir = "_plugship"

// workDir is the build's scratch folder inside dist/: staged outputs and
// overlay files. Nothing outside the build reads it.
const workDir = ".work/build"

// Options say where to build.
type Options struct {
	// Root is the module root, holding go.mod, teams/ and plugin_sources/
	// (configurable in plugship.yaml); default ".".
	Root string
	Dist string // output folder; default <Root>/dist (folders.dist of plugship.yaml)
	// Config holds the host profiles; default <Root>/compat/hosts.yaml
	// (folders.hosts of plugship.yaml).
	Config string
	// Profiles, when set, are used instead of the configuration's.
	Profiles []profile.Profile
	Jobs     int // go build processes at once; default runtime.NumCPU()
	// AnySymbols builds plugins that export neither of the symbols hosts
	// look up, which otherwise fail: for fixtures of how hosts refuse them.
	AnySymbols bool
	// Repo is the repository configuration; default read from
	// <Root>/plugship.yaml.
	Repo *config.Config
	// Shard, when set (Count > 0), builds only the plugin versions of one
	// slice, for CI job matrices: every target of a version is in the same
	// shard (see ShardActions).
	Shard matrix.Shard
}

// base fills in the defaults that need no configuration: Root and Jobs.
func (o Options) base() Options {
	if o.Root == "" && o.Repo != nil {
		o.Root = o.Repo.Root
	}
	if o.Root == "" {
		o.Root = "."
	}
	if abs, err := filepath.Abs(o.Root); err == nil {
		o.Root = abs
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	return o
}

// withDefaults fills in every default, reading plugship.yaml unless Repo
// is set; a configuration with problems is an error listing them.
func (o Options) withDefaults() (Options, error) {
	o = o.base()
	var err error
	if o.Repo, o.Root, o.Dist, err = config.Resolve(o.Repo, o.Root, o.Dist); err != nil {
		return o, err
	}
	if o.Config == "" {
		o.Config = o.Repo.HostsFile()
	}
	return o, nil
}

// Target is one distinct way of building: the profiles whose toolchain,
// platform, C compiler, flags and tree agree, so that they share one build of each
// plugin version.
type Target struct {
	Env      *profile.Env // the first profile's
	Profiles []string     // the names of all of them, in configuration order
}

// Name names the target in paths and output: its first profile.
func (t *Target) Name() string { return t.Profiles[0] }

// Targets prepares every profile (toolchain, tree) and groups them by
// [profile.Env.Key]. A profile that cannot be prepared is left out and
// named in the error; the others are returned.
func Targets(ctx context.Context, ps []profile.Profile, opts Options) ([]*Target, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var targets []*Target
	var errs []error
	byKey := map[string]*Target{}
	for _, p := range ps {
		env, err := profile.Prepare(ctx, opts.Root, opts.Dist, opts.Repo.Sources, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := env.Key()
		if t := byKey[key]; t != nil {
			t.Profiles = append(t.Profiles, p.Name)
			continue
		}
		t := &Target{Env: env, Profiles: []string{p.Name}}
		byKey[key] = t
		targets = append(targets, t)
	}
	return targets, errors.Join(errs...)
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

// Action is one plugin version to build for one target, fully decided.
type Action struct {
	Team    string
	Plugin  string
	Version string
	Source  string  // source folder, relative to the module root
	Target  *Target // what it is built for

	Package    string            // the version's unique import path (virtual)
	VirtualDir string            // the folder of Package, absolute: it exists only in Overlay
	Overlay    map[string]string // virtual file -> real file, absolute paths
	Args       []string          // arguments to the go command
	Env        []string          // set on top of the caller's environment

	OverlayFile string // where Overlay is written as go build -overlay JSON
	Staging     string // go build's -o: the staged output
	// StateFile holds what the last successful build of the action left
	// (its key, final file, digest and metadata), for Run to skip the next.
	StateFile string
	OutDir    string // the final folder; the file name carries the built file's ABI
	Contract  string // the contract package's import path, part of the ABI (plugship.yaml)
	// Symbols are the names hosts look up (plugship.yaml contract.accessor
	// and contract.element): the plugin must export at least one.
	Symbols []string
	// SymbolContract is the contract made of symbols (plugship.yaml
	// contract.symbols), nil for the accessor/element contract: the
	// version's overlay holds its check file (symbols.CheckFile), so the
	// compiler checks every symbol's type, and its file must export each
	// function as a function.
	SymbolContract *symbols.Contract

	// Key is a hash of every input of the build (see [Keys]); empty until
	// Keys sets it, or when the inputs could not be had: then Run always
	// runs go build. Inputs are the lines it hashes, in order.
	Key    string
	Inputs []string
	KeyErr error // why Key is empty after Keys
	// modules are the paths of the modules of the packages it links, from
	// Keys' go list (nil before): checkHostModules needs no go list then.
	modules []string

	// Err, when set, says why this version cannot be built; Run reports it
	// as failed without running anything.
	Err error
}

// ID names the action in output: team/plugin v1.2.3 [profile].
func (a *Action) ID() string {
	return fmt.Sprintf("%s/%s v%s [%s]", a.Team, a.Plugin, a.Version, a.Target.Name())
}

// Plan returns one action per selected plugin version per target, by team,
// plugin, newest version first, then target. It reads the source folders
// but runs nothing.
func Plan(reg *teams.Registry, sel Selection, targets []*Target, opts Options) ([]*Action, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	plugins, err := selectPlugins(reg, sel)
	if err != nil {
		return nil, err
	}
	modPaths := map[*Target]string{}
	for _, t := range targets {
		if modPaths[t], err = modulePath(t.Env.Dir); err != nil {
			return nil, fmt.Errorf("profile %s: %w", t.Name(), err)
		}
	}
	// A profile at a git ref gets the working tree's plugin sources laid
	// over its tree: listed once per target.
	trees := map[*Target]map[string]string{}
	treeErrs := map[*Target]error{}
	for _, t := range targets {
		if t.Env.Dir != opts.Root {
			trees[t], treeErrs[t] = sourcesOverlay(opts.Root, opts.Repo.Sources, t.Env.Dir)
		}
	}
	sc, checkFile, err := symbolContract(opts)
	if err != nil {
		return nil, err
	}
	var actions []*Action
	for _, p := range plugins {
		for _, r := range p.Releases() {
			src := path.Join(reg.SourcesFolder(), r.Source)
			files, err := versionFiles(opts.Root, src, sc == nil)
			for _, t := range targets {
				a := plan(modPaths[t], src, p, r, t, opts)
				switch {
				case err != nil:
					a.Err = err
				case treeErrs[t] != nil:
					a.Err = treeErrs[t]
				default:
					a.Overlay = overlay(files, trees[t], a.VirtualDir)
				}
				if sc != nil {
					a.SymbolContract, a.Symbols = sc, nil
					if a.Overlay != nil {
						a.Overlay[filepath.Join(a.VirtualDir, symbols.CheckFile)] = checkFile
					}
				}
				actions = append(actions, a)
			}
		}
	}
	return actions, nil
}

// symbolContract returns the contract made of symbols of the
// configuration, nil for the accessor/element one, and writes its check
// file (the same for every version) where the overlays take it from.
func symbolContract(opts Options) (*symbols.Contract, string, error) {
	if len(opts.Repo.Symbols) == 0 {
		return nil, "", nil
	}
	sc := &symbols.Contract{Package: opts.Repo.Contract, Symbols: opts.Repo.Symbols, Imports: opts.Repo.Imports}
	file := filepath.Join(opts.Dist, filepath.FromSlash(workDir), "contract", symbols.CheckFile)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, "", err
	}
	if _, err := artifact.WriteFileIfChanged(file, []byte(sc.CheckSource()), 0o644); err != nil {
		return nil, "", fmt.Errorf("writing the contract's check file: %w", err)
	}
	return sc, file, nil
}

// plan decides the action for release r of p, from src (relative to the
// module root), for target t.
func plan(modPath, src string, p *teams.Plugin, r teams.Release, t *Target, opts Options) *Action {
	pkg := path.Join(modPath, src, virtualDir, "v"+r.Version)
	scratch := filepath.Join(opts.Dist, filepath.FromSlash(workDir), t.Name(), p.Team, p.Name)
	stem := p.Name + "_v" + r.Version
	a := &Action{
		Team:        p.Team,
		Plugin:      p.Name,
		Version:     r.Version,
		Source:      src,
		Target:      t,
		Package:     pkg,
		VirtualDir:  filepath.Join(t.Env.Dir, filepath.FromSlash(src), virtualDir, "v"+r.Version),
		OverlayFile: filepath.Join(scratch, stem+".overlay.json"),
		Staging:     filepath.Join(scratch, stem+artifact.PluginExt),
		StateFile:   filepath.Join(scratch, stem+".state.json"),
		OutDir:      artifact.PluginDir(opts.Dist, p.Team, p.Name),
		Contract:    opts.Repo.Contract,
		Symbols:     []string{opts.Repo.Accessor, opts.Repo.Element},
		Env:         []string{"GOOS=" + t.Env.GOOS, "GOARCH=" + t.Env.GOARCH},
	}
	if opts.AnySymbols {
		a.Symbols = nil
	}
	a.Args = []string{"build", "-buildmode=plugin", "-buildvcs=false"}
	a.Args = append(a.Args, t.Env.Flags...)
	if h := t.Env.Host; h != nil {
		a.Args = append(a.Args, "-modfile="+h.Modfile)
	}
	a.Args = append(a.Args,
		"-overlay="+a.OverlayFile,
		"-ldflags=-X="+pkg+"."+versionVar+"="+r.Version,
		"-o", a.Staging,
		pkg,
	)
	return a
}

// overlay maps each of a version's files (base name -> real file) to the
// same name in its virtual folder, plus the tree's overlay (nil for the
// working tree).
func overlay(files, tree map[string]string, virtual string) map[string]string {
	out := maps.Clone(tree)
	if out == nil {
		out = map[string]string{}
	}
	for name, real := range files {
		out[filepath.Join(virtual, name)] = real
	}
	return out
}

// versionFiles lists the files of a source folder that make the plugin
// (base name -> absolute real path), and checks that the main package
// declares versionVar if versioned (the accessor/element contract, whose
// Version() must return it; a contract made of symbols has no Version).
func versionFiles(root, src string, versioned bool) (map[string]string, error) {
	srcDir := filepath.Join(root, filepath.FromSlash(src))
	entries, err := os.ReadDir(srcDir)
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
		files[name] = filepath.Join(srcDir, name)
		if strings.HasSuffix(name, ".go") {
			goFiles = append(goFiles, path.Join(src, name))
		}
	}
	sort.Strings(goFiles)
	if !versioned {
		return files, nil
	}
	if err := checkVersionVar(root, src, goFiles); err != nil {
		return nil, err
	}
	return files, nil
}

// sourcesOverlay maps every file under root's sources folder (sources, a
// slash path: plugin_sources/ unless plugship.yaml says otherwise) to the
// same place in dir, the tree of a profile at a git ref, which has none,
// so that the plugins' own packages come from the working tree.
func sourcesOverlay(root, sources, dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(filepath.Join(root, filepath.FromSlash(sources)), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || strings.HasSuffix(p, "_test.go") || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files[filepath.Join(dir, rel)] = p
		return nil
	})
	return files, err
}

// checkVersionVar reports an error unless one of the files (slash paths
// relative to root, as messages show them) declares a package-level string
// variable versionVar that -X can set.
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
					if n.Name != versionVar {
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
					return fmt.Errorf("%s: var %s must be a string (var %s = \"dev\"); the build sets it with -X", fset.Position(n.Pos()), versionVar, versionVar)
				}
			}
		}
	}
	return fmt.Errorf("%s: the main package declares no var %s; add `var %s = \"dev\"` and return it from Version(): the build sets it to the manifest version", src, versionVar, versionVar)
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
		return nil, fmt.Errorf("no valid team %q in %s/ (teams: %s)", sel.Team, reg.TeamsFolder(), strings.Join(names, ", "))
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
