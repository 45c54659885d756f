package matrix

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// The ABI tags of sample: the showcase and strict hosts' and most of
// their plugins', and the untrimmed host's.
const abiA, abiB = "go1.26.8-aaaaaaaa", "go1.26.8-bbbbbbbb"

// sample is a small matrix with a cell of every class: 3 hosts (showcase
// must accept payments; strict, of the same ABI, must accept payments and
// reject labs; untrimmed, of another ABI, must reject all), 4 plugin
// versions, one of them also built for ABI B. payments/fraud@1.3.0 panics
// in showcase (a violation); labs/hwgate@0.2.0 is not acceptable to
// showcase (which requires nothing of labs) and strict (which must reject
// it).
func sample() *Matrix {
	m := &Matrix{
		Schema: Schema, Platform: "linux/amd64",
		Hosts: []Host{
			{Name: "showcase", Package: "./compat/hosts/showcase", Flags: []string{"-trimpath"}, SHA256: "aa", MustAccept: []string{"payments"}, Profile: "current", Toolchain: "go1.26.8", ABI: abiA},
			{Name: "untrimmed", Package: "./compat/hosts/showcase", SHA256: "bb", MustReject: []string{"*"}, Profile: "untrimmed", Toolchain: "go1.26.8", ABI: abiB},
			{Name: "strict", Package: "./compat/hosts/strict", Flags: []string{"-trimpath"}, SHA256: "cc", MustAccept: []string{"payments"}, MustReject: []string{"labs"}, Profile: "current", Toolchain: "go1.26.8", ABI: abiA},
		},
	}
	file := func(team, plugin, version, abi, sum, profile string) Plugin {
		return Plugin{Team: team, Plugin: plugin, Version: version, ABI: abi, SHA256: sum, Profiles: []string{profile},
			File: "plugins/" + team + "/" + plugin + "/" + plugin + "_v" + version + "_linux_amd64_" + abi + ".so"}
	}
	m.Plugins = []Plugin{
		file("payments", "fraud", "1.3.0", abiA, "11", "current"),
		file("payments", "fraud", "1.10.0", abiA, "12", "current"),
		file("payments", "fraud", "1.10.0", abiB, "15", "untrimmed"),
		file("labs", "hwgate", "0.3.0", abiA, "13", "current"),
		file("labs", "hwgate", "0.2.0", abiA, "14", "current"),
	}
	for _, p := range m.Plugins {
		for _, h := range m.Hosts {
			c := Cell{Plugin: p.ID(), Host: h.Name, PluginSHA256: p.SHA256, HostSHA256: h.SHA256, Outcome: OK, Millis: 12}
			switch {
			case h.Name == "untrimmed":
				c.Outcome, c.Detail, c.Differences = "build-mismatch", "built differently from this host: setting -trimpath: plugin true, host false; 2 packages differ: runtime, github.com/plugship/plugship/contract",
					[]string{"setting -trimpath: plugin true, host false", "package runtime: plugin 01, host 02", "package github.com/plugship/plugship/contract: plugin 03, host 04"}
			case p.ABI != h.ABI:
				c.Outcome, c.Detail = "build-mismatch", "built differently from this host: setting -trimpath: plugin false, host true"
			case p.Version == "1.3.0" && h.Name == "showcase":
				c.Outcome, c.Detail = "panic", "panic: <boom> in plugin.Open\ngoroutine 1 [running]:\nmain.init()"
			case p.Team == "labs" && h.Name == "strict", p.Version == "0.2.0":
				c.Outcome, c.Detail = "not-acceptable", "IsAcceptable() returned false: needs a hardware gate"
			}
			m.Cells = append(m.Cells, c)
		}
	}
	m.Sort()
	m.Check()
	return m
}

