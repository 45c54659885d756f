package matrix

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/progress"
)

// The reports share an order: the verdict's line; when the release is not
// ready, the regressions and violations with host, plugin version and
// reason; what changed (when the matrix has Changes); a summary; then
// the grid of plugin versions × hosts, each cell the version's build for
// the host's ABI. The cells of builds for other ABIs are summed up in a
// line (they are all in the JSON).

// maxConsoleChanges caps the changed cells Grid lists; matrix.json,
// matrix.md and matrix.html list them all.
const maxConsoleChanges = 20

// Grid writes the matrix for a console: the verdict, its findings, what
// changed, a summary, then the grid of the plugin versions that are not as
// expected in every host (a line counts the others), and the ABIs. It
// judges the matrix first if it has no verdict.
func (m *Matrix) Grid(w io.Writer) {
	if m.Verdict == nil {
		m.Judge()
	}
	v := newView(m)
	fmt.Fprintln(w, m.Verdict.Line)
	for _, f := range m.Verdict.Regressions {
		fmt.Fprintf(w, "  %s\n", f.line("regression"))
	}
	for _, f := range m.Verdict.Violations {
		fmt.Fprintf(w, "  %s\n", f.line("violation"))
	}
	if d := m.Changes; d != nil {
		fmt.Fprintf(w, "What changed since %s: %s\n", d.Base, d.Summary())
		for i, c := range d.Changed {
			if i == maxConsoleChanges {
				fmt.Fprintf(w, "  ... and %d more changed cells (matrix.md, matrix.html and matrix.json list them all)\n", len(d.Changed)-i)
				break
			}
			fmt.Fprintf(w, "  %s\n", c.line())
		}
		for _, l := range []struct {
			label string
			names []string
		}{{"new versions", d.NewVersions}, {"gone versions", d.GoneVersions}, {"new hosts", d.NewHosts}, {"gone hosts", d.GoneHosts}} {
			if len(l.names) > 0 {
				fmt.Fprintf(w, "  %s: %s\n", l.label, shortList(l.names, 10))
			}
		}
	}
	if line := fmt.Sprintf("%s (%s)", v.summary(len(m.Hosts)), m.Platform); utf8.RuneCountInString(line) <= progress.Width {
		fmt.Fprintln(w, line)
	} else { // the counts below what they count
		what, counts, _ := strings.Cut(v.summary(len(m.Hosts)), ": ")
		fmt.Fprintf(w, "%s (%s):\n%s", what, m.Platform, progress.Indent(counts, "  "))
	}
	fmt.Fprintln(w, v.otherABILine())
	quiet := v.quietRows()
	if quiet < len(v.rows) {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprint(tw, "PLUGIN VERSION")
		for _, h := range m.Hosts {
			fmt.Fprintf(tw, "\t%s", h.Name)
		}
		fmt.Fprintln(tw)
		for _, r := range v.rows {
			if r.quiet {
				continue
			}
			fmt.Fprint(tw, r.version)
			for _, vc := range r.cells {
				fmt.Fprintf(tw, "\t%s", vc.consoleText())
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		fmt.Fprintln(w, "(!) unexpected: a violation or a regression; (~) not ok, not required;")
		fmt.Fprintln(w, "n/a: no build for the host's ABI; other failures: refused as required")
	}
	switch {
	case len(v.rows) == 0:
	case quiet == len(v.rows):
		fmt.Fprintf(w, "every plugin version (%d) as expected in every host\n", quiet)
	case quiet > 0:
		fmt.Fprintf(w, "%s as expected in every host (not shown)\n", plural(quiet, "plugin version"))
	}
	for _, g := range m.ABIs() {
		fmt.Fprintf(w, "ABI %s: %s\n", g.ABI, g.describe())
	}
	if line := m.evidenceLine(); line != "" {
		fmt.Fprintln(w, line)
	}
	if notes := m.Notes(); len(notes) > 0 {
		fmt.Fprintln(w, "notes:")
		for _, n := range notes {
			fmt.Fprintf(w, "  %s:\n", n.Name)
			for _, l := range progress.Wrap(n.Note, progress.Width-4) {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
}

// Note is what a reader should know of a host or a plugin that looks
// broken on purpose.
type Note struct {
	Name string // "host untrimmed" or "plugin showcase/showcase-invalid"
	Note string
}

// Notes are the hosts' and plugins' notes (compat/hosts.yaml and team.yaml
// note), hosts first (a host that no plugin file is built for says so: a
// column of n/a is then not a failure), then the plugins', then the
// plugin versions the last publish yanked.
func (m *Matrix) Notes() []Note {
	var notes []Note
	for _, h := range m.Hosts {
		text := h.Note
		if !m.served(h) {
			text = strings.TrimSuffix("no plugin file is built for its ABI "+h.ABI+"; "+text, "; ")
		}
		if text != "" {
			notes = append(notes, Note{"host " + h.Name, text})
		}
	}
	seen := map[string]bool{}
	for _, p := range m.Plugins {
		id := p.Team + "/" + p.Plugin
		if p.Note != "" && !seen[id] {
			seen[id] = true
			notes = append(notes, Note{"plugin " + id, p.Note})
		}
	}
	for _, p := range m.Plugins {
		if p.Yanked != "" && !seen[p.VersionID()] {
			seen[p.VersionID()] = true
			notes = append(notes, Note{"plugin " + p.VersionID(), "yanked: " + p.Yanked + " (hosts do not choose it; go run mage.go unyank " + p.VersionID() + " gives it back)"})
		}
	}
	return notes
}

// served reports whether some plugin file is built for h's ABI.
func (m *Matrix) served(h Host) bool {
	for _, p := range m.Plugins {
		if artifact.MatchABI(p.ABI, h.ABI) {
			return true
		}
	}
	return false
}

func (vc viewCell) consoleText() string {
	if vc.cell == nil {
		return "n/a" + vc.wasText()
	}
	s := Words(vc.cell.Outcome)
	switch vc.class {
	case ClassUnexpected:
		s += " (!)"
	case ClassNotRequired:
		s += " (~)"
	}
	return s + vc.wasText()
}

// wasText says what a changed cell was: " (was ok)".
func (vc viewCell) wasText() string {
	if vc.change == nil {
		return ""
	}
	return " (was " + Words(vc.change.Before) + ")"
}

// line says the finding in a line for a console: the first line of its
// reason, whole, and how many more lines the reports hold.
func (f Finding) line(label string) string {
	s := fmt.Sprintf("%-10s %s in %s: %s", label, f.Version, f.Host, Words(f.Outcome))
	first, rest, more := strings.Cut(f.Reason, "\n")
	if first != "" {
		s += " — " + first
	}
	if more {
		s += fmt.Sprintf(" (+%d lines in matrix.md and matrix.html)", strings.Count(rest, "\n")+1)
	}
	return s
}

func shortList(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}

func (g ABIGroup) describe() string {
	hosts, profiles := "no host", "no profile"
	if len(g.Hosts) > 0 {
		hosts = "hosts " + strings.Join(g.Hosts, ", ")
	}
	if len(g.Profiles) > 0 {
		profiles = "profiles " + strings.Join(g.Profiles, ", ")
	}
	return fmt.Sprintf("%d plugin files, %s; %s", g.Files, hosts, profiles)
}

func violates(c *Cell) bool { return Violates(c.Required, c.Outcome) }

// The Markdown marks of the classes.
var mdMarks = map[string]string{
	ClassPassed:        "✅",
	ClassRefused:       "⚪",
	ClassUnexpected:    "🔴",
	ClassNotRequired:   "🟡",
	ClassNotApplicable: "–",
}

// mdBudget is where Markdown stops adding rows and reasons: GitHub takes
// at most 1 MiB of job summary.
const mdBudget = 900 << 10

// maxMarkdownChanges caps the changed cells matrix.md lists in view.
const maxMarkdownChanges = 200

// Markdown renders the matrix for a GitHub job summary: the verdict, its
// findings with their reasons whole, what changed, a summary, then the
// grid of plugin versions × hosts, where the versions as expected in every
// host collapse into one <details> and the others stay in view, the
// reasons of their cells in a <details> below. It stays under 1 MiB. It
// judges the matrix first if it has no verdict.
func (m *Matrix) Markdown() string {
	if m.Verdict == nil {
		m.Judge()
	}
	v := newView(m)
	var b strings.Builder
	mark := "✅"
	if !m.Verdict.Ready {
		mark = "🔴"
	}
	fmt.Fprintf(&b, "## %s %s\n\n", mark, mdText(m.Verdict.Line))
	if !m.Verdict.Ready {
		b.WriteString("| finding | plugin version | host | outcome | reason |\n| --- | --- | --- | --- | --- |\n")
		findings := len(m.Verdict.Regressions) + len(m.Verdict.Violations)
		for i, f := range append(m.Verdict.Regressions[:len(m.Verdict.Regressions):len(m.Verdict.Regressions)], m.Verdict.Violations...) {
			if b.Len() > mdBudget/3 {
				fmt.Fprintf(&b, "\n… and %d more: matrix.html and matrix.json list them all.\n", findings-i)
				break
			}
			label, was := "🔴 violation", ""
			if i < len(m.Verdict.Regressions) {
				label = "🔴 regression"
				if c := m.Changes.change(f.Version, f.Host); c != nil {
					was = " (was " + Words(c.Before) + ")"
				}
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | **%s**%s | %s |\n", label, mdCode(f.Version), mdText(f.Host), Words(f.Outcome), was, mdReason(f.Reason))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Compatibility matrix, %s: %s. %s.\n\n", mdText(m.Platform), v.summary(len(m.Hosts)), v.otherABILine())
	if d := m.Changes; d != nil {
		fmt.Fprintf(&b, "### What changed since %s\n\n%s.\n", mdText(d.Base), d.Summary())
		if len(d.NewVersions)+len(d.GoneVersions)+len(d.NewHosts)+len(d.GoneHosts) > 0 {
			b.WriteString("\n")
		}
		for _, l := range []struct {
			label string
			names []string
		}{{"New plugin versions", d.NewVersions}, {"Plugin versions gone", d.GoneVersions}, {"New hosts", d.NewHosts}, {"Hosts gone", d.GoneHosts}} {
			if len(l.names) == 0 {
				continue
			}
			codes := make([]string, len(l.names))
			for i, n := range l.names {
				codes[i] = "`" + mdCode(n) + "`"
			}
			if len(l.names) <= 10 {
				fmt.Fprintf(&b, "- %s: %s\n", l.label, strings.Join(codes, ", "))
			} else {
				fmt.Fprintf(&b, "- <details><summary>%s: %d</summary>%s</details>\n", l.label, len(l.names), strings.Join(codes, ", "))
			}
		}
		if len(d.Changed) > 0 {
			b.WriteString("\n| change | plugin version | host | before | after | reason |\n| --- | --- | --- | --- | --- | --- |\n")
			for i, c := range d.Changed {
				if i == maxMarkdownChanges || b.Len() > mdBudget/2 {
					fmt.Fprintf(&b, "\n… and %d more changed cells: matrix.html and matrix.json list them all.\n", len(d.Changed)-i)
					break
				}
				label := "changed"
				if c.Regression {
					label = "🔴 regression"
				}
				fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s |\n", label, mdCode(c.Version), mdText(c.Host), Words(c.Before), Words(c.After), mdReason(c.Reason))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("### Plugin versions × hosts\n\n")
	header := func() {
		b.WriteString("| plugin version |")
		for _, h := range m.Hosts {
			fmt.Fprintf(&b, " %s |", mdText(h.Name))
		}
		b.WriteString("\n| --- |")
		for range m.Hosts {
			b.WriteString(" --- |")
		}
		b.WriteString("\n")
	}
	quiet := v.quietRows()
	if quiet < len(v.rows) {
		header()
		var reasons []string
		left := 0
		for _, r := range v.rows {
			if r.quiet {
				continue
			}
			if b.Len() > mdBudget*3/4 {
				left++
				continue
			}
			fmt.Fprintf(&b, "| `%s` |", mdCode(r.version))
			for j, vc := range r.cells {
				fmt.Fprintf(&b, " %s |", vc.mdText())
				if vc.cell != nil && vc.cell.Outcome != OK {
					reasons = append(reasons, fmt.Sprintf("- `%s` in **%s**: %s %s — %s\n", mdCode(r.version), mdText(m.Hosts[j].Name), mdMarks[vc.class], Words(vc.cell.Outcome), mdWhole(vc.cell.Reason())))
				}
			}
			b.WriteString("\n")
		}
		if left > 0 {
			fmt.Fprintf(&b, "\n… and %s not as expected: matrix.html shows them.\n", plural(left, "more plugin version"))
		}
		if len(reasons) > 0 {
			fmt.Fprintf(&b, "\n<details><summary>Reasons of the %d cells above that are not ok</summary>\n\n", len(reasons))
			for i, r := range reasons {
				if b.Len()+len(r) > mdBudget {
					fmt.Fprintf(&b, "- … and %d more: matrix.html shows them.\n", len(reasons)-i)
					break
				}
				b.WriteString(r)
			}
			b.WriteString("\n</details>\n")
		}
		b.WriteString("\n")
	}
	if quiet > 0 {
		label := plural(quiet, "plugin version") + " as expected in every host"
		if quiet == len(v.rows) {
			label = "Every plugin version (" + fmt.Sprint(quiet) + ") as expected in every host"
		}
		fmt.Fprintf(&b, "<details><summary>%s</summary>\n\n", label)
		header()
		left := 0
		for _, r := range v.rows {
			if !r.quiet {
				continue
			}
			if b.Len() > mdBudget {
				left++
				continue
			}
			fmt.Fprintf(&b, "| `%s` |", mdCode(r.version))
			for _, vc := range r.cells {
				fmt.Fprintf(&b, " %s |", vc.mdText())
			}
			b.WriteString("\n")
		}
		if left > 0 {
			fmt.Fprintf(&b, "\n… and %d more: matrix.html shows them.\n", left)
		}
		b.WriteString("\n</details>\n\n")
	}
	b.WriteString("✅ passed · ⚪ refused as required · 🔴 unexpected: a violation or a regression · 🟡 not ok, the host requires nothing of it · – no build for the host's ABI\n\n")
	b.WriteString("### Which builds serve which hosts\n\n| ABI | plugin files | hosts | profiles |\n| --- | --- | --- | --- |\n")
	for _, g := range m.ABIs() {
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s |\n", mdCode(g.ABI), g.Files, mdText(strings.Join(g.Hosts, ", ")), mdText(strings.Join(g.Profiles, ", ")))
	}
	b.WriteString("\nHosts: ")
	for i, h := range m.Hosts {
		if i > 0 {
			b.WriteString("; ")
		}
		ref := ""
		if h.Ref != "" {
			ref = " at " + h.Ref
		}
		policy := ""
		if len(h.MustAccept) > 0 {
			policy += ", must accept " + strings.Join(h.MustAccept, " ")
		}
		if len(h.MustReject) > 0 {
			policy += ", must reject " + strings.Join(h.MustReject, " ")
		}
		flags := ""
		if len(h.Flags) > 0 {
			flags = " " + strings.Join(h.Flags, " ")
		}
		if h.Source != "" {
			policy += ", " + h.Source
		}
		if h.Probe != "" {
			policy += ", probed by a " + h.Probe + " built from its module graph"
		}
		fmt.Fprintf(&b, "%s (profile %s, %s%s, `%s`%s, ABI `%s`, sha256 %.12s%s)", mdText(h.Name), mdText(h.Profile), mdText(h.Toolchain), mdText(ref),
			mdCode(h.Package), mdText(flags), mdCode(h.ABI), mdText(h.SHA256), mdText(policy))
	}
	b.WriteString("\n")
	if notes := m.Notes(); len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s: %s\n", mdText(n.Name), mdText(n.Note))
		}
	}
	return b.String()
}

// mdText says a cell in a Markdown table: the mark of its class and the
// outcome's words (none for a pass), and what a changed cell was.
func (vc viewCell) mdText() string {
	s := mdMarks[vc.class]
	switch {
	case vc.cell == nil, vc.cell.Outcome == OK:
	case vc.class == ClassUnexpected:
		s += " **" + Words(vc.cell.Outcome) + "**"
	default:
		s += " " + Words(vc.cell.Outcome)
	}
	if vc.change != nil {
		s += " _(was " + Words(vc.change.Before) + ")_"
	}
	return s
}

var mdEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|", "\\", "\\\\", "*", "\\*", "_", "\\_",
	"`", "\\`", "[", "\\[", "]", "\\]", "~", "\\~", "#", "\\#", "\r", "", "\n", "<br>")

// mdText escapes text for a line or a table cell of Markdown: nothing in
// it is markup, and newlines are <br>.
func mdText(s string) string { return mdEscaper.Replace(s) }

// mdCode makes s fit in a `code span` of a table cell.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "|", "\\|", "\n", " ", "\r", "").Replace(s)
}

// mdReason is a reason for a table cell: whole, behind a <details> when
// it is longer than a short line.
func mdReason(reason string) string {
	if !strings.Contains(reason, "\n") && len(reason) <= 160 {
		return mdText(reason)
	}
	return "<details><summary>" + mdText(firstOf(reason)) + "</summary>" + mdWhole(reason) + "</details>"
}

// maxMarkdownReason caps one reason in matrix.md, so that one runaway
// panic output cannot take the job summary's 1 MiB. Reasons of a build
// mismatch, a line per differing package, stay far below it.
const maxMarkdownReason = 64 << 10

// mdWhole is a whole reason for Markdown, escaped, unless it is longer
// than maxMarkdownReason.
func mdWhole(reason string) string {
	if len(reason) <= maxMarkdownReason {
		return mdText(reason)
	}
	cut := maxMarkdownReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return mdText(reason[:cut]) + fmt.Sprintf(" … (%d more bytes: matrix.html and matrix.json hold it whole)", len(reason)-cut)
}

// firstOf is the start of a reason for a summary: its first line, cut
// at 120 bytes (on a rune boundary).
func firstOf(reason string) string {
	first, _, _ := strings.Cut(reason, "\n")
	if len(first) <= 120 {
		return first
	}
	cut := 120
	for cut > 0 && !utf8.RuneStart(first[cut]) {
		cut--
	}
	return first[:cut] + "…"
}

// evidenceWords say a cell's evidence (Cell.Evidence) for people.
var evidenceWords = map[string]string{
	EvidencePreflight: "the preflight: signature, name and build fingerprints against the host executable; the plugin's code did not run",
	EvidenceProbe:     "a probe: the plugin opened and called in the host executable itself",
	EvidenceStandIn:   "a stand-in probe: the preflight against the host executable, then the plugin opened and called in a program built with the host's Go release, flags and module graph (the host does not answer the loader's probe)",
}

// evidenceLine counts the cells by evidence when a host was probed by a
// stand-in or tried by its own check command, so that a reader knows which
// cells ran in the host itself: "evidence: 3 cells probed in a stand-in of
// host plain, 1 probed in its host, 2 decided by the preflight". "" when
// every probe ran in its host.
func (m *Matrix) evidenceLine() string {
	standIns := map[string]int{}
	var probe, pre, check int
	for _, c := range m.Cells {
		switch c.Evidence {
		case EvidenceStandIn:
			standIns[c.Host]++
		case EvidenceProbe:
			probe++
		case EvidencePreflight:
			pre++
		case EvidenceHostCheck:
			check++
		}
	}
	if len(standIns) == 0 && check == 0 {
		return ""
	}
	var parts []string
	for _, h := range m.Hosts {
		if n := standIns[h.Name]; n > 0 {
			why := "it does not answer the loader's probe"
			if h.Probe == StandInCheck {
				why = "it has no check command of its own"
			}
			parts = append(parts, fmt.Sprintf("%s probed in a stand-in of host %s (%s)", plural(n, "cell"), h.Name, why))
		}
	}
	if check > 0 {
		parts = append(parts, fmt.Sprintf("%s tried by the host's own check command", plural(check, "cell")))
	}
	return fmt.Sprintf("evidence: %s; %d probed in their host, %d decided by the preflight", strings.Join(parts, ", "), probe, pre)
}

//go:embed matrix.html.tmpl
var htmlTemplate string

var page = template.Must(template.New("matrix").Funcs(template.FuncMap{
	"words":  Words,
	"first":  firstOf,
	"more":   func(s string) bool { return strings.Contains(s, "\n") || len(s) > 160 },
	"join":   func(s []string) string { return strings.Join(s, ", ") },
	"list":   func(xs ...any) []any { return xs },
	"plural": plural,
}).Parse(htmlTemplate))

// htmlRow is a row of the page's grid, as its script reads it: the
// plugin version, its team, whether it is quiet (as expected in every
// host), and per host the index of its cell in the matrix's cells (-1
// for none), its class (an index in the page's classes) and, for a
// changed cell, what it was.
type htmlRow struct {
	V string  `json:"v"`
	T string  `json:"t"`
	Q bool    `json:"q"`
	C [][]any `json:"c"`
}

// HTML renders the matrix as one self-contained page: the verdict, its
// findings and what changed, then the grid of plugin versions × hosts,
// with a search box, filters by team and class kept in the page's
// address, and a cell's whole reason in a panel on click. The grid is
// drawn by a script from the embedded matrix, a batch of rows per string,
// with one click listener. It loads nothing from the network. It judges
// the matrix first if it has no verdict.
func (m *Matrix) HTML() ([]byte, error) {
	if m.Verdict == nil {
		m.Judge()
	}
	v := newView(m)
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	index := map[*Cell]int{}
	for i := range m.Cells {
		index[&m.Cells[i]] = i
	}
	classIndex := map[string]int{}
	for i, c := range classes {
		classIndex[c] = i
	}
	rows := make([]htmlRow, len(v.rows))
	for i, r := range v.rows {
		row := htmlRow{V: r.version, T: r.team, Q: r.quiet, C: make([][]any, len(r.cells))}
		for j, vc := range r.cells {
			cell := -1
			if vc.cell != nil {
				cell = index[vc.cell]
			}
			var was any
			if vc.change != nil {
				was = vc.change.Before
			}
			row.C[j] = []any{cell, classIndex[vc.class], was}
		}
		rows[i] = row
	}
	viewData, err := json.Marshal(struct {
		Rows     []htmlRow         `json:"rows"`
		Classes  []string          `json:"classes"`
		Words    map[string]string `json:"words"`
		Evidence map[string]string `json:"evidence"`
	}{rows, classes, words, evidenceWords})
	if err != nil {
		return nil, err
	}
	var teams []string
	seen := map[string]bool{}
	for _, r := range v.rows {
		if !seen[r.team] {
			seen[r.team] = true
			teams = append(teams, r.team)
		}
	}
	type classOption struct{ Value, Label string }
	var options []classOption
	for _, c := range classes {
		if v.counts[c] > 0 {
			options = append(options, classOption{c, fmt.Sprintf("with a cell %s (%d)", classWords[c], v.counts[c])})
		}
	}
	var buf bytes.Buffer
	err = page.Execute(&buf, struct {
		M         *Matrix
		Verdict   *Verdict
		Summary   string
		OtherABI  string
		Attention int
		Data      template.JS
		View      template.JS
		Teams     []string
		Classes   []classOption
		ABIs      []ABIGroup
	}{m, m.Verdict, v.summary(len(m.Hosts)), v.otherABILine(), len(v.rows) - v.quietRows(), template.JS(data), template.JS(viewData), teams, options, m.ABIs()})
	return buf.Bytes(), err
}
