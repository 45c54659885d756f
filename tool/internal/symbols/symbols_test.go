package symbols

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in, name, typ string
		quals         []string
		isVar         bool
	}{
		{"InitModule func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error",
			"InitModule", "func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error",
			[]string{"context", "runtime", "sql"}, false},
		{"  Handler   func(ctx   context.Context,name string)(int,error)", "Handler", "func(ctx context.Context, name string) (int, error)", []string{"context"}, false},
		{"Config *map[string][]api.Value", "Config", "*map[string][]api.Value", []string{"api"}, true},
		{"New func() any", "New", "func() any", nil, false},
	} {
		s, quals, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if s.Name != c.name || s.Type != c.typ || s.Var() != c.isVar || strings.Join(quals, ",") != strings.Join(c.quals, ",") {
			t.Errorf("Parse(%q) = %q %q var=%v %v, want %q %q var=%v %v", c.in, s.Name, s.Type, s.Var(), quals, c.name, c.typ, c.isVar, c.quals)
		}
	}
	for in, want := range map[string]string{
		"InitModule":                      "has no type",
		"initModule func()":               "not an exported Go identifier",
		"InitModule func(context.Context": "is not Go",
		"InitModule func(Logger) error":   "Logger is neither a predeclared type nor qualified",
		"InitModule 42":                   "42 is not a type",
		"InitModule func(runtime.logger)": "runtime.logger is not exported",
		"Make func[T any]() T":            "is not Go",
	} {
		if _, _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestResolve(t *testing.T) {
	got, err := Resolve("github.com/heroiclabs/nakama-common/runtime", map[string]string{"rt": "example.com/x/rt"}, []string{"context", "rt", "runtime", "sql"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"context": "context", "rt": "example.com/x/rt", "runtime": "github.com/heroiclabs/nakama-common/runtime", "sql": "database/sql"}
	for q, p := range want {
		if got[q] != p {
			t.Errorf("Resolve: %s = %q, want %q", q, got[q], p)
		}
	}
	if _, err := Resolve("example.com/host/api", nil, []string{"rand", "api"}); err == nil || !strings.Contains(err.Error(), "contract.imports") || !strings.Contains(err.Error(), "rand") {
		t.Errorf("Resolve of rand = %v, want an error naming rand and contract.imports", err)
	}
	for pkg, q := range map[string]string{"example.com/a/runtime": "runtime", "example.com/a/v2": "a", "github.com/x/go-yaml": "yaml", "gopkg.in/yaml.v3": "yaml"} {
		if got := Qualifier(pkg); got != q {
			t.Errorf("Qualifier(%s) = %s, want %s", pkg, got, q)
		}
	}
}

// The check file is compiled by the real compiler with a plugin's main
// package: it passes exactly when every symbol has its type, and its
// errors name the symbol, the type found and the type wanted.
func TestCheckSourceCompiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/host\n\ngo 1.25\n")
	write("api/api.go", "package api\n\ntype Logger interface{ Info(string) }\n\ntype Config struct{ Name string }\n")
	var c Contract
	for _, in := range []string{
		"InitModule func(context.Context, api.Logger, *sql.DB) error",
		"Settings *api.Config",
		"Missing func()",
	} {
		s, quals, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		c.Symbols = append(c.Symbols, s)
		imp, err := Resolve("example.com/host/api", nil, quals)
		if err != nil {
			t.Fatal(err)
		}
		if c.Imports == nil {
			c.Imports = map[string]string{}
		}
		for q, p := range imp {
			c.Imports[q] = p
		}
	}
	write("plugin/main.go", `package main

import (
	"context"

	"example.com/host/api"
)

// The wrong signature: no *sql.DB.
func InitModule(ctx context.Context, logger api.Logger) error { return nil }

var Settings = api.Config{Name: "x"}

func main() {}
`)
	write("plugin/"+CheckFile, c.CheckSource())
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./plugin")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the check compiled with a mistyped and a missing symbol:\n%s", c.CheckSource())
	}
	probs := c.CheckErrors(string(out))
	if len(probs) != 2 {
		t.Fatalf("CheckErrors found %d problems, want 2 (InitModule, Missing):\n%+v\ncompiler:\n%s", len(probs), probs, out)
	}
	if p := probs[0]; p.Symbol.Name != "InitModule" || p.Found != "func(context.Context, api.Logger) error" ||
		!strings.Contains(p.Msg, "want func(context.Context, api.Logger, *sql.DB) error") {
		t.Errorf("InitModule: %+v", p)
	}
	if p := probs[1]; p.Symbol.Name != "Missing" || !strings.Contains(p.Msg, "does not export Missing") {
		t.Errorf("Missing: %+v", p)
	}

	// With the right signature and without Missing, it compiles.
	c.Symbols = c.Symbols[:2]
	write("plugin/main.go", `package main

import (
	"context"
	"database/sql"

	"example.com/host/api"
)

func InitModule(ctx context.Context, logger api.Logger, db *sql.DB) error { return nil }

var Settings = api.Config{Name: "x"}

func main() {}
`)
	write("plugin/"+CheckFile, c.CheckSource())
	if out, err := cmd2(dir).CombinedOutput(); err != nil {
		t.Fatalf("the check of a plugin that fits failed: %v\n%s\n%s", err, out, c.CheckSource())
	}
}

func cmd2(dir string) *exec.Cmd {
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./plugin")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local")
	return cmd
}

// Parse never panics, and what it accepts it writes in a form it reads
// back as the same symbol; the check and stand-in sources of an accepted
// symbol are Go.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"InitModule func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error",
		"Config *map[string][]api.Value", "New func() any", "X func(...int) (a, b chan<- struct{ F api.T })",
		"Y interface{ M(x int) string }", "Z [4]api.T", "G api.List[api.T, int]", "Bad", "bad func()", "X func(",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, quals, err := Parse(in)
		if err != nil {
			return
		}
		again, quals2, err := Parse(s.String())
		if err != nil || again.String() != s.String() || strings.Join(quals, ",") != strings.Join(quals2, ",") {
			t.Fatalf("Parse(%q) = %q, which reads back as %q, %v", in, s, again, err)
		}
		imports := map[string]string{}
		for _, q := range quals {
			imports[q] = "example.com/" + q
		}
		c := Contract{Package: "example.com/api", Symbols: []Symbol{s}, Imports: imports}
		for _, src := range []string{c.CheckSource(), c.StandInSource()} {
			if _, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0); err != nil {
				t.Fatalf("the generated source of %q does not parse: %v\n%s", in, err, src)
			}
		}
	})
}
