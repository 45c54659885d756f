package symbols

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/module"
)

// Symbol is one symbol a plugin must export.
type Symbol struct {
	Name string // an exported Go identifier
	// Type is the type of the value plugin.Lookup returns, as Go source in
	// canonical form: a function's type, or *T for a variable of type T.
	Type string
	expr ast.Expr
}

// Var reports whether the symbol is a variable: its type is a pointer
// (plugin.Lookup returns a variable's address), else it is a function.
func (s Symbol) Var() bool { _, ok := s.expr.(*ast.StarExpr); return ok }

// String is the symbol as plugship.yaml writes it: "Name Type".
func (s Symbol) String() string { return s.Name + " " + s.Type }

// Contract is a contract made of symbols.
type Contract struct {
	Package string   // import path of the package the types' names come from
	Symbols []Symbol // in the order of plugship.yaml
	// Imports are the packages the types name, by qualifier: the contract
	// package, contract.imports and the standard library packages used.
	Imports map[string]string
}

// Std are the standard library packages a type may name without listing
// them under contract.imports, by package name. Others (and packages
// whose names are ambiguous, such as rand or template) must be listed.
var Std = map[string]string{
	"atomic": "sync/atomic", "big": "math/big", "bufio": "bufio", "bytes": "bytes",
	"context": "context", "driver": "database/sql/driver", "errors": "errors",
	"fmt": "fmt", "fs": "io/fs", "http": "net/http", "io": "io", "iter": "iter",
	"json": "encoding/json", "log": "log", "net": "net", "netip": "net/netip",
	"os": "os", "reflect": "reflect", "regexp": "regexp", "slog": "log/slog",
	"sql": "database/sql", "strings": "strings", "sync": "sync", "time": "time",
	"tls": "crypto/tls", "url": "net/url", "unsafe": "unsafe", "x509": "crypto/x509",
}

// predeclared are the type names a type may use unqualified.
var predeclared = map[string]bool{
	"any": true, "bool": true, "byte": true, "comparable": true, "complex64": true, "complex128": true,
	"error": true, "float32": true, "float64": true, "int": true, "int8": true, "int16": true,
	"int32": true, "int64": true, "rune": true, "string": true, "uint": true, "uint8": true,
	"uint16": true, "uint32": true, "uint64": true, "uintptr": true,
}

// Example is a symbol as plugship.yaml writes it, for messages.
const Example = "InitModule func(context.Context, runtime.Logger) error"

// Parse reads one symbol, "Name Type", and returns it with the package
// qualifiers its type uses.
func Parse(s string) (Symbol, []string, error) {
	s = strings.TrimSpace(s)
	name, typ, ok := s, "", false
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		name, typ, ok = s[:i], strings.TrimSpace(s[i+1:]), true
	}
	if !ok || typ == "" {
		return Symbol{}, nil, fmt.Errorf("%q has no type: write the symbol's name, a space and its Go type, such as %q", s, Example)
	}
	if !token.IsIdentifier(name) || !token.IsExported(name) {
		return Symbol{}, nil, fmt.Errorf("%q is not an exported Go identifier: plugin.Lookup finds only exported names; write one that starts with an upper-case letter, such as %q", name, Example)
	}
	expr, err := parser.ParseExpr(typ)
	if err != nil {
		return Symbol{}, nil, fmt.Errorf("the type of %s, %q, is not Go: %v", name, typ, cleanParseError(err))
	}
	quals := map[string]bool{}
	if err := checkType(expr, quals); err != nil {
		return Symbol{}, nil, fmt.Errorf("the type of %s, %q: %v", name, typ, err)
	}
	q := make([]string, 0, len(quals))
	for k := range quals {
		q = append(q, k)
	}
	slices.Sort(q)
	return Symbol{Name: name, Type: types.ExprString(expr), expr: expr}, q, nil
}

func cleanParseError(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "1:") {
		s = s[i+2:]
	}
	return s
}

