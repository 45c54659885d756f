package teams

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/trust"
	"go.yaml.in/yaml/v3"
)

// Dir is the registry's default folder, relative to the module root
// (configurable in plugship.yaml: folders.teams).
const Dir = "teams"

// ManifestName is the name of every team's manifest file.
const ManifestName = "team.yaml"

// SourcesDir is the default folder, relative to the module root, under
// which every plugin's source lies (configurable in plugship.yaml:
// folders.sources).
const SourcesDir = "plugin_sources"

// MaxManifestSize is the largest manifest Load reads.
const MaxManifestSize = 1 << 20

// Registry is the set of valid teams.
type Registry struct {
	Root       string  // module root the registry was loaded from
	TeamsDir   string  // the registry's folder, a slash path relative to Root; "" means Dir
	SourcesDir string  // the plugins' sources folder, relative to Root; "" means the constant SourcesDir
	Teams      []*Team // sorted by name
}

// TeamsFolder is the registry's folder, relative to Root: TeamsDir, or
// Dir when that is empty.
func (r *Registry) TeamsFolder() string {
	if r.TeamsDir == "" {
		return Dir
	}
	return r.TeamsDir
}

// SourcesFolder is the sources folder, relative to Root: the field
// SourcesDir, or the constant SourcesDir when the field is empty.
func (r *Registry) SourcesFolder() string {
	if r.SourcesDir == "" {
		return SourcesDir
	}
	return r.SourcesDir
}

// Team is one team's manifest.
type Team struct {
	Name    string
	Owners  []string
	Plugins []*Plugin
	File    string // manifest path relative to the module root
	// Signing is how the team signs (signing: in the manifest): with its
	// key, or keylessly, and the keyless identities its files may carry.
	Signing Signing
}

// Signing is a team's signing: section.
type Signing struct {
	// Keyless signs the team's files in its release workflow (GitHub
	// Actions, permissions id-token: write) with a short-lived Fulcio
	// certificate for the workflow's identity, recorded in the
	// transparency log, instead of with the team's key. Outside such a
	// workflow the sign step uses a development key, as for a team
	// without keys.
	Keyless bool
	// Identities are the keyless signers whose bundles (plugship's, or a
	// GitHub artifact attestation) the team's files are accepted with;
	// required with keyless.
	Identities []trust.Identity
	// Revoked are the team's keys and identities no longer trusted from
	// a time on (signing.revoked).
	Revoked []Revoked
}

// Revoked is one entry of signing.revoked: a key (by ID or its first 12
// hex digits) or an identity (its subject or subject_regexp).
type Revoked struct {
	Key, Identity string
	trust.Revocation
	Field string // "signing.revoked[0]", for messages
}

// Plugin is one plugin a team ships.
type Plugin struct {
	Team     string
	Name     string
	Version  string    // semver without a leading "v"
	Source   string    // main package folder, relative to the sources folder (plugin_sources/, configurable in plugship.yaml)
	Previous []Release // older releases still built, newest first
	// Note says why the plugin is there, for readers of the matrix, such
	// as "built not acceptable on purpose, to show hosts falling back";
	// the matrix shows it beside the plugin's rows. Optional.
	Note string
	Line int // line of the plugin's entry in the manifest

	field string // "plugins[2]", for problems found after parsing
}

// Release is one version of a plugin and the folder it is built from.
type Release struct {
	Version string // semver without a leading "v"
	Source  string // relative to the sources folder (plugin_sources/, configurable in plugship.yaml)

	line  int
	field string
}

// Releases returns every version of p that is built, newest first.
func (p *Plugin) Releases() []Release {
	return append([]Release{{Version: p.Version, Source: p.Source, line: p.Line, field: p.field}}, p.Previous...)
}

// ID is "team/plugin".
func (p *Plugin) ID() string { return p.Team + "/" + p.Name }

