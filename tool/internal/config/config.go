package config

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/symbols"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

// File is the configuration's name, at the module root. It is optional.
const File = "plugship.yaml"

// MaxSize is the largest configuration Load reads.
const MaxSize = 1 << 20

// Defaults of the fields (Contract's is the module path + "/contract").
const (
	DefaultAccessor = "Showcase"        // contract.accessor
	DefaultElement  = "ShowcaseElement" // contract.element
	DefaultTeams    = teams.Dir         // folders.teams
	DefaultSources  = teams.SourcesDir  // folders.sources
	DefaultHosts    = "compat/hosts.yaml"
	DefaultDist     = "dist"
	// Sigstore's public-good instance, for keyless signing.
	DefaultFulcio = "https://fulcio.sigstore.dev"
	DefaultRekor  = "https://rekor.sigstore.dev"
)

// Config is plugship.yaml with every default filled in.
type Config struct {
	Root     string // absolute module root (the folder holding go.mod)
	File     string // the file read, relative to Root; "" when there is none (all defaults)
	Module   string // module path from Root/go.mod
	Contract string // contract.package: import path of the contract package; default Module+"/contract"
	Accessor string // contract.accessor: exported func symbol hosts look up first; default "Showcase"
	Element  string // contract.element: exported variable symbol looked up when there is no accessor; default "ShowcaseElement"
	// Symbols (contract.symbols) make the contract one of symbols, for a
	// host someone else releases: every plugin exports each, with its
	// exact type; Accessor and Element are then "". Default none: the
	// accessor/element contract. See package symbols.
	Symbols []symbols.Symbol
	// Imports are the packages the symbols' types name, by qualifier: the
	// contract package, contract.imports ("path" or "name path"; default
	// none) and the standard library packages of symbols.Std.
	Imports map[string]string
	Teams   string // folders.teams: slash-separated, relative to Root; default "teams"
	Sources string // folders.sources; default "plugin_sources"
	Hosts   string // folders.hosts: the host profiles and reference hosts file; default "compat/hosts.yaml"
	Dist    string // folders.dist; default "dist"
	// Keyless signing (teams with signing.keyless): the certificate
	// authority and transparency log the sign step uses, and the trusted
	// root (Sigstore's trusted root JSON) that keyless bundles are checked
	// against, offline, by verify, the matrix, fetch.Plugins and hosts.
	Fulcio      string // sigstore.fulcio; default DefaultFulcio
	Rekor       string // sigstore.rekor; default DefaultRekor
	TrustedRoot string // sigstore.trusted_root: a file relative to Root; default "": Sigstore's public-good root, fetched through its TUF repository when signing
	// Registry (publish.registry) is an OCI registry repository to publish
	// to, oci://<registry>/<repository>; default "": GitHub Releases in
	// Actions, else the local channel. PLUGSHIP_REGISTRY overrides it.
	Registry string
	// IndexExpiry (index.expires) is how long a signed index statement
	// is valid; default artifact.DefaultIndexExpiry (7 days).
	IndexExpiry time.Duration
	// IndexIdentities (index.identities) sign the index statement
	// keylessly where an OIDC token is available; default none: the
	// index key signs it.
	IndexIdentities []trust.Identity
}

// Default is the configuration of a module without plugship.yaml. Root is
// left empty.
func Default(module string) *Config {
	return &Config{
		Module:   module,
		Contract: path.Join(module, "contract"),
		Accessor: DefaultAccessor,
		Element:  DefaultElement,
		Teams:    DefaultTeams,
		Sources:  DefaultSources,
		Hosts:    DefaultHosts,
		Dist:     DefaultDist,
		Fulcio:   DefaultFulcio,
		Rekor:    DefaultRekor,

		IndexExpiry: artifact.DefaultIndexExpiry,
	}
}

// Path returns rel, a slash path relative to the module root, as an
// absolute path.
func (c *Config) Path(rel string) string { return filepath.Join(c.Root, filepath.FromSlash(rel)) }

// TeamsDir is the absolute teams folder.
func (c *Config) TeamsDir() string { return c.Path(c.Teams) }

// SourcesDir is the absolute plugin sources folder.
func (c *Config) SourcesDir() string { return c.Path(c.Sources) }