// checkType checks that e is a type expression whose names are
// predeclared or qualified, and collects the qualifiers.
func checkType(e ast.Expr, quals map[string]bool) error {
	switch t := e.(type) {
	case *ast.Ident:
		if !predeclared[t.Name] {
			return fmt.Errorf("%s is neither a predeclared type nor qualified by its package: write it as pkg.%s", t.Name, t.Name)
		}
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		if !ok {
			return fmt.Errorf("%s is not a type name: write package.Type", types.ExprString(t))
		}
		if !token.IsExported(t.Sel.Name) {
			return fmt.Errorf("%s is not exported: no plugin could name it", types.ExprString(t))
		}
		quals[x.Name] = true
	case *ast.StarExpr:
		return checkType(t.X, quals)
	case *ast.ParenExpr:
		return checkType(t.X, quals)
	case *ast.ArrayType:
		if t.Len != nil {
			if _, ok := t.Len.(*ast.BasicLit); !ok {
				return fmt.Errorf("the array length %s is not a number", types.ExprString(t.Len))
			}
		}
		return checkType(t.Elt, quals)
	case *ast.Ellipsis:
		return checkType(t.Elt, quals)
	case *ast.MapType:
		if err := checkType(t.Key, quals); err != nil {
			return err
		}
		return checkType(t.Value, quals)
	case *ast.ChanType:
		return checkType(t.Value, quals)
	case *ast.FuncType:
		if t.TypeParams != nil {
			return errors.New("a generic function cannot be looked up in a plugin")
		}
		for _, fl := range []*ast.FieldList{t.Params, t.Results} {
			if err := checkFields(fl, quals); err != nil {
				return err
			}
		}
	case *ast.StructType:
		return checkFields(t.Fields, quals)
	case *ast.InterfaceType:
		return checkFields(t.Methods, quals)
	case *ast.IndexExpr:
		if err := checkType(t.X, quals); err != nil {
			return err
		}
		return checkType(t.Index, quals)
	case *ast.IndexListExpr:
		if err := checkType(t.X, quals); err != nil {
			return err
		}
		for _, i := range t.Indices {
			if err := checkType(i, quals); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s is not a type", types.ExprString(e))
	}
	return nil
}

func checkFields(fl *ast.FieldList, quals map[string]bool) error {
	if fl == nil {
		return nil
	}
	for _, f := range fl.List {
		if err := checkType(f.Type, quals); err != nil {
			return err
		}
	}
	return nil
}

// Qualifier is the package name a type uses for the package at path: its
// last element, without a major version suffix (/v2) or a "go-" prefix.
func Qualifier(pkg string) string {
	base := path.Base(pkg)
	if prefix, major, ok := module.SplitPathVersion(pkg); ok && major != "" {
		base = path.Base(prefix)
	}
	base = strings.TrimPrefix(base, "go-")
	return strings.NewReplacer("-", "_", ".", "_").Replace(base)
}

// ParseImport reads one entry of contract.imports: "path" or "name path".
func ParseImport(s string) (name, pkg string, err error) {
	f := strings.Fields(s)
	switch len(f) {
	case 1:
		pkg = f[0]
		name = Qualifier(pkg)
	case 2:
		name, pkg = f[0], f[1]
	default:
		return "", "", fmt.Errorf("%q: want an import path, or a package name and an import path, such as \"database/sql\" or \"rt example.com/host/runtime\"", s)
	}
	if !token.IsIdentifier(name) || name == "_" {
		return "", "", fmt.Errorf("%q: %s is not a package name", s, name)
	}
	if err := module.CheckImportPath(pkg); err != nil {
		return "", "", fmt.Errorf("%q: %s is not an import path", s, pkg)
	}
	return name, pkg, nil
}

// Resolve returns the import path of each qualifier: the contract
// package's name, then imports (by name), then the standard library
// packages of Std. An unknown qualifier is an error that says how to
// list it.
func Resolve(contract string, imports map[string]string, quals []string) (map[string]string, error) {
	out := map[string]string{}
	var unknown []string
	for _, q := range quals {
		switch {
		case q == Qualifier(contract):
			out[q] = contract
		case imports[q] != "":
			out[q] = imports[q]
		case Std[q] != "":
			out[q] = Std[q]
		default:
			unknown = append(unknown, q)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("the package names %s are not the contract package's (%s, %s) or known standard library packages: list their import paths under contract.imports, such as \"- %s example.com/their/package\"",
			strings.Join(unknown, ", "), Qualifier(contract), contract, unknown[0])
	}
	return out, nil
}

// alias is the name the generated files import a package under: no
// identifier of a plugin's main package can clash with it.
func alias(q string) string { return "plugship_" + q }

// aliased returns s's type with every qualifier replaced by its alias.
func (s Symbol) aliased() string {
	e := s.parsed()
	ast.Inspect(e, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && !strings.HasPrefix(x.Name, "plugship_") {
				x.Name = alias(x.Name)
			}
		}
		return true
	})
	return types.ExprString(e)
}

