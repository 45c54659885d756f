package hostcheck

import (
	"bytes"
	"cmp"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"

	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/internal/hostmods"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/teams"
)

// plugshipModule is plugship's own module path: Align never lowers a
// module below the version plugship requires.
const plugshipModule = "github.com/plugship/plugship"

// ErrMismatch is wrapped by the error Check and Align return when a plugin
// cannot load into the host as the repository stands; other errors are
// failures to check (a missing file, go list failing).
var ErrMismatch = errors.New("plugins and host differ")

// Options say what to check.
type Options struct {
	// Root is the module root of the plugin repository; "" means ".".
	Root string
	// Host is the path of the host executable, or the name of a profile
	// with binary or module in the hosts file (compat/hosts.yaml).
	Host string
	// Repo is the repository's configuration; nil reads plugship.yaml
	// (and go.mod) in Root.
	Repo *config.Config
}

// Side says which side of a module difference has the newer version (see
// package hostmods, which the build of binary profiles shares).
type Side = hostmods.Side

// The values of Difference.Newer.
const (
	PluginNewer = hostmods.PluginNewer // the plugins build with a newer version than the host links
	HostNewer   = hostmods.HostNewer   // the host links a newer version
	Unordered   = hostmods.Unordered   // not two semantic versions: no order
)

// Difference is one module a plugin version and the host both link, at
// two versions.
type Difference = hostmods.Difference

// Report is what Check found.
type Report struct {
	Host          string   // the host, for people: the file as given, or "profile <name> (<binary or module>)"
	Arg           string   // the host as check:host and check:align take it: the file, or the profile's name
	Profile       string   // the profile's name when the host is an external profile's
	HostGo        string   // the Go release that built the host
	PluginGo      string   // the Go release plugins build with: go env GOVERSION in Root
	Plugins       []string // every plugin version checked, by team, plugin, newest version first
	CannotLoad    string   // not empty: why the host cannot load any plugin at all
	Modules       []Difference
	Settings      []fingerprint.Difference // Kind "go" or "setting"; Plugin is how plugship builds plugins
	Unloadable    []string                 // the plugin versions that cannot load, in Plugins order
	PluginModules map[string][]string      // plugin version -> the non-standard modules it links (besides the repository's own)
}

// OK reports whether every plugin's modules, the Go release and the flags
// match.
func (r *Report) OK() bool {
	return r.CannotLoad == "" && len(r.Modules) == 0 && len(r.Settings) == 0
}

// Check compares every registered plugin version of the repository at
// opts.Root with the host executable opts.Host and prints the result to
// out, verdict first. It returns the report and, when anything differs, an
// error wrapping ErrMismatch.
func Check(ctx context.Context, opts Options, out io.Writer) (*Report, error) {
	rep, err := check(ctx, opts)
	if err != nil {
		return nil, err
	}
	Print(rep, out)
	if rep.OK() {
		return rep, nil
	}
	return rep, fmt.Errorf("host %s: %s: %w", rep.Host, rep.summary(), ErrMismatch)
}

// release is one plugin version to check.
type release struct {
	label  string
	pkg    string // import path of its main package
	source string // ./<sources>/<source>
}

