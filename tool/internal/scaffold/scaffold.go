package scaffold

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/template"

	"github.com/google/renameio/v2"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// PlugshipModule is the module path of plugship's light module (the
// loader and trust packages hosts import), which a scaffolded repository
// requires for its reference host.
const PlugshipModule = "github.com/plugship/plugship"

// ToolModule is the module of plugship's targets and steps, which only a
// scaffolded repository's magefiles/ module requires: nothing it needs
// enters the module graph its plugins are built in.
const ToolModule = PlugshipModule + "/tool"

// KeylessModule is the module hosts opt in to keyless signatures with; a
// checkout's copy is replaced in along with the others (Options.Replace).
const KeylessModule = PlugshipModule + "/keyless"

// OCIModule is the module that reads OCI registries (oras-go), which the
// tool module requires for publishing to one; replaced in like the others.
const OCIModule = PlugshipModule + "/oci"

// ContractVersion is the version a new repository's root module requires
// its contract module at. The contract is a module of its own so that
// hosts built in other repositories can require it at a version, as the
// plugins do: under -trimpath both then record its files as
// <module>/contract@<version>/..., and its package fingerprints match.
const ContractVersion = "v0.1.0"

// MageVersion is the mage that go.mod's tool directive names, for mage.go.
const MageVersion = "v1.17.0"

// GoVersion is the go line of a scaffolded go.mod: plugship's own, the
// oldest Go release it builds with.
const GoVersion = "1.25.0"

// replaceVersion is the version a go.mod requires when a replace directive
// points at a local checkout.
const replaceVersion = "v0.0.0"

// Options say what Init writes and where.
type Options struct {
	// Dir is the folder to write the repository into: it must be empty or
	// not exist. Default: the current folder.
	Dir string
	// Module is the new repository's module path, e.g. example.com/acme.
	Module string
	// Version is the plugship version go.mod requires, vX.Y.Z (a canonical
	// module version). Set Version, Replace, or both; with Replace alone
	// go.mod requires v0.0.0.
	Version string
	// Replace is the path of a plugship checkout that go.mod's replace
	// directive points at (written as an absolute path), for machines
	// without the module proxy and for tests.
	Replace string
	// Out receives what Init wrote and the next commands. Default: nowhere.
	Out io.Writer
	// Host, when set, makes a repository of plugins for a host that
	// someone else releases (see Presets): no contract or reference host
	// of its own, but the host's contract module at the host's version, a
	// contract made of its symbols, a binary profile of the host's
	// executable, its check command and a Dockerfile that runs plugship
	// install. Default: a repository with a contract of its own.
	Host *Host

	// skipTidy leaves go mod tidy out (for unit tests without a network).
	skipTidy bool
}

//go:embed all:template all:template-host
var templates embed.FS

// templateDir is the root of the templates in the embedded files, and
// hostTemplateDir that of the templates a repository for a host someone
// else releases has instead of or beside them.
const (
	templateDir     = "template"
	hostTemplateDir = "template-host"
)

// ownOnly are the templates (paths relative to templateDir, or folders
// ending in "/") that only a repository with a contract of its own has.
var ownOnly = []string{"contract/", "compat/hosts/", "plugin_sources/", "plugship.yaml.tmpl", "compat/hosts.yaml.tmpl", "README.md.tmpl"}

// data is what the templates see.
type data struct {
	Module  string // the module path
	Name    string // its last element, a name for prose
	Go      string // the Go release running init, without "go" (1.26.8): CI pins it
	Host    *Host  // the host someone else releases; nil for a contract of its own
	Version string // the plugship version go.mod requires, for go run ...@version
	Index   string // where the index is published: the GitHub repository's URL, or a placeholder
}

// file is one file to write: a slash path relative to the folder.
type file struct {
	Path string
	Data []byte
}

