package matrix

import (
	"fmt"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
)

// The expectation classes of the cells of the views, a plugin version's
// build for the host's ABI in that host. Verdict.Counts counts them.
const (
	ClassPassed        = "passed"              // it loads (ok), as required or where the host requires nothing
	ClassRefused       = "refused-as-required" // not ok, and the host must reject it
	ClassUnexpected    = "unexpected"          // a violation of the host's policy, or a regression
	ClassNotRequired   = "not-required"        // not ok, and the host requires nothing of it
	ClassNotApplicable = "not-applicable"      // the version has no build for the host's ABI
)

// classes lists the expectation classes in the order reports count them.
var classes = []string{ClassPassed, ClassRefused, ClassUnexpected, ClassNotRequired, ClassNotApplicable}

// Verdict says whether a release can ship: it cannot when a cell breaks
// a host's policy (a violation) or passed in the previous matrix and fails
// now (a regression). Every report opens with its Line.
type Verdict struct {
	Ready bool `json:"ready"`
	// Line is the report's first line: "Ready to ship: 8 plugin versions,
	// 4 hosts, every required cell passed" or "NOT ready: 1 regression,
	// 2 violations".
	Line     string `json:"line"`
	Versions int    `json:"versions"` // plugin versions, the rows of the views
	Hosts    int    `json:"hosts"`
	// Regressions are the cells that passed (ok) in the previous matrix
	// and fail now, from Matrix.Changes, in row order.
	Regressions []Finding `json:"regressions"`
	// Violations are the cells that break a host's policy and are not
	// regressions (a cell that is both is listed once, as a regression),
	// in the matrix's cell order. Files built for another ABI that load
	// are among them.
	Violations []Finding `json:"violations"`
	// OtherABIRefused counts the cells of files built for another ABI than
	// the host's that were refused, as required. They are not cells of the
	// views.
	OtherABIRefused int `json:"other_abi_refused"`
	// Counts counts the cells of the views (plugin version × host, each
	// with the version's build for the host's ABI) per class: the keys
	// are the Class constants, and they add up to Versions × Hosts.
	Counts map[string]int `json:"counts"`
}

// Finding is one cell a verdict names.
type Finding struct {
	Version string `json:"version"` // team/plugin@version
	Host    string `json:"host"`
	Outcome string `json:"outcome"` // the cell's: OK or a loader cause
	Reason  string `json:"reason"`  // whole, not truncated
}

// Judge checks the cells (Check) and sets m.Verdict from them and from
// m.Changes: the release is not ready when there is a violation or a
// regression.
func (m *Matrix) Judge() {
	m.Check()
	v := newView(m)
	vd := &Verdict{
		Versions:        len(v.rows),
		Hosts:           len(m.Hosts),
		Regressions:     []Finding{},
		Violations:      []Finding{},
		OtherABIRefused: v.otherRefused,
		Counts:          v.counts,
	}
	regressed := map[string]bool{}
	if m.Changes != nil {
		for _, ch := range m.Changes.Changed {
			if ch.Regression {
				regressed[ch.Version+"\x00"+ch.Host] = true
				vd.Regressions = append(vd.Regressions, Finding{Version: ch.Version, Host: ch.Host, Outcome: ch.After, Reason: ch.Reason})
			}
		}
	}
	for i := range m.Cells {
		c := &m.Cells[i]
		if !violates(c) {
			continue
		}
		p, known := v.plugins[c.Plugin]
		h := v.hosts[c.Host]
		version := c.Plugin
		if known {
			version = p.VersionID()
		}
		if known && artifact.MatchABI(p.ABI, h.ABI) && regressed[version+"\x00"+c.Host] {
			continue
		}
		vd.Violations = append(vd.Violations, Finding{Version: version, Host: c.Host, Outcome: c.Outcome, Reason: violationReason(c, p, h)})
	}
	if len(vd.Regressions)+len(vd.Violations) == 0 {
		vd.Ready = true
		vd.Line = fmt.Sprintf("Ready to ship: %s, %s, every required cell passed", plural(vd.Versions, "plugin version"), plural(vd.Hosts, "host"))
	} else {
		var parts []string
		if n := len(vd.Regressions); n > 0 {
			parts = append(parts, plural(n, "regression"))
		}
		if n := len(vd.Violations); n > 0 {
			parts = append(parts, plural(n, "violation"))
		}
		vd.Line = "NOT ready: " + strings.Join(parts, ", ")
	}
	m.Verdict = vd
}