func TestSortAndCheck(t *testing.T) {
	m := sample()
	var ids []string
	for _, p := range m.Plugins {
		ids = append(ids, p.ID())
	}
	if got, want := strings.Join(ids, ", "), "labs/hwgate@0.3.0 "+abiA+", labs/hwgate@0.2.0 "+abiA+", payments/fraud@1.10.0 "+abiA+", payments/fraud@1.10.0 "+abiB+", payments/fraud@1.3.0 "+abiA; got != want {
		t.Errorf("plugin order %s, want %s", got, want)
	}
	var hosts []string
	for _, h := range m.Hosts {
		hosts = append(hosts, h.Name)
	}
	if got := strings.Join(hosts, " "); got != "showcase strict untrimmed" {
		t.Errorf("host order %s", got)
	}
	if len(m.Violations) != 1 || !strings.Contains(m.Violations[0], "payments/fraud@1.3.0 "+abiA+" must load into host showcase but is panic") {
		t.Errorf("violations %q", m.Violations)
	}
	for _, tc := range []struct{ plugin, host, want string }{
		{"labs/hwgate@0.3.0 " + abiA, "untrimmed", "reject"}, // another ABI
		{"labs/hwgate@0.3.0 " + abiA, "strict", "reject"},    // must_reject labs
		{"labs/hwgate@0.3.0 " + abiA, "showcase", ""},
		{"payments/fraud@1.10.0 " + abiA, "strict", "accept"},
		{"payments/fraud@1.10.0 " + abiB, "untrimmed", "reject"}, // must_reject *
		{"payments/fraud@1.10.0 " + abiB, "showcase", "reject"},  // another ABI, though must_accept payments
	} {
		if c := m.Cell(tc.plugin, tc.host); c.Required != tc.want {
			t.Errorf("%s in %s: required %q, want %q", tc.plugin, tc.host, c.Required, tc.want)
		}
	}
	// A must-reject host that loads something is a violation too.
	m.Cell("labs/hwgate@0.3.0 "+abiA, "untrimmed").Outcome = OK
	m.Cell("labs/hwgate@0.3.0 "+abiA, "strict").Outcome = OK
	m.Check()
	all := strings.Join(m.Violations, "\n")
	if len(m.Violations) != 3 || !strings.Contains(all, "labs/hwgate@0.3.0 "+abiA+" is built for ABI "+abiA+" but loads into host untrimmed of ABI "+abiB+": the ABI tags are wrong") ||
		!strings.Contains(all, "labs/hwgate@0.3.0 "+abiA+" must be rejected by host strict but loads") {
		t.Errorf("violations %q", m.Violations)
	}
	m.Judge()
	if got := m.Verdict.Line; got != "NOT ready: 3 violations" {
		t.Errorf("verdict %q", got)
	}
	var found []string
	for _, f := range m.Verdict.Violations {
		found = append(found, f.Version+" in "+f.Host+": "+f.Outcome+": "+f.Reason)
	}
	if got, want := strings.Join(found, "\n"), "labs/hwgate@0.3.0 in strict: ok: the host must reject it, but it loads\n"+
		"labs/hwgate@0.3.0 in untrimmed: ok: built for ABI "+abiA+", it loads into this host of ABI "+abiB+": the ABI tags are wrong\n"+
		"payments/fraud@1.3.0 in showcase: panic: panic: <boom> in plugin.Open\ngoroutine 1 [running]:\nmain.init()"; got != want {
		t.Errorf("violations found:\n%s\nwant:\n%s", got, want)
	}
}

func TestJudge(t *testing.T) {
	m := sample()
	m.Judge()
	v := m.Verdict
	want := map[string]int{ClassPassed: 4, ClassRefused: 3, ClassUnexpected: 1, ClassNotRequired: 1, ClassNotApplicable: 3}
	if v.Ready || v.Line != "NOT ready: 1 violation" || v.Versions != 4 || v.Hosts != 3 || v.OtherABIRefused != 6 || len(v.Regressions) != 0 || len(v.Violations) != 1 || !maps.Equal(v.Counts, want) {
		t.Errorf("verdict %+v", v)
	}
	// Fixed, it is ready, and a host that refuses what it need not load
	// does not stop it.
	c := m.Cell("payments/fraud@1.3.0 "+abiA, "showcase")
	c.Outcome, c.Detail = OK, ""
	m.Judge()
	if v := m.Verdict; !v.Ready || v.Line != "Ready to ship: 4 plugin versions, 3 hosts, every required cell passed" || v.Counts[ClassNotRequired] != 1 || v.Counts[ClassUnexpected] != 0 {
		t.Errorf("verdict %+v", v)
	}
}

func TestWords(t *testing.T) {
	for outcome, want := range map[string]string{OK: "ok", "not-acceptable": "not acceptable", "missing-symbol": "missing symbol", "build-mismatch": "build mismatch",
		"exit": "exited", "timeout": "timed out", "bad-signature": "bad signature", "something-new": "something new", "": "n/a"} {
		if got := Words(outcome); got != want {
			t.Errorf("Words(%q) = %q, want %q", outcome, got, want)
		}
	}
}

func TestParseSchemas(t *testing.T) {
	m := sample()
	m.Schema = SchemaV2
	data, err := json.Marshal(m) // as a v2 matrix was written: no verdict, no changes
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(`"verdict"`)) {
		t.Fatalf("v2 fixture has a verdict: %s", data)
	}
	old, err := Parse(data)
	if err != nil {
		t.Fatalf("a v2 matrix does not parse: %v", err)
	}
	if old.Verdict != nil || len(old.Cells) != len(m.Cells) {
		t.Errorf("parsed v2: %+v", old)
	}
	if _, err := Parse(bytes.Replace(data, []byte(SchemaV2), []byte("plugship.compat/v1"), 1)); err == nil || !strings.Contains(err.Error(), `schema "plugship.compat/v1", want `+Schema) {
		t.Errorf("v1: %v", err)
	}
	cur := sample()
	data, _ = cur.Marshal()
	again, err := Parse(data)
	if err != nil || again.Verdict == nil || again.Verdict.Line != "NOT ready: 1 violation" {
		t.Fatalf("v3 round trip: %v %+v", err, again)
	}
}

