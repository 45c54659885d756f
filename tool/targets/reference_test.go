package targets

import (
	"flag"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/plugship/plugship/tool/internal/plugtest"
)

var update = flag.Bool("update", false, "rewrite docs/reference/targets.md from the targets' help")

// referencePage is where the targets' help is published.
const referencePage = "docs/reference/targets.md"

// TestReferencePage fails when docs/reference/targets.md differs from the
// targets' help (their doc comments, which go run mage.go -h shows);
// -update rewrites it.
func TestReferencePage(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	got, err := targetsPage(".", filepath.Join(root, "magefiles", "magefile.go"))
	if err != nil {
		t.Fatal(err)
	}
	plugtest.Golden(t, filepath.Join(root, filepath.FromSlash(referencePage)), got, *update, "go test ./targets -args -update in tool/")
}

// A target is one mage target: its name as typed, its arguments, its help.
type target struct {
	name, args, doc string
}

// targetsPage renders the targets of the package in dir as Markdown, with
// the aliases of the magefile at magefile.
func targetsPage(dir, magefile string) (string, error) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		return "", err
	}
	p := doc.New(pkgs["targets"], "github.com/plugship/plugship/tool/targets", 0)
	var top []target
	namespaces := map[string][]target{}
	nsDoc := map[string]string{}
	for _, f := range p.Funcs {
		if f.Decl.Name.IsExported() && returnsError(f.Decl) {
			top = append(top, target{mageName(f.Name), args(f.Decl), help(f.Name, f.Doc)})
		}
	}
	for _, ty := range p.Types {
		if sel, ok := ty.Decl.Specs[0].(*ast.TypeSpec).Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Namespace" {
			continue
		}
		nsDoc[ty.Name] = help(ty.Name, ty.Doc)
		for _, m := range ty.Methods {
			if m.Decl.Name.IsExported() && returnsError(m.Decl) {
				namespaces[ty.Name] = append(namespaces[ty.Name], target{mageName(ty.Name) + ":" + mageName(m.Name), args(m.Decl), help(m.Name, m.Doc)})
			}
		}
	}
	src, err := os.ReadFile(magefile)
	if err != nil {
		return "", err
	}
	aliases := map[string][]string{} // target -> aliases
	for _, m := range regexp.MustCompile(`"([a-z]+)": targets\.(\w+)\.(\w+)`).FindAllStringSubmatch(string(src), -1) {
		name := mageName(m[2]) + ":" + mageName(m[3])
		aliases[name] = append(aliases[name], m[1])
	}
	var b strings.Builder
	b.WriteString("# Targets\n\n")
	b.WriteString("<!-- Generated from the help of the targets (tool/targets) by go test ./targets -args -update in tool/; do not edit. -->\n\n")
	b.WriteString("Run a target with `go run mage.go <target> [arguments]` (or `mage <target>`);\n")
	b.WriteString("`go run mage.go -l` lists them and `go run mage.go -h <target>` prints the\n")
	b.WriteString("help below. Without a target, `go run mage.go` runs `all`.\n\n")
	b.WriteString("| target | does |\n| --- | --- |\n")
	rows := func(ts []target) {
		for _, t := range ts {
			name := "`" + strings.TrimSpace(t.name+" "+t.args) + "`"
			if a := aliases[t.name]; len(a) > 0 {
				name += " (also `" + strings.Join(a, "`, `") + "`)"
			}
			fmt.Fprintf(&b, "| [%s](#%s) | %s |\n", name, anchor(t.name), firstSentence(t.doc))
		}
	}
	slices.SortFunc(top, func(a, b target) int { return strings.Compare(a.name, b.name) })
	rows(top)
	names := slices.Sorted(maps.Keys(namespaces))
	for _, ns := range names {
		rows(namespaces[ns])
	}
	section := func(t target) {
		fmt.Fprintf(&b, "\n## %s\n\n", t.name)
		fmt.Fprintf(&b, "```sh\ngo run mage.go %s\n```\n\n", strings.TrimSpace(t.name+" "+t.args))
		b.WriteString(paragraph(t.doc) + "\n")
	}
	for _, t := range top {
		section(t)
	}
	for _, ns := range names {
		if d := nsDoc[ns]; d != "" {
			fmt.Fprintf(&b, "\n## %s:…\n\n%s\n", mageName(ns), paragraph(d))
		}
		for _, t := range namespaces[ns] {
			section(t)
		}
	}
	return b.String(), nil
}

func returnsError(f *ast.FuncDecl) bool {
	r := f.Type.Results
	if r == nil || len(r.List) != 1 {
		return false
	}
	id, ok := r.List[0].Type.(*ast.Ident)
	return ok && id.Name == "error"
}

// args are a target's arguments as <name>, leaving out the context.
func args(f *ast.FuncDecl) string {
	var as []string
	for _, p := range f.Type.Params.List {
		if sel, ok := p.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Context" {
			continue
		}
		for _, n := range p.Names {
			as = append(as, "<"+n.Name+">")
		}
	}
	return strings.Join(as, " ")
}

// docsLine is the last line of a target's help: where it is explained.
const docsLine = "Docs: https://github.com/plugship/plugship/blob/main/" + referencePage + "#"

// help is a doc comment as mage shows it, without the leading Go name, and
// without the line that links to the page it is shown on.
func help(name, d string) string {
	d = strings.TrimPrefix(d, name+" ")
	if i := strings.Index(d, docsLine); i >= 0 {
		d = d[:i]
	}
	return d
}

// TestHelpLinks: every target's help (go run mage.go -h <target>) ends
// with the link to its section of the reference page.
func TestHelpLinks(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	p := doc.New(pkgs["targets"], "github.com/plugship/plugship/tool/targets", 0)
	check := func(name string, f *doc.Func) {
		if !f.Decl.Name.IsExported() || !returnsError(f.Decl) {
			return
		}
		want := docsLine + anchor(name) + "\n"
		if !strings.HasSuffix(f.Doc, want) {
			t.Errorf("the help of %s does not end with %q", name, strings.TrimSpace(want))
		}
	}
	for _, f := range p.Funcs {
		check(mageName(f.Name), f)
	}
	for _, ty := range p.Types {
		for _, m := range ty.Methods {
			check(mageName(ty.Name)+":"+mageName(m.Name), m)
		}
	}
}

// mageName is how mage spells a Go name: its first letter lower-case.
func mageName(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// anchor is GitHub's anchor of a heading.
func anchor(heading string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ':
			return '-'
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			return unicode.ToLower(r)
		}
		return -1
	}, heading)
}

// firstSentence is the first line of a doc comment, as mage -l shows it.
func firstSentence(d string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(d), "\n")
	return strings.ReplaceAll(line, "|", "\\|")
}

// paragraph is a doc comment with its lines joined, as Markdown.
func paragraph(d string) string {
	return strings.Join(strings.Fields(d), " ")
}
