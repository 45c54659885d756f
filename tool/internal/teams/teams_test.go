package teams

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const good = `name: payments
owners:
  - "@payments-leads"
  - oncall@example.com
plugins:
  - name: fraud
    source: payments/fraud
    version: 1.3.0
    previous:
      - version: 1.2.0
        source: payments/fraud-1.2
      - version: 1.3.0-rc.1
        source: payments/fraud-rc
  - name: ledger
    source: payments/ledger
    version: 2.0.1+build.7
`

func TestParseGood(t *testing.T) {
	team, ps := Parse("teams/payments/team.yaml", []byte(good))
	if len(ps) > 0 {
		t.Fatalf("problems: %v", ps)
	}
	if team.Name != "payments" || len(team.Owners) != 2 || len(team.Plugins) != 2 {
		t.Fatalf("team = %+v", team)
	}
	fraud := team.Plugins[0]
	var got []string
	for _, r := range fraud.Releases() {
		got = append(got, r.Version+"@"+r.Source)
	}
	want := "1.3.0@payments/fraud 1.3.0-rc.1@payments/fraud-rc 1.2.0@payments/fraud-1.2"
	if strings.Join(got, " ") != want {
		t.Errorf("releases = %v, want newest first %s", got, want)
	}
	if fraud.ID() != "payments/fraud" || fraud.Team != "payments" {
		t.Errorf("ID = %s, Team = %s", fraud.ID(), fraud.Team)
	}
}

