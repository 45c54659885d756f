package badinput_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The coverage table: every test records, for each kind of bad input and
// each stage it fed it to, what the stage did. TestMain writes the table
// to TableFile with -update, and otherwise fails when the committed file
// differs from what the suite observed, so that it cannot go stale.

// TableFile is the generated table, relative to this package.
const TableFile = "TABLE.md"

var update = flag.Bool("update", false, "rewrite "+TableFile+" from what the suite observes")

// Stages, in pipeline order: the table's columns.
var stages = []string{"registry", "build", "sign", "verify", "matrix", "publish", "fetch", "loader"}

// Result classes.
const (
	Refused      = "refused"            // the stage refused it, saying why
	Skipped      = "skipped"            // the stage left it alone, saying so
	NotApplied   = "n/a"                // the stage does not read this input
	Accepted     = "accepted"           // the stage took it, as designed (the note says why that is right)
	Replaced     = "replaced"           // the stage wrote a good file over it
	NotPermitted = "not permitted here" // the test could not set it up on this machine
	Unnoticed    = "NOT REFUSED"        // a bug: the stage went on as if nothing were wrong
)

// kinds are the table's rows, in order: id (what tests record under) and
// description.
var kinds = []struct{ id, desc string }{
	{"empty", "plugin file of 0 bytes"},
	{"random", "plugin file of 100 KiB of random bytes"},
	{"truncated", "plugin file cut to a third"},
	{"wrong-arch", "Go plugin whose ELF header says arm64"},
	{"non-go", "shared object built by gcc, not Go"},
	{"renamed-abi", "good plugin renamed to claim another ABI"},
	{"hostile-index", "index.json entries: a path out of the folder, another version's bytes, assets outside the channel, a 1 TiB size"},
	{"index-yanked", "`index.json` yanks the only version (and a copy of it is in the plugin folder)"},
	{"index-unknown-schema", "`index.json` of a schema this plugship does not read (`plugship.index/v9`), fetched or in the plugin folder"},
	{"index-v2-yanks", "`index.json` that says `plugship.index/v2` but has a `yanked` list"},
	{"index-replayed", "an older `index.json` with its valid signed statement, served after a host accepted a newer one"},
	{"index-expired", "`index.statement.json` past its expiry (the host's clock 8 days on)"},
	{"index-tampered", "`index.json` with one byte changed after signing (a file's size)"},
	{"index-bad-signature", "`index.statement.json` with one byte of its signature changed"},
	{"index-unsigned", "`index.json` without `index.statement.json`, for a host whose policy names an index signer"},
	{"index-foreign-signer", "`index.statement.json` signed by a key the policy does not name as index signer"},
	{"bad-names", "manifest names with `/`, `..`, NUL, 300 characters; a source outside the team's folder"},
	{"huge-manifest", "team manifest with a 10 MB field"},
	{"policy-ownerless-plugin", "`trust.json` lists a plugin whose team has no keys in it (no team owns it)"},
	{"policy-missing-plugin", "a registered, signed plugin missing from `trust.json`"},
	{"unregistered-plugin", "a signed file of a plugin no team lists (so not in the trust policy)"},
	{"huge-sig", "`.sig` of 100 MiB (sparse)"},
	{"huge-bundle", "`.sigstore.json` bundle of 100 MiB (sparse)"},
	{"huge-provenance", "`.intoto.json` provenance of 100 MiB (sparse)"},
	{"full-disk", "plugin folder on a full disk (1 MiB tmpfs)"},
	{"symlink-source-inside", "plugin source folder that is a symlink to a folder inside the team's folder"},
	{"symlink-source-outside", "plugin source folder that is a symlink out of the team's folder"},
	{"symlink-team-outside", "team's source folder (`plugin_sources/<team>`) a symlink out of the module"},
}

// maxNote bounds a note in the table.
const maxNote = 400

type cell struct{ class, note string }

var observed = struct {
	sync.Mutex
	cells map[[2]string]cell
}{cells: map[[2]string]cell{}}

// normalizers make notes the same on every run and machine: temporary
// folders, digests, key IDs and random suffixes are replaced.
var (
	tmpPath   = regexp.MustCompile(`/tmp/[^\s:'"]*?/\d{3}`)
	longHex   = regexp.MustCompile(`\b[0-9a-f]{12,}\b`)
	keyID     = regexp.MustCompile(`\bkey [0-9a-f]{12}\b`) // a key id may be all digits
	tempSufx  = regexp.MustCompile(`\.\d{6,}(\.part|\.tmp)?\b`)
	glued     = regexp.MustCompile(`([a-z])\d{9,}\b`) // renameio's temporary names: <name><random digits>
	stamp     = regexp.MustCompile(`\b\d{8}-\d{6}\b`)
	abiTag    = regexp.MustCompile(`go1\.\d+\.\d+-[0-9a-f]{8}\b`)
	rfc3339   = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	ago       = regexp.MustCompile(`\b[0-9hms]+ ago\b`)
	manySpace = regexp.MustCompile(`\s+`)
)

