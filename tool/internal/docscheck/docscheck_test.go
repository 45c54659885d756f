package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/plugship/plugship/tool/internal/plugtest"
)

// pages are the documentation's Markdown files, relative to root.
func pages(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil || len(files) < 10 {
		t.Fatalf("docs/: %v (%d pages)", err, len(files))
	}
	return files
}

var (
	link    = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	fence   = regexp.MustCompile("(?ms)^```.*?^```")
	code    = regexp.MustCompile("`[^`\n]*`")
)

// anchor is GitHub's anchor of a heading.
func anchor(h string) string {
	h = strings.ReplaceAll(h, "`", "")
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ':
			return '-'
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			return unicode.ToLower(r)
		}
		return -1
	}, strings.TrimSpace(h))
}

func anchors(text string) map[string]bool {
	as := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
		as[anchor(m[1])] = true
	}
	return as
}

// TestLinks: every relative link of the documentation leads to a file or
// folder of the repository, and its anchor to a heading of that file.
func TestLinks(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	defer func() {
		if checked < 20 {
			t.Errorf("only %d relative links checked: is the pattern still right?", checked)
		}
	}()
	for _, page := range pages(t, root) {
		data, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Fatal(err)
		}
		text := code.ReplaceAllString(fence.ReplaceAllString(string(data), ""), "")
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			file, frag, _ := strings.Cut(target, "#")
			path := filepath.Join(root, filepath.Dir(page), filepath.FromSlash(file))
			if file == "" {
				path = filepath.Join(root, page)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Errorf("%s: link %s: %v", page, target, err)
				continue
			}
			if frag == "" || info.IsDir() {
				continue
			}
			linked, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !anchors(string(linked))[frag] {
				t.Errorf("%s: link %s: no heading of %s has the anchor #%s", page, target, file, frag)
			}
		}
	}
}

// TestTargets: every go run mage.go <target> of the documentation names a
// target of docs/reference/targets.md (generated from the targets), with
// the arguments it takes.
func TestTargets(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile(filepath.Join(root, "docs", "reference", "targets.md"))
	if err != nil {
		t.Fatal(err)
	}
	nargs := map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^go run mage.go (\\S+)(.*)$").FindAllStringSubmatch(string(ref), -1) {
		nargs[m[1]] = len(strings.Fields(m[2]))
	}
	for _, m := range regexp.MustCompile("\\| \\[`(\\S+)[^`]*` \\(also `([^`]+)`").FindAllStringSubmatch(string(ref), -1) {
		nargs[m[2]] = nargs[m[1]]
	}
	if len(nargs) < 20 {
		t.Fatalf("%d targets in docs/reference/targets.md", len(nargs))
	}
	use := regexp.MustCompile(`go run mage\.go ([a-zA-Z][\w:]*)((?: +(?:"[^"\n]*"|[^\s#|` + "`" + `'")]+))*)`)
	checked := 0
	for _, page := range pages(t, root) {
		data, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, at := range use.FindAllStringSubmatchIndex(text, -1) {
			m := []string{text[at[0]:at[1]], text[at[2]:at[3]], text[at[4]:at[5]]}
			name := m[1]
			n, ok := nargs[name]
			if !ok {
				t.Errorf("%s: go run mage.go %s: no such target", page, name)
				continue
			}
			checked++
			args := strings.Fields(m[2])
			if n == 0 && len(args) > 0 && !strings.HasPrefix(args[0], "-") && !strings.ContainsAny(args[0], "&;") {
				// Text after a target that takes no arguments is prose
				// ("go run mage.go all takes ..."), which is fine.
				continue
			}
			if wrapped := at[1] < len(text) && text[at[1]] == '\n'; n > 0 && len(args) < n && !wrapped {
				t.Errorf("%s: go run mage.go %s%s: the target takes %d arguments", page, name, m[2], n)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d uses of go run mage.go checked: is the pattern still right?", checked)
	}
}

// TestHelpLinks: the pages that the commands' help and the magefiles name
// exist.
func TestHelpLinks(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`(?:github\.com/plugship/plugship/blob/main/)?\b(docs/[\w./-]+\.md)`)
	found := 0
	for _, file := range []string{"cmd/plugship/main.go", "tool/cmd/plugship/main.go", "magefiles/magefile.go", "tool/internal/scaffold/template/magefiles/magefile.go.tmpl", "tool/targets/targets.go"} {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range named.FindAllStringSubmatch(string(data), -1) {
			found++
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil {
				t.Errorf("%s names %s: %v", file, m[1], err)
			}
		}
	}
	if found < 5 {
		t.Errorf("%d pages named in the help, want one in each command's and magefile's, and plugship.yaml's in config's", found)
	}
}
