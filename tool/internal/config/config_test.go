package config_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/teams"
)

const mod = "github.com/acme/repo"

// want is one expected problem: its line, field and a part of its message.
type want struct {
	line  int
	field string
	msg   string
}

func TestParseValid(t *testing.T) {
	def := config.Default(mod)
	for _, tc := range []struct {
		name, in string
		want     func(c *config.Config)
	}{
		{"empty file", "", nil},
		{"empty document", "---\n", nil},
		{"comments only", "# nothing here\n\n", nil},
		{"null document", "~\n", nil},
		{"version only", "version: 1\n", nil},
		{"quoted version", "version: \"1\"\n", nil},
		{"empty sections", "contract:\nfolders:\n", nil},
		{"everything", `version: 1
contract:
  package: example.com/acme/contract
  accessor: Greeter
  element: GreeterElement
folders:
  teams: squads
  sources: src
  hosts: compat/hosts.yml
  dist: out
`, func(c *config.Config) {
			c.Contract, c.Accessor, c.Element = "example.com/acme/contract", "Greeter", "GreeterElement"
			c.Teams, c.Sources, c.Hosts, c.Dist = "squads", "src", "compat/hosts.yml", "out"
		}},
		{"the module itself", "contract:\n  package: " + mod + "\n", func(c *config.Config) { c.Contract = mod }},
		{"internal to the module", "contract:\n  package: " + mod + "/internal/contract\n", func(c *config.Config) { c.Contract = mod + "/internal/contract" }},
		{"internal to a parent of the module", "contract:\n  package: github.com/acme/internal/c\n", func(c *config.Config) { c.Contract = "github.com/acme/internal/c" }},
		{"nested folders", "folders:\n  teams: repo/teams\n  sources: repo/src\n  dist: build/dist\n  hosts: repo/hosts.yaml\n", func(c *config.Config) {
			c.Teams, c.Sources, c.Dist, c.Hosts = "repo/teams", "repo/src", "build/dist", "repo/hosts.yaml"
		}},
		{"an anchor", "contract:\n  accessor: &a Greeter\n", func(c *config.Config) { c.Accessor = "Greeter" }},
		{"an alias for a section", "folders: &f {dist: out}\n", func(c *config.Config) { c.Dist = "out" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ps := config.Parse(config.File, []byte(tc.in), mod)
			if len(ps) > 0 {
				t.Fatalf("problems:\n%v", ps)
			}
			w := *def
			w.File = config.File
			if tc.want != nil {
				tc.want(&w)
			}
			if !reflect.DeepEqual(*c, w) {
				t.Errorf("got  %+v\nwant %+v", *c, w)
			}
		})
	}
}

func TestParseProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []want
	}{
		// YAML
		{"bad syntax", "contract:\n  package: a\n   accessor: b: c\n", []want{{3, "", "not valid YAML: mapping values are not allowed"}}},
		{"two documents", "version: 1\n---\nversion: 1\n", []want{{2, "", "more than one YAML document"}}},
		{"root is a list", "- version: 1\n", []want{{1, "", "want a mapping with version, contract, folders, sigstore, publish, index, found a list"}}},
		{"root is a value", "hello\n", []want{{1, "", "found a single value"}}},

		// keys
		{"unknown key, a typo", "contrct:\n  package: a.b/c\n", []want{{1, "contrct", "unknown field; did you mean contract?"}}},
		{"unknown key, a nested typo", "contract:\n  acessor: Greeter\n", []want{{2, "contract.acessor", "did you mean contract.accessor?"}}},
		{"unknown key, a synonym", "folders:\n  output: out\n", []want{{2, "folders.output", "did you mean folders.dist?"}}},
		{"unknown key, another section's", "dist: out\n", []want{{1, "dist", "dist belongs under folders:"}}},
		{"unknown key, a section's synonym at the top", "out: out\n", []want{{1, "out", "did you mean folders.dist? It belongs under folders:"}}},
		{"unknown key, a top-level one nested", "folders:\n  version: 1\n", []want{{2, "folders.version", "version belongs at the top level"}}},
		{"sigstore", "sigstore:\n  fulcio: http://fulcio.example.com\n  rekor: https://rekor.internal.example/\n  trusted_root: ../root.json\n",
			[]want{{2, "sigstore.fulcio", `"http://fulcio.example.com": want an https:// URL (http:// only on loopback)`}, {4, "sigstore.trusted_root", `"../root.json": want a file inside the repository`}}},
		{"unknown key, nothing close", "colour: red\n", []want{{1, "colour", "unknown field (known fields: version, contract, folders, sigstore, publish, index)"}}},
		{"unknown key, an anchor", "contract:\n  accessor: &a Greeter\nx: *a\n", []want{{3, "x", "unknown field"}}},
		{"merge key", "base: &b {dist: out}\nfolders:\n  <<: *b\n", []want{{1, "base", "unknown field"}, {3, "folders.<<", "merge keys are not supported"}}},
		{"duplicate key", "version: 1\nfolders:\n  dist: out\n  dist: build\n", []want{{4, "folders.dist", "duplicate field (first at line 3): keep one of them"}}},
		{"duplicate section", "folders: {dist: out}\nfolders: {dist: out}\n", []want{{2, "folders", "duplicate field (first at line 1)"}}},
		{"a key that is a list", "? [a, b]\n: c\n", []want{{1, "", "a field name must be a single word, found a list"}}},

		// kinds
		{"contract is a value", "contract: example.com/c\n", []want{{1, "contract", `found a single value: write "contract:" alone on its line and "  package: example.com/c" under it`}}},
		{"contract is a list", "contract:\n  - package: a.b/c\n", []want{{2, "contract", `found a list: remove the leading "- "`}}},
		{"folders is a value", "folders: out\n", []want{{1, "folders", `write "folders:" alone on its line`}}},
		{"folders is a list", "folders: [out]\n", []want{{1, "folders", "found a list"}}},
		{"a field is a mapping", "contract:\n  accessor: {name: Greeter}\n", []want{{2, "contract.accessor", "want a single value, such as Showcase, found a mapping"}}},
		{"a field is a list", "folders:\n  dist: [out]\n", []want{{2, "folders.dist", "want a single value, such as dist, found a list"}}},
		{"a field is empty", "folders:\n  dist:\n", []want{{2, "folders.dist", "empty: write a value, such as dist, or remove the line for the default"}}},
		{"version is a list", "version: [1]\n", []want{{1, "version", "want a single value, such as 1"}}},

		// version
		{"version 2", "version: 2\n", []want{{1, "version", `"2" is not a known version: only version 1 exists; write version: 1`}}},
		{"version 1.0", "version: 1.0\n", []want{{1, "version", "only version 1 exists"}}},

		// contract.package
		{"package not an import path", "contract:\n  package: example.com/my contract\n", []want{{2, "contract.package", `"example.com/my contract" is not a valid import path (invalid char ' '): write the contract package's import path, such as github.com/acme/repo/contract`}}},
		{"package with ..", "contract:\n  package: example.com/../c\n", []want{{2, "contract.package", "is not a valid import path"}}},
		{"package like the standard library", "contract:\n  package: contract\n", []want{{2, "contract.package", "first element has no dot, so Go takes it for a standard library package: write the full import path, such as github.com/acme/repo/contract"}}},
		{"package internal to another module", "contract:\n  package: example.com/x/internal/c\n", []want{{2, "contract.package", "internal to example.com/x, so the plugins (github.com/acme/repo/plugin_sources/...) could not import it: move it out of internal/, such as example.com/x/c"}}},
		{"package internal to a sibling folder", "contract:\n  package: " + mod + "/api/internal/c\n", []want{{2, "contract.package", "internal to github.com/acme/repo/api"}}},
		{"package ends in internal", "contract:\n  package: example.com/x/internal\n", []want{{2, "contract.package", "move it out of internal/, such as example.com/x"}}},
		{"sources outside an internal contract", "contract:\n  package: " + mod + "/x/internal/c\nfolders:\n  sources: x/src\n", nil},
		{"package inside sources", "contract:\n  package: " + mod + "/plugin_sources/contract\n", []want{{2, "contract.package", "lies inside folders.sources (plugin_sources)"}}},
		{"sources holding the contract", "folders:\n  sources: contract\n", []want{{2, "folders.sources", "the contract github.com/acme/repo/contract lies inside folders.sources (contract)"}}},
		{"package inside dist", "contract:\n  package: " + mod + "/dist/c\n", []want{{2, "contract.package", "lies inside folders.dist (dist), which is output only"}}},

		// accessor and element
		{"accessor not exported", "contract:\n  accessor: greeter\n", []want{{2, "contract.accessor", `"greeter" is not an exported Go identifier: write a name that starts with an upper-case letter, such as Greeter`}}},
		{"element not an identifier", "contract:\n  element: my-plugin var\n", []want{{2, "contract.element", "such as MyPluginVar"}}},
		{"accessor a keyword", "contract:\n  accessor: func\n", []want{{2, "contract.accessor", "such as Func"}}},
		{"accessor a number", "contract:\n  accessor: 42\n", []want{{2, "contract.accessor", "such as Showcase"}}},
		{"element with a package", "contract:\n  element: contract.Element\n", []want{{2, "contract.element", "such as ContractElement"}}},
		{"accessor equal to element", "contract:\n  accessor: Greeter\n  element: Greeter\n", []want{{3, "contract.element", `"Greeter" is also contract.accessor: the accessor is a function and the element a variable, so they need different names; write another, such as GreeterElement`}}},
		{"accessor equal to the default element", "contract:\n  accessor: ShowcaseElement\n", []want{{2, "contract.accessor", "is also contract.element"}}},

		// folders
		{"absolute folder", "folders:\n  teams: /srv/teams\n", []want{{2, "folders.teams", `"/srv/teams" starts with "/"; folders are relative to the module root: write a slash-separated path inside the module root, such as srv/teams`}}},
		{"folder going up", "folders:\n  dist: ../out\n", []want{{2, "folders.dist", `"../out" leaves the module root: write a slash-separated path inside the module root, such as out`}}},
		{"folder going up inside", "folders:\n  dist: a/../../out\n", []want{{2, "folders.dist", "is not clean"}}},
		{"the root folder", "folders:\n  sources: .\n", []want{{2, "folders.sources", `"." is the module root itself: write a slash-separated path inside the module root, such as plugin_sources`}}},
		{"backslashes", "folders:\n  sources: plugins\\src\n", []want{{2, "folders.sources", "holds a backslash or NUL; folders are slash-separated: write a slash-separated path inside the module root, such as plugins/src"}}},
		{"trailing slash", "folders:\n  teams: squads/\n", []want{{2, "folders.teams", "is not clean (no \"..\", \".\", \"//\" or trailing \"/\"): write a slash-separated path inside the module root, such as squads"}}},
		{"dot element", "folders:\n  teams: ./squads\n", []want{{2, "folders.teams", "such as squads"}}},
		{"double slash", "folders:\n  teams: a//b\n", []want{{2, "folders.teams", "such as a/b"}}},
		{"empty folder", "folders:\n  dist: \"\"\n", []want{{2, "folders.dist", `"" is empty`}}},
		{"hosts not YAML", "folders:\n  hosts: compat/hosts.json\n", []want{{2, "folders.hosts", "is not a YAML file: write a path ending in .yaml or .yml, such as compat/hosts.yaml"}}},
		{"hosts is this file", "folders:\n  hosts: plugship.yaml\n", []want{{2, "folders.hosts", "is this configuration"}}},
		{"hosts inside dist", "folders:\n  hosts: dist/hosts.yaml\n", []want{{2, "folders.hosts", "is inside folders.dist (dist), which is output only and deleted by clean: write a path outside it, such as compat/hosts.yaml"}}},
		{"dist holding hosts", "folders:\n  dist: compat\n", []want{{2, "folders.dist", "holds folders.hosts (compat/hosts.yaml)"}}},
		{"sources not in an import path", "folders:\n  sources: my sources\n", []want{{2, "folders.sources", `cannot be part of an import path (invalid char ' '), and every plugin is built as github.com/acme/repo/my sources/<team>/<plugin>/...`}}},
		{"dist equal to teams", "folders:\n  dist: teams\n", []want{{2, "folders.dist", `"teams" is also folders.teams (teams): dist is output only and is deleted by clean; write a folder of its own, such as dist`}}},
		{"dist inside sources", "folders:\n  sources: src\n  dist: src/out\n", []want{{3, "folders.dist", `"src/out" is inside folders.sources (src)`}}},
		{"dist holding sources", "folders:\n  dist: out\n  sources: out/src\n", []want{{3, "folders.sources", `"out/src" is inside folders.dist (out)`}}},
		{"dist holding teams, the default", "folders:\n  dist: build\n  teams: build/teams\n", []want{{3, "folders.teams", "is inside folders.dist (build)"}}},
		{"teams equal to sources", "folders:\n  teams: src\n  sources: src\n", []want{{3, "folders.sources", `"src" is also folders.teams (src): team manifests and plugin sources need folders of their own`}}},
		{"sources inside teams", "folders:\n  sources: teams/src\n", []want{{2, "folders.sources", `"teams/src" is inside folders.teams (teams)`}}},
		{"teams inside sources", "folders:\n  teams: plugin_sources/teams\n", []want{{2, "folders.teams", "is inside folders.sources (plugin_sources)"}}},
		{"a suggestion that is free", "folders:\n  dist: plugin_sources\n  teams: dist\n", []want{{2, "folders.dist", "such as out"}}},

		// everything at once
		{"every problem listed", `version: 3
contract:
  package: example.com/x/internal/c
  accessor: greeter
  element: my-var
  acessor: X
folders:
  teams: /teams
  src: x
  dist: teams/out
  hosts: hosts.json
`, []want{
			{1, "version", "only version 1"},
			{3, "contract.package", "internal to example.com/x"},
			{4, "contract.accessor", "such as Greeter"},
			{5, "contract.element", "such as MyVar"},
			{6, "contract.acessor", "did you mean contract.accessor?"},
			{8, "folders.teams", `starts with "/"`},
			{9, "folders.src", "did you mean folders.sources?"},
			{10, "folders.dist", "is inside folders.teams (teams)"},
			{11, "folders.hosts", "not a YAML file"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ps := config.Parse(config.File, []byte(tc.in), mod)
			check(t, ps, tc.want)
			if c == nil {
				t.Fatal("Parse returned no configuration")
			}
			if len(ps) > 0 {
				if _, again := config.Parse(config.File, []byte(render(c)), mod); len(again) > 0 {
					t.Errorf("the valid fields and defaults of a configuration with problems have problems:\n%v", again)
				}
			}
		})
	}
}