func check(ctx context.Context, opts Options) (*Report, error) {
	file, label, profileName, err := resolveHost(ctx, opts)
	if err != nil {
		return nil, err
	}
	repo, err := config.Or(opts.Repo, opts.Root)
	if err != nil {
		return nil, err
	}
	root := repo.Root
	rep := &Report{Host: label, Arg: opts.Host, Profile: profileName, PluginModules: map[string][]string{}}
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	opts.Host = file
	bi, err := buildinfo.ReadFile(opts.Host)
	if err != nil {
		return nil, fmt.Errorf("host %s: no Go build info (%v): not an executable built by the go command, or damaged", opts.Host, err)
	}
	rep.HostGo = bi.GoVersion
	hostSettings := map[string]string{}
	for _, s := range bi.Settings {
		hostSettings[s.Key] = s.Value
	}
	if _, err := fingerprint.Read(opts.Host); err != nil {
		rep.CannotLoad = cannotLoad(hostSettings, err)
		return rep, nil
	}

	env, err := goEnv(ctx, root)
	if err != nil {
		return nil, err
	}
	rep.PluginGo = env.GOVERSION
	rep.Settings = compareSettings(bi.GoVersion, hostSettings, env.GOVERSION, pluginSettings(profile.DefaultFlags, env.GOOS, env.GOARCH))

	reg, err := teams.LoadDirs(root, repo.Teams, repo.Sources)
	if err != nil {
		return nil, fmt.Errorf("reading the plugins: %w", err)
	}
	var rels []release
	for _, p := range reg.Plugins() {
		rs := p.Releases()
		for _, r := range rs {
			label := p.ID()
			if len(rs) > 1 {
				label += " v" + r.Version
			}
			rel := path.Join(repo.Sources, r.Source)
			rels = append(rels, release{label: label, pkg: path.Join(repo.Module, rel), source: "./" + rel})
		}
	}
	if len(rels) == 0 {
		return nil, fmt.Errorf("no plugins registered under %s/", reg.TeamsFolder())
	}
	linked, err := listModules(ctx, root, rels)
	if err != nil {
		return nil, err
	}
	host := hostModules(bi)
	for _, r := range rels {
		rep.Plugins = append(rep.Plugins, r.label)
		mods := linked[r.pkg]
		for _, m := range sortedKeys(mods) {
			rep.PluginModules[r.label] = append(rep.PluginModules[r.label], m)
		}
		ds := compareModules(r.label, mods, host)
		rep.Modules = append(rep.Modules, ds...)
		if len(ds) > 0 || len(rep.Settings) > 0 {
			rep.Unloadable = append(rep.Unloadable, r.label)
		}
	}
	return rep, nil
}

// cannotLoad says why a host without package fingerprints cannot load
// plugins; err is fingerprint.Read's.
func cannotLoad(settings map[string]string, err error) string {
	return hostmods.CannotLoad(settings, err)
}

type goEnvVars struct{ GOVERSION, GOOS, GOARCH string }

// goEnv reads the go command's release and platform in root.
func goEnv(ctx context.Context, root string) (*goEnvVars, error) {
	data, err := goCmd(ctx, root, "env", "-json", "GOVERSION", "GOOS", "GOARCH")
	if err != nil {
		return nil, err
	}
	var v goEnvVars
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	return &v, nil
}

// goCmd runs the go command in dir with cgo on (plugins are built with
// it, and it changes which files a package has) and returns its standard
// output; a failure's error holds its standard error.
func goCmd(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// listedModule is a module as go list prints it.
type listedModule struct {
	Path    string
	Version string
	Main    bool
	Replace *listedModule
}

type listedPackage struct {
	ImportPath string
	Standard   bool
	Deps       []string
	Module     *listedModule
}

// listModules runs one go list over every release's main package and
// returns, for each main package's import path, the modules it links
// (path -> version; a replacement's version, or the required version for a folder),
// without the repository's own module and the standard library.
func listModules(ctx context.Context, root string, rels []release) (map[string]map[string]string, error) {
	args := []string{"list", "-deps", "-json=ImportPath,Deps,Module,Standard"}
	for _, r := range rels {
		args = append(args, r.source)
	}
	data, err := goCmd(ctx, root, args...)
	if err != nil {
		return nil, fmt.Errorf("listing the plugins' modules: %w", err)
	}
	return parseList(data, rels)
}

// parseList attributes the modules of go list's packages to each release's
// main package through its Deps.
func parseList(data []byte, rels []release) (map[string]map[string]string, error) {
	pkgs := map[string]*listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list's output: %w", err)
		}
		pkgs[p.ImportPath] = &p
	}
	out := map[string]map[string]string{}
	for _, r := range rels {
		main, ok := pkgs[r.pkg]
		if !ok {
			return nil, fmt.Errorf("go list did not list %s (%s): is it in another module than the repository?", r.pkg, r.source)
		}
		mods := map[string]string{}
		for _, imp := range append([]string{r.pkg}, main.Deps...) {
			p := pkgs[imp]
			if p == nil || p.Standard || p.Module == nil || p.Module.Main {
				continue
			}
			mods[p.Module.Path] = effective(p.Module.Path, p.Module.Version, p.Module.Replace)
		}
		out[r.pkg] = mods
	}
	return out, nil
}

