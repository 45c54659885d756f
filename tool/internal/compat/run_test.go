package compat

import (
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/matrix"
)

// TestAttention checks which cells get a console line of their own when
// the console is quiet.
func TestAttention(t *testing.T) {
	p := matrix.Plugin{Team: "acme", Plugin: "fx", Version: "1.0.0", ABI: "go1.26.8-aaaa"}
	other := p
	other.ABI = "go1.25.5-bbbb"
	host := matrix.Host{Name: "main", ABI: "go1.26.8-aaaa", MustAccept: []string{"acme"}}
	free := matrix.Host{Name: "free", ABI: "go1.26.8-aaaa"}
	refuser := matrix.Host{Name: "refuser", ABI: "go1.26.8-aaaa", MustReject: []string{"acme/fx"}}
	// The version is also built against the gateway's own module graph:
	// there, that build is the one required, not the repository's.
	gateway := matrix.Host{Name: "gateway", ABI: "go1.26.8-aaaa-cccc", MustAccept: []string{"*"}}
	own := p
	own.ABI = gateway.ABI
	req := matrix.NewRequirements([]matrix.Plugin{p, other, own})
	cell := func(p matrix.Plugin, h matrix.Host, outcome string) matrix.Cell {
		return matrix.Cell{Plugin: p.ID(), Host: h.Name, Outcome: outcome, Detail: "first line\nsecond line"}
	}
	for _, tc := range []struct {
		name     string
		p        matrix.Plugin
		h        matrix.Host
		outcome  string
		previous string // "" if the last matrix lacks the cell
		note     string
	}{
		{"required and ok", p, host, matrix.OK, "", ""},
		{"required and refused", p, host, "panic", "", "UNEXPECTED (must load)"},
		{"other ABI, refused as required", other, host, "toolchain-mismatch", "", ""},
		{"other ABI, loads", other, host, matrix.OK, "", "UNEXPECTED (must be refused)"},
		{"must reject, loads", p, refuser, matrix.OK, "", "UNEXPECTED (must be refused)"},
		{"no requirement, refused", p, free, "missing-symbol", "", ""},
		{"no requirement, as last time", p, free, "missing-symbol", "missing-symbol", ""},
		{"no requirement, changed", p, free, "missing-symbol", matrix.OK, "CHANGED (was ok)"},
		{"required, regressed", p, host, "panic", matrix.OK, "UNEXPECTED (must load), CHANGED (was ok)"},
		{"required, fixed", p, host, matrix.OK, "panic", "CHANGED (was panic)"},
		{"the repository's build, refused by a host with its own", p, gateway, "build-mismatch", "", ""},
		{"the host's own build, refused", own, gateway, "build-mismatch", "", "UNEXPECTED (must load)"},
	} {
		c := cell(tc.p, tc.h, tc.outcome)
		previous := map[string]string{}
		if tc.previous != "" {
			previous[c.Key()] = tc.previous
		}
		a := attend(req, tc.p, tc.h, c, previous)
		if got := a.note(); got != tc.note {
			t.Errorf("%s: note %q, want %q", tc.name, got, tc.note)
		}
		if wantDetail := tc.note != "" && tc.outcome != matrix.OK; (a.detail == "first line") != wantDetail {
			t.Errorf("%s: detail %q", tc.name, a.detail)
		}
	}
}

func TestCellSummary(t *testing.T) {
	var tally cellTally
	add := func(n int, outcome string, cached bool, a attention) {
		for range n {
			tally.add(matrix.Cell{Outcome: outcome, Cached: cached}, a)
		}
	}
	add(14, matrix.OK, true, attention{})
	add(32, "toolchain-mismatch", true, attention{})
	add(8, "build-mismatch", false, attention{})
	add(8, "missing-symbol", false, attention{was: matrix.OK})
	add(2, "not-acceptable", false, attention{unexpected: "must load"})
	want := "64 cells (46 from cache) in 1.5s: 14 ok, 50 refused (32 toolchain-mismatch, 8 build-mismatch, 8 missing-symbol, 2 not-acceptable); 2 unexpected, 8 changed since the last run"
	if got := tally.summary(1500*time.Millisecond, true); got != want {
		t.Errorf("verbose summary:\n got %s\nwant %s", got, want)
	}
	// Quiet: one count of cells, the verdict's, follows; no "50 refused"
	// that reads as a failure.
	want = "matrix tried in 1.5s, 71% from cache; 2 unexpected, 8 changed since the last run"
	if got := tally.summary(1500*time.Millisecond, false); got != want {
		t.Errorf("summary:\n got %s\nwant %s", got, want)
	}
}