// HostsFile is the absolute host profiles file.
func (c *Config) HostsFile() string { return c.Path(c.Hosts) }

// DistDir is the absolute output folder.
func (c *Config) DistDir() string { return c.Path(c.Dist) }

// noModule says root has no go.mod; it is an fs.ErrNotExist.
type noModule struct{ dir string }

func (e *noModule) Error() string {
	return fmt.Sprintf("no go.mod in %s: run plugship from the module root, the folder holding go.mod (and %s, if any)", e.dir, File)
}

func (e *noModule) Unwrap() error { return fs.ErrNotExist }

// Load reads root's go.mod and, if present, root's plugship.yaml. root ""
// means ".". A missing go.mod is an error that is an fs.ErrNotExist; a
// configuration with problems is a [teams.Problems] error listing every
// one, and no configuration.
func Load(root string) (*Config, error) {
	if root == "" {
		root = "."
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	mod, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &noModule{abs}
	}
	if err != nil {
		return nil, err
	}
	modPath := modfile.ModulePath(mod)
	if modPath == "" {
		return nil, fmt.Errorf("%s: no module line; plugship needs the module path", filepath.Join(abs, "go.mod"))
	}
	data, err := read(filepath.Join(abs, File))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(abs, "plugship.yml")); err == nil {
			return nil, fmt.Errorf("%s: plugship reads %s only; rename it to %s", filepath.Join(abs, "plugship.yml"), File, File)
		}
		c := Default(modPath)
		c.Root = abs
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the repository configuration: %w", err)
	}
	c, problems := Parse(File, data, modPath)
	if len(problems) > 0 {
		return nil, problems
	}
	c.Root = abs
	return c, nil
}

// Or returns the configuration a step uses: repo when it is not nil (a
// copy, with Root set to root's absolute path if empty), else Load(root).
func Or(repo *Config, root string) (*Config, error) {
	if repo == nil {
		return Load(root)
	}
	c := *repo
	if c.Root == "" {
		if root == "" {
			root = "."
		}
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, err
		}
		c.Root = abs
	}
	return &c, nil
}

// Resolve is what every step does with the Repo, Root and Dist of its
// options: the configuration is repo when it is set (a copy; its Root
// fills an empty root), else read from root; the root and dist returned
// are absolute, dist defaulting to the configured folders.dist.
func Resolve(repo *Config, root, dist string) (*Config, string, string, error) {
	if root == "" && repo != nil {
		root = repo.Root
	}
	c, err := Or(repo, root)
	if err != nil {
		return nil, "", "", err
	}
	if dist == "" {
		dist = c.DistDir()
	}
	root, dist = artifact.Dirs(root, dist)
	return c, root, dist, nil
}

// read reads at most MaxSize+1 bytes of file: Parse refuses more.
func read(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxSize+1))
}