// TestParseProblems checks that each mistake is reported with file, line and
// field, and that what is wrong decides what is dropped.
func TestParseProblems(t *testing.T) {
	for _, tc := range []struct {
		name     string
		yaml     string
		want     []string // substrings of the problems, in order
		team     bool     // the team is still usable
		plugins  int      // usable plugins
		previous int      // usable previous releases of the first plugin
	}{
		{name: "empty", yaml: "", want: []string{"teams/payments/team.yaml: empty manifest"}},
		{name: "comments only", yaml: "# nothing\n", want: []string{"empty manifest"}},
		{name: "not yaml", yaml: "name: [", want: []string{"not valid YAML"}},
		{name: "not a mapping", yaml: "- a\n- b\n", want: []string{":1: want a mapping with name, owners, plugins, signing, found a list"}},
		{name: "two documents", yaml: good + "---\nname: x\n", want: []string{"more than one YAML document"}, team: true, plugins: 2, previous: 2},
		{name: "unknown top-level field", yaml: good + "ownrs: []\n", want: []string{":17: ownrs: unknown field (known fields: name, owners, plugins, signing)"}, team: true, plugins: 2, previous: 2},
		{name: "unknown plugin field", yaml: strings.Replace(good, "    source: payments/ledger", "    source: payments/ledger\n    sorce: x", 1),
			want: []string{":16: plugins[1].sorce: unknown field (known fields: name, source, version, previous, note)"}, team: true, plugins: 2, previous: 2},
		{name: "missing name", yaml: strings.Replace(good, "name: payments\n", "", 1), want: []string{"teams/payments/team.yaml:1: name: missing"}},
		{name: "name with separator", yaml: strings.Replace(good, "name: payments", "name: pay/ments", 1), want: []string{`:1: name: "pay/ments" must be 1-64 characters`}},
		{name: "name traversal", yaml: strings.Replace(good, "name: payments", "name: ..", 1), want: []string{`name: ".." must be`}},
		{name: "name upper case", yaml: strings.Replace(good, "name: payments", "name: Payments", 1), want: []string{`name: "Payments" must be`}},
		{name: "name not the folder", yaml: strings.Replace(good, "name: payments", "name: billing", 1), want: []string{`name: "billing" does not match the manifest's folder "payments"`}},
		{name: "owners missing", yaml: strings.Replace(good, "owners:\n  - \"@payments-leads\"\n  - oncall@example.com\n", "", 1), want: []string{"owners: missing"}},
		{name: "owners empty", yaml: strings.Replace(good, "owners:\n  - \"@payments-leads\"\n  - oncall@example.com\n", "owners: []\n", 1), want: []string{"owners: empty"}},
		{name: "owner not a handle", yaml: strings.Replace(good, "oncall@example.com", "bob", 1), want: []string{`:4: owners[1]: "bob" is not a GitHub handle`}},
		{name: "plugins not a list", yaml: "name: payments\nowners: [\"@a\"]\nplugins: fraud\n", want: []string{":3: plugins: want a list, found a single value"}},
		{name: "no plugins", yaml: "name: payments\nowners: [\"@a\"]\nplugins: []\n", team: true},
		{name: "keyless", yaml: "name: payments\nowners: [\"@a\"]\nplugins: []\nsigning:\n  keyless: true\n  identities:\n    - issuer: https://token.actions.githubusercontent.com\n      subject_regexp: ^https://github\\.com/acme/plugins/\\.github/workflows/release\\.yml@refs/tags/payments/.*$\n", team: true},
		{name: "keyless without identities", yaml: "name: payments\nowners: [\"@a\"]\nplugins: []\nsigning:\n  keyless: true\n",
			want: []string{":5: signing.identities: missing: a keyless team names the identities that sign its files"}},
		{name: "identity problems", yaml: "name: payments\nowners: [\"@a\"]\nplugins: []\nsigning:\n  keyless: yes\n  identities:\n    - subject: x\n    - issuer: i\n      subject_regexp: acme\n    - issuer: i\n      subject: a\n      subject_regexp: ^a$\n      ref: [x]\n",
			want: []string{":5: signing.keyless: want true or false", ":7: signing.identities[0].issuer: missing; GitHub Actions' is https://token.actions.githubusercontent.com",
				`:8: signing.identities[1].subject_regexp: "acme": anchor it with ^ and $`, ":13: signing.identities[2].ref: want a single value, found a list"}},
		{name: "bad semver", yaml: strings.Replace(good, "version: 1.3.0\n", "version: 1.3\n", 1),
			want: []string{`:8: plugins[0].version: "1.3" is not semver`}, team: true, plugins: 1},
		{name: "leading v", yaml: strings.Replace(good, "version: 1.3.0\n", "version: v1.3.0\n", 1),
			want: []string{`plugins[0].version: "v1.3.0": write the version without the leading "v" (1.3.0)`}, team: true, plugins: 1},
		{name: "version a list", yaml: strings.Replace(good, "version: 1.3.0\n", "version: [1]\n", 1),
			want: []string{`plugins[0].version: want a single value, found a list`}, team: true, plugins: 1},
		{name: "plugin name bad", yaml: strings.Replace(good, "name: ledger", "name: ../ledger", 1),
			want: []string{`plugins[1].name: "../ledger" must be`}, team: true, plugins: 1, previous: 2},
		{name: "plugin name too long", yaml: strings.Replace(good, "name: ledger", "name: "+strings.Repeat("l", 300), 1),
			want: []string{`plugins[1].name: "llll`, `(300 bytes) must be`}, team: true, plugins: 1, previous: 2},
		{name: "duplicate plugin", yaml: good + "  - name: fraud\n    source: payments/fraud2\n    version: 9.0.0\n",
			want: []string{`:17: plugins[2].name: duplicate plugin "fraud" (first at line 6)`}, team: true, plugins: 2, previous: 2},
		{name: "source absolute", yaml: strings.Replace(good, "source: payments/ledger", "source: /etc", 1),
			want: []string{`plugins[1].source: "/etc" is not a clean relative folder`}, team: true, plugins: 1, previous: 2},
		{name: "source escapes", yaml: strings.Replace(good, "source: payments/ledger", "source: ../internal", 1),
			want: []string{`plugins[1].source: "../internal" is not a clean relative folder`}, team: true, plugins: 1, previous: 2},
		{name: "source unclean", yaml: strings.Replace(good, "source: payments/ledger", "source: payments/../payments/ledger", 1),
			want: []string{`is not a clean relative folder`}, team: true, plugins: 1, previous: 2},
		{name: "previous not older", yaml: strings.Replace(good, "version: 1.2.0", "version: 1.4.0", 1),
			want: []string{`:10: plugins[0].previous[0].version: 1.4.0 is not older than the plugin's version 1.3.0`}, team: true, plugins: 2, previous: 1},
		{name: "previous duplicate", yaml: strings.Replace(good, "version: 1.3.0-rc.1", "version: 1.2.0", 1),
			want: []string{`plugins[0].previous[1].version: version 1.2.0 is listed twice`}, team: true, plugins: 2, previous: 1},
		{name: "previous bad", yaml: strings.Replace(good, "version: 1.2.0", "version: latest", 1),
			want: []string{`plugins[0].previous[0].version: "latest" is not semver`}, team: true, plugins: 2, previous: 1},
		{name: "duplicate key", yaml: good + "name: again\n", want: []string{`:17: name: duplicate field (first at line 1); the first is used`}, team: true, plugins: 2, previous: 2},
		{name: "duplicate block key", yaml: good + "plugins: []\n", want: []string{`:17: plugins: duplicate field (first at line 5); the first is used`}, team: true, plugins: 2, previous: 2},
		{name: "alias", yaml: "name: &n payments\nowners: [\"@a\"]\nplugins:\n  - name: *n\n    source: payments/x\n    version: 1.0.0\n",
			want: []string{`plugins[0].name: want a single value, found a alias`}, team: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			team, ps := Parse("teams/payments/team.yaml", []byte(tc.yaml))
			msg := ps.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("problems\n%s\ndo not contain (in order) %q", msg, w)
				}
				rest = rest[i+len(w):]
			}
			if len(tc.want) == 0 && len(ps) > 0 {
				t.Fatalf("unexpected problems:\n%s", msg)
			}
			if (team != nil) != tc.team {
				t.Fatalf("team usable = %v, want %v (problems: %s)", team != nil, tc.team, msg)
			}
			if team == nil {
				return
			}
			if len(team.Plugins) != tc.plugins {
				t.Fatalf("%d usable plugins, want %d", len(team.Plugins), tc.plugins)
			}
			if tc.plugins > 0 && len(team.Plugins[0].Previous) != tc.previous {
				t.Errorf("%d usable previous releases, want %d", len(team.Plugins[0].Previous), tc.previous)
			}
		})
	}
}