// check compares problems with the wanted ones, in order.
func check(t *testing.T, ps teams.Problems, ws []want) {
	t.Helper()
	for i, p := range ps {
		if p.File != config.File {
			t.Errorf("problem %d: file %q, want %q", i, p.File, config.File)
		}
		if i >= len(ws) {
			t.Errorf("unexpected problem: %v", p)
			continue
		}
		w := ws[i]
		if p.Line != w.line || p.Field != w.field || !strings.Contains(p.Msg, w.msg) {
			t.Errorf("problem %d:\n got %v\nwant %s:%d: %s: ...%s...", i, p, config.File, w.line, w.field, w.msg)
		}
	}
	for _, w := range ws[min(len(ps), len(ws)):] {
		t.Errorf("missing problem: line %d, %s: %s", w.line, w.field, w.msg)
	}
}

func TestParseSize(t *testing.T) {
	data := []byte("# " + strings.Repeat("x", config.MaxSize) + "\n")
	_, ps := config.Parse(config.File, data, mod)
	check(t, ps, []want{{0, "", "larger than 1048576 bytes"}})
}

func TestParseManyProblems(t *testing.T) {
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "unknown%d: x\n", i)
	}
	_, ps := config.Parse(config.File, []byte(b.String()), mod)
	if len(ps) != 51 || !strings.Contains(ps[50].Msg, "10 more problems not shown") {
		t.Errorf("got %d problems, last %v; want 50 and a count of the rest", len(ps), ps[len(ps)-1])
	}
}