// violationReason says why a violating cell breaks the policy, with the
// cell's whole reason.
func violationReason(c *Cell, p Plugin, h Host) string {
	switch {
	case c.Required == "accept":
		if r := c.Reason(); r != "" {
			return r
		}
		return "the host must load it, but it is " + Words(c.Outcome)
	case !artifact.MatchABI(p.ABI, h.ABI):
		return fmt.Sprintf("built for ABI %s, it loads into this host of ABI %s: the ABI tags are wrong", p.ABI, h.ABI)
	default:
		return "the host must reject it, but it loads"
	}
}

// Reason is the cell's whole reason: its detail, then every difference
// (setting, module or package) on a line of its own.
func (c Cell) Reason() string {
	lines := c.Differences
	if c.Detail != "" {
		lines = append([]string{c.Detail}, lines...)
	}
	return strings.Join(lines, "\n")
}

// words are the outcomes said for people.
var words = map[string]string{
	OK:                   "ok",
	"unsigned":           "unsigned",
	"bad-signature":      "bad signature",
	"bad-file":           "bad file",
	"toolchain-mismatch": "toolchain mismatch",
	"build-mismatch":     "build mismatch",
	"panic":              "panic",
	"exit":               "exited",
	"timeout":            "timed out",
	"open-failed":        "open failed",
	"missing-symbol":     "missing symbol",
	"wrong-type":         "wrong type",
	"version-mismatch":   "version mismatch",
	"not-acceptable":     "not acceptable",
	"host-check":         "refused by the host's check",
	"quarantined":        "quarantined",
}

