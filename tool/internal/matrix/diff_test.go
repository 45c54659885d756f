package matrix

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// previous and current are two matrices a release apart. From previous
// to current: host legacy left and edge came; payments/fraud@1.2.0 left
// and labs/hwgate@0.3.0 came; payments/fraud@1.10.0 stopped loading into
// strict (a regression) and got a build for ABI B (so untrimmed, which
// had nothing to try, now refuses it); strict, which must reject labs,
// loaded labs/hwgate@0.2.0 before (a violation, fixed now); and
// showcase now accepts labs/hwgate@0.2.0 again.
func previousAndCurrent() (previous, current *Matrix) {
	previous, current = sample(), sample()
	previous.Hosts = append(previous.Hosts, Host{Name: "legacy", ABI: abiA, MustAccept: []string{"*"}})
	previous.Plugins = slices.DeleteFunc(previous.Plugins, func(p Plugin) bool {
		return p.VersionID() == "labs/hwgate@0.3.0" || p.ID() == "payments/fraud@1.10.0 "+abiB
	})
	previous.Plugins = append(previous.Plugins, Plugin{Team: "payments", Plugin: "fraud", Version: "1.2.0", ABI: abiA})
	previous.Cells = slices.DeleteFunc(previous.Cells, func(c Cell) bool {
		return strings.HasPrefix(c.Plugin, "labs/hwgate@0.3.0 ") || c.Plugin == "payments/fraud@1.10.0 "+abiB
	})
	for _, p := range previous.Plugins {
		previous.Cells = append(previous.Cells, Cell{Plugin: p.ID(), Host: "legacy", Outcome: OK})
	}
	previous.Cells = append(previous.Cells, Cell{Plugin: "payments/fraud@1.2.0 " + abiA, Host: "showcase", Outcome: OK})
	c := previous.Cell("labs/hwgate@0.2.0 "+abiA, "strict")
	c.Outcome, c.Detail = OK, ""
	// A change in a build for another ABI is not a change of the views.
	previous.Cell("payments/fraud@1.3.0 "+abiA, "untrimmed").Outcome = "toolchain-mismatch"
	previous.Sort()
	previous.Check()

	current.Hosts = append(current.Hosts, Host{Name: "edge", ABI: abiA})
	for _, p := range current.Plugins {
		c := Cell{Plugin: p.ID(), Host: "edge", Outcome: OK}
		if p.ABI != abiA {
			c.Outcome = "toolchain-mismatch"
		}
		current.Cells = append(current.Cells, c)
	}
	c = current.Cell("payments/fraud@1.10.0 "+abiA, "strict")
	c.Outcome, c.Detail = "missing-symbol", "exports neither Plugin nor NewPlugin"
	c = current.Cell("labs/hwgate@0.2.0 "+abiA, "showcase")
	c.Outcome, c.Detail = OK, ""
	current.Sort()
	current.Check()
	return previous, current
}

func TestCompare(t *testing.T) {
	previous, current := previousAndCurrent()
	d := Compare(previous, current, "dist/previous/matrix.json")
	want := &Diff{
		Base:         "dist/previous/matrix.json",
		NewVersions:  []string{"labs/hwgate@0.3.0"},
		GoneVersions: []string{"payments/fraud@1.2.0"},
		NewHosts:     []string{"edge"},
		GoneHosts:    []string{"legacy"},
		Changed: []Change{ // the regression first, though its row comes after the others'
			{Version: "payments/fraud@1.10.0", Host: "strict", Before: OK, After: "missing-symbol", Regression: true, Reason: "exports neither Plugin nor NewPlugin"},
			{Version: "labs/hwgate@0.2.0", Host: "showcase", Before: "not-acceptable", After: OK},
			{Version: "labs/hwgate@0.2.0", Host: "strict", Before: OK, After: "not-acceptable", Reason: "IsAcceptable() returned false: needs a hardware gate"},
			{Version: "payments/fraud@1.10.0", Host: "untrimmed", Before: "", After: "build-mismatch", Reason: current.Cell("payments/fraud@1.10.0 "+abiB, "untrimmed").Reason()},
		},
	}
	if !reflect.DeepEqual(d, want) {
		got, _ := json.MarshalIndent(d, "", "  ")
		exp, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("Compare:\n%s\nwant:\n%s", got, exp)
	}
	if got := d.Summary(); got != "4 changes, 1 regression; 1 new version, 1 gone; 1 new host, 1 gone" {
		t.Errorf("summary %q", got)
	}
	current.Changes = d
	current.Judge()
	v := current.Verdict
	// fraud@1.10.0 in strict is a regression and a violation: it is listed once.
	if v.Line != "NOT ready: 1 regression, 1 violation" || len(v.Regressions) != 1 || v.Regressions[0].Version != "payments/fraud@1.10.0" || v.Regressions[0].Host != "strict" ||
		len(v.Violations) != 1 || v.Violations[0].Version != "payments/fraud@1.3.0" {
		t.Errorf("verdict %+v", v)
	}
	if len(current.Violations) != 2 {
		t.Errorf("Check's violations %q, want both", current.Violations)
	}

	// Nothing changed: an empty diff, and no version, host or cell in it
	// is null in the JSON.
	same := Compare(current, current, "x")
	if len(same.Changed)+len(same.NewVersions)+len(same.GoneVersions)+len(same.NewHosts)+len(same.GoneHosts) != 0 {
		t.Errorf("a matrix compared with itself: %+v", same)
	}
	if data, _ := json.Marshal(same); bytes.Contains(data, []byte("null")) {
		t.Errorf("empty diff %s", data)
	}
}

// TestCompareWithV2 compares with a matrix of the previous schema, as the
// first release after the upgrade does.
func TestCompareWithV2(t *testing.T) {
	previous, current := previousAndCurrent()
	previous.Schema = SchemaV2
	data, err := json.Marshal(previous)
	if err != nil {
		t.Fatal(err)
	}
	base, err := Parse(data)
	if err != nil {
		t.Fatalf("v2 base: %v", err)
	}
	if got, want := Compare(base, current, "v2"), Compare(previous, current, "v2"); !reflect.DeepEqual(got, want) {
		t.Errorf("compared with the parsed v2 matrix: %+v, want %+v", got, want)
	}
}

func TestDiffText(t *testing.T) {
	previous, current := previousAndCurrent()
	var b bytes.Buffer
	Compare(previous, current, "dist/previous/matrix.json").Text(&b)
	golden(t, "diff.txt", b.Bytes())
	if first, _, _ := strings.Cut(b.String(), "\n"); first != "4 changes, 1 regression; 1 new version, 1 gone; 1 new host, 1 gone" {
		t.Errorf("first line %q", first)
	}
}
