package publish

import (
	"testing"

	"github.com/plugship/plugship/tool/internal/matrix"
)

// TestAcceptance checks the release notes' line on which hosts accept a
// version, against the previous version of the same plugin and ABI.
func TestAcceptance(t *testing.T) {
	const abi, other = "go1.26.8-aaaaaaaa", "go1.25.5-bbbbbbbb"
	p := func(v, abi string) matrix.Plugin {
		return matrix.Plugin{Team: "payments", Plugin: "fraud", Version: v, ABI: abi}
	}
	mx := &matrix.Matrix{Plugins: []matrix.Plugin{p("1.3.0", abi), p("1.2.0", abi), p("1.1.0", abi), p("1.2.5", other), p("1.0.0", other)}}
	cell := func(pl matrix.Plugin, host, outcome string) {
		mx.Cells = append(mx.Cells, matrix.Cell{Plugin: pl.ID(), Host: host, Outcome: outcome})
	}
	cell(mx.Plugins[0], "a", matrix.OK)
	cell(mx.Plugins[0], "b", "not-acceptable")
	cell(mx.Plugins[0], "c", matrix.OK)
	cell(mx.Plugins[1], "a", matrix.OK)
	cell(mx.Plugins[1], "b", matrix.OK)
	cell(mx.Plugins[1], "c", "panic")
	cell(mx.Plugins[2], "a", matrix.OK)
	cell(mx.Plugins[2], "b", matrix.OK)
	cell(mx.Plugins[3], "old", matrix.OK)
	cell(mx.Plugins[4], "old", matrix.OK)
	for _, c := range []struct {
		p    matrix.Plugin
		want string
	}{
		{mx.Plugins[0], "Accepted by a, c. Changed from v1.2.0: no longer accepted by b; newly accepted by c."},
		{mx.Plugins[1], "Accepted by a, b. Unchanged from v1.1.0."},
		{mx.Plugins[2], "Accepted by a, b. No earlier version of fraud for this ABI is in the matrix."},
		{mx.Plugins[3], "Accepted by old. Unchanged from v1.0.0."},
	} {
		if got := acceptance(mx, c.p); got != c.want {
			t.Errorf("acceptance(%s) = %q, want %q", c.p.ID(), got, c.want)
		}
	}
}