// parsed returns a fresh syntax tree of the symbol's type.
func (s Symbol) parsed() ast.Expr {
	e, err := parser.ParseExpr(s.Type)
	if err != nil {
		panic("symbols: a parsed type does not parse again: " + s.Type)
	}
	return e
}

func (c Contract) importBlock(extra ...string) string {
	var b strings.Builder
	b.WriteString("import (\n")
	for _, p := range extra {
		fmt.Fprintf(&b, "\t%q\n", p)
	}
	names := make([]string, 0, len(c.Imports))
	for q := range c.Imports {
		names = append(names, q)
	}
	slices.Sort(names)
	for _, q := range names {
		fmt.Fprintf(&b, "\t%s %q\n", alias(q), c.Imports[q])
	}
	b.WriteString(")\n")
	return b.String()
}

// CheckFile is the name of the file CheckSource writes in the overlay of a
// plugin's main package.
const CheckFile = "zz_plugship_contract.go"

// CheckSource returns a Go file of package main that compiles only if the
// package declares every symbol with its type: a function is assigned to a
// variable of its type, a variable's address to one of its pointer type.
// Compiled with the plugin, it makes the compiler check the contract with
// the rules of type identity the host's type assertion applies. It
// declares blank variables only: the plugin's code and exports are the same.
func (c Contract) CheckSource() string {
	var b strings.Builder
	b.WriteString("// Code generated by plugship from plugship.yaml contract.symbols. DO NOT EDIT.\n\n")
	b.WriteString("package main\n\n")
	b.WriteString(c.importBlock())
	b.WriteString("\n")
	for _, s := range c.Symbols {
		b.WriteString(checkLine(s))
	}
	return b.String()
}

func checkLine(s Symbol) string {
	if s.Var() {
		return fmt.Sprintf("var _ %s = &%s\n", s.aliased(), s.Name)
	}
	return fmt.Sprintf("var _ %s = %s\n", s.aliased(), s.Name)
}

// compileErrorRE matches a compiler error in the check file.
var compileErrorRE = regexp.MustCompile(`(?m)^[^\n]*` + regexp.QuoteMeta(CheckFile) + `:([0-9]+):[0-9]+: (.*)$`)

// wrongTypeRE matches the compiler's message for a symbol of another type.
var wrongTypeRE = regexp.MustCompile(`^cannot use &?[A-Za-z0-9_]+ \((?:variable|value) of (?:type|pointer type) (.*)\) as (.*) value in variable declaration`)

// StandInCauses are the loader causes a stand-in's failure line starts
// with ("wrong-type: ..."), for the matrix to name the cell's outcome.
var StandInCauses = []string{"open-failed", "missing-symbol", "wrong-type"}

// Problem is what the build found wrong with one symbol.
type Problem struct {
	Symbol Symbol
	Found  string // the type the plugin's symbol has, "" when it has none
	Msg    string // a sentence naming the symbol, the type found and the type wanted
}