func TestProblemFormat(t *testing.T) {
	_, ps := config.Parse(config.File, []byte("version: 1\n\n\n\n\ncontract:\n  accessor: greeter\n"), mod)
	const want = `plugship.yaml:7: contract.accessor: "greeter" is not an exported Go identifier: write a name that starts with an upper-case letter, such as Greeter`
	if ps.Error() != want {
		t.Errorf("got  %s\nwant %s", ps.Error(), want)
	}
}

func TestDefault(t *testing.T) {
	want := config.Config{
		Module: mod, Contract: mod + "/contract", Accessor: "Showcase", Element: "ShowcaseElement",
		Teams: "teams", Sources: "plugin_sources", Hosts: "compat/hosts.yaml", Dist: "dist",
		Fulcio: "https://fulcio.sigstore.dev", Rekor: "https://rekor.sigstore.dev",
		IndexExpiry: 7 * 24 * time.Hour,
	}
	if c := config.Default(mod); !reflect.DeepEqual(*c, want) {
		t.Errorf("got  %+v\nwant %+v", *c, want)
	}
	if teams.Dir != config.DefaultTeams || teams.SourcesDir != config.DefaultSources {
		t.Errorf("the teams package's folders %s, %s differ from the defaults", teams.Dir, teams.SourcesDir)
	}
}

