package matrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
)

// Schema identifies the matrix.json format. Parse also reads SchemaV2,
// the format before the verdict and the changes, so that an older
// published matrix can be the base of a comparison (see Compare).
const (
	Schema   = "plugship.compat/v3"
	SchemaV2 = "plugship.compat/v2"
)

// Dir is where reports go, relative to dist/.
const Dir = "compat"

// Report file names inside Dir.
const (
	JSONFile     = "matrix.json"
	MarkdownFile = "matrix.md"
	HTMLFile     = "matrix.html"
	ShardsDir    = "shards"
)

// OK is the outcome of a cell whose plugin loads and is acceptable.
const OK = "ok"

// Matrix is a complete or partial (one shard's) compatibility matrix.
type Matrix struct {
	Schema string `json:"schema" jsonschema:"enum=plugship.compat/v3,enum=plugship.compat/v2"` // Schema or SchemaV2
	// Verdict says whether the release can ship; Judge sets it. It comes
	// first so that the JSON, as every report, opens with it.
	Verdict *Verdict `json:"verdict,omitempty"`
	// Changes is what changed since a previous matrix: the caller sets it
	// from Compare, before Judge, which counts its regressions.
	Changes    *Diff    `json:"changes,omitempty"`
	Platform   string   `json:"platform"` // GOOS/GOARCH
	Hosts      []Host   `json:"hosts"`
	Plugins    []Plugin `json:"plugins"`
	Cells      []Cell   `json:"cells"`
	Shard      *Shard   `json:"shard,omitempty"` // set on a partial result
	Violations []string `json:"violations"`      // required cells that failed; see Check
}

// Host is one reference host binary.
type Host struct {
	Name    string   `json:"name"`
	Package string   `json:"package"`
	Flags   []string `json:"flags"`
	SHA256  string   `json:"sha256"`
	// Profile is the host profile it was built with, Toolchain its Go
	// release and Ref its git ref ("" for the working tree); ABI is the ABI
	// tag it computes for itself: the files with that tag are its own.
	Profile   string `json:"profile"`
	Toolchain string `json:"toolchain"`
	Ref       string `json:"ref,omitempty"`
	ABI       string `json:"abi"`
	// Source says where a host from outside the repository comes from:
	// "module <path>@<version>" (built from the host module's own source
	// and go.mod) or "binary <path or URL>" (an executable as given); ""
	// for a host built from this repository.
	Source string `json:"source,omitempty"`
	// Probe is StandInProbe when the host executable does not answer the
	// loader's probe (it does not call loader.HandleProbe): the probes ran
	// in a program built with the host's Go release, flags and module
	// graph, of digest ProbeSHA256, while the preflight compared against
	// the host itself; StandInCheck when the contract is made of symbols
	// and the host has no check command of its own. "" when the host ran
	// its own probes or its own check.
	Probe       string `json:"probe,omitempty"`
	ProbeSHA256 string `json:"probe_sha256,omitempty"`
	// Check is the host's own check command (compat/hosts.yaml check),
	// which tried the cells instead of the loader's probe, and CheckFile
	// the name the candidate took for it.
	Check      []string `json:"check,omitempty"`
	CheckFile  string   `json:"check_file,omitempty"`
	MustAccept []string `json:"must_accept,omitempty"` // selectors: "*", "team", "team/plugin", "team/plugin@versions"
	MustReject []string `json:"must_reject,omitempty"`
	// Note says why the host is there (compat/hosts.yaml note).
	Note string `json:"note,omitempty"`
}

// The kinds of stand-in (Host.Probe).
const (
	// StandInProbe answers the loader's probe for the contract's interface
	// type, for a host that does not call loader.HandleProbe.
	StandInProbe = "stand-in"
	// StandInCheck opens each plugin and asserts the types of a contract
	// made of symbols, for a host with no check command of its own.
	StandInCheck = "stand-in check"
)

// Plugin is one plugin file.
type Plugin struct {
	Team    string `json:"team"`
	Plugin  string `json:"plugin"`
	Version string `json:"version"`
	ABI     string `json:"abi"`  // from the file name
	File    string `json:"file"` // relative to dist/
	SHA256  string `json:"sha256"`
	// Profiles are the host profiles it was built for (its metadata).
	Profiles []string `json:"profiles,omitempty"`
	// Note says why the plugin is there (team.yaml note).
	Note string `json:"note,omitempty"`
	// Yanked is the reason, when the index of the last publish yanks the
	// version: hosts do not choose it (see publish.Yank).
	Yanked string `json:"yanked,omitempty"`
}