// Parse reads a configuration's bytes: file names it in problems (relative
// to the module root), module is the module path from go.mod. It reports
// every problem; the configuration it returns holds the valid fields and
// the defaults of the others, Root empty.
func Parse(file string, data []byte, module string) (*Config, teams.Problems) {
	p := &parser{file: file, module: module, c: Default(module), lines: map[string]int{}}
	p.c.File = file
	p.parse(data)
	slices.SortStableFunc(p.problems, func(a, b *teams.Problem) int { return a.Line - b.Line })
	if p.dropped > 0 {
		p.problems = append(p.problems, &teams.Problem{File: file, Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", p.dropped)})
	}
	return p.c, p.problems
}

// maxProblems is how many problems Parse lists.
const maxProblems = 50

// synonyms are names people write for a known field.
var synonyms = map[string]string{
	"contract.module": "contract.package", "contract.import": "contract.package", "contract.path": "contract.package",
	"contract.func": "contract.accessor", "contract.function": "contract.accessor", "contract.symbol": "contract.accessor",
	"contract.var": "contract.element", "contract.variable": "contract.element",
	"folders.src": "folders.sources", "folders.source": "folders.sources", "folders.plugins": "folders.sources", "folders.plugin_sources": "folders.sources",
	"folders.out": "folders.dist", "folders.output": "folders.dist", "folders.build": "folders.dist",
	"folders.team": "folders.teams", "folders.registry": "folders.teams",
	"folders.profiles": "folders.hosts", "folders.compat": "folders.hosts",
	"sigstore.ca": "sigstore.fulcio", "sigstore.tlog": "sigstore.rekor", "sigstore.root": "sigstore.trusted_root", "sigstore.trustedroot": "sigstore.trusted_root",
}

type parser struct {
	file     string
	module   string
	c        *Config
	lines    map[string]int // line of each field given in the file, by dotted name
	problems teams.Problems
	dropped  int
}

func (p *parser) add(line int, field, format string, args ...any) {
	if len(p.problems) >= maxProblems {
		p.dropped++
		return
	}
	p.problems = append(p.problems, &teams.Problem{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineRE = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

func (p *parser) parse(data []byte) {
	if len(data) > MaxSize {
		p.add(0, "", "larger than %d bytes; the configuration holds a few names and folders only", MaxSize)
		return
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return // an empty file: all defaults
		}
		msg := err.Error()
		line := 0
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		p.add(line, "", "not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.add(extra.Line, "", "more than one YAML document: remove this \"---\" and what follows, or merge it into the first")
	}
	if len(doc.Content) == 0 {
		return // comments only: all defaults
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return
	}
	fields := p.mapping(root, "")
	if fields == nil {
		return
	}
	if n := fields["version"]; n != nil {
		if v, ok := p.scalar(n, "version", "1"); ok && v != "1" {
			p.add(n.Line, "version", "%s is not a known version: only version 1 exists; write version: 1", artifact.Quote(v))
		}
	}
	for _, section := range []string{"contract", "folders", "sigstore", "publish", "index"} {
		n := fields[section]
		if n == nil || isNull(resolve(n)) {
			continue
		}
		sub := p.mapping(resolve(n), section)
		for _, key := range known[section] {
			if section == "contract" && (key == "symbols" || key == "imports") || section == "index" && key == "identities" {
				continue
			}
			if v := sub[key]; v != nil {
				p.field(section+"."+key, v)
			}
		}
		if section == "contract" {
			p.symbolContract(sub)
		}
		if section == "index" && sub["identities"] != nil {
			p.indexIdentities(sub["identities"])
		}
	}
	p.check()
}

// indexIdentities reads index.identities: keyless identities, as a
// team's signing.identities.
func (p *parser) indexIdentities(n *yaml.Node) {
	const example = "issuer: " + trust.GitHubIssuer
	for i, e := range p.list(n, "index.identities", example) {
		field := fmt.Sprintf("index.identities[%d]", i)
		f := p.mapping(resolve(e), "index.identities[]")
		if f == nil {
			continue
		}
		var id trust.Identity
		for key, dst := range map[string]*string{"issuer": &id.Issuer, "subject": &id.Subject, "subject_regexp": &id.SubjectRegexp, "repository": &id.Repository, "ref": &id.Ref} {
			if v := f[key]; v != nil {
				*dst, _ = p.scalar(v, field+"."+key, "")
			}
		}
		if err := id.Check(); err != nil {
			key, msg, _ := strings.Cut(err.Error(), ": ")
			p.add(resolve(e).Line, field+"."+key, "%s", msg)
			continue
		}
		p.c.IndexIdentities = append(p.c.IndexIdentities, id)
	}
}

// symbolContract reads contract.symbols and contract.imports: the
// contract made of symbols (see package symbols).
func (p *parser) symbolContract(sub map[string]*yaml.Node) {
	imports := map[string]string{}
	importLines := map[string]int{}
	if n := sub["imports"]; n != nil {
		for i, e := range p.list(n, "contract.imports", "database/sql") {
			v, ok := p.scalar(e, fmt.Sprintf("contract.imports[%d]", i), "database/sql")
			if !ok {
				continue
			}
			name, pkg, err := symbols.ParseImport(v)
			field := fmt.Sprintf("contract.imports[%d]", i)
			switch {
			case err != nil:
				p.add(e.Line, field, "%v", err)
			case importLines[name] != 0:
				p.add(e.Line, field, "the package name %s is also at line %d: give one of them another name, as in \"%s2 %s\"", name, importLines[name], name, pkg)
			default:
				imports[name], importLines[name] = pkg, e.Line
			}
		}
	}
	n := sub["symbols"]
	if n == nil {
		if len(imports) > 0 {
			p.add(resolve(sub["imports"]).Line, "contract.imports", "contract.imports names the packages of contract.symbols' types, and there are no symbols: add contract.symbols or remove contract.imports")
		}
		return
	}
	line := resolve(n).Line
	entries := p.list(n, "contract.symbols", symbols.Example)
	if entries == nil && !isNull(resolve(n)) && resolve(n).Kind != yaml.SequenceNode {
		return // p.list said so
	}
	if len(entries) == 0 {
		p.add(line, "contract.symbols", "empty: list the symbols every plugin must export, such as \"- %s\", or remove contract.symbols for the accessor/element contract", symbols.Example)
		return
	}
	for _, f := range []string{"contract.accessor", "contract.element"} {
		if l, ok := p.lines[f]; ok {
			p.add(l, f, "a contract is either symbols (contract.symbols, line %d) or an accessor and an element: remove %s", line, f)
			delete(p.lines, f)
		}
	}
	quals := map[string]int{}
	seen := map[string]int{}
	var syms []symbols.Symbol
	for i, e := range entries {
		field := fmt.Sprintf("contract.symbols[%d]", i)
		v, ok := p.scalar(e, field, symbols.Example)
		if !ok {
			continue
		}
		s, qs, err := symbols.Parse(v)
		switch {
		case err != nil:
			p.add(e.Line, field, "%v", err)
			continue
		case seen[s.Name] != 0:
			p.add(e.Line, field, "%s is also listed at line %d: a plugin exports one symbol of a name; keep one", s.Name, seen[s.Name])
			continue
		}
		seen[s.Name] = e.Line
		for _, q := range qs {
			if _, ok := quals[q]; !ok {
				quals[q] = e.Line
			}
		}
		syms = append(syms, s)
	}
	contractName := symbols.Qualifier(p.c.Contract)
	if l, ok := importLines[contractName]; ok && imports[contractName] != p.c.Contract {
		p.add(l, "contract.imports", "%s is the contract package's name (%s): types name it as %s.T; give the other package another name", contractName, p.c.Contract, contractName)
		delete(imports, contractName)
	}
	resolved := map[string]string{}
	for q, l := range quals {
		r, err := symbols.Resolve(p.c.Contract, imports, []string{q})
		if err != nil {
			p.add(l, "contract.symbols", "%v", err)
			continue
		}
		resolved[q] = r[q]
	}
	p.c.Symbols, p.c.Imports = syms, resolved
	p.c.Accessor, p.c.Element = "", ""
}

// list returns the entries of a list field; a single value is a problem.
func (p *parser) list(n *yaml.Node, field, example string) []*yaml.Node {
	n = resolve(n)
	switch {
	case isNull(n):
		return nil
	case n.Kind != yaml.SequenceNode:
		p.add(n.Line, field, "want a list, one entry per line starting with \"- \", such as \"- %s\", found a %s", example, kind(n))
		return nil
	}
	return n.Content
}

// field checks the value of the dotted field name on its own and, if it
// is valid, sets it in the configuration and records its line.
func (p *parser) field(name string, n *yaml.Node) {
	example := map[string]string{
		"contract.package":      p.c.Contract,
		"contract.accessor":     DefaultAccessor,
		"contract.element":      DefaultElement,
		"folders.teams":         DefaultTeams,
		"folders.sources":       DefaultSources,
		"folders.hosts":         DefaultHosts,
		"folders.dist":          DefaultDist,
		"sigstore.fulcio":       DefaultFulcio,
		"sigstore.rekor":        DefaultRekor,
		"sigstore.trusted_root": "trust/sigstore-root.json",
		"publish.registry":      "oci://ghcr.io/acme/plugins",
		"index.expires":         "168h",
	}[name]
	v, ok := p.scalar(n, name, example)
	if !ok {
		return
	}
	line := resolve(n).Line
	switch name {
	case "contract.package":
		if !p.contract(line, v) {
			return
		}
		p.c.Contract = v
	case "contract.accessor", "contract.element":
		if !token.IsIdentifier(v) || !token.IsExported(v) {
			p.add(line, name, "%s is not an exported Go identifier: write a name that starts with an upper-case letter, such as %s", artifact.Quote(v), exported(v, example))
			return
		}
		if name == "contract.accessor" {
			p.c.Accessor = v
		} else {
			p.c.Element = v
		}
	case "sigstore.fulcio", "sigstore.rekor":
		u, err := url.Parse(v)
		loopback := err == nil && (u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback())
		if err != nil || u.Host == "" || u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
			p.add(line, name, "%s: want an https:// URL (http:// only on loopback), such as %s", artifact.Quote(v), example)
			return
		}
		if name == "sigstore.fulcio" {
			p.c.Fulcio = strings.TrimSuffix(v, "/")
		} else {
			p.c.Rekor = strings.TrimSuffix(v, "/")
		}
	case "publish.registry":
		host, repo, ok := strings.Cut(strings.TrimPrefix(v, "oci://"), "/")
		if !strings.HasPrefix(v, "oci://") || !ok || host == "" || repo == "" || strings.ContainsAny(v, " \t@") {
			p.add(line, name, "%s: want an OCI registry repository, oci://<registry>/<repository>, such as %s", artifact.Quote(v), example)
			return
		}
		p.c.Registry = v
	case "index.expires":
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour || strings.ContainsAny(v, ".s") {
			p.add(line, name, "%s: want a duration of hours and minutes, at least 1h, such as %s (7 days)", artifact.Quote(v), example)
			return
		}
		p.c.IndexExpiry = d
	case "sigstore.trusted_root":
		if v == "" || path.IsAbs(v) || path.Clean(v) != v || v == ".." || strings.HasPrefix(v, "../") || strings.ContainsAny(v, "\\\x00") {
			p.add(line, name, "%s: want a file inside the repository, as a clean slash path relative to the module root, such as %s", artifact.Quote(v), example)
			return
		}
		p.c.TrustedRoot = v
	default: // folders
		if !p.folder(line, name, v) {
			return
		}
		switch name {
		case "folders.teams":
			p.c.Teams = v
		case "folders.sources":
			p.c.Sources = v
		case "folders.hosts":
			p.c.Hosts = v
		case "folders.dist":
			p.c.Dist = v
		}
	}
	p.lines[name] = line // only valid fields: check compares them
}

// contract checks contract.package on its own; check checks it against
// the folders.
func (p *parser) contract(line int, v string) bool {
	const field = "contract.package"
	example := p.c.Contract
	if example == "" || example == "contract" {
		example = "example.com/acme/plugins/contract"
	}
	if err := module.CheckImportPath(v); err != nil {
		var ipe *module.InvalidPathError
		if errors.As(err, &ipe) {
			err = ipe.Err
		}
		p.add(line, field, "%s is not a valid import path (%v): write the contract package's import path, such as %s", artifact.Quote(v), err, example)
		return false
	}
	if !within(v, p.module) {
		first, _, _ := strings.Cut(v, "/")
		if !strings.Contains(first, ".") {
			p.add(line, field, "%s is not in module %s and its first element has no dot, so Go takes it for a standard library package: write the full import path, such as %s", artifact.Quote(v), p.module, example)
			return false
		}
	}
	return true
}

// folder checks the shape of a folder (or, for hosts, file) field.
func (p *parser) folder(line int, field, v string) bool {
	def := map[string]string{"folders.teams": DefaultTeams, "folders.sources": DefaultSources, "folders.hosts": DefaultHosts, "folders.dist": DefaultDist}[field]
	if msg := checkFolder(v); msg != "" {
		fix := cleanFolder(v)
		if fix == "" || checkFolder(fix) != "" {
			fix = def
		}
		p.add(line, field, "%s %s: write a slash-separated path inside the module root, such as %s", artifact.Quote(v), msg, fix)
		return false
	}
	switch field {
	case "folders.hosts":
		if ext := path.Ext(v); ext != ".yaml" && ext != ".yml" {
			p.add(line, field, "%s is not a YAML file: write a path ending in .yaml or .yml, such as %s", artifact.Quote(v), def)
			return false
		}
		if v == File {
			p.add(line, field, "%s is this configuration: the host profiles need a file of their own, such as %s", artifact.Quote(v), def)
			return false
		}
	case "folders.sources":
		mod := p.module
		if mod == "" {
			mod = "example.com/m"
		}
		if err := module.CheckImportPath(mod + "/" + v); err != nil {
			var ipe *module.InvalidPathError
			if errors.As(err, &ipe) {
				err = ipe.Err
			}
			p.add(line, field, "%s cannot be part of an import path (%v), and every plugin is built as %s/%s/<team>/<plugin>/...: write letters, digits, \"-\", \"_\" and \".\", such as %s", artifact.Quote(v), err, mod, v, def)
			return false
		}
	}
	return true
}

// checkFolder says what is wrong with a folder path, or "".
func checkFolder(v string) string {
	switch {
	case v == "":
		return "is empty"
	case strings.ContainsAny(v, "\\\x00"):
		return "holds a backslash or NUL; folders are slash-separated"
	case path.IsAbs(v):
		return "starts with \"/\"; folders are relative to the module root"
	case v == ".":
		return "is the module root itself"
	case v == ".." || strings.HasPrefix(v, "../"):
		return "leaves the module root"
	case path.Clean(v) != v:
		return "is not clean (no \"..\", \".\", \"//\" or trailing \"/\")"
	case len(v) > 512:
		return "is too long"
	}
	return ""
}

// cleanFolder is a guess at the folder v means, or "".
func cleanFolder(v string) string {
	v = path.Clean("/" + strings.ReplaceAll(strings.ReplaceAll(v, "\\", "/"), "\x00", ""))
	v = strings.TrimPrefix(v, "/")
	if len(v) > 512 {
		return ""
	}
	return v
}

// check compares the fields with each other. Only fields given in the file
// can be wrong: the defaults agree. A field blamed for a conflict is set
// back to its default, which may conflict with another given field: the
// passes after the first set those back too, without reporting them, so
// that the configuration Parse returns is valid.
func (p *parser) check() {
	for pass := 0; pass < 10 && p.compare(pass == 0); pass++ {
	}
}

// defaults are the default values of the fields compare may set back.
func (p *parser) defaults() map[string]string {
	d := Default(p.module)
	return map[string]string{
		"contract.package": d.Contract, "contract.accessor": d.Accessor, "contract.element": d.Element,
		"folders.teams": d.Teams, "folders.sources": d.Sources, "folders.hosts": d.Hosts, "folders.dist": d.Dist,
	}
}

// compare makes one pass over the conflicts between fields, reporting
// them if report is set, and says whether it set a field back.
func (p *parser) compare(report bool) bool {
	c := p.c
	value := map[string]*string{
		"contract.package": &c.Contract, "contract.accessor": &c.Accessor, "contract.element": &c.Element,
		"folders.teams": &c.Teams, "folders.sources": &c.Sources, "folders.hosts": &c.Hosts, "folders.dist": &c.Dist,
	}
	changed := false
	// fail reports a conflict blamed on field f and sets f back.
	fail := func(f, format string, args ...any) {
		if report {
			p.add(p.lines[f], f, format, args...)
		}
		*value[f] = p.defaults()[f]
		delete(p.lines, f)
		changed = true
	}
	// blame picks, of two fields, the one given last in the file.
	blame := func(a, b string) (string, bool) {
		la, oka := p.lines[a]
		lb, okb := p.lines[b]
		switch {
		case !oka && !okb:
			return "", false
		case !okb || (oka && la > lb):
			return a, true
		}
		return b, true
	}
	other := func(f, a, b string) string {
		if f == a {
			return b
		}
		return a
	}

	if c.Accessor == c.Element {
		if f, ok := blame("contract.accessor", "contract.element"); ok {
			fix := c.Accessor + "Element"
			if f == "contract.accessor" {
				fix = "Get" + c.Element
				if s := strings.TrimSuffix(c.Element, "Element"); s != c.Element && token.IsIdentifier(s) && token.IsExported(s) {
					fix = s
				}
			}
			fail(f, "%s is also %s: the accessor is a function and the element a variable, so they need different names; write another, such as %s",
				artifact.Quote(*value[f]), other(f, "contract.accessor", "contract.element"), fix)
		}
	}

	// Folders that may not overlap: each pair, and why.
	for _, pr := range []struct{ a, b, why string }{
		{"folders.teams", "folders.sources", "team manifests and plugin sources need folders of their own, neither inside the other"},
		{"folders.teams", "folders.dist", "dist is output only and is deleted by clean"},
		{"folders.sources", "folders.dist", "dist is output only and is deleted by clean"},
	} {
		if !overlap(*value[pr.a], *value[pr.b]) {
			continue
		}
		f, ok := blame(pr.a, pr.b)
		if !ok {
			continue
		}
		o := other(f, pr.a, pr.b)
		how := "holds"
		switch {
		case *value[f] == *value[o]:
			how = "is also"
		case within(*value[f], *value[o]):
			how = "is inside"
		}
		fail(f, "%s %s %s (%s): %s; write a folder of its own, such as %s", artifact.Quote(*value[f]), how, o, *value[o], pr.why, p.free(f))
	}
	if within(c.Hosts, c.Dist) {
		if f, ok := blame("folders.hosts", "folders.dist"); ok {
			if f == "folders.hosts" {
				fail(f, "%s is inside folders.dist (%s), which is output only and deleted by clean: write a path outside it, such as %s", artifact.Quote(c.Hosts), c.Dist, DefaultHosts)
			} else {
				fail(f, "%s holds folders.hosts (%s), and dist is output only and deleted by clean; write a folder of its own, such as %s", artifact.Quote(c.Dist), c.Hosts, p.free(f))
			}
		}
	}

	// The contract against the folders: outside sources and dist, and
	// importable by the plugins under Go's internal rule. The contract is
	// blamed when given, else the folder.
	blameContract := func(folder string) (string, bool) {
		if _, ok := p.lines["contract.package"]; ok {
			return "contract.package", true
		}
		_, ok := p.lines[folder]
		return folder, ok
	}
	fix := path.Join(p.module, "contract")
	if p.module != "" && within(c.Contract, p.module) {
		rel := strings.TrimPrefix(c.Contract[len(p.module):], "/")
		switch {
		case within(rel, c.Sources):
			if f, ok := blameContract("folders.sources"); ok {
				fail(f, "the contract %s lies inside folders.sources (%s), which holds plugins only (profiles at a git ref take that folder from the working tree): move the contract out, such as %s", c.Contract, c.Sources, fix)
			}
		case within(rel, c.Dist):
			if f, ok := blameContract("folders.dist"); ok {
				fail(f, "the contract %s lies inside folders.dist (%s), which is output only and deleted by clean: move the contract out, such as %s", c.Contract, c.Dist, fix)
			}
		}
	}
	importer := path.Join(p.module, c.Sources)
	elems := strings.Split(c.Contract, "/")
	for i, e := range elems {
		if e != "internal" {
			continue
		}
		parent := strings.Join(elems[:i], "/")
		if parent != "" && within(importer, parent) {
			continue
		}
		if f, ok := blameContract("folders.sources"); ok {
			out := strings.Join(slices.Delete(slices.Clone(elems), i, i+1), "/")
			fail(f, "the contract %s is internal to %s, so the plugins (%s/...) could not import it: move it out of internal/, such as %s", c.Contract, orStd(parent), importer, out)
		}
		break
	}
	return changed
}

func orStd(parent string) string {
	if parent == "" {
		return "the standard library"
	}
	return parent
}

// free suggests a folder for field f that overlaps no other folder.
func (p *parser) free(f string) string {
	c := p.c
	candidates := map[string][]string{
		"folders.teams":   {DefaultTeams, "squads"},
		"folders.sources": {DefaultSources, "src"},
		"folders.dist":    {DefaultDist, "out"},
	}[f]
	for _, cand := range candidates {
		ok := true
		for name, v := range map[string]string{"folders.teams": c.Teams, "folders.sources": c.Sources, "folders.dist": c.Dist} {
			if name != f && overlap(cand, v) {
				ok = false
			}
		}
		if ok {
			return cand
		}
	}
	return candidates[len(candidates)-1] + "2"
}

// within reports whether slash path a is b or inside it.
func within(a, b string) bool {
	return b != "" && (a == b || strings.HasPrefix(a, b+"/"))
}

// overlap reports whether one of two folders is or holds the other.
func overlap(a, b string) bool { return within(a, b) || within(b, a) }

// exported suggests an exported identifier for v: its words capitalised
// and joined, or def.
func exported(v, def string) string {
	var b strings.Builder
	upper := true
	for _, r := range v {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) && b.Len() > 0:
			if upper {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
			upper = false
		default:
			upper = true
		}
		if b.Len() > 64 {
			break
		}
	}
	s := b.String()
	if !token.IsIdentifier(s) || !token.IsExported(s) {
		return def
	}
	return s
}

// mapping checks that n is a mapping of section's known fields and
// returns its values by key. Unknown and repeated keys are problems but
// leave the rest usable; nil means n is not a mapping.
func (p *parser) mapping(n *yaml.Node, section string) map[string]*yaml.Node {
	keys := known[section]
	if n.Kind != yaml.MappingNode {
		what := "a mapping with " + strings.Join(keys, ", ")
		var fix string
		switch {
		case section == "":
			fix = "start with \"version: 1\" and the sections contract: and folders: (see go doc github.com/plugship/plugship/internal/config)"
		case n.Kind == yaml.SequenceNode:
			fix = "remove the leading \"- \" of its entries"
		case n.Kind == yaml.ScalarNode && section == "contract":
			fix = fmt.Sprintf("write \"contract:\" alone on its line and \"  package: %s\" under it", n.Value)
		default:
			fix = fmt.Sprintf("write \"%s:\" alone on its line and its fields under it, indented, such as \"  %s: %s\"", section, keys[0], p.exampleOf(section+"."+keys[0]))
		}
		p.add(n.Line, section, "want %s, found a %s: %s", what, kind(n), fix)
		return nil
	}
	out := map[string]*yaml.Node{}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(k.Line, section, "a field name must be a single word, found a %s: write one of %s", kind(k), strings.Join(keys, ", "))
			continue
		}
		name := join(section, k.Value)
		if line, dup := first[k.Value]; dup {
			p.add(k.Line, name, "duplicate field (first at line %d): keep one of them", line)
			continue
		}
		first[k.Value] = k.Line
		if !slices.Contains(keys, k.Value) {
			p.add(k.Line, name, "unknown field%s (known fields: %s)", p.suggest(section, k.Value), strings.Join(keys, ", "))
			continue
		}
		out[k.Value] = v
	}
	return out
}

