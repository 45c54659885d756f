package stale

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/teams"
)

const abi = "go1.26.8-1a2b3c4d"

func name(plugin, version string) string {
	return plugin + "_v" + version + "_linux_amd64_" + abi + ".so"
}

// registry: team pay lists fraud 1.3.0 (and 1.2.0) and ledger 2.0.0; team
// labs lists uptime 1.0.0 and its manifest has a problem; team gone has
// none.
func registry() (*teams.Registry, error) {
	reg := &teams.Registry{Teams: []*teams.Team{
		{Name: "pay", File: "teams/pay/team.yaml", Plugins: []*teams.Plugin{
			{Team: "pay", Name: "fraud", Version: "1.3.0", Previous: []teams.Release{{Version: "1.2.0"}}},
			{Team: "pay", Name: "ledger", Version: "2.0.0"},
		}},
		{Name: "labs", File: "teams/labs/team.yaml", Plugins: []*teams.Plugin{
			{Team: "labs", Name: "uptime", Version: "1.0.0"},
		}},
	}}
	return reg, teams.Problems{{File: "teams/labs/team.yaml", Line: 7, Field: "plugins[1].version", Msg: "bad"}}
}

func TestSplit(t *testing.T) {
	dist := "/d"
	in := func(team, plugin, base string) string { return filepath.Join(dist, "plugins", team, plugin, base) }
	files := []string{
		in("pay", "fraud", name("fraud", "1.3.0")),                          // claimed
		in("pay", "fraud", name("fraud", "1.3.0")+".sig"),                   // claimed, beside it
		in("pay", "fraud", "fraud_v1.3.0_linux_arm64_go1.25.5-00000000.so"), // another platform and ABI: claimed
		in("pay", "fraud", name("fraud", "1.2.0")),                          // an older release still listed
		in("pay", "fraud", name("fraud", "1.1.0")),                          // a removed version
		in("pay", "fraud", name("fraud", "1.1.0")+".json"),                  // its metadata
		in("pay", "fraud", name("fraud", "1.0.0")+".sigstore.json"),         // left beside a .so already gone
		in("pay", "fraud", ".fraud_v1.1.0_x.so123456"),                      // a temporary file: not ours
		in("pay", "fraud", "notes.txt"),                                     // not a plugin's: not ours
		in("pay", "old", name("old", "1.0.0")),                              // a removed plugin
		in("pay", "uptime", name("uptime", "1.0.0")),                        // a plugin now another team's
		in("labs", "uptime", name("uptime", "1.0.0")),                       // claimed in a team with problems
		in("labs", "gone", name("gone", "1.0.0")),                           // unclaimed in a team with problems: held
		in("gone", "x", name("x", "1.0.0")),                                 // a removed team
		in("gone", "y", name("y", "2.0.0")+".intoto.json"),
		filepath.Join(dist, "plugins", "stray.so"), // not in a plugin folder
	}
	claimed, groups := New(registry()).Split(dist, files)
	wantClaimed := []string{files[0], files[1], files[2], files[3], files[7], files[8], files[11], files[15]}
	if strings.Join(claimed, "\n") != strings.Join(wantClaimed, "\n") {
		t.Errorf("claimed:\n%s\nwant:\n%s", strings.Join(claimed, "\n"), strings.Join(wantClaimed, "\n"))
	}
	var out bytes.Buffer
	if n := Report(&out, groups); n != 5 {
		t.Errorf("Report counted %d plugin files, want 5", n)
	}
	want := `  skipped    1 file of team gone (x, y), stale: no longer in teams/ (no team gone); go run mage.go build moves them to dist/.stale/
  skipped    1 file of team labs (gone): teams/labs/team.yaml has problems (listed above); they are kept as they are until it is fixed
  skipped    1 file of pay/fraud v1.1.0, v1.0.0, stale: no longer in teams/pay/team.yaml, which lists v1.3.0, v1.2.0; go run mage.go build moves them to dist/.stale/
  skipped    1 file of pay/old, stale: no longer in teams/pay/team.yaml; go run mage.go build moves them to dist/.stale/
  skipped    1 file of pay/uptime, stale: no longer in teams/pay/team.yaml (plugin uptime is now team labs's); go run mage.go build moves them to dist/.stale/
`
	if out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
	for _, g := range groups {
		if g.Rel() == "pay/fraud" && len(g.Files) != 3 {
			t.Errorf("pay/fraud's stale files: %q, want the 1.1.0 .so, its metadata, and the 1.0.0 bundle", g.Files)
		}
	}
}

func TestUnreadableRegistryClaimsEverything(t *testing.T) {
	reg, _ := registry()
	for _, err := range []error{errors.New("reading the team registry: permission denied"), teams.Problems{{File: "plugship.yaml", Msg: "x"}}} {
		c := New(reg, err)
		if k := c.Kind("/d", "/d/plugins/gone/x/"+name("x", "1.0.0")); k != Claimed {
			t.Errorf("with registry error %q: kind %v, want Claimed", err, k)
		}
	}
	if k := New(nil, nil).Kind("/d", "/d/plugins/gone/x/"+name("x", "1.0.0")); k != Claimed {
		t.Errorf("no registry: kind %v, want Claimed", k)
	}
}

func TestPluginFile(t *testing.T) {
	so := name("fraud", "1.0.0-rc.so")
	for in, want := range map[string]string{
		so:                     so,
		so + ".sig":            so,
		so + ".sigstore.json":  so,
		so + ".x.so.sig":       so,
		"fraud.so":             "",
		"fraud_v1.0.0.so.json": "",
		"." + so + "123":       "",
		"README.md":            "",
	} {
		if got := PluginFile(in); got != want {
			t.Errorf("PluginFile(%q) = %q, want %q", in, got, want)
		}
	}
}
