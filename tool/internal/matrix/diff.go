package matrix

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
)

// Diff is what changed from a previous matrix to this one, per plugin
// version (team/plugin@version) and host.
type Diff struct {
	Base         string   `json:"base"`          // where the previous matrix came from: a path or URL
	NewVersions  []string `json:"new_versions"`  // team/plugin@version, in the new matrix's order
	GoneVersions []string `json:"gone_versions"` // in the previous matrix's order
	NewHosts     []string `json:"new_hosts"`
	GoneHosts    []string `json:"gone_hosts"`
	// Changed are the cells of a version and a host in both matrices whose
	// outcome changed: regressions first, then the rest, both in row order.
	Changed []Change `json:"changed"`
}

// Change is one cell whose outcome changed.
type Change struct {
	Version string `json:"version"` // team/plugin@version
	Host    string `json:"host"`
	Before  string `json:"before"` // OK or a loader cause; "" when there was no build for the host's ABI
	After   string `json:"after"`
	// Regression is a cell that passed (ok) before and has a build that
	// fails now, in a host that does not require to reject it (a
	// must-reject cell that stops loading is a fix, and a build that is
	// gone is not a failure).
	Regression bool   `json:"regression"`
	Reason     string `json:"reason,omitempty"` // the new cell's whole reason
}

// Compare returns what changed from old to m, per plugin version and host:
// the cell of a version in a host is the cell of that version's file built
// for the host's ABI (in each matrix, the host's ABI of that matrix); the
// files of other ABIs are not compared. base says where old came from (a
// path or URL); it is copied into Diff.Base.
func Compare(old, m *Matrix, base string) *Diff {
	d := &Diff{Base: base, NewVersions: []string{}, GoneVersions: []string{}, NewHosts: []string{}, GoneHosts: []string{}, Changed: []Change{}}
	before, after := indexOf(old), indexOf(m)
	for _, v := range after.versions {
		if !before.hasVersion[v] {
			d.NewVersions = append(d.NewVersions, v)
		}
	}
	for _, v := range before.versions {
		if !after.hasVersion[v] {
			d.GoneVersions = append(d.GoneVersions, v)
		}
	}
	for _, h := range after.hostOrder {
		if _, ok := before.hosts[h]; !ok {
			d.NewHosts = append(d.NewHosts, h)
		}
	}
	for _, h := range before.hostOrder {
		if _, ok := after.hosts[h]; !ok {
			d.GoneHosts = append(d.GoneHosts, h)
		}
	}
	var regressions, others []Change
	for _, v := range after.versions {
		if !before.hasVersion[v] {
			continue
		}
		for _, name := range after.hostOrder {
			oldHost, ok := before.hosts[name]
			if !ok {
				continue
			}
			h := after.hosts[name]
			b, _ := before.cell(v, oldHost)
			a, p := after.cell(v, h)
			if b.Outcome == a.Outcome {
				continue
			}
			ch := Change{Version: v, Host: name, Before: b.Outcome, After: a.Outcome, Reason: a.Reason()}
			if b.Outcome == OK && a.Outcome != "" && a.Outcome != OK && requirement(h, p) != "reject" {
				ch.Regression = true
				regressions = append(regressions, ch)
				continue
			}
			others = append(others, ch)
		}
	}
	d.Changed = append(append(d.Changed, regressions...), others...)
	return d
}

// index finds a version's build for an ABI and its cell in a host.
type index struct {
	versions   []string // in the matrix's order
	hasVersion map[string]bool
	hostOrder  []string
	hosts      map[string]Host
	files      map[string]Plugin // version + "\x00" + ABI
	cells      map[string]*Cell  // plugin ID + "\x00" + host
}