func TestShards(t *testing.T) {
	for _, tc := range []struct {
		in  string
		ok  bool
		out Shard
	}{{"1/3", true, Shard{1, 3}}, {"3/3", true, Shard{3, 3}}, {"0/3", false, Shard{}}, {"4/3", false, Shard{}}, {"1/0", false, Shard{}}, {"a/b", false, Shard{}}, {"1/3x", false, Shard{}}, {"01/3", false, Shard{}}} {
		s, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || s != tc.out {
			t.Errorf("ParseShard(%q) = %v, %v", tc.in, s, err)
		}
	}
	full := sample()
	var parts []*Matrix
	for i := 1; i <= 4; i++ { // more shards than some hold cells for
		s := Shard{i, 4}
		p := *full
		p.Shard = &s
		p.Cells = nil
		for j, c := range full.Cells {
			if s.Holds(j) {
				p.Cells = append(p.Cells, c)
			}
		}
		parts = append(parts, &p)
	}
	merged, err := Merge([]*Matrix{parts[2], parts[0], parts[3], parts[1]})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := merged.Marshal()
	b, _ := full.Marshal()
	if !bytes.Equal(a, b) {
		t.Errorf("merged shards differ from the whole:\n%s\n%s", a, b)
	}
	if _, err := Merge(parts[:3]); err == nil || !strings.Contains(err.Error(), "missing shard results: 4/4") {
		t.Errorf("missing shard: %v", err)
	}
	if _, err := Merge([]*Matrix{parts[0], parts[0], parts[1], parts[2]}); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("duplicate shard: %v", err)
	}
	other := *parts[1]
	other.Hosts = []Host{full.Hosts[0], {Name: "untrimmed", SHA256: "cc"}}
	if _, err := Merge([]*Matrix{parts[0], &other, parts[2], parts[3]}); err == nil || !strings.Contains(err.Error(), "tested other hosts or plugin files") {
		t.Errorf("different hosts: %v", err)
	}
}

// A version built from this repository (ABI without a graph part) and
// against each external host's module graph: each external host's file
// is its own graph's build, so the repository's build failing there is no
// violation (issue: the matrix required it in every external column), and
// a build against another host's graph that loads (it links none of the
// modules that differ) is allowed, and said so, not called a violation.
func TestEachHostItsOwnBuild(t *testing.T) {
	const base, g1, g2 = abiA, abiA + "-11111111", abiA + "-22222222"
	m := &Matrix{Schema: Schema, Platform: "linux/amd64", Hosts: []Host{
		{Name: "local", ABI: base, MustAccept: []string{"*"}},
		{Name: "gateway-1", ABI: g1, MustAccept: []string{"*"}},
		{Name: "gateway-2", ABI: g2, MustAccept: []string{"*"}},
	}}
	for _, abi := range []string{base, g1, g2} {
		m.Plugins = append(m.Plugins, Plugin{Team: "core", Plugin: "units", Version: "1.0.0", ABI: abi, SHA256: abi})
	}
	m.Plugins = append(m.Plugins, Plugin{Team: "core", Plugin: "plain", Version: "2.0.0", ABI: base, SHA256: "p"})
	for _, p := range m.Plugins {
		for _, h := range m.Hosts {
			c := Cell{Plugin: p.ID(), Host: h.Name, Outcome: OK}
			// The repository's build links example.org/units v1.0.0; the
			// gateways link v1.1.0 and v1.2.0.
			if p.Plugin == "units" && p.ABI != h.ABI {
				c.Outcome, c.Detail = "build-mismatch", "built differently from this host: module example.org/units"
			}
			m.Cells = append(m.Cells, c)
		}
	}
	m.Sort()
	m.Judge()
	if !m.Verdict.Ready || len(m.Violations) != 0 {
		t.Fatalf("verdict %q, violations %q; want ready: each host's own build loads", m.Verdict.Line, m.Violations)
	}
	if c := m.Cell("core/units@1.0.0 "+base, "gateway-1"); c.Required != "" {
		t.Errorf("the repository's build in gateway-1: required %q, want nothing (gateway-1 takes its own graph's build)", c.Required)
	}
	if c := m.Cell("core/units@1.0.0 "+g1, "gateway-1"); c.Required != "accept" {
		t.Errorf("gateway-1's own build: required %q, want accept", c.Required)
	}
	if c := m.Cell("core/plain@2.0.0 "+base, "gateway-2"); c.Required != "accept" {
		t.Errorf("a version with no build for gateway-2's graph: required %q, want accept (the repository's build is its file)", c.Required)
	}
	// A build for gateway-2's graph that loads into gateway-1: allowed.
	m.Cell("core/units@1.0.0 "+g2, "gateway-1").Outcome, m.Cell("core/units@1.0.0 "+g2, "gateway-1").Detail = OK, ""
	m.Judge()
	line := newView(m).otherABILine()
	if !m.Verdict.Ready || strings.Contains(line, "violations") || !strings.Contains(line, "1 build for another host's module graph loaded, as allowed") {
		t.Errorf("verdict %q, other-ABI line %q", m.Verdict.Line, line)
	}
}

