package scaffold

import (
	"bytes"
	"context"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/modfile"

	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/teams"
)

// wantFiles is what Init writes, go.sum aside (go mod tidy writes it).
var wantFiles = []string{
	".github/workflows/ci.yml",
	".github/workflows/refresh.yml",
	".github/workflows/release.yml",
	".github/workflows/yank.yml",
	".gitignore",
	"README.md",
	"compat/hosts.yaml",
	"compat/hosts/greet/main.go",
	"contract/contract.go",
	"contract/doc.go",
	"contract/go.mod",
	"go.mod",
	"mage.go",
	"magefiles/go.mod",
	"magefiles/magefile.go",
	"plugin_sources/core/hello/main.go",
	"plugin_sources/core/hello/main_test.go",
	"plugship.yaml",
	"teams/core/team.yaml",
}

// forbidden are strings no scaffolded file may contain: an adopter's
// repository depends only on plugship's public packages.
var forbidden = []string{"plugship/plugship/internal", "plugship/plugship/contract"}

// plugshipRoot is the plugship checkout the tests run in (plugtest.Root).
func plugshipRoot(t *testing.T) string {
	t.Helper()
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// initOffline runs Init without go mod tidy.
func initOffline(t *testing.T, opts Options) error {
	t.Helper()
	opts.skipTidy = true
	return Init(context.Background(), opts)
}

// files lists every file under dir as slash paths, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var list []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		list = append(list, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(list)
	return list
}