// Init writes a new plugin repository into opts.Dir and runs go mod tidy
// there. It checks everything before writing anything: an invalid module
// path or version, a replace path that is not a plugship checkout, or a
// folder that holds anything is an error and nothing is written.
func Init(ctx context.Context, opts Options) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if err := checkModule(opts.Module); err != nil {
		return err
	}
	version, replace, err := requirement(opts.Version, opts.Replace)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(cmp.Or(opts.Dir, "."))
	if err != nil {
		return err
	}
	if err := checkEmpty(dir); err != nil {
		return err
	}
	if opts.Host != nil {
		if err := opts.Host.check(); err != nil {
			return err
		}
	}
	files, err := render(opts.Module, version, replace, opts.Host)
	if err != nil {
		return err
	}

	if err := write(dir, files); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d files in %s (module %s, %s):\n", len(files), dir, opts.Module, describe(version, replace))
	for _, f := range files {
		fmt.Fprintf(out, "  %s\n", f.Path)
	}
	if !opts.skipTidy {
		fmt.Fprintln(out, "running go mod tidy ...")
		if err := tidy(ctx, dir, opts.Host == nil); err != nil {
			return err
		}
		if opts.Host == nil {
			fmt.Fprintln(out, "  go.sum, contract/go.sum, magefiles/go.sum (go mod tidy)")
		} else {
			fmt.Fprintln(out, "  go.sum, magefiles/go.sum (go mod tidy)")
		}
	}
	fmt.Fprintf(out, "\nNext, in %s:\n", dir)
	fmt.Fprintln(out, "  go run mage.go all   # build and sign the plugins, run the compatibility matrix, publish to dist/channel/")
	if opts.Host == nil {
		fmt.Fprintln(out, "  go run mage.go test  # every module (root, contract/, magefiles/) tidy, and the tests of each")
	} else {
		fmt.Fprintln(out, "  go run mage.go test  # every module (root, magefiles/) tidy, and the tests of each")
		fmt.Fprintln(out, "  then, where the server runs: plugship install (see README.md and Dockerfile)")
	}
	return nil
}

// checkModule reports whether m is a module path a new repository can have.
func checkModule(m string) error {
	if m == "" {
		return errors.New("no module path: give the new repository's, e.g. example.com/acme")
	}
	if err := module.CheckPath(m); err != nil {
		return fmt.Errorf("%w (want a path such as example.com/acme)", err)
	}
	if m == PlugshipModule || strings.HasPrefix(m, PlugshipModule+"/") {
		return fmt.Errorf("module path %q is inside plugship's own module: give the new repository's, e.g. example.com/acme", m)
	}
	return nil
}

// requirement checks the version and the replace path and returns the
// version go.mod requires and the absolute replace path ("" for none).
func requirement(version, replace string) (string, string, error) {
	if version == "" && replace == "" {
		return "", "", errors.New("no plugship version to require: set a version (vX.Y.Z) or a plugship checkout to replace it with")
	}
	if version != "" {
		if err := CheckVersion(version); err != nil {
			return "", "", err
		}
	}
	if replace == "" {
		return version, "", nil
	}
	abs, err := filepath.Abs(replace)
	if err != nil {
		return "", "", err
	}
	for _, m := range []string{PlugshipModule, ToolModule, KeylessModule, OCIModule} {
		gomod := filepath.Join(abs, moduleFolder(m), "go.mod")
		content, err := os.ReadFile(gomod)
		if err != nil {
			return "", "", fmt.Errorf("replace %s: not a plugship checkout: %w", replace, err)
		}
		if got := modfile.ModulePath(content); got != m {
			return "", "", fmt.Errorf("replace %s: not a plugship checkout: %s declares module %q, want %s", replace, gomod, got, m)
		}
	}
	return cmp.Or(version, replaceVersion), abs, nil
}

// CheckVersion reports whether v is a version of plugship that a go.mod
// can require: canonical (v1.2.3, or a pseudo-version), without a +build
// suffix such as the +dirty of a build from a modified checkout.
func CheckVersion(v string) error {
	if semver.Canonical(v) != v {
		return fmt.Errorf("plugship version %q: want a released version such as v1.2.3 (complete, with no +build suffix)", v)
	}
	if err := module.Check(PlugshipModule, v); err != nil {
		return fmt.Errorf("plugship version: %w (want a version such as v1.2.3)", err)
	}
	return nil
}