// must_accept and must_reject may name versions: a release manager who
// knows that 2.0.0 is not acceptable on purpose rejects that version, not
// the whole plugin.
func TestSelectsVersions(t *testing.T) {
	p := func(v string) Plugin { return Plugin{Team: "payments", Plugin: "fraud", Version: v} }
	for _, c := range []struct {
		sel, version string
		want         bool
	}{
		{"*", "1.0.0", true}, {"payments", "1.0.0", true}, {"payments/fraud", "1.0.0", true}, {"payments/ledger", "1.0.0", false},
		{"payments/fraud@2.0.0", "2.0.0", true}, {"payments/fraud@2.0.0", "2.0.1", false}, {"payments/fraud@v2.0.0", "2.0.0", true},
		{"payments/fraud@>=1.2.0 <2.0.0", "1.10.0", true}, {"payments/fraud@>=1.2.0 <2.0.0", "2.0.0", false}, {"payments/fraud@>=1.2.0,<2.0.0", "1.1.9", false},
		{"payments/fraud@<2.0.0", "2.0.0-rc.1", true}, {"payments/fraud@!=1.3.0", "1.3.0", false}, {"payments/fraud@>1.3.0", "1.3.1", true},
		{"payments/ledger@2.0.0", "2.0.0", false},
	} {
		if got := Selects(c.sel, p(c.version)); got != c.want {
			t.Errorf("Selects(%q, %s) = %v, want %v", c.sel, c.version, got, c.want)
		}
		if err := CheckSelector(c.sel); err != nil {
			t.Errorf("CheckSelector(%q): %v", c.sel, err)
		}
	}
	for sel, want := range map[string]string{
		"payments@2.0.0":        "team/plugin@versions",
		"payments/fraud@":       `no versions after "@"`,
		"payments/fraud@>=two":  `">=two" is not a version comparison`,
		"payments/fraud@~1.2.0": `"~1.2.0" is not a version comparison`,
		"Payments":              "want \"*\", a team",
	} {
		if err := CheckSelector(sel); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckSelector(%q) = %v, want %q", sel, err, want)
		}
	}
}

// Hosts and plugins that look broken on purpose say so: their notes, and
// for a host no file is built for, that fact, in the console, matrix.md
// and the HTML page.
func TestNotes(t *testing.T) {
	m := sample()
	m.Hosts[2].Note = "built without -trimpath on purpose"
	m.Hosts = append(m.Hosts, Host{Name: "future", ABI: "go1.26.8-cccccccc", MustReject: []string{"*"}, Note: "looks up a future contract"})
	for i := range m.Plugins {
		if m.Plugins[i].Plugin == "hwgate" {
			m.Plugins[i].Note = "not acceptable on purpose"
		}
	}
	m.Sort()
	m.Judge()
	var console bytes.Buffer
	m.Grid(&console)
	html, err := m.HTML()
	if err != nil {
		t.Fatal(err)
	}
	m.Hosts[len(m.Hosts)-1].Note += ", and a note long enough to wrap: " + strings.Repeat("words that go on ", 10)
	var wrapped bytes.Buffer
	m.Grid(&wrapped)
	for _, l := range strings.Split(wrapped.String(), "\n") {
		if strings.HasPrefix(l, "  host ") || strings.HasPrefix(l, "    ") {
			if n := len([]rune(l)); n > 100 {
				t.Errorf("a note line of %d columns, over 100:\n%s", n, l)
			}
		}
	}
	for where, text := range map[string]string{"console": console.String(), "matrix.md": m.Markdown(), "matrix.html": string(html)} {
		for _, want := range []string{
			"host untrimmed", "built without -trimpath on purpose",
			"host future", "no plugin file is built for its ABI go1.26.8-cccccccc; looks up a future contract",
			"plugin labs/hwgate", "not acceptable on purpose",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q:\n%s", where, want, text)
			}
		}
	}
}