// TestLoadRepository loads this repository's own registry: it must be clean
// and ship what the README promises (3 teams, 7 plugins, 8 versions).
func TestLoadRepository(t *testing.T) {
	reg, err := Load("../../..")
	if err != nil {
		t.Fatal(err)
	}
	versions := 0
	for _, p := range reg.Plugins() {
		versions += len(p.Releases())
	}
	if len(reg.Teams) < 3 || len(reg.Plugins()) < 7 || versions < 8 {
		t.Fatalf("%d teams, %d plugins, %d versions; want at least 3, 7, 8", len(reg.Teams), len(reg.Plugins()), versions)
	}
}

// tree writes files (path -> content) under a new temporary folder.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func manifest(team string, plugins ...string) string {
	return "name: " + team + "\nowners: [\"@" + team + "\"]\nplugins:\n" + strings.Join(plugins, "")
}

func entry(name, source, version string) string {
	return "  - name: " + name + "\n    source: " + source + "\n    version: " + version + "\n"
}

const mainGo = "package main\n\nvar version = \"dev\"\n\nfunc main() {}\n"

func TestLoadProblems(t *testing.T) {
	root := tree(t, map[string]string{
		"teams/acme/team.yaml": manifest("acme",
			entry("good", "acme/good", "1.0.0"),
			entry("missing", "acme/missing", "1.0.0"),
			entry("foreign", "other/thing", "1.0.0"),
			entry("lib", "acme/lib", "1.0.0"),
			entry("empty", "acme/empty", "1.0.0"),
			entry("file", "acme/file.go", "1.0.0"),
			entry("escape", "acme/escape", "1.0.0"),
			entry("shared", "acme/shared", "1.0.0"),
			entry("twin", "acme/good", "2.0.0"),
			"  - name: old\n    source: acme/old\n    version: 2.0.0\n    previous:\n      - version: 1.0.0\n        source: acme/gone\n",
		),
		"teams/other/team.yaml":               manifest("other", entry("shared", "other/shared", "1.0.0"), entry("thing", "other/thing", "1.0.0")),
		"teams/nomanifest/README":             "",
		"teams/Bad_Team/team.yaml":            manifest("bad"),
		"teams/big/team.yaml":                 "name: big\nowners: [\"@big\"]\nplugins: []\n# " + strings.Repeat("x", MaxManifestSize) + "\n",
		"plugin_sources/acme/good/main.go":    mainGo,
		"plugin_sources/acme/lib/lib.go":      "package lib\n",
		"plugin_sources/acme/empty/README.md": "",
		"plugin_sources/acme/file.go":         mainGo,
		"plugin_sources/acme/shared/main.go":  mainGo,
		"plugin_sources/acme/old/main.go":     mainGo,
		"plugin_sources/other/shared/main.go": mainGo,
		"plugin_sources/other/thing/main.go":  mainGo,
		"outside/main.go":                     mainGo,
	})
	if err := os.Symlink(filepath.Join(root, "outside"), filepath.Join(root, "plugin_sources/acme/escape")); err != nil {
		t.Fatal(err)
	}
	reg, err := Load(root)
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("Load error %v (%T), want Problems", err, err)
	}
	msg := ps.Error()
	t.Logf("problems:\n%s", msg)
	for _, want := range []string{
		`teams/acme/team.yaml:7: plugins[1].source: plugin_sources/acme/missing: does not exist`,
		`teams/acme/team.yaml:10: plugins[2].source: plugin_sources/other/thing is outside the team's folder plugin_sources/acme/`,
		`plugins[3].source: plugin_sources/acme/lib is package lib, not a main package`,
		`plugins[4].source: plugin_sources/acme/empty has no Go files`,
		`plugins[5].source: plugin_sources/acme/file.go is a file`,
		`plugins[6].source: plugin_sources/acme/escape resolves (through a symlink) to`,
		`teams/acme/team.yaml:28: plugins[8].source: version 2.0.0 uses source plugin_sources/acme/good, already the source of acme/good v1.0.0`,
		`plugins[9].previous[0].source: plugin_sources/acme/gone: does not exist`,
		`teams/acme/team.yaml:25: plugins[7].name: plugin "shared" is also listed by teams/other/team.yaml`,
		`teams/other/team.yaml:4: plugins[0].name: plugin "shared" is also listed by teams/acme/team.yaml`,
		`teams/nomanifest/team.yaml: missing: every folder under teams/ needs a team.yaml`,
		`teams/Bad_Team: team folder: "Bad_Team" must be`,
		`teams/big/team.yaml: larger than 1048576 bytes`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q", want)
		}
	}
	var got []string
	for _, p := range reg.Plugins() {
		for _, r := range p.Releases() {
			got = append(got, p.ID()+"@"+r.Version)
		}
	}
	if want := "acme/good@1.0.0 acme/old@2.0.0 other/thing@1.0.0"; strings.Join(got, " ") != want {
		t.Errorf("usable plugin versions = %v, want %s", got, want)
	}
}