// checkEmpty refuses a folder that exists and holds anything, naming what
// it holds.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot write into %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	var names []string
	for i, e := range entries {
		if i == 10 {
			names = append(names, fmt.Sprintf("and %d more", len(entries)-i))
			break
		}
		name := e.Name()
		if e.IsDir() {
			name += "/"
		}
		names = append(names, name)
	}
	return fmt.Errorf("%s is not empty (it holds %s): init writes only into an empty or new folder, and wrote nothing", dir, strings.Join(names, ", "))
}

// render makes every file, sorted by path: the templates, and go.mod.
func render(mod, version, replace string, host *Host) ([]file, error) {
	d := data{Module: mod, Name: path.Base(mod), Go: goRelease(), Host: host, Version: cmp.Or(version, "latest"), Index: "https://github.com/OWNER/REPO"}
	if version == replaceVersion {
		d.Version = "latest"
	}
	if strings.HasPrefix(mod, "github.com/") && strings.Count(mod, "/") >= 2 {
		d.Index = "https://" + strings.Join(strings.SplitN(mod, "/", 4)[:3], "/")
	}
	var files []file
	walk := func(root string, skip func(rel string) bool) error {
		return fs.WalkDir(templates, root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel := strings.TrimPrefix(p, root+"/")
			if skip(rel) {
				return nil
			}
			f, err := renderOne(p, rel, d)
			if err != nil {
				return err
			}
			files = append(files, f)
			return nil
		})
	}
	if err := walk(templateDir, func(rel string) bool {
		return host != nil && slices.ContainsFunc(ownOnly, func(o string) bool { return rel == o || strings.HasSuffix(o, "/") && strings.HasPrefix(rel, o) })
	}); err != nil {
		return nil, err
	}
	if host != nil {
		if err := walk(hostTemplateDir, func(string) bool { return false }); err != nil {
			return nil, err
		}
	}
	mods, err := goMods(mod, version, replace, host)
	if err != nil {
		return nil, err
	}
	files = append(files, mods...)
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// renderOne renders the template at p (rel inside its template folder).
func renderOne(p, rel string, d data) (file, error) {
	name, ok := strings.CutSuffix(rel, ".tmpl")
	if !ok {
		return file{}, fmt.Errorf("template %s: want a name ending in .tmpl", p)
	}
	src, err := templates.ReadFile(p)
	if err != nil {
		return file{}, err
	}
	// [[ ]] instead of {{ }}: GitHub Actions' ${{ }} stays as it is.
	t, err := template.New(name).Delims("[[", "]]").Option("missingkey=error").Parse(string(src))
	if err != nil {
		return file{}, fmt.Errorf("template %s: %w", p, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return file{}, fmt.Errorf("template %s: %w", p, err)
	}
	return file{Path: name, Data: b.Bytes()}, nil
}

// goMods writes the three go.mod files, each with its module, go line,
// requirements and replacements; go mod tidy adds the rest:
//   - go.mod, the module plugins and the reference hosts are built in: the
//     contract module (replaced by ./contract), plugship's light module for
//     the hosts' loader, and mage as a tool for mage.go;
//   - contract/go.mod, the contract's module, required by hosts elsewhere;
//   - magefiles/go.mod, plugship's tool module and nothing else.
//
// A repository for a host someone else releases has no contract/ module:
// its go.mod requires the host's contract module at the host's version,
// and mage; nothing of plugship's (the host does not link it).
func goMods(mod, version, replace string, host *Host) ([]file, error) {
	mage, err := modFile(mod+"/magefiles", func(f *modfile.File) error {
		f.AddNewRequire(ToolModule, version, false)
		return replaceWith(f, replace, PlugshipModule, KeylessModule, OCIModule, ToolModule)
	})
	if err != nil {
		return nil, err
	}
	if host != nil {
		root, err := modFile(mod, func(f *modfile.File) error {
			f.AddNewRequire(host.ContractModule, host.ContractVersion, false)
			f.AddNewRequire("github.com/magefile/mage", MageVersion, true)
			return f.AddTool("github.com/magefile/mage")
		})
		if err != nil {
			return nil, err
		}
		return []file{{"go.mod", root}, {"magefiles/go.mod", mage}}, nil
	}
	contract := mod + "/contract"
	root, err := modFile(mod, func(f *modfile.File) error {
		f.AddNewRequire(contract, ContractVersion, false)
		f.AddNewRequire(PlugshipModule, version, false)
		f.AddNewRequire("github.com/magefile/mage", MageVersion, true)
		if err := f.AddTool("github.com/magefile/mage"); err != nil {
			return err
		}
		if err := f.AddReplace(contract, "", "./contract", ""); err != nil {
			return err
		}
		return replaceWith(f, replace, PlugshipModule)
	})
	if err != nil {
		return nil, err
	}
	contractMod, err := modFile(contract, func(*modfile.File) error { return nil })
	if err != nil {
		return nil, err
	}
	return []file{{"go.mod", root}, {"contract/go.mod", contractMod}, {"magefiles/go.mod", mage}}, nil
}

// modFile formats a go.mod of module mod with the go line GoVersion and
// what edit adds.
func modFile(mod string, edit func(*modfile.File) error) ([]byte, error) {
	f := new(modfile.File)
	if err := f.AddModuleStmt(mod); err != nil {
		return nil, err
	}
	if err := f.AddGoStmt(GoVersion); err != nil {
		return nil, err
	}
	if err := edit(f); err != nil {
		return nil, err
	}
	f.Cleanup()
	return f.Format()
}

// moduleFolder is the folder of one of plugship's modules in a checkout:
// "" for the root, "tool" for ToolModule.
func moduleFolder(mod string) string {
	return strings.TrimPrefix(strings.TrimPrefix(mod, PlugshipModule), "/")
}

// replaceWith replaces each of plugship's modules mods with its folder in
// the checkout at dir ("" for none).
func replaceWith(f *modfile.File, dir string, mods ...string) error {
	if dir == "" {
		return nil
	}
	for _, m := range mods {
		to := filepath.Join(dir, moduleFolder(m))
		if err := f.AddReplace(m, "", to, ""); err != nil {
			return fmt.Errorf("replace %s: %w", dir, err)
		}
	}
	return nil
}

// write writes files into dir, each atomically. On a failure it removes
// the files and folders it created (dir was empty or new).
func write(dir string, files []file) (err error) {
	var created []string // files and folders, in the order they were made
	defer func() {
		if err != nil {
			for _, p := range slices.Backward(created) {
				os.Remove(p)
			}
		}
	}()
	mkdir := func(d string) error {
		var missing []string
		for p := d; ; p = filepath.Dir(p) {
			if _, err := os.Stat(p); err == nil || filepath.Dir(p) == p {
				break
			}
			missing = append(missing, p)
		}
		for _, p := range slices.Backward(missing) {
			if err := os.Mkdir(p, 0o755); errors.Is(err, fs.ErrExist) {
				continue
			} else if err != nil {
				return err
			}
			created = append(created, p)
		}
		return nil
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := mkdir(filepath.Dir(p)); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
		if err := renameio.WriteFile(p, f.Data, 0o644, renameio.WithTempDir(filepath.Dir(p))); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
		created = append(created, p)
	}
	return nil
}

// tidy runs go mod tidy, outside any go.work, in each of the new
// repository's modules: the contract (if it has one), the root, the
// magefiles.
func tidy(ctx context.Context, dir string, contract bool) error {
	subs := []string{".", "magefiles"}
	if contract {
		subs = append([]string{"contract"}, subs...)
	}
	for _, sub := range subs {
		cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
		cmd.Dir = filepath.Join(dir, sub)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if output, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go mod tidy in %s: %w\n%s\nthe files are written: run go mod tidy there again once that is fixed", cmd.Dir, err, bytes.TrimSpace(output))
		}
	}
	return nil
}

// describe says which plugship go.mod uses.
func describe(version, replace string) string {
	if replace != "" {
		return fmt.Sprintf("plugship %s replaced by %s", version, replace)
	}
	return "plugship " + version
}

// goRelease is the Go release of this process, such as 1.26.8: the release
// the new repository's plugins and hosts are built with until its team
// says otherwise. A development toolchain gives "stable".
func goRelease() string {
	v, ok := strings.CutPrefix(runtime.Version(), "go")
	if !ok || strings.ContainsAny(v, " +") {
		return "stable"
	}
	return v
}
