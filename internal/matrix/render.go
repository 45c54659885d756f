package matrix

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Grid writes the matrix as a text table: a row per plugin file, a column
// per host, each cell "ok" or its outcome, then a summary line.
func (m *Matrix) Grid(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "PLUGIN")
	for _, h := range m.Hosts {
		fmt.Fprintf(tw, "\t%s", h.Name)
	}
	fmt.Fprintln(tw)
	for _, p := range m.Plugins {
		fmt.Fprint(tw, p.ID())
		for _, h := range m.Hosts {
			c := m.Cell(p.ID(), h.Name)
			switch {
			case c == nil:
				fmt.Fprint(tw, "\t-")
			case violates(c):
				fmt.Fprintf(tw, "\t%s (!)", c.Outcome)
			default:
				fmt.Fprintf(tw, "\t%s", c.Outcome)
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, g := range m.ABIs() {
		fmt.Fprintf(w, "ABI %s: %s\n", g.ABI, g.describe())
	}
	fmt.Fprintf(w, "%s\n", m.summary())
	for _, v := range m.Violations {
		fmt.Fprintf(w, "  policy violation: %s\n", v)
	}
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

func violates(c *Cell) bool {
	return c.Required == "accept" && c.Outcome != OK || c.Required == "reject" && c.Outcome == OK
}

func (m *Matrix) summary() string {
	counts := m.Counts()
	var parts []string
	for _, o := range sortedOutcomes(counts) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
	}
	return fmt.Sprintf("%d plugin files × %d hosts = %d cells: %s; %d policy violations",
		len(m.Plugins), len(m.Hosts), len(m.Cells), strings.Join(parts, ", "), len(m.Violations))
}

func sortedOutcomes(counts map[string]int) []string {
	var os []string
	for o := range counts {
		os = append(os, o)
	}
	sort.Slice(os, func(i, j int) bool {
		if (os[i] == OK) != (os[j] == OK) {
			return os[i] == OK
		}
		return os[i] < os[j]
	})
	return os
}

// Markdown renders the matrix for a GitHub job summary: the grid with ✅
// and ❌ and a short reason, then the details of every cell that is not ok.
func (m *Matrix) Markdown() string {
	var b strings.Builder
	b.WriteString("## Compatibility matrix\n\n")
	fmt.Fprintf(&b, "%s (%s)\n\n", m.summary(), m.Platform)
	if len(m.Violations) > 0 {
		b.WriteString("**Policy violations — do not ship:**\n\n")
		for _, v := range m.Violations {
			fmt.Fprintf(&b, "- %s\n", mdEscape(v))
		}
		b.WriteString("\n")
	}
	b.WriteString("| plugin |")
	for _, h := range m.Hosts {
		fmt.Fprintf(&b, " %s |", mdEscape(h.Name))
	}
	b.WriteString("\n| --- |")
	for range m.Hosts {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, p := range m.Plugins {
		fmt.Fprintf(&b, "| `%s` |", p.ID())
		for _, h := range m.Hosts {
			c := m.Cell(p.ID(), h.Name)
			switch {
			case c == nil:
				b.WriteString(" – |")
			case c.Outcome == OK:
				mark := "✅"
				if violates(c) {
					mark = "⚠️ ✅ must reject"
				}
				fmt.Fprintf(&b, " %s |", mark)
			default:
				mark := "❌"
				if violates(c) {
					mark = "⚠️ ❌"
				}
				fmt.Fprintf(&b, " %s %s |", mark, c.Outcome)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n<details><summary>Details of every cell that is not ok</summary>\n\n")
	for _, c := range m.Cells {
		if c.Outcome == OK {
			continue
		}
		fmt.Fprintf(&b, "- `%s` in **%s**: %s — %s\n", c.Plugin, mdEscape(c.Host), c.Outcome, mdEscape(firstLine(c.Detail)))
	}
	b.WriteString("\n</details>\n\n### Which builds serve which hosts\n\n| ABI | plugin files | hosts | profiles |\n| --- | --- | --- | --- |\n")
	for _, g := range m.ABIs() {
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s |\n", g.ABI, g.Files, mdEscape(strings.Join(g.Hosts, ", ")), mdEscape(strings.Join(g.Profiles, ", ")))
	}
	b.WriteString("\nHosts: ")
	for i, h := range m.Hosts {
		if i > 0 {
			b.WriteString(", ")
		}
		ref := ""
		if h.Ref != "" {
			ref = " at " + h.Ref
		}
		fmt.Fprintf(&b, "%s (profile %s, %s%s, `%s` %s, ABI `%s`, sha256 %.12s)", mdEscape(h.Name), mdEscape(h.Profile), h.Toolchain, mdEscape(ref), h.Package, mdEscape(strings.Join(h.Flags, " ")), h.ABI, h.SHA256)
	}
	b.WriteString("\n")
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

//go:embed matrix.html.tmpl
var htmlTemplate string

var page = template.Must(template.New("matrix").Parse(htmlTemplate))

// HTML renders the matrix as one self-contained page: the grid, filters by
// team and outcome, and a cell's detail on click. It loads nothing from the
// network.
func (m *Matrix) HTML() ([]byte, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var teams []string
	seen := map[string]bool{}
	for _, p := range m.Plugins {
		if !seen[p.Team] {
			seen[p.Team] = true
			teams = append(teams, p.Team)
		}
	}
	var buf bytes.Buffer
	err = page.Execute(&buf, struct {
		Summary  string
		Data     template.JS
		Teams    []string
		Outcomes []string
		ABIs     []ABIGroup
	}{m.summary(), template.JS(data), teams, sortedOutcomes(m.Counts()), m.ABIs()})
	return buf.Bytes(), err
}