// effective is the version a module builds from (see hostmods.Effective).
func effective(path, version string, replace *listedModule) string {
	if replace == nil {
		return hostmods.Effective(path, version, "", "")
	}
	return hostmods.Effective(path, version, replace.Path, replace.Version)
}

// hostModules returns the host's dependencies, path -> effective version.
func hostModules(bi *buildinfo.BuildInfo) map[string]string { return hostmods.HostModules(bi) }

// compareModules lists, sorted by module, the modules plugin links
// (path -> version) that the host also links at another version.
func compareModules(plugin string, pluginMods, hostMods map[string]string) []Difference {
	return hostmods.Compare(plugin, pluginMods, hostMods)
}

// newer says which of two versions is newer; Unordered unless both are
// valid semantic versions.
func newer(plugin, host string) Side { return hostmods.Newer(plugin, host) }

// pluginSettings are the settings the go command records for a plugin
// built with flags on goos/goarch, as far as fingerprint compares them.
func pluginSettings(flags []string, goos, goarch string) map[string]string {
	s := map[string]string{"-buildmode": "plugin", "CGO_ENABLED": "1", "GOOS": goos, "GOARCH": goarch}
	for _, f := range flags {
		name, val, hasVal := strings.Cut(strings.TrimLeft(f, "-"), "=")
		switch name {
		case "trimpath", "race", "msan", "asan":
			if !hasVal {
				val = "true"
			}
			s["-"+name] = val
		}
	}
	return s
}

// compareSettings lists the Go release difference (any release other than
// the plugins') and the settings that must match, as fingerprint.Compare
// judges them.
func compareSettings(hostGo string, host map[string]string, pluginGo string, plugin map[string]string) []fingerprint.Difference {
	var ds []fingerprint.Difference
	if hostGo != pluginGo {
		ds = append(ds, fingerprint.Difference{Kind: "go", Host: hostGo, Plugin: pluginGo})
	}
	h := &fingerprint.Fingerprint{GoVersion: hostGo, Settings: host}
	p := &fingerprint.Fingerprint{GoVersion: hostGo, Settings: plugin}
	for _, d := range fingerprint.Compare(h, p) {
		if d.Kind == "setting" {
			ds = append(ds, d)
		}
	}
	return ds
}

// summary is the verdict after "host <file> (<go>): ".
func (r *Report) summary() string {
	if r.CannotLoad != "" {
		return "cannot load plugins at all: " + r.CannotLoad
	}
	if r.OK() {
		return "every plugin's modules, Go release and flags match"
	}
	var parts []string
	if n := len(r.Modules); n > 0 {
		parts = append(parts, plural(n, "module difference"))
	}
	var flags []string
	for _, d := range r.Settings {
		if d.Kind == "go" {
			parts = append(parts, "Go release differs")
		} else {
			flags = append(flags, d.Name)
		}
	}
	if len(flags) > 0 {
		parts = append(parts, "flags differ ("+strings.Join(flags, ", ")+")")
	}
	return fmt.Sprintf("%s of %d cannot load: %s", plural(len(r.Unloadable), "plugin"), len(r.Plugins), strings.Join(parts, ", "))
}