// ID names the plugin file in reports: team/plugin@version abi.
func (p Plugin) ID() string { return p.VersionID() + " " + p.ABI }

// VersionID names the plugin version, a row of the views: team/plugin@version.
// A version has one file per ABI it was built for.
func (p Plugin) VersionID() string { return p.Team + "/" + p.Plugin + "@" + p.Version }

// Cell is one plugin file tried in one host.
type Cell struct {
	Plugin       string   `json:"plugin"` // Plugin.ID
	Host         string   `json:"host"`
	PluginSHA256 string   `json:"plugin_sha256"`
	HostSHA256   string   `json:"host_sha256"`
	Outcome      string   `json:"outcome"` // OK or a loader cause: not-acceptable, build-mismatch, panic, ...
	Detail       string   `json:"detail,omitempty"`
	Differences  []string `json:"differences,omitempty"` // every differing setting and package, for mismatches
	Millis       float64  `json:"duration_ms"`
	ProbeMillis  float64  `json:"probe_ms,omitempty"`
	Cached       bool     `json:"cached,omitempty"`
	Required     string   `json:"required,omitempty"` // "accept" or "reject" when the host's policy covers the cell
	// Evidence is what decided the cell: EvidencePreflight,
	// EvidenceProbe or EvidenceStandIn.
	Evidence string `json:"evidence,omitempty"`
}

// The kinds of evidence a cell has.
const (
	// EvidencePreflight: decided without running the plugin's code, by its
	// signature, name and build fingerprints against the host executable's.
	EvidencePreflight = "preflight"
	// EvidenceProbe: the plugin was opened and called in the host
	// executable itself, running as the loader's probe.
	EvidenceProbe = "probe"
	// EvidenceStandIn: the preflight passed against the host executable,
	// then the plugin was opened and called in the host's stand-in probe
	// (see Host.Probe).
	EvidenceStandIn = "stand-in probe"
	// EvidenceHostCheck: the preflight passed against the host executable,
	// then the host's own check command (Host.Check) tried the plugin.
	EvidenceHostCheck = "host check"
)

// Key identifies a cell's position in the matrix.
func (c Cell) Key() string { return c.Plugin + " × " + c.Host }

// Shard says which slice of the cells a partial result holds.
type Shard struct {
	Index int `json:"index"` // 1-based
	Count int `json:"count"`
}

// ParseShard parses "i/n".
func ParseShard(s string) (Shard, error) {
	var sh Shard
	if _, err := fmt.Sscanf(s, "%d/%d", &sh.Index, &sh.Count); err != nil || sh.Count < 1 || sh.Index < 1 || sh.Index > sh.Count || fmt.Sprintf("%d/%d", sh.Index, sh.Count) != s {
		return Shard{}, fmt.Errorf("shard %s: want i/n with 1 <= i <= n, e.g. 2/3", artifact.Quote(s))
	}
	return sh, nil
}

// Holds reports whether cell number i (0-based, in the matrix's cell order)
// belongs to the shard.
func (s Shard) Holds(i int) bool { return i%s.Count == s.Index-1 }

// Sort puts hosts, plugins and cells in their canonical order: by name,
// by team/plugin and newest version first, cells row by row.
func (m *Matrix) Sort() {
	sort.Slice(m.Hosts, func(i, j int) bool { return m.Hosts[i].Name < m.Hosts[j].Name })
	sort.Slice(m.Plugins, func(i, j int) bool { return pluginLess(m.Plugins[i], m.Plugins[j]) })
	row := map[string]int{}
	for i, p := range m.Plugins {
		row[p.ID()] = i
	}
	col := map[string]int{}
	for i, h := range m.Hosts {
		col[h.Name] = i
	}
	sort.Slice(m.Cells, func(i, j int) bool {
		a, b := m.Cells[i], m.Cells[j]
		if row[a.Plugin] != row[b.Plugin] {
			return row[a.Plugin] < row[b.Plugin]
		}
		return col[a.Host] < col[b.Host]
	})
}