// Team returns the team called name, or nil.
func (r *Registry) Team(name string) *Team {
	for _, t := range r.Teams {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Plugins returns every plugin of every team, by team then manifest order.
func (r *Registry) Plugins() []*Plugin {
	var ps []*Plugin
	for _, t := range r.Teams {
		ps = append(ps, t.Plugins...)
	}
	return ps
}

// Problem is one thing wrong in a manifest.
type Problem struct {
	File  string // manifest path relative to the module root
	Line  int    // 0 when the problem is not at one line
	Field string // e.g. plugins[1].version; empty for the whole file
	Msg   string
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found by one Load or Parse. As an error it prints
// one problem per line.
type Problems []*Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Parse reads one manifest's bytes and checks everything that does not need
// the disk: fields, names, versions, duplicates within the file. file is the
// manifest's path relative to the module root, used in problems. The team is
// nil when it is unusable (bad YAML, a bad or missing name, no owners);
// plugins with problems are left out of it.
func Parse(file string, data []byte) (*Team, Problems) {
	return parse(file, data, SourcesDir)
}

// parse is Parse for a registry whose sources folder is sourcesDir, which
// problems name.
func parse(file string, data []byte, sourcesDir string) (*Team, Problems) {
	p := &parser{file: file, sources: sourcesDir}
	t := p.team(data)
	if p.dropped > 0 {
		p.problems = append(p.problems, &Problem{File: file, Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", p.dropped)})
	}
	return t, p.problems
}

// maxProblems is how many problems Parse lists for one manifest.
const maxProblems = 50

type parser struct {
	file     string
	sources  string // the sources folder, for problems
	problems Problems
	dropped  int // problems past maxProblems
}

func (p *parser) add(line int, field, format string, args ...any) {
	if len(p.problems) >= maxProblems {
		p.dropped++
		return
	}
	p.problems = append(p.problems, &Problem{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) team(data []byte) *Team {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(0, "", "empty manifest: want name, owners and plugins")
		} else {
			p.add(0, "", "not valid YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.add(extra.Line, "", "more than one YAML document; a manifest is one document")
	}
	if len(doc.Content) == 0 {
		p.add(0, "", "empty manifest: want name, owners and plugins")
		return nil
	}
	root := doc.Content[0]
	fields := p.mapping(root, "", teamFields...)
	if fields == nil {
		return nil
	}
	t := &Team{File: p.file}
	ok := true
	if t.Name, ok = p.scalar(fields, root, "", "name"); ok {
		if err := artifact.CheckName(t.Name); err != nil {
			p.add(fields["name"].Line, "name", "%v", err)
			ok = false
		} else if dir := path.Base(path.Dir(p.file)); dir != t.Name {
			p.add(fields["name"].Line, "name", "%s does not match the manifest's folder %s; rename one of them", artifact.Quote(t.Name), artifact.Quote(dir))
			ok = false
		}
	}
	if owners := p.sequence(fields, root, "", "owners"); owners != nil {
		if len(owners.Content) == 0 {
			p.add(owners.Line, "owners", "empty: list at least one GitHub handle (@name) or e-mail address")
			ok = false
		}
		for i, n := range owners.Content {
			field := fmt.Sprintf("owners[%d]", i)
			if n.Kind != yaml.ScalarNode {
				p.add(n.Line, field, "want a GitHub handle (@name) or e-mail address, found a %s", kind(n))
				ok = false
				continue
			}
			if !strings.Contains(n.Value, "@") || strings.ContainsAny(n.Value, " \t\r\n") || len(n.Value) > 254 {
				p.add(n.Line, field, "%s is not a GitHub handle (@name) or e-mail address", artifact.Quote(n.Value))
				ok = false
				continue
			}
			t.Owners = append(t.Owners, n.Value)
		}
	} else {
		ok = false
	}
	if plugins := p.sequence(fields, root, "", "plugins"); plugins != nil {
		seen := map[string]int{}
		for i, n := range plugins.Content {
			pl := p.plugin(fmt.Sprintf("plugins[%d]", i), n)
			if pl == nil {
				continue
			}
			if line, dup := seen[pl.Name]; dup {
				p.add(n.Line, fmt.Sprintf("plugins[%d].name", i), "duplicate plugin %q (first at line %d); list each plugin once and older versions under previous", pl.Name, line)
				continue
			}
			seen[pl.Name] = n.Line
			pl.Team = t.Name
			t.Plugins = append(t.Plugins, pl)
		}
	} else {
		ok = false
	}
	if n, found := fields["signing"]; found {
		if sg, good := p.signing(n); good {
			t.Signing = sg
		} else {
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return t
}

// signing parses the signing: section.
func (p *parser) signing(n *yaml.Node) (Signing, bool) {
	var sg Signing
	fields := p.mapping(n, "signing", signingFields...)
	if fields == nil {
		return sg, false
	}
	ok := true
	if k, found := fields["keyless"]; found {
		if k.Kind != yaml.ScalarNode || (k.Value != "true" && k.Value != "false") {
			p.add(k.Line, "signing.keyless", "want true or false")
			ok = false
		}
		sg.Keyless = k.Value == "true"
	}
	if r, found := fields["revoked"]; found {
		list, good := p.revoked(r)
		sg.Revoked, ok = list, ok && good
	}
	ids, found := fields["identities"]
	switch {
	case !found && sg.Keyless:
		p.add(n.Line, "signing.identities", "missing: a keyless team names the identities that sign its files, such as\n  identities:\n    - issuer: %s\n      subject_regexp: ^https://github\\.com/<owner>/<repo>/\\.github/workflows/release\\.yml@refs/tags/<team>/.*$", trust.GitHubIssuer)
		return sg, false
	case !found:
		return sg, ok
	case ids.Kind != yaml.SequenceNode:
		p.add(ids.Line, "signing.identities", "want a list, found a %s", kind(ids))
		return sg, false
	}
	for i, in := range ids.Content {
		field := fmt.Sprintf("signing.identities[%d]", i)
		f := p.mapping(in, field, identityFields...)
		if f == nil {
			ok = false
			continue
		}
		var id trust.Identity
		for key, dst := range map[string]*string{"issuer": &id.Issuer, "subject": &id.Subject, "subject_regexp": &id.SubjectRegexp, "repository": &id.Repository, "ref": &id.Ref} {
			v, found := f[key]
			if !found {
				continue
			}
			if v.Kind != yaml.ScalarNode {
				p.add(v.Line, join(field, key), "want a single value, found a %s", kind(v))
				ok = false
				continue
			}
			*dst = v.Value
		}
		if err := id.Check(); err != nil {
			key, msg, _ := strings.Cut(err.Error(), ": ")
			p.add(in.Line, field+"."+key, "%s", msg)
			ok = false
			continue
		}
		sg.Identities = append(sg.Identities, id)
	}
	return sg, ok
}

// revoked parses signing.revoked.
func (p *parser) revoked(n *yaml.Node) ([]Revoked, bool) {
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, "signing.revoked", "want a list, found a %s", kind(n))
		return nil, false
	}
	var list []Revoked
	ok := true
	for i, in := range n.Content {
		field := fmt.Sprintf("signing.revoked[%d]", i)
		f := p.mapping(in, field, revokedFields...)
		if f == nil {
			ok = false
			continue
		}
		r := Revoked{Field: field}
		for key, dst := range map[string]*string{"key": &r.Key, "identity": &r.Identity} {
			if v, found := f[key]; found {
				if v.Kind != yaml.ScalarNode {
					p.add(v.Line, join(field, key), "want a single value, found a %s", kind(v))
					ok = false
					continue
				}
				*dst = v.Value
			}
		}
		if (r.Key == "") == (r.Identity == "") {
			p.add(in.Line, field, "name exactly one: key (the key's ID, or its first 12 hex digits) or identity (a subject or subject_regexp of identities)")
			ok = false
		}
		if r.Key != "" && (len(r.Key) < 12 || strings.Trim(strings.ToLower(r.Key), "0123456789abcdef") != "") {
			p.add(f["key"].Line, field+".key", "%s: want the key's ID in hex, at least its first 12 digits (as plugship's messages name it)", artifact.Quote(r.Key))
			ok = false
		}
		at, good := p.scalar(f, in, field, "at")
		if good {
			t, err := time.Parse(time.RFC3339, at)
			if err != nil {
				p.add(f["at"].Line, field+".at", "%s: want an RFC 3339 time, such as 2026-12-03T10:00:00Z", artifact.Quote(at))
				ok = false
			}
			r.At = t
		} else {
			ok = false
		}
		if r.Reason, good = p.scalar(f, in, field, "reason"); !good || strings.TrimSpace(r.Reason) == "" {
			if good {
				p.add(f["reason"].Line, field+".reason", "empty: say why, every host that refuses a file prints it")
			}
			ok = false
		}
		list = append(list, r)
	}
	return list, ok
}

func (p *parser) plugin(field string, n *yaml.Node) *Plugin {
	fields := p.mapping(n, field, pluginFields...)
	if fields == nil {
		return nil
	}
	pl := &Plugin{Line: n.Line, field: field}
	if _, found := fields["note"]; found {
		if note, ok := p.scalar(fields, n, field, "note"); ok {
			pl.Note = strings.Join(strings.Fields(note), " ")
		}
	}
	ok := true
	var okName, okVersion, okSource bool
	if pl.Name, okName = p.scalar(fields, n, field, "name"); okName {
		if err := artifact.CheckName(pl.Name); err != nil {
			p.add(fields["name"].Line, field+".name", "%v", err)
			okName = false
		}
	}
	if pl.Version, okVersion = p.scalar(fields, n, field, "version"); okVersion {
		okVersion = p.version(fields["version"], field+".version", pl.Version)
	}
	if pl.Source, okSource = p.scalar(fields, n, field, "source"); okSource {
		okSource = p.source(fields["source"], field+".source", pl.Source)
	}
	ok = okName && okVersion && okSource
	if prev, found := fields["previous"]; found {
		if prev.Kind != yaml.SequenceNode {
			p.add(prev.Line, field+".previous", "want a list of {version, source}, found a %s", kind(prev))
		}
		versions := map[string]bool{pl.Version: true}
		for i, rn := range prev.Content {
			rf := fmt.Sprintf("%s.previous[%d]", field, i)
			rfields := p.mapping(rn, rf, releaseFields...)
			if rfields == nil {
				continue
			}
			var r Release
			v, okv := p.scalar(rfields, rn, rf, "version")
			s, oks := p.scalar(rfields, rn, rf, "source")
			okv = okv && p.version(rfields["version"], rf+".version", v)
			oks = oks && p.source(rfields["source"], rf+".source", s)
			if !okv || !oks {
				continue
			}
			if versions[v] {
				p.add(rfields["version"].Line, rf+".version", "version %s is listed twice", v)
				continue
			}
			if okVersion && artifact.CompareVersions(v, pl.Version) >= 0 {
				p.add(rfields["version"].Line, rf+".version", "%s is not older than the plugin's version %s; previous lists older releases only", v, pl.Version)
				continue
			}
			versions[v] = true
			r.Version, r.Source, r.line, r.field = v, s, rn.Line, rf
			pl.Previous = append(pl.Previous, r)
		}
		slices.SortFunc(pl.Previous, func(a, b Release) int { return artifact.CompareVersions(b.Version, a.Version) })
	}
	if !ok {
		return nil
	}
	return pl
}

func (p *parser) version(n *yaml.Node, field, v string) bool {
	if err := artifact.CheckVersion(v); err != nil {
		p.add(n.Line, field, "%v", err)
		return false
	}
	return true
}

// source checks the shape of a source folder; Load checks the disk.
func (p *parser) source(n *yaml.Node, field, s string) bool {
	switch {
	case strings.ContainsAny(s, "\\\x00") || path.IsAbs(s) || path.Clean(s) != s || s == "." || s == ".." || strings.HasPrefix(s, "../"):
		p.add(n.Line, field, "%s is not a clean relative folder under %s/ (no leading /, \"..\", \".\" or \\)", artifact.Quote(s), p.sources)
		return false
	case len(s) > 512:
		p.add(n.Line, field, "%s is too long", artifact.Quote(s))
		return false
	}
	return true
}

// mapping checks that n is a mapping with only the known keys and returns
// its values by key. Unknown keys are problems but do not make it unusable.
func (p *parser) mapping(n *yaml.Node, field string, known ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		want := "a mapping with " + strings.Join(known, ", ")
		p.add(n.Line, field, "want %s, found a %s", want, kind(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	keyLine := map[string]int{} // the line of each used key
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if first, dup := keyLine[k.Value]; dup {
			p.add(k.Line, join(field, k.Value), "duplicate field (first at line %d); the first is used", first)
			continue
		}
		if !slices.Contains(known, k.Value) {
			p.add(k.Line, join(field, k.Value), "unknown field (known fields: %s)", strings.Join(known, ", "))
			continue
		}
		out[k.Value] = v
		keyLine[k.Value] = k.Line
	}
	return out
}

// scalar returns the text of the required scalar field key.
func (p *parser) scalar(fields map[string]*yaml.Node, parent *yaml.Node, field, key string) (string, bool) {
	n, found := fields[key]
	switch {
	case !found || n.Tag == "!!null":
		p.add(parent.Line, join(field, key), "missing")
		return "", false
	case n.Kind != yaml.ScalarNode:
		p.add(n.Line, join(field, key), "want a single value, found a %s", kind(n))
		return "", false
	}
	return n.Value, true
}

// sequence returns the required list field key.
func (p *parser) sequence(fields map[string]*yaml.Node, parent *yaml.Node, field, key string) *yaml.Node {
	n, found := fields[key]
	switch {
	case !found || n.Tag == "!!null":
		p.add(parent.Line, join(field, key), "missing")
		return nil
	case n.Kind != yaml.SequenceNode:
		p.add(n.Line, join(field, key), "want a list, found a %s", kind(n))
		return nil
	}
	return n
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
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

// readManifest reads at most MaxManifestSize bytes of file.
func readManifest(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("larger than %d bytes; a manifest lists names and versions only", MaxManifestSize)
	}
	return data, nil
}