func indexOf(m *Matrix) *index {
	x := &index{hasVersion: map[string]bool{}, hosts: map[string]Host{}, files: map[string]Plugin{}, cells: map[string]*Cell{}}
	for _, h := range m.Hosts {
		if _, dup := x.hosts[h.Name]; !dup {
			x.hosts[h.Name] = h
			x.hostOrder = append(x.hostOrder, h.Name)
		}
	}
	for _, p := range m.Plugins {
		v := p.VersionID()
		if !x.hasVersion[v] {
			x.hasVersion[v] = true
			x.versions = append(x.versions, v)
		}
		if _, dup := x.files[v+"\x00"+p.ABI]; !dup {
			x.files[v+"\x00"+p.ABI] = p
		}
	}
	for i := range m.Cells {
		c := &m.Cells[i]
		if _, dup := x.cells[c.Plugin+"\x00"+c.Host]; !dup {
			x.cells[c.Plugin+"\x00"+c.Host] = c
		}
	}
	return x
}

// cell returns the cell of version's build for h's ABI in h (a zero Cell
// when there is none) and that build.
func (x *index) cell(version string, h Host) (Cell, Plugin) {
	p, ok := x.files[version+"\x00"+h.ABI]
	if !ok {
		p, ok = x.files[version+"\x00"+artifact.BaseABI(h.ABI)]
	}
	if !ok {
		return Cell{}, Plugin{}
	}
	if c := x.cells[p.ID()+"\x00"+h.Name]; c != nil {
		return *c, p
	}
	return Cell{}, p
}

// Regressions counts the changes that are regressions.
func (d *Diff) Regressions() int {
	n := 0
	for _, c := range d.Changed {
		if c.Regression {
			n++
		}
	}
	return n
}

// Summary is the diff in one line: "3 changes, 1 regression; 2 new
// versions, 1 gone; 0 new hosts".
func (d *Diff) Summary() string {
	if len(d.Changed)+len(d.NewVersions)+len(d.GoneVersions)+len(d.NewHosts)+len(d.GoneHosts) == 0 {
		return "nothing changed"
	}
	s := fmt.Sprintf("%s, %s; %s, %d gone; %s", plural(len(d.Changed), "change"), plural(d.Regressions(), "regression"),
		plural(len(d.NewVersions), "new version"), len(d.GoneVersions), plural(len(d.NewHosts), "new host"))
	if n := len(d.GoneHosts); n > 0 {
		s += fmt.Sprintf(", %d gone", n)
	}
	return s
}

// Text writes the diff for people: the summary line, where the previous
// matrix came from, then a line per changed cell (regressions first), new
// and gone version and host.
func (d *Diff) Text(w io.Writer) {
	fmt.Fprintln(w, d.Summary())
	if d.Base != "" {
		fmt.Fprintf(w, "compared with %s\n", d.Base)
	}
	for _, c := range d.Changed {
		fmt.Fprintf(w, "  %s\n", c.line())
	}
	for _, l := range []struct {
		label string
		names []string
	}{{"new version", d.NewVersions}, {"gone version", d.GoneVersions}, {"new host", d.NewHosts}, {"gone host", d.GoneHosts}} {
		for _, n := range l.names {
			fmt.Fprintf(w, "  %-11s %s\n", l.label, n)
		}
	}
}

// line says the change in a line: "regression  payments/fraud@1.10.0 in
// showcase: ok -> panic: <the reason's first line>".
func (c Change) line() string {
	label := "changed"
	if c.Regression {
		label = "regression"
	}
	s := fmt.Sprintf("%-11s %s in %s: %s -> %s", label, c.Version, c.Host, Words(c.Before), Words(c.After))
	if r, _, _ := strings.Cut(c.Reason, "\n"); r != "" {
		s += ": " + r
	}
	return s
}

// change returns the change of version in host, or nil.
func (d *Diff) change(version, host string) *Change {
	if d == nil {
		return nil
	}
	i := slices.IndexFunc(d.Changed, func(c Change) bool { return c.Version == version && c.Host == host })
	if i < 0 {
		return nil
	}
	return &d.Changed[i]
}