func pluginLess(a, b Plugin) bool {
	if a.Team != b.Team {
		return a.Team < b.Team
	}
	if a.Plugin != b.Plugin {
		return a.Plugin < b.Plugin
	}
	if c := artifact.CompareVersions(a.Version, b.Version); c != 0 {
		return c > 0
	}
	return a.ABI < b.ABI
}

// Cell returns the cell of plugin (ID) and host, or nil.
func (m *Matrix) Cell(plugin, host string) *Cell {
	for i := range m.Cells {
		if m.Cells[i].Plugin == plugin && m.Cells[i].Host == host {
			return &m.Cells[i]
		}
	}
	return nil
}

// Selects reports whether a selector covers p: "*", "team",
// "team/plugin", or "team/plugin@versions", where versions is a version
// (2.0.0) or comparisons that must all hold, separated by spaces or
// commas (">=1.2.0 <2.0.0"). A selector CheckSelector refuses selects
// nothing.
func Selects(selector string, p Plugin) bool {
	name, versions, ranged := strings.Cut(selector, "@")
	if !(name == "*" && !ranged || name == p.Team && !ranged || name == p.Team+"/"+p.Plugin) {
		return false
	}
	if !ranged {
		return true
	}
	conds, err := parseVersions(versions)
	if err != nil {
		return false
	}
	for _, c := range conds {
		if !c.holds(p.Version) {
			return false
		}
	}
	return true
}

// CheckSelector says what is wrong with a selector of must_accept or
// must_reject, or nil.
func CheckSelector(s string) error {
	if s == "*" {
		return nil
	}
	name, versions, ranged := strings.Cut(s, "@")
	team, plugin, both := strings.Cut(name, "/")
	if artifact.CheckName(team) != nil || both && artifact.CheckName(plugin) != nil || ranged && !both {
		return fmt.Errorf("selector %s: want \"*\", a team, team/plugin, or team/plugin@versions (team/plugin@2.0.0, team/plugin@\">=1.2.0 <2.0.0\")", artifact.Quote(s))
	}
	if ranged {
		if _, err := parseVersions(versions); err != nil {
			return fmt.Errorf("selector %s: %v", artifact.Quote(s), err)
		}
	}
	return nil
}

// versionCond is one comparison of a selector's versions.
type versionCond struct {
	op, version string
}

func (c versionCond) holds(v string) bool {
	cmp := artifact.CompareVersions(v, c.version)
	switch c.op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	case "!=":
		return cmp != 0
	}
	return cmp == 0
}

// parseVersions reads a selector's versions: comparisons separated by
// spaces or commas, each an operator (=, !=, <, <=, >, >=; none is =) and
// a version without "v".
func parseVersions(s string) ([]versionCond, error) {
	var conds []versionCond
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		op := ""
		for _, o := range []string{"<=", ">=", "!=", "<", ">", "="} {
			if strings.HasPrefix(f, o) {
				op = o
				break
			}
		}
		v := strings.TrimPrefix(f[len(op):], "v")
		if artifact.CheckVersion(v) != nil {
			return nil, fmt.Errorf("%s is not a version comparison: want such as 2.0.0, >=1.2.0 or <2.0.0", artifact.Quote(f))
		}
		conds = append(conds, versionCond{op, v})
	}
	if len(conds) == 0 {
		return nil, fmt.Errorf("no versions after \"@\": want such as 2.0.0, or \">=1.2.0 <2.0.0\"")
	}
	return conds, nil
}

// Check marks each cell's requirement and sets m.Violations: a
// must-accept cell that is not OK, a must-reject cell that is. A host's
// must_accept covers the files built for its ABI, and of a version with a
// build against the host's own module graph, that build alone: it is the
// file the host takes. Every file built for another ABI must be refused
// (its tag says the runtime would refuse it, or worse), and one that
// loads means the tags are wrong.
func (m *Matrix) Check() {
	hosts := map[string]Host{}
	for _, h := range m.Hosts {
		hosts[h.Name] = h
	}
	plugins := map[string]Plugin{}
	for _, p := range m.Plugins {
		plugins[p.ID()] = p
	}
	req := NewRequirements(m.Plugins)
	m.Violations = []string{}
	for i := range m.Cells {
		c := &m.Cells[i]
		h, p := hosts[c.Host], plugins[c.Plugin]
		c.Required = req.Of(h, p)
		if !violates(c) {
			continue
		}
		var v string
		switch {
		case c.Required == "accept":
			v = fmt.Sprintf("%s must load into host %s but is %s: %s", c.Plugin, c.Host, c.Outcome, firstLine(c.Detail))
		case !artifact.MatchABI(p.ABI, h.ABI):
			v = fmt.Sprintf("%s is built for ABI %s but loads into host %s of ABI %s: the ABI tags are wrong", c.Plugin, p.ABI, c.Host, h.ABI)
		default:
			v = fmt.Sprintf("%s must be rejected by host %s but loads", c.Plugin, c.Host)
		}
		m.Violations = append(m.Violations, v)
	}
}