// CheckErrors turns a failed build's compiler output into one problem per
// symbol the check file found wrong; none when the failure lies elsewhere.
func (c Contract) CheckErrors(output string) []Problem {
	lines := strings.Count(c.CheckSource(), "\n") - len(c.Symbols) // the line before the first symbol's
	var out []Problem
	seen := map[int]bool{}
	for _, m := range compileErrorRE.FindAllStringSubmatch(output, -1) {
		n, _ := strconv.Atoi(m[1])
		i := n - lines - 1
		if i < 0 || i >= len(c.Symbols) || seen[i] {
			continue
		}
		seen[i] = true
		s := c.Symbols[i]
		msg := c.unalias(strings.TrimSpace(m[2]))
		p := Problem{Symbol: s}
		switch {
		case strings.HasPrefix(msg, "undefined: "):
			kind := "func " + s.Name + " of type " + s.Type
			if s.Var() {
				kind = "var " + s.Name + " " + strings.TrimPrefix(s.Type, "*")
			}
			p.Msg = fmt.Sprintf("does not export %s: the host looks it up and asserts %s; declare %s in its main package", s.Name, s.Type, kind)
		case wrongTypeRE.MatchString(msg):
			sm := wrongTypeRE.FindStringSubmatch(msg)
			p.Found = withoutNames(sm[1])
			if s.Var() && !strings.HasPrefix(p.Found, "*") {
				p.Found = "*" + p.Found
			}
			p.Msg = fmt.Sprintf("exports %s of type %s, want %s (plugship.yaml contract.symbols): the host's type assertion would fail", s.Name, p.Found, s.Type)
		default:
			p.Msg = fmt.Sprintf("%s does not have the contract's type %s: %s", s.Name, s.Type, msg)
		}
		out = append(out, p)
	}
	return out
}

// unalias removes the generated files' import aliases from a message, and
// writes the packages the compiler names by path ("example.com/x".T, when
// two packages of one name are in sight) by their qualifiers.
func (c Contract) unalias(s string) string {
	for q, p := range c.Imports {
		s = strings.ReplaceAll(s, strconv.Quote(p)+".", q+".")
	}
	return strings.ReplaceAll(s, "plugship_", "")
}

// withoutNames writes a function type without its parameter and result
// names, as plugship.yaml writes types: func(ctx context.Context) error
// is func(context.Context) error. Anything else is returned as it is.
func withoutNames(typ string) string {
	e, err := parser.ParseExpr(typ)
	if err != nil {
		return typ
	}
	ast.Inspect(e, func(n ast.Node) bool {
		ft, ok := n.(*ast.FuncType)
		if !ok {
			return true
		}
		for _, fl := range []*ast.FieldList{ft.Params, ft.Results} {
			if fl == nil {
				continue
			}
			var list []*ast.Field
			for _, f := range fl.List {
				for range max(1, len(f.Names)) {
					list = append(list, &ast.Field{Type: f.Type})
				}
			}
			fl.List = list
		}
		return true
	})
	return types.ExprString(e)
}

// StandInSource returns the main package of a stand-in for a host's own
// check: "standin DIR" opens every *.so under DIR, in lexical order, looks
// up every symbol and asserts its type, like a host that looks its
// symbols up; it exits 0 when all pass, else 1 with the first failure on
// standard output, which starts with its loader cause (StandInCauses).
func (c Contract) StandInSource() string {
	var b strings.Builder
	b.WriteString("// Code generated by plugship for the compatibility matrix. DO NOT EDIT.\n\n")
	b.WriteString("// The stand-in check of a host that has no check command: it opens\n")
	b.WriteString("// each plugin under a folder and asserts the contract's symbols.\n")
	b.WriteString("package main\n\n")
	b.WriteString(c.importBlock("fmt", "io/fs", "os", "path/filepath", "plugin", "strings"))
	b.WriteString(`
func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: standin DIR (a plugship stand-in check, run by the compatibility matrix)")
		os.Exit(2)
	}
	var files []string
	filepath.WalkDir(os.Args[1], func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".so") {
			files = append(files, path)
		}
		return nil
	})
	fail := func(format string, args ...any) {
		fmt.Printf(format+"\n", args...)
		os.Exit(1)
	}
	for _, file := range files {
		p, err := plugin.Open(file)
		if err != nil {
			fail("open-failed: %v", err)
		}
		name := filepath.Base(file)
		_ = name
`)
	for _, s := range c.Symbols {
		fmt.Fprintf(&b, `		if v, err := p.Lookup(%q); err != nil {
			fail("missing-symbol: %%s: %%v", name, err)
		} else if _, ok := v.(%s); !ok {
			fail("wrong-type: %%s: %s is a %%T, want %s", name, v)
		}
`, s.Name, s.aliased(), s.Name, s.Type)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}