func (p *parser) exampleOf(field string) string {
	switch field {
	case "contract.package":
		if p.c.Contract != "" && p.c.Contract != "contract" {
			return p.c.Contract
		}
		return "example.com/acme/plugins/contract"
	case "folders.teams":
		return DefaultTeams
	}
	return ""
}

// suggest says which known field an unknown key in section probably
// means: a known field of the section a typo away, a field of another
// section, or a synonym.
func (p *parser) suggest(section, key string) string {
	if key == "<<" {
		return "; YAML merge keys are not supported: write the fields out"
	}
	lower := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	if s, ok := synonyms[join(section, lower)]; ok {
		return "; did you mean " + s + "?"
	}
	best, bestDist := "", 0
	for _, k := range known[section] {
		if d := distance(lower, k); best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" && bestDist <= max(1, len(best)/3) {
		return "; did you mean " + join(section, best) + "?"
	}
	for _, other := range []string{"", "contract", "folders"} {
		if other == section {
			continue
		}
		for _, k := range known[other] {
			if k == lower {
				if other == "" {
					return fmt.Sprintf("; %s belongs at the top level, not under %s:", k, section)
				}
				return fmt.Sprintf("; %s belongs under %s:, write it there", k, other)
			}
		}
		for name, s := range synonyms {
			if name == join(other, lower) {
				return fmt.Sprintf("; did you mean %s? It belongs under %s:", s, other)
			}
		}
	}
	return ""
}

// distance is the Levenshtein distance of a and b (bytes), capped: keys
// are short.
func distance(a, b string) int {
	if len(a) > 64 {
		return len(a)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// scalar returns the text of a single-value field.
func (p *parser) scalar(n *yaml.Node, field, example string) (string, bool) {
	n = resolve(n)
	switch {
	case n.Kind != yaml.ScalarNode:
		p.add(n.Line, field, "want a single value, such as %s, found a %s", example, kind(n))
		return "", false
	case isNull(n):
		p.add(n.Line, field, "empty: write a value, such as %s, or remove the line for the default", example)
		return "", false
	}
	return n.Value, true
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func join(section, key string) string {
	if section == "" {
		return key
	}
	return section + "." + key
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "single value"
}