// Requirements says what each host requires of each plugin file of a
// matrix (see Check), for code that judges cells one at a time, such as
// the console while the cells run. It is safe for concurrent use.
type Requirements struct {
	own map[string]bool // version + "\x00" + ABI: the version has a build tagged so
}

// NewRequirements returns the requirements of a matrix of these plugin
// files.
func NewRequirements(plugins []Plugin) *Requirements {
	r := &Requirements{own: map[string]bool{}}
	for _, p := range plugins {
		r.own[p.VersionID()+"\x00"+p.ABI] = true
	}
	return r
}

// Of is what h's policy says of p: "accept", "reject" or "". Of a version
// with a build against h's own module graph, that build is h's file: the
// build from this repository's go.mod (the loader does not take it there)
// need not load as well.
func (r *Requirements) Of(h Host, p Plugin) string {
	req := requirement(h, p)
	if req == "accept" && p.ABI != h.ABI && r.own[p.VersionID()+"\x00"+h.ABI] {
		return ""
	}
	return req
}

// Violates reports whether a cell of that requirement breaks it.
func Violates(required, outcome string) bool {
	return required == "accept" && outcome != OK || required == "reject" && outcome == OK
}

// requirement is what h's policy says of p: "accept", "reject" or "".
// A file built for another ABI than the host's must be refused, whatever
// the selectors say; one built against another host's module graph of the
// same ABI is neither required nor forbidden (it may load, when the
// modules that differ are not the plugin's).
func requirement(h Host, p Plugin) string {
	req := ""
	for _, s := range h.MustAccept {
		if Selects(s, p) {
			req = "accept"
		}
	}
	switch {
	case artifact.BaseABI(p.ABI) != artifact.BaseABI(h.ABI):
		req = "reject"
	case !artifact.MatchABI(p.ABI, h.ABI):
		req = ""
	}
	for _, s := range h.MustReject {
		if Selects(s, p) {
			req = "reject"
		}
	}
	return req
}

// ABIGroup is one ABI of the matrix: the plugin builds with that tag and
// the hosts that take them.
type ABIGroup struct {
	ABI      string
	Profiles []string // host profiles the builds were made for, and the hosts' profiles
	Hosts    []string // hosts of this ABI
	Files    int      // plugin files built for it
}

// ABIs lists the matrix's ABIs, those of hosts first (in host order),
// then those only plugin files have.
func (m *Matrix) ABIs() []ABIGroup {
	var groups []ABIGroup
	index := map[string]int{}
	group := func(abi string) *ABIGroup {
		i, ok := index[abi]
		if !ok {
			i = len(groups)
			index[abi] = i
			groups = append(groups, ABIGroup{ABI: abi})
		}
		return &groups[i]
	}
	addProfile := func(g *ABIGroup, p string) {
		if p != "" && !slices.Contains(g.Profiles, p) {
			g.Profiles = append(g.Profiles, p)
		}
	}
	var fileABIs []string
	for _, p := range m.Plugins {
		if !slices.Contains(fileABIs, p.ABI) {
			fileABIs = append(fileABIs, p.ABI)
		}
	}
	slices.Sort(fileABIs)
	for _, h := range m.Hosts {
		served := false
		for _, abi := range fileABIs {
			if artifact.MatchABI(abi, h.ABI) {
				g := group(abi)
				g.Hosts = append(g.Hosts, h.Name)
				addProfile(g, h.Profile)
				served = true
			}
		}
		if !served { // no files for it: under its build's ABI, as files from this repository would be
			g := group(artifact.BaseABI(h.ABI))
			g.Hosts = append(g.Hosts, h.Name)
			addProfile(g, h.Profile)
		}
	}
	for _, p := range m.Plugins {
		g := group(p.ABI)
		g.Files++
		for _, name := range p.Profiles {
			addProfile(g, name)
		}
	}
	return groups
}