// Print writes the report for people: the verdict, then one line per
// difference.
func Print(r *Report, out io.Writer) {
	fmt.Fprintf(out, "host %s (%s): %s\n", r.Host, r.HostGo, r.summary())
	for _, d := range r.Settings {
		fmt.Fprintf(out, "  %s\n", settingLine(d))
	}
	for _, d := range r.Modules {
		line := moduleLine(d, cmp.Or(r.Arg, r.Host))
		if r.Profile != "" && d.Newer == HostNewer {
			line += "; the build for profile " + r.Profile + " already uses the host's version"
		}
		fmt.Fprintf(out, "  %s\n", line)
	}
}

// moduleLine says what differs about one module and the way out.
func moduleLine(d Difference, host string) string { return hostmods.Line(d, host) }

// settingLine says what differs about the Go release or one setting.
func settingLine(d fingerprint.Difference) string {
	if d.Kind == "go" {
		s := fmt.Sprintf("Go release: plugins build with %s (the go command here), the host was built with %s: build plugins with the host's release (GOTOOLCHAIN=%s, or a profile with go: %s)", d.Plugin, d.Host, d.Host, d.Host)
		if goMinor(d.Plugin) != goMinor(d.Host) {
			s += "; a plugin of another Go minor release kills the host process at plugin.Open"
		}
		return s
	}
	p, h := orUnset(d.Plugin), orUnset(d.Host)
	s := fmt.Sprintf("%s: plugins build with %s, the host was built with %s", d.Name, p, h)
	if d.Name == "-trimpath" && h != "true" {
		return s + ": build the host with -trimpath, as plugship builds plugins, or build plugins for it without (a profile with flags: [])"
	}
	if strings.HasPrefix(d.Name, "-") {
		return s + fmt.Sprintf(": build both with the same flags (a profile's flags: [%s] builds plugins with it)", d.Name)
	}
	return s + ": build plugins for the host's platform (a profile with goos, goarch)"
}

func orUnset(v string) string {
	if v == "" {
		return "false"
	}
	return v
}

// goMinor is go1.26 for go1.26.8.
func goMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Align checks like Check, then writes the host's version of every
// differing module into the repository's go.mod (one go get with all of
// them, then go mod tidy) and prints what changed. It skips, saying why,
// modules it cannot align: a replacement on either side, and a module
// plugship itself requires at a newer version than the host links. Then it
// checks again and prints the verdict: it returns an error wrapping
// ErrMismatch when anything is left that keeps a plugin from loading into
// the host (a skipped module, another module go get moved, the Go release
// or the flags, which go.mod cannot change).
func Align(ctx context.Context, opts Options, out io.Writer) error {
	rep, err := Check(ctx, opts, out)
	if err == nil || !errors.Is(err, ErrMismatch) {
		return err
	}
	if rep.CannotLoad != "" {
		return err
	}
	repo, cerr := config.Or(opts.Repo, opts.Root)
	if cerr != nil {
		return cerr
	}
	want, unordered := alignTargets(rep.Modules)
	for _, d := range unordered {
		fmt.Fprintf(out, "not aligning %s: plugins build with %s, the host links %s: a replacement, which go get does not change; make both sides build the same version by hand\n", d.Module, d.PluginVersion, d.HostVersion)
	}
	if len(want) > 0 {
		needs, err := plugshipNeeds(ctx, repo.Root, repo.Module)
		if err != nil {
			return err
		}
		for _, m := range sortedKeys(want) {
			if v, ok := needs[m]; ok && semver.Compare(v, want[m]) > 0 {
				fmt.Fprintf(out, "not aligning %s: plugship itself needs %s %s, and a host linking %s cannot load plugins built in this repository's module graph; it cannot be aligned here: build for this host from a module graph of its own\n", m, m, v, want[m])
				delete(want, m)
			}
		}
	}
	if len(want) == 0 {
		fmt.Fprintln(out, "go.mod: nothing to align (the Go release and the flags are not in go.mod)")
		return err
	}
	if err := getAndTidy(ctx, repo.Root, want, out); err != nil {
		return err
	}
	fmt.Fprint(out, "after aligning: ")
	_, err = Check(ctx, opts, out)
	return err
}