// record notes what stage did with the bad input kind. The note is the
// stage's own message (or a short account of what it did), normalized and
// cut to maxNote characters.
func record(t *testing.T, kind, stage, class, note string) {
	t.Helper()
	known := false
	for _, k := range kinds {
		known = known || k.id == kind
	}
	if !known || !contains(stages, stage) {
		t.Fatalf("record: unknown kind %q or stage %q", kind, stage)
	}
	note = normalize(note)
	observed.Lock()
	defer observed.Unlock()
	observed.cells[[2]string{kind, stage}] = cell{class, note}
}

func normalize(s string) string {
	s = manySpace.ReplaceAllString(strings.TrimSpace(s), " ")
	s = tmpPath.ReplaceAllString(s, "<tmp>")
	s = abiTag.ReplaceAllStringFunc(s, func(tag string) string {
		if strings.HasSuffix(tag, "-deadbeef") { // the renamed-abi case's literal tag
			return tag
		}
		return "<abi>"
	})
	s = keyID.ReplaceAllString(s, "key <hex>")
	s = longHex.ReplaceAllStringFunc(s, func(h string) string {
		if strings.Trim(h, "0123456789") == "" { // a number, not a digest
			return h
		}
		return "<hex>"
	})
	s = tempSufx.ReplaceAllString(s, ".<random>$1")
	s = glued.ReplaceAllString(s, "$1<random>")
	s = stamp.ReplaceAllString(s, "<time>")
	s = rfc3339.ReplaceAllString(s, "<time>")
	s = ago.ReplaceAllString(s, "<duration> ago")
	if r := []rune(s); len(r) > maxNote {
		s = string(r[:maxNote]) + "…"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// render returns the Markdown table of what was observed.
func render() []byte {
	observed.Lock()
	defer observed.Unlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Bad inputs, counted\n\n")
	fmt.Fprintf(&b, "Generated by `go test ./internal/badinput -update` from what the bad-input suite\n")
	fmt.Fprintf(&b, "observes; `go test ./internal/badinput` fails when this file differs from it.\n")
	fmt.Fprintf(&b, "Each bad input is fed to the stages that read it; a stage that does not read it\n")
	fmt.Fprintf(&b, "is marked n/a or left blank. Paths, digests, key IDs and ABI tags are shortened\n")
	fmt.Fprintf(&b, "to `<tmp>`, `<hex>` and `<abi>`.\n\n")
	fmt.Fprintf(&b, "| bad input | %s |\n|---|%s\n", strings.Join(stages, " | "), strings.Repeat("---|", len(stages)))
	for _, k := range kinds {
		fmt.Fprintf(&b, "| %s |", k.desc)
		for _, st := range stages {
			c, ok := observed.cells[[2]string{k.id, st}]
			if !ok {
				b.WriteString(" |")
				continue
			}
			fmt.Fprintf(&b, " %s |", c.class)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n## What each stage said\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "\n### %s\n\n| stage | result | message or account |\n|---|---|---|\n", k.desc)
		n := 0
		for _, st := range stages {
			c, ok := observed.cells[[2]string{k.id, st}]
			if !ok {
				continue
			}
			n++
			fmt.Fprintf(&b, "| %s | %s | %s |\n", st, c.class, escape(c.note))
		}
		if n == 0 {
			b.WriteString("| | not observed | |\n")
		}
	}
	return b.Bytes()
}

func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "`", "'")
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if host.dir != "" {
		os.RemoveAll(host.dir)
	}
	if code != 0 {
		os.Exit(code)
	}
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" || flag.Lookup("test.skip") != nil && flag.Lookup("test.skip").Value.String() != "" {
		if *update {
			fmt.Fprintf(os.Stderr, "badinput: -update needs the whole suite: run it without -run or -skip\n")
			os.Exit(1)
		}
		fmt.Println("badinput: only part of the suite ran; " + TableFile + " not compared")
		os.Exit(0)
	}
	got := render()
	if *update {
		if err := os.WriteFile(TableFile, got, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "badinput:", err)
			os.Exit(1)
		}
		fmt.Println("badinput: wrote " + TableFile)
		os.Exit(0)
	}
	want, err := os.ReadFile(TableFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "badinput: %v: generate it with go test ./internal/badinput -update\n", err)
		os.Exit(1)
	}
	if !bytes.Equal(got, want) {
		fmt.Fprintf(os.Stderr, "badinput: %s differs from what the suite observed; if the change is intended, run go test ./internal/badinput -update and commit %s.\n%s",
			TableFile, TableFile, lineDiff(string(want), string(got)))
		os.Exit(1)
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var out []string
	for l, n := range w {
		if g[l] < n {
			out = append(out, "- "+l)
		}
	}
	for l, n := range g {
		if w[l] < n {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n") + "\n"
}