// Counts returns how many cells had each outcome.
func (m *Matrix) Counts() map[string]int {
	n := map[string]int{}
	for _, c := range m.Cells {
		n[c.Outcome]++
	}
	return n
}

// Marshal returns the matrix as indented JSON. A whole matrix (not a
// shard's part) that has no verdict is judged first, so the JSON opens
// with it.
func (m *Matrix) Marshal() ([]byte, error) {
	if m.Verdict == nil && m.Shard == nil {
		m.Judge()
	}
	data, err := json.MarshalIndent(m, "", "  ")
	return append(data, '\n'), err
}

// Read reads a matrix.json or a shard's partial result.
func Read(path string) (*Matrix, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse decodes a matrix, refusing unknown fields and other schemas than
// Schema and SchemaV2 (which lacks the verdict and the changes).
func Parse(data []byte) (*Matrix, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Matrix
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a matrix: %w", err)
	}
	if m.Schema != Schema && m.Schema != SchemaV2 {
		return nil, fmt.Errorf("schema %s, want %s (or %s)", artifact.Quote(m.Schema), Schema, SchemaV2)
	}
	return &m, nil
}

// Merge combines the partial results of shards 1..n of one matrix. They
// must agree on hosts and plugins (names and digests), and together hold
// every cell exactly once.
func Merge(parts []*Matrix) (*Matrix, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no shard results to merge")
	}
	first := parts[0]
	if first.Shard == nil {
		return nil, fmt.Errorf("not a shard result")
	}
	n := first.Shard.Count
	seen := map[int]bool{}
	out := &Matrix{Schema: Schema, Platform: first.Platform, Hosts: first.Hosts, Plugins: first.Plugins}
	cells := map[string]bool{}
	for _, p := range parts {
		if p.Shard == nil || p.Shard.Count != n {
			return nil, fmt.Errorf("shard results of different shardings (%v and %d shards)", p.Shard, n)
		}
		if seen[p.Shard.Index] {
			return nil, fmt.Errorf("shard %d/%d given twice", p.Shard.Index, n)
		}
		seen[p.Shard.Index] = true
		if p.Platform != first.Platform || !sameHosts(p.Hosts, first.Hosts) || !samePlugins(p.Plugins, first.Plugins) {
			return nil, fmt.Errorf("shard %d/%d tested other hosts or plugin files than shard %d/%d; rebuild and rerun all shards from one commit", p.Shard.Index, n, first.Shard.Index, n)
		}
		for _, c := range p.Cells {
			if cells[c.Key()] {
				return nil, fmt.Errorf("cell %s is in two shards", c.Key())
			}
			cells[c.Key()] = true
			out.Cells = append(out.Cells, c)
		}
	}
	var missing []string
	for i := 1; i <= n; i++ {
		if !seen[i] {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing shard results: %s", strings.Join(missing, ", "))
	}
	if want := len(first.Hosts) * len(first.Plugins); len(out.Cells) != want {
		return nil, fmt.Errorf("the shards hold %d cells, the matrix has %d", len(out.Cells), want)
	}
	out.Sort()
	out.Check()
	return out, nil
}

func sameHosts(a, b []Host) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].SHA256 != b[i].SHA256 {
			return false
		}
	}
	return true
}

func samePlugins(a, b []Plugin) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID() != b[i].ID() || a[i].SHA256 != b[i].SHA256 || a[i].File != b[i].File {
			return false
		}
	}
	return true
}

// WriteReports writes matrix.json, matrix.md and matrix.html into dir,
// judging the matrix first if it has no verdict yet.
func (m *Matrix) WriteReports(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if m.Verdict == nil {
		m.Judge()
	}
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	md := m.Markdown()
	html, err := m.HTML()
	if err != nil {
		return err
	}
	for name, content := range map[string][]byte{JSONFile: data, MarkdownFile: []byte(md), HTMLFile: html} {
		if _, err := artifact.WriteFileIfChanged(filepath.Join(dir, name), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