// alignTargets returns, for every module some plugin links at another
// version than the host, the host's version; and, once per module, the
// differences without an order (a replacement on either side), which go
// get cannot align.
func alignTargets(ds []Difference) (map[string]string, []Difference) {
	want := map[string]string{}
	var unordered []Difference
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.Module] {
			continue
		}
		seen[d.Module] = true
		if d.Newer == Unordered {
			unordered = append(unordered, d)
			continue
		}
		want[d.Module] = d.HostVersion
	}
	return want, unordered
}

// plugshipNeeds returns the versions of the modules plugship requires
// (path -> version), at the plugship version the repository's build list
// selects; nothing when the repository is plugship itself (its go.mod is
// what align rewrites) or does not depend on it.
func plugshipNeeds(ctx context.Context, root, mainModule string) (map[string]string, error) {
	if mainModule == plugshipModule {
		return nil, nil
	}
	data, err := goCmd(ctx, root, "list", "-m", "-f", "{{.Version}}", plugshipModule)
	if err != nil {
		return nil, nil // not in the build list: nothing of plugship's to protect
	}
	graph, err := goCmd(ctx, root, "mod", "graph")
	if err != nil {
		return nil, err
	}
	return requirements(string(graph), plugshipModule+"@"+strings.TrimSpace(string(data))), nil
}

// requirements returns what module@version requires, from go mod graph's
// output.
func requirements(graph, from string) map[string]string {
	req := map[string]string{}
	for line := range strings.Lines(graph) {
		f := strings.Fields(line)
		if len(f) != 2 || f[0] != from {
			continue
		}
		if m, v, ok := strings.Cut(f[1], "@"); ok {
			req[m] = v
		}
	}
	return req
}

// getAndTidy runs one go get of every module at its version, then go mod
// tidy, in root, and prints how go.mod's requirements changed.
func getAndTidy(ctx context.Context, root string, want map[string]string, out io.Writer) error {
	gomod := filepath.Join(root, "go.mod")
	before, err := requires(gomod)
	if err != nil {
		return err
	}
	args := []string{"get"}
	for _, m := range sortedKeys(want) {
		args = append(args, m+"@"+want[m])
	}
	for _, a := range [][]string{args, {"mod", "tidy"}} {
		cmd := exec.CommandContext(ctx, "go", a...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s (in %s): %v\n%s", strings.Join(a, " "), root, err, bytes.TrimSpace(msg))
		} else if len(bytes.TrimSpace(msg)) > 0 {
			fmt.Fprintf(out, "%s\n", bytes.TrimSpace(msg))
		}
	}
	after, err := requires(gomod)
	if err != nil {
		return err
	}
	changes := requireChanges(before, after)
	if len(changes) == 0 {
		fmt.Fprintln(out, "go.mod: unchanged")
	}
	for _, c := range changes {
		fmt.Fprintf(out, "go.mod: %s\n", c)
	}
	return nil
}

// requires reads the requirements of a go.mod, path -> version.
func requires(file string) (map[string]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	f, err := modfile.ParseLax(file, data, nil)
	if err != nil {
		return nil, err
	}
	req := map[string]string{}
	for _, r := range f.Require {
		req[r.Mod.Path] = r.Mod.Version
	}
	return req, nil
}

// requireChanges describes, sorted by module, how the requirements changed.
func requireChanges(before, after map[string]string) []string {
	var out []string
	all := map[string]string{}
	for m := range before {
		all[m] = ""
	}
	for m := range after {
		all[m] = ""
	}
	for _, m := range sortedKeys(all) {
		b, inB := before[m]
		a, inA := after[m]
		switch {
		case !inB:
			out = append(out, fmt.Sprintf("%s %s added", m, a))
		case !inA:
			out = append(out, fmt.Sprintf("%s %s removed", m, b))
		case a != b:
			out = append(out, fmt.Sprintf("%s %s -> %s", m, b, a))
		}
	}
	return out
}