// TestLoadDirs loads a registry whose folders plugship.yaml renamed: the
// manifests under org/squads/, the sources under src/, and problems name
// those folders.
func TestLoadDirs(t *testing.T) {
	root := tree(t, map[string]string{
		"org/squads/acme/team.yaml": manifest("acme",
			entry("good", "acme/good", "1.0.0"),
			entry("missing", "acme/missing", "1.0.0"),
			entry("twin", "acme/good", "2.0.0"),
			entry("bad", "../x", "1.0.0"),
		),
		"org/squads/nomanifest/README": "",
		"src/acme/good/main.go":        mainGo,
		// The default folders, which must not be read.
		"teams/other/team.yaml":               manifest("other", entry("thing", "other/thing", "1.0.0")),
		"plugin_sources/acme/missing/main.go": mainGo,
	})
	reg, err := LoadDirs(root, "org/squads", "src")
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("LoadDirs error %v (%T), want Problems", err, err)
	}
	msg := ps.Error()
	for _, want := range []string{
		`org/squads/acme/team.yaml:7: plugins[1].source: src/acme/missing: does not exist`,
		`org/squads/acme/team.yaml:10: plugins[2].source: version 2.0.0 uses source src/acme/good, already the source of acme/good v1.0.0`,
		`org/squads/acme/team.yaml:14: plugins[3].source: "../x" is not a clean relative folder under src/`,
		`org/squads/nomanifest/team.yaml: missing: every folder under org/squads/ needs a team.yaml`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q", want)
		}
	}
	if len(ps) != 4 {
		t.Errorf("%d problems, want 4", len(ps))
	}
	if t.Failed() {
		t.Logf("problems:\n%s", msg)
	}
	if reg.TeamsDir != "org/squads" || reg.SourcesDir != "src" || reg.TeamsFolder() != "org/squads" || reg.SourcesFolder() != "src" {
		t.Errorf("registry folders %q %q", reg.TeamsDir, reg.SourcesDir)
	}
	if len(reg.Teams) != 1 || reg.Teams[0].File != "org/squads/acme/team.yaml" || len(reg.Plugins()) != 1 || reg.Plugins()[0].Name != "good" {
		t.Errorf("registry %+v, want team acme (org/squads/acme/team.yaml) with plugin good only", reg.Teams)
	}

	// Load is LoadDirs with the defaults.
	reg, err = Load(root)
	if reg.TeamsDir != Dir || reg.SourcesDir != SourcesDir || len(reg.Teams) != 1 || reg.Teams[0].Name != "other" {
		t.Errorf("Load read %+v (%v), want the default folders", reg, err)
	}
	if (&Registry{}).TeamsFolder() != Dir || (&Registry{}).SourcesFolder() != SourcesDir {
		t.Error("an empty Registry's folders are not the defaults")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("name: payments\nowners: [\"@a\"]\nplugins: []\n"))
	f.Add([]byte("name: &a x\nowners: *a\n"))
	f.Add([]byte("- [a, {b: c}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		team, ps := Parse("teams/payments/team.yaml", data)
		for _, p := range ps {
			if p.File != "teams/payments/team.yaml" || p.Msg == "" {
				t.Fatalf("problem without file or message: %+v", p)
			}
		}
		if team == nil {
			return
		}
		if team.Name != "payments" || len(team.Owners) == 0 {
			t.Fatalf("usable team with name %q, owners %v", team.Name, team.Owners)
		}
		for _, p := range team.Plugins {
			for _, r := range p.Releases() {
				if err := validRelease(p.Name, r); err != nil {
					t.Fatalf("usable plugin %s: %v", p.Name, err)
				}
			}
		}
	})
}

func TestParseListsAtMostFiftyProblems(t *testing.T) {
	data := "name: payments\nowners: [\"@a\"]\nplugins: []\n" + strings.Repeat("x: 1\n", 1000)
	// Every "x" is an unknown field: 1000 problems.
	_, ps := Parse("teams/payments/team.yaml", []byte(data))
	if len(ps) != maxProblems+1 {
		t.Fatalf("%d problems, want %d plus a summary", len(ps), maxProblems)
	}
	if last := ps[len(ps)-1].Error(); last != "teams/payments/team.yaml: 950 more problems not shown; fix the ones above first" {
		t.Errorf("last problem %q", last)
	}
}