func read(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestInitWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "acme") // two folders that do not exist
	var out bytes.Buffer
	if err := initOffline(t, Options{Dir: dir, Module: "example.com/acme", Version: "v1.2.3", Out: &out}); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); !slices.Equal(got, wantFiles) {
		t.Errorf("files written:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantFiles, "\n"))
	}
	for _, f := range wantFiles {
		if !strings.Contains(out.String(), "  "+f+"\n") {
			t.Errorf("output does not list %s:\n%s", f, out.String())
		}
	}
	for _, next := range []string{"go run mage.go all", "go run mage.go test"} {
		if !strings.Contains(out.String(), next) {
			t.Errorf("output does not say %q:\n%s", next, out.String())
		}
	}

	gomod := read(t, filepath.Join(dir, "go.mod"))
	mf, err := modfile.Parse("go.mod", []byte(gomod), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The root module: the contract at its version (a folder replace
	// keeps that version in the files' paths), plugship's light module for
	// the hosts, mage as a tool; never the tool module.
	if mf.Module.Mod.Path != "example.com/acme" || mf.Go.Version != "1.25.0" ||
		requires(mf) != "example.com/acme/contract v0.1.0, github.com/magefile/mage v1.17.0, github.com/plugship/plugship v1.2.3" ||
		len(mf.Replace) != 1 || mf.Replace[0].Old.Path != "example.com/acme/contract" || mf.Replace[0].New.Path != "./contract" ||
		len(mf.Tool) != 1 || mf.Tool[0].Path != "github.com/magefile/mage" {
		t.Errorf("go.mod:\n%s", gomod)
	}
	mage, err := modfile.Parse("magefiles/go.mod", []byte(read(t, filepath.Join(dir, "magefiles/go.mod"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	if mage.Module.Mod.Path != "example.com/acme/magefiles" || requires(mage) != ToolModule+" v1.2.3" || len(mage.Replace) != 0 {
		t.Errorf("magefiles/go.mod:\n%s", read(t, filepath.Join(dir, "magefiles/go.mod")))
	}
	if got := modfile.ModulePath([]byte(read(t, filepath.Join(dir, "contract/go.mod")))); got != "example.com/acme/contract" {
		t.Errorf("contract/go.mod declares %q", got)
	}
	if got := read(t, filepath.Join(dir, "plugship.yaml")); !strings.Contains(got, "package: example.com/acme/contract ") {
		t.Errorf("plugship.yaml does not name the contract package:\n%s", got)
	}
}

func TestInitReplace(t *testing.T) {
	root := plugshipRoot(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, root) // a relative path becomes absolute
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"", "v1.2.3"} {
		dir := t.TempDir()
		if err := initOffline(t, Options{Dir: dir, Module: "example.com/acme", Version: version, Replace: rel}); err != nil {
			t.Fatal(err)
		}
		gomod := read(t, filepath.Join(dir, "go.mod"))
		mf, err := modfile.Parse("go.mod", []byte(gomod), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := cmpOr(version, "v0.0.0")
		if !strings.Contains(requires(mf), PlugshipModule+" "+want) || replaces(mf) != "example.com/acme/contract => ./contract, "+PlugshipModule+" => "+root {
			t.Errorf("version %q: go.mod does not require %s %s replaced by %s:\n%s", version, PlugshipModule, want, root, gomod)
		}
		mage, err := modfile.Parse("go.mod", []byte(read(t, filepath.Join(dir, "magefiles/go.mod"))), nil)
		if err != nil {
			t.Fatal(err)
		}
		wantReplaces := PlugshipModule + " => " + root + ", " + KeylessModule + " => " + filepath.Join(root, "keyless") + ", " + OCIModule + " => " + filepath.Join(root, "oci") + ", " + ToolModule + " => " + filepath.Join(root, "tool")
		if requires(mage) != ToolModule+" "+want || replaces(mage) != wantReplaces {
			t.Errorf("version %q: magefiles/go.mod does not require %s %s with %s:\n%s", version, ToolModule, want, wantReplaces, read(t, filepath.Join(dir, "magefiles/go.mod")))
		}
	}
}

// requires lists a go.mod's requirements, "path version, ...".
func requires(f *modfile.File) string {
	var list []string
	for _, r := range f.Require {
		list = append(list, r.Mod.Path+" "+r.Mod.Version)
	}
	return strings.Join(list, ", ")
}

// replaces lists a go.mod's replacements, "old => new, ...".
func replaces(f *modfile.File) string {
	var list []string
	for _, r := range f.Replace {
		list = append(list, r.Old.Path+" => "+r.New.Path)
	}
	return strings.Join(list, ", ")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestGenerated checks every file of two scaffolds whose module paths
// differ in length: Go files parse and are gofmt-ed, YAML parses, nothing
// names plugship's internal or contract packages, mage.go is plugship's.
func TestGenerated(t *testing.T) {
	mageGo := read(t, filepath.Join(plugshipRoot(t), "mage.go"))
	for _, mod := range []string{"example.com/acme", "git.example.org/a-much-longer/path.to_the~repo/v2"} {
		t.Run(mod, func(t *testing.T) {
			dir := t.TempDir()
			if err := initOffline(t, Options{Dir: dir, Module: mod, Version: "v1.2.3"}); err != nil {
				t.Fatal(err)
			}
			for _, name := range files(t, dir) {
				src := read(t, filepath.Join(dir, name))
				for _, bad := range forbidden {
					if strings.Contains(src, bad) {
						t.Errorf("%s mentions %s", name, bad)
					}
				}
				if strings.Contains(src, "[[") || strings.Contains(src, "<no value>") {
					t.Errorf("%s holds template text:\n%s", name, src)
				}
				switch {
				case strings.HasSuffix(name, ".go"):
					if _, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ParseComments); err != nil {
						t.Errorf("%s does not parse: %v", name, err)
						continue
					}
					formatted, err := format.Source([]byte(src))
					if err != nil {
						t.Errorf("%s: %v", name, err)
					} else if string(formatted) != src {
						t.Errorf("%s is not gofmt-ed: gofmt makes it\n%s", name, formatted)
					}
				case strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
					var v any
					if err := yaml.Unmarshal([]byte(src), &v); err != nil {
						t.Errorf("%s is not YAML: %v", name, err)
					}
				}
			}
			if got := read(t, filepath.Join(dir, "mage.go")); got != mageGo {
				t.Errorf("mage.go differs from plugship's:\n%s", got)
			}
			if got := read(t, filepath.Join(dir, "compat/hosts/greet/main.go")); !strings.Contains(got, "\t\""+mod+"/contract\"\n") {
				t.Errorf("the host does not import %s/contract:\n%s", mod, got)
			}
		})
	}
}

// TestConfigFiles reads the scaffold's configuration files with plugship's
// own parsers.
func TestConfigFiles(t *testing.T) {
	dir := t.TempDir()
	const mod = "example.com/acme"
	if err := initOffline(t, Options{Dir: dir, Module: mod, Version: "v1.2.3"}); err != nil {
		t.Fatal(err)
	}
	c, problems := config.Parse(config.File, []byte(read(t, filepath.Join(dir, config.File))), mod)
	if len(problems) > 0 {
		t.Errorf("plugship.yaml: %v", problems)
	} else if c.Contract != mod+"/contract" || c.Accessor != "Greeter" || c.Element != "GreeterElement" ||
		c.Teams != "teams" || c.Sources != "plugin_sources" || c.Hosts != "compat/hosts.yaml" || c.Dist != "dist" {
		t.Errorf("plugship.yaml reads as %+v", c)
	}
	team, problems := teams.Parse("teams/core/team.yaml", []byte(read(t, filepath.Join(dir, "teams/core/team.yaml"))))
	if len(problems) > 0 {
		t.Errorf("teams/core/team.yaml: %v", problems)
	} else if team.Name != "core" || len(team.Plugins) != 1 || team.Plugins[0].Name != "hello" ||
		team.Plugins[0].Source != "core/hello" || team.Plugins[0].Version != "0.1.0" {
		t.Errorf("teams/core/team.yaml reads as %+v", team)
	}
	hosts, err := compat.ParseConfig([]byte(read(t, filepath.Join(dir, "compat/hosts.yaml"))))
	if err != nil {
		t.Errorf("compat/hosts.yaml: %v", err)
	} else if len(hosts.Profiles) != 1 || len(hosts.Hosts) != 1 || hosts.Hosts[0].Package != "./compat/hosts/greet" ||
		!slices.Equal(hosts.Hosts[0].MustAccept, []string{"*"}) {
		t.Errorf("compat/hosts.yaml reads as %+v", hosts)
	}
	// The source folder the manifest names holds the plugin.
	if _, err := os.Stat(filepath.Join(dir, c.Sources, "core/hello/main.go")); err != nil {
		t.Error(err)
	}
}

// unchanged fails unless dir holds exactly the files in want, with their
// contents.
func unchanged(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := files(t, dir)
	if len(got) != len(want) {
		t.Errorf("%s holds %v, want only %d files", dir, got, len(want))
	}
	for name, content := range want {
		if c := read(t, filepath.Join(dir, name)); c != content {
			t.Errorf("%s changed: %q", name, c)
		}
	}
}

func TestInitRefusesNonEmpty(t *testing.T) {
	for _, setup := range []struct {
		name  string
		files map[string]string
		want  []string // in the error
	}{
		{"a file", map[string]string{"notes.txt": "mine"}, []string{"notes.txt"}},
		{"a hidden folder", map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, []string{".git/"}},
		{"many", map[string]string{"a": "", "b": "", "c": "", "d": "", "e": "", "f": "", "g": "", "h": "", "i": "", "j": "", "k": "", "l": ""},
			[]string{"a, b, c", "j, and 2 more"}},
	} {
		t.Run(setup.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range setup.files {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := initOffline(t, Options{Dir: dir, Module: "example.com/acme", Version: "v1.2.3"})
			if err == nil {
				t.Fatal("Init wrote into a folder that is not empty")
			}
			for _, w := range append(setup.want, "not empty", dir) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
			unchanged(t, dir, setup.files)
		})
	}
}

func TestInitRefusesFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "acme")
	if err := os.WriteFile(name, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := initOffline(t, Options{Dir: name, Module: "example.com/acme", Version: "v1.2.3"}); err == nil {
		t.Fatal("Init wrote into a file's path")
	}
	unchanged(t, dir, map[string]string{"acme": "mine"})
}

func TestInitRefusesBadInput(t *testing.T) {
	notPlugship := t.TempDir()
	if err := os.WriteFile(filepath.Join(notPlugship, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts Options
		want string // in the error
	}{
		{"no module", Options{Version: "v1.2.3"}, "no module path"},
		{"no dot", Options{Module: "acme", Version: "v1.2.3"}, `malformed module path "acme": missing dot in first path element`},
		{"space", Options{Module: "example.com/a b", Version: "v1.2.3"}, `malformed module path "example.com/a b"`},
		{"trailing slash", Options{Module: "example.com/acme/", Version: "v1.2.3"}, "trailing slash"},
		{"plugship's", Options{Module: PlugshipModule + "/acme", Version: "v1.2.3"}, "inside plugship's own module"},
		{"no version", Options{Module: "example.com/acme"}, "no plugship version"},
		{"no v", Options{Module: "example.com/acme", Version: "1.2.3"}, "plugship version"},
		{"not canonical", Options{Module: "example.com/acme", Version: "v1.2"}, "v1.2"},
		{"dirty", Options{Module: "example.com/acme", Version: "v1.2.3+dirty"}, "v1.2.3+dirty"},
		{"replace without go.mod", Options{Module: "example.com/acme", Replace: t.TempDir()}, "not a plugship checkout"},
		{"replace of another module", Options{Module: "example.com/acme", Replace: notPlugship}, `declares module "example.com/other"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "acme")
			c.opts.Dir = dir
			err := initOffline(t, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Init(%+v) = %v, want an error saying %q", c.opts, err, c.want)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("Init made %s", dir)
			}
		})
	}
}

// TestWriteRollsBack makes the second of two writes fail: the first file
// and the folders made for it are removed again.
func TestWriteRollsBack(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "acme")
	err := write(dir, []file{{Path: "a/b/c.txt", Data: []byte("c")}, {Path: "a/b/c.txt/d.txt", Data: []byte("d")}})
	if err == nil || !strings.Contains(err.Error(), "a/b/c.txt/d.txt") {
		t.Fatalf("write = %v, want an error naming a/b/c.txt/d.txt", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left %v behind", entries)
	}
}