func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		f := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	const gomod = "module " + mod + "\n\ngo 1.25\n"

	t.Run("no file", func(t *testing.T) {
		dir := writeModule(t, map[string]string{"go.mod": gomod})
		c, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := *config.Default(mod)
		want.Root = dir
		if !reflect.DeepEqual(*c, want) {
			t.Errorf("got  %+v\nwant %+v", *c, want)
		}
		if c.TeamsDir() != filepath.Join(dir, "teams") || c.SourcesDir() != filepath.Join(dir, "plugin_sources") ||
			c.HostsFile() != filepath.Join(dir, "compat", "hosts.yaml") || c.DistDir() != filepath.Join(dir, "dist") {
			t.Errorf("folders %s %s %s %s", c.TeamsDir(), c.SourcesDir(), c.HostsFile(), c.DistDir())
		}
	})

	t.Run("a file", func(t *testing.T) {
		dir := writeModule(t, map[string]string{"go.mod": gomod, "plugship.yaml": "folders:\n  teams: org/squads\n  dist: out\n"})
		c, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if c.Root != dir || c.File != config.File || c.Teams != "org/squads" || c.Dist != "out" || c.Sources != "plugin_sources" {
			t.Errorf("got %+v", *c)
		}
		if c.TeamsDir() != filepath.Join(dir, "org", "squads") || c.Path("a/b") != filepath.Join(dir, "a", "b") {
			t.Errorf("TeamsDir %s, Path %s", c.TeamsDir(), c.Path("a/b"))
		}
	})

	t.Run("relative root", func(t *testing.T) {
		dir := writeModule(t, map[string]string{"go.mod": gomod})
		t.Chdir(dir)
		for _, root := range []string{"", "."} {
			c, err := config.Load(root)
			if err != nil {
				t.Fatal(err)
			}
			if c.Root != dir {
				t.Errorf("Load(%q).Root = %s, want %s", root, c.Root, dir)
			}
		}
	})

	t.Run("problems", func(t *testing.T) {
		dir := writeModule(t, map[string]string{"go.mod": gomod, "plugship.yaml": "version: 2\nfolders:\n  dist: /out\n"})
		c, err := config.Load(dir)
		var ps teams.Problems
		if c != nil || !errors.As(err, &ps) || len(ps) != 2 {
			t.Fatalf("got %v, %v; want no configuration and 2 problems", c, err)
		}
		if !strings.HasPrefix(err.Error(), "plugship.yaml:1: version:") || !strings.Contains(err.Error(), "\nplugship.yaml:3: folders.dist:") {
			t.Errorf("error:\n%v", err)
		}
	})

	t.Run("too large", func(t *testing.T) {
		dir := writeModule(t, map[string]string{"go.mod": gomod, "plugship.yaml": strings.Repeat("#\n", config.MaxSize)})
		if _, err := config.Load(dir); err == nil || !strings.Contains(err.Error(), "plugship.yaml: larger than") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("no go.mod", func(t *testing.T) {
		dir := t.TempDir()
		_, err := config.Load(dir)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no go.mod in "+dir+": run plugship from the module root") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("no module line", func(t *testing.T) {
		dir := writeModule(t, map[string]string{"go.mod": "go 1.25\n"})
		if _, err := config.Load(dir); err == nil || !strings.Contains(err.Error(), "no module line") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("plugship.yml", func(t *testing.T) {
		dir := writeModule(t, map[string]string{"go.mod": gomod, "plugship.yml": "version: 1\n"})
		if _, err := config.Load(dir); err == nil || !strings.Contains(err.Error(), "rename it to plugship.yaml") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("a folder", func(t *testing.T) {
		dir := writeModule(t, map[string]string{"go.mod": gomod, "plugship.yaml/x": ""})
		if _, err := config.Load(dir); err == nil {
			t.Error("a folder called plugship.yaml was read as a configuration")
		}
	})
}

func TestOr(t *testing.T) {
	dir := writeModule(t, map[string]string{"go.mod": "module example.com/m\n", "plugship.yaml": "folders: {dist: out}\n"})
	c, err := config.Or(nil, dir)
	if err != nil || c.Dist != "out" || c.Root != dir {
		t.Fatalf("Or(nil) = %+v, %v", c, err)
	}
	given := config.Default("example.com/other")
	got, err := config.Or(given, dir)
	if err != nil || got.Module != "example.com/other" || got.Root != dir || given.Root != "" {
		t.Errorf("Or(given) = %+v, %v; given %+v", got, err, given)
	}
	given.Root = "/elsewhere"
	if got, _ := config.Or(given, dir); got.Root != "/elsewhere" {
		t.Errorf("Or replaced the given Root: %s", got.Root)
	}
}

// render writes c as a configuration file.
func render(c *config.Config) string {
	type contract struct {
		Package  string `yaml:"package"`
		Accessor string `yaml:"accessor"`
		Element  string `yaml:"element"`
	}
	type folders struct {
		Teams   string `yaml:"teams"`
		Sources string `yaml:"sources"`
		Hosts   string `yaml:"hosts"`
		Dist    string `yaml:"dist"`
	}
	data, err := yaml.Marshal(struct {
		Version  int      `yaml:"version"`
		Contract contract `yaml:"contract"`
		Folders  folders  `yaml:"folders"`
	}{1, contract{c.Contract, c.Accessor, c.Element}, folders{c.Teams, c.Sources, c.Hosts, c.Dist}})
	if err != nil {
		panic(err)
	}
	return string(data)
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"version: 1\ncontract:\n  package: example.com/acme/contract\n  accessor: Greeter\n  element: GreeterElement\nfolders:\n  teams: teams\n  sources: plugin_sources\n  hosts: compat/hosts.yaml\n  dist: dist\n",
		"folders: {teams: squads, sources: src, dist: out}\n",
		"contract:\n  package: github.com/acme/repo/internal/c\n  accessor: greeter\n",
		"folders:\n  dist: teams/out\n  hosts: ../x.json\n",
		"a: &a [*a]\n",
		"contract: *x\n",
		"? [a]\n: b\n",
		"version: 2\nversion: 1\n---\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, ps := config.Parse(config.File, []byte(in), mod)
		if c == nil {
			t.Fatal("no configuration")
		}
		lines := 1 // YAML breaks lines at \n, \r and the Unicode line breaks
		for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += strings.Count(in, br)
		}
		for _, p := range ps {
			if p.File != config.File || p.Msg == "" || p.Line < 0 || p.Line > lines+1 {
				t.Errorf("malformed problem %#v", p)
			}
		}
		// Whatever the input, the configuration returned (valid fields,
		// defaults for the rest) is valid and reads back the same.
		c.File = config.File
		again, ps2 := config.Parse(config.File, []byte(render(c)), mod)
		if len(ps2) > 0 {
			t.Fatalf("input %q gave %+v, whose rendering has problems:\n%v", in, *c, ps2)
		}
		if !reflect.DeepEqual(again, c) {
			t.Errorf("rendered and read back:\n got %+v\nwant %+v", *again, *c)
		}
	})
}

// A contract made of symbols, as a host that someone else releases
// defines it (Nakama's InitModule), and what is wrong with bad ones, each
// named with its line and field.
func TestParseSymbols(t *testing.T) {
	c, ps := config.Parse(config.File, []byte(`version: 1
contract:
  package: github.com/heroiclabs/nakama-common/runtime
  symbols:
    - InitModule func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error
    - Settings *api.Config
  imports:
    - github.com/heroiclabs/nakama-common/api
`), mod)
	if len(ps) > 0 {
		t.Fatalf("problems:\n%v", ps)
	}
	if c.Accessor != "" || c.Element != "" || len(c.Symbols) != 2 || c.Symbols[0].Name != "InitModule" || !c.Symbols[1].Var() {
		t.Fatalf("got accessor %q element %q symbols %v", c.Accessor, c.Element, c.Symbols)
	}
	want := map[string]string{"context": "context", "runtime": "github.com/heroiclabs/nakama-common/runtime", "sql": "database/sql", "api": "github.com/heroiclabs/nakama-common/api"}
	if !reflect.DeepEqual(c.Imports, want) {
		t.Errorf("imports %v, want %v", c.Imports, want)
	}

	type want1 struct {
		line  int
		field string
		msg   string
	}
	for _, tc := range []struct {
		name, in string
		want     []want1
	}{
		{"a bad type", "contract:\n  package: example.com/host/api\n  symbols:\n    - Init func(api.Logger\n", []want1{{4, "contract.symbols[0]", `the type of Init, "func(api.Logger", is not Go`}}},
		{"no type", "contract:\n  package: example.com/host/api\n  symbols:\n    - Init\n    - Other func()\n", []want1{{4, "contract.symbols[0]", "has no type"}}},
		{"an unknown package", "contract:\n  package: example.com/host/api\n  symbols:\n    - Init func(*rand.Rand)\n", []want1{{4, "contract.symbols", "list their import paths under contract.imports"}}},
		{"unqualified", "contract:\n  package: example.com/host/api\n  symbols:\n    - Init func(Logger)\n", []want1{{4, "contract.symbols[0]", "Logger is neither a predeclared type nor qualified by its package: write it as pkg.Logger"}}},
		{"twice", "contract:\n  package: example.com/host/api\n  symbols:\n    - Init func()\n    - Init func() error\n", []want1{{5, "contract.symbols[1]", "Init is also listed at line 4"}}},
		{"with an accessor", "contract:\n  package: example.com/host/api\n  accessor: Greeter\n  symbols:\n    - Init func()\n", []want1{{3, "contract.accessor", "a contract is either symbols (contract.symbols, line 5) or an accessor and an element: remove contract.accessor"}}},
		{"not a list", "contract:\n  package: example.com/host/api\n  symbols: Init func()\n", []want1{{3, "contract.symbols", `want a list, one entry per line starting with "- "`}}},
		{"empty", "contract:\n  package: example.com/host/api\n  symbols: []\n", []want1{{3, "contract.symbols", "empty: list the symbols every plugin must export"}}},
		{"imports without symbols", "contract:\n  imports: [database/sql]\n", []want1{{2, "contract.imports", "there are no symbols"}}},
		{"a bad import", "contract:\n  package: example.com/host/api\n  symbols:\n    - Init func()\n  imports:\n    - a b c\n", []want1{{6, "contract.imports[0]", "want an import path, or a package name and an import path"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ps := config.Parse(config.File, []byte(tc.in), mod)
			if len(ps) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(tc.want), ps)
			}
			for i, w := range tc.want {
				if p := ps[i]; p.Line != w.line || p.Field != w.field || !strings.Contains(p.Msg, w.msg) {
					t.Errorf("problem %d: %s:%d %s: %s\nwant line %d field %s with %q", i, p.File, p.Line, p.Field, p.Msg, w.line, w.field, w.msg)
				}
			}
		})
	}
}

func TestPublishRegistry(t *testing.T) {
	c, problems := config.Parse("plugship.yaml", []byte("publish:\n  registry: oci://ghcr.io/acme/plugins\n"), "example.com/acme")
	if len(problems) > 0 || c.Registry != "oci://ghcr.io/acme/plugins" {
		t.Errorf("publish.registry: %q, %v", c.Registry, problems)
	}
	for _, bad := range []string{"ghcr.io/acme/plugins", "oci://ghcr.io", "oci:///plugins", "oci://ghcr.io/acme/plugins@sha256:ab"} {
		if _, problems := config.Parse("plugship.yaml", []byte("publish:\n  registry: "+bad+"\n"), "example.com/acme"); len(problems) == 0 || !strings.Contains(problems.Error(), "oci://<registry>/<repository>") {
			t.Errorf("publish.registry %s: %v, want a problem naming the form", bad, problems)
		}
	}
}

func TestIndexExpires(t *testing.T) {
	c, ps := config.Parse(config.File, []byte("index:\n  expires: 48h\n"), mod)
	if ps != nil || c.IndexExpiry != 48*time.Hour {
		t.Errorf("index.expires: 48h: %v %v", c, ps)
	}
	for _, bad := range []string{"30m", "7d", "1.5h", "-2h"} {
		_, ps := config.Parse(config.File, []byte("index:\n  expires: "+bad+"\n"), mod)
		if ps == nil || !strings.Contains(ps.Error(), "index.expires: \""+bad+"\": want a duration of hours and minutes, at least 1h, such as 168h") {
			t.Errorf("index.expires: %s: %v", bad, ps)
		}
	}
}

func TestIndexIdentities(t *testing.T) {
	good := "index:\n  identities:\n    - issuer: https://token.actions.githubusercontent.com\n      subject_regexp: ^https://github\\.com/acme/plugins/\\.github/workflows/refresh\\.yml@refs/heads/main$\n"
	c, ps := config.Parse(config.File, []byte(good), mod)
	if ps != nil || len(c.IndexIdentities) != 1 || c.IndexIdentities[0].Issuer != "https://token.actions.githubusercontent.com" {
		t.Errorf("index.identities: %+v %v", c.IndexIdentities, ps)
	}
	bad := "index:\n  identities:\n    - issuer: https://token.actions.githubusercontent.com\n      subject_regexp: refresh\n"
	if _, ps := config.Parse(config.File, []byte(bad), mod); ps == nil || !strings.Contains(ps.Error(), "index.identities[0].subject_regexp: \"refresh\": anchor it with ^ and $") {
		t.Errorf("an unanchored index identity: %v", ps)
	}
}