// Words says an outcome (OK or a loader cause) for people: "missing
// symbol" for missing-symbol. "" (no build) is "n/a".
func Words(outcome string) string {
	if w, ok := words[outcome]; ok {
		return w
	}
	if outcome == "" {
		return "n/a"
	}
	return strings.ReplaceAll(outcome, "-", " ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// view is the matrix as people read it: a row per plugin version, a
// column per host, each cell the version's build for the host's ABI.
type view struct {
	rows         []viewRow
	counts       map[string]int
	otherRefused int // cells of files of another ABI than the host's, refused
	otherLoaded  int // ... that loaded: violations
	// otherGraphLoaded counts the cells of files built against another
	// host's module graph of the host's ABI that loaded: they link none of
	// the modules that differ, which is allowed.
	otherGraphLoaded int
	plugins          map[string]Plugin
	hosts            map[string]Host
}

type viewRow struct {
	version string // team/plugin@version
	team    string
	cells   []viewCell // one per host, in host order
	quiet   bool       // every cell as expected (passed, refused as required or n/a) and unchanged
}

type viewCell struct {
	cell   *Cell // nil: no build for the host's ABI
	class  string
	change *Change // nil: unchanged, or nothing to compare with
}

func newView(m *Matrix) *view {
	v := &view{counts: map[string]int{}, plugins: map[string]Plugin{}, hosts: map[string]Host{}}
	for _, c := range classes {
		v.counts[c] = 0
	}
	col := map[string]int{}
	for i, h := range m.Hosts {
		if _, dup := col[h.Name]; !dup {
			col[h.Name] = i
			v.hosts[h.Name] = h
		}
	}
	row := map[string]int{}
	for _, p := range m.Plugins {
		if _, dup := v.plugins[p.ID()]; !dup {
			v.plugins[p.ID()] = p
		}
		id := p.VersionID()
		if _, ok := row[id]; !ok {
			row[id] = len(v.rows)
			v.rows = append(v.rows, viewRow{version: id, team: p.Team, cells: make([]viewCell, len(m.Hosts))})
		}
	}
	for i := range m.Cells {
		c := &m.Cells[i]
		p, ok := v.plugins[c.Plugin]
		j, known := col[c.Host]
		if !ok || !known {
			continue
		}
		if !artifact.MatchABI(p.ABI, m.Hosts[j].ABI) {
			switch {
			case c.Outcome != OK:
				v.otherRefused++
			case artifact.BaseABI(p.ABI) == artifact.BaseABI(m.Hosts[j].ABI):
				// Built against another host's module graph, it links
				// none of the modules that differ: allowed.
				v.otherGraphLoaded++
			default:
				v.otherLoaded++
			}
			continue
		}
		// A build against the host's own module graph before one from this
		// repository, when a version has both.
		if vc := &v.rows[row[p.VersionID()]].cells[j]; vc.cell == nil || p.ABI == m.Hosts[j].ABI {
			vc.cell = c
		}
	}
	changes := map[string]*Change{}
	if m.Changes != nil {
		for i := range m.Changes.Changed {
			ch := &m.Changes.Changed[i]
			changes[ch.Version+"\x00"+ch.Host] = ch
		}
	}
	for i := range v.rows {
		r := &v.rows[i]
		r.quiet = true
		for j := range r.cells {
			vc := &r.cells[j]
			vc.change = changes[r.version+"\x00"+m.Hosts[j].Name]
			vc.class = classify(vc.cell, vc.change)
			v.counts[vc.class]++
			if vc.change != nil || vc.class == ClassUnexpected || vc.class == ClassNotRequired {
				r.quiet = false
			}
		}
	}
	return v
}

func classify(c *Cell, ch *Change) string {
	switch {
	case c == nil:
		return ClassNotApplicable
	case violates(c) || ch != nil && ch.Regression:
		return ClassUnexpected
	case c.Outcome == OK:
		return ClassPassed
	case c.Required == "reject":
		return ClassRefused
	default:
		return ClassNotRequired
	}
}

// quietRows counts the rows whose every cell is as expected and unchanged.
func (v *view) quietRows() int {
	n := 0
	for _, r := range v.rows {
		if r.quiet {
			n++
		}
	}
	return n
}

// summary is the counts in a sentence: "4 plugin versions × 3 hosts: 5
// passed, 3 refused as required, ...".
func (v *view) summary(hosts int) string {
	var parts []string
	for _, c := range classes {
		if n := v.counts[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, classWords[c]))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no cells")
	}
	return fmt.Sprintf("%s × %s: %s", plural(len(v.rows), "plugin version"), plural(hosts, "host"), strings.Join(parts, ", "))
}

// otherABILine sums up the cells of files built for other ABIs than the
// host's, which are not cells of the views.
func (v *view) otherABILine() string {
	s := fmt.Sprintf("%d builds for other ABIs refused by the preflight, as required", v.otherRefused)
	if v.otherRefused == 1 {
		s = "1 build for another ABI refused by the preflight, as required"
	}
	if v.otherLoaded > 0 {
		s += fmt.Sprintf("; %d loaded: violations, listed above", v.otherLoaded)
	}
	if v.otherGraphLoaded > 0 {
		s += fmt.Sprintf("; %s for another host's module graph loaded, as allowed (they link none of the modules that differ)", plural(v.otherGraphLoaded, "build"))
	}
	return s
}

var classWords = map[string]string{
	ClassPassed:        "passed",
	ClassRefused:       "refused as required",
	ClassUnexpected:    "unexpected",
	ClassNotRequired:   "not required and not ok",
	ClassNotApplicable: "not applicable",
}
