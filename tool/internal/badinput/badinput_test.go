package badinput_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/tool/internal/verify"
)

const good = `package main

import "github.com/plugship/plugship/contract"

var version = "dev"

type p struct{}

func (p) Version() string    { return version }
func (p) IsAcceptable() bool { return true }

func Showcase() contract.Plugin { return p{} }

func main() {}
`

// world is a module with one good plugin (ok/good 1.0.0), built and signed,
// and, beside it in dist/, bad files named like versions of plugin "bad"
// (owned by team ok), each with metadata recording its bytes and a real
// signature, so that every stage sees them.
type world struct {
	root, mod, dist string
	goodFile        string
	abi             string            // the good file's, and the hosts'
	bad             map[string]string // case -> file
	goodBytes       []byte
}

func setUp(t *testing.T) *world {
	t.Helper()
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{root: root, mod: t.TempDir(), bad: map[string]string{}}
	w.dist = filepath.Join(w.mod, "dist")
	// The bad files are versions the manifest lists (previous releases,
	// never built here): every stage skips files no manifest claims.
	files := map[string]string{
		"teams/ok/team.yaml":             "name: ok\nowners: [\"@ok\"]\nplugins:\n  - name: good\n    source: ok/good\n    version: 1.0.0\n  - name: bad\n    source: ok/bad\n    version: 9.9.9\n    previous:\n",
		"plugin_sources/ok/good/main.go": good,
		"plugin_sources/ok/bad/main.go":  good,
	}
	for v := 1; v <= 6; v++ {
		files["teams/ok/team.yaml"] += fmt.Sprintf("      - version: 1.0.%d\n        source: ok/bad/v1.0.%d\n", v, v)
		files[fmt.Sprintf("plugin_sources/ok/bad/v1.0.%d/main.go", v)] = good
	}
	if err := plugtest.Module(root, w.mod, files); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{Team: "ok", Plugin: "good"}, build.Options{Root: w.mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if w.goodFile, err = plugtest.Find(filepath.Join(w.dist, "plugins/ok/good"), "good", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if w.abi, err = plugtest.ABIOf(w.goodFile); err != nil {
		t.Fatal(err)
	}
	w.goodBytes, _ = os.ReadFile(w.goodFile)

	badDir := filepath.Join(w.dist, "plugins/ok/bad")
	os.MkdirAll(badDir, 0o755)
	add := func(name, version string, data []byte) {
		abi := w.abi
		if name == "renamed-abi" {
			abi = "go1.25.5-deadbeef"
		}
		f := filepath.Join(badDir, plugtest.FileName("bad", version, abi))
		if err := os.WriteFile(f, data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := plugtest.WriteMetadata(f, "ok"); err != nil {
			t.Fatal(err)
		}
		w.bad[name] = f
	}
	add("empty", "1.0.1", nil)
	random := make([]byte, 100<<10)
	for i := range random {
		random[i] = byte(i*7 + i>>9)
	}
	add("random", "1.0.2", random)
	add("truncated", "1.0.3", w.goodBytes[:len(w.goodBytes)/3])
	// The good plugin, with its ELF header saying arm64: the runtime's
	// dlopen would refuse it; the preflight must say why without trying.
	wrong := append([]byte{}, w.goodBytes...)
	binary.LittleEndian.PutUint16(wrong[18:], 183) // e_machine = EM_AARCH64
	add("wrong-arch", "1.0.4", wrong)
	nongo := filepath.Join(t.TempDir(), "nongo.so")
	cmd := exec.Command("gcc", "-shared", "-fPIC", "-o", nongo, filepath.Join(root, "loader/testdata/fixtures/nongo.c"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(nongo)
	add("non-go", "1.0.5", data)
	// A good plugin under a name that claims another ABI (a hand-renamed
	// file): hosts of that ABI would consider it; every stage must see
	// that its build says otherwise.
	add("renamed-abi", "1.0.6", w.goodBytes)

	// The sign step refuses every bad file, naming it.
	err = sign.Main(context.Background(), sign.Options{Root: w.mod}, &out)
	if err == nil {
		t.Fatalf("signing the bad files succeeded:\n%s", out.String())
	}
	expectMessages(t, "sign", out.String(), map[string]string{
		"empty":       "not a Go plugin, refusing to sign it",
		"random":      "not an ELF",
		"truncated":   "not a Go plugin",
		"wrong-arch":  "ELF machine ELFCLASS64 EM_AARCH64, but GOARCH amd64 builds EM_X86_64",
		"non-go":      "no Go build info",
		"renamed-abi": "the file name says ABI go1.25.5-deadbeef but the file's build gives " + w.abi,
	}, w)
	for name, f := range w.bad {
		record(t, name, "sign", Refused, around(out.String(), filepath.Base(f)))
	}
	// Sign them anyway, as a careless signer might, to reach later stages.
	for _, f := range w.bad {
		if err := plugtest.SignFile(w.mod, w.dist, "ok", f); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// expectMessages checks that text holds, for each bad file, its name and
// the expected words.
func expectMessages(t *testing.T, stage, text string, want map[string]string, w *world) {
	t.Helper()
	for name, words := range want {
		file := filepath.Base(w.bad[name])
		i := strings.Index(text, file)
		if i < 0 {
			t.Errorf("%s: no message names %s (%s):\n%s", stage, file, name, text)
			continue
		}
		if !strings.Contains(text[i:], words) {
			t.Errorf("%s: the message for %s (%s) lacks %q:\n%s", stage, file, name, words, text[i:min(len(text), i+600)])
		}
	}
}

func TestBadFilesThroughEveryStage(t *testing.T) {
	w := setUp(t)
	ctx := context.Background()

	// verify: every bad file fails with a reason (they have a signature but
	// no bundle or provenance); the good one passes.
	var out bytes.Buffer
	err := verify.Main(ctx, verify.Options{Root: w.mod, Dist: w.dist}, &out)
	if err == nil || strings.Count(out.String(), "ok (signature, bundle, provenance)") != 1 || !strings.Contains(out.String(), "1 of 7 artifacts verified") {
		t.Errorf("verify: %v\n%s", err, out.String())
	}
	expectMessages(t, "verify", out.String(), map[string]string{"empty": "FAILED: bundle", "random": "FAILED: bundle"}, w)
	for name, f := range w.bad {
		record(t, name, "verify", Refused, around(out.String(), filepath.Base(f)))
	}

	// The loader's checks against a real host (as a matrix cell does).
	host := filepath.Join(t.TempDir(), "showcase")
	if err := plugtest.BuildHost(w.root, "./compat/hosts/showcase", host); err != nil {
		t.Fatal(err)
	}
	policy, err := keyless.Load(filepath.Join(w.dist, sign.TrustFile))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for name, f := range w.bad {
		c, cancel := context.WithTimeout(ctx, time.Minute)
		d := loader.Try(c, f, loader.Options{Trust: policy, Host: host, Contract: fingerprint.ContractPackage, ProbeTimeout: 5 * time.Second})
		cancel()
		fmt.Fprintf(&text, "%s: %s %s: %s\n", filepath.Base(f), d.Outcome, d.Cause, d.Reason)
		record(t, name, "loader", Refused, fmt.Sprintf("loader.Try: %s %s: %s", d.Outcome, d.Cause, d.Reason))
		if d.Outcome == loader.Passed || d.ProbeMillis > 0 {
			t.Errorf("%s (%s) was probed or passed: %+v", f, name, d)
		}
	}
	expectMessages(t, "loader", text.String(), map[string]string{
		"empty":       "bad-file",
		"random":      "not an ELF",
		"truncated":   "incompatible",
		"wrong-arch":  "ELF machine: plugin ELFCLASS64 EM_AARCH64, host ELFCLASS64 EM_X86_64",
		"non-go":      "no Go build info",
		"renamed-abi": "bad-file: its name says ABI go1.25.5-deadbeef, its build gives " + w.abi,
	}, w)

	// The same through Load: every bad file is refused and reported, and
	// the good one, renamed to plugin bad without its signature, is
	// unsigned: none is chosen, nothing crashes.
	dir := t.TempDir()
	for _, f := range append([]string{w.goodFile}, values(w.bad)...) {
		if err := plugtest.CopyPlugin(dir, f); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, filepath.Base(f)), filepath.Join(dir, strings.Replace(filepath.Base(f), "good_", "bad_", 1))); err != nil {
			t.Fatal(err)
		}
	}
	hostOut, err := exec.Command(host, "-trust", filepath.Join(w.dist, sign.TrustFile), "-plugin", "bad", dir).CombinedOutput()
	if err == nil {
		t.Errorf("host chose a bad file:\n%s", hostOut)
	}
	expectMessages(t, "host", string(hostOut), map[string]string{"random": "not an ELF", "wrong-arch": "ELF machine"}, w)

	// compat: the matrix over these files completes with a cell per file.
	cfg := filepath.Join(w.mod, "hosts.yaml")
	os.WriteFile(cfg, []byte("timeout: 5s\nhosts:\n  - name: showcase\n    package: ./compat/hosts/showcase\n    flags: [-trimpath]\n    must_accept: [ok/good]\n"), 0o644)
	out.Reset()
	if err := compat.Main(ctx, compat.Options{Root: w.root, Dist: w.dist, Config: cfg}, &out); err != nil {
		t.Fatalf("matrix: %v\n%s", err, out.String())
	}
	// The console shows the bad files (the good one passed as required and
	// is not shown); matrix.json holds a cell per file.
	for _, want := range []string{"Ready to ship: 7 plugin versions", "ok/bad@1.0.5", "bad file"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("matrix lacks %q:\n%s", want, out.String())
		}
	}
	mx, err := matrix.Read(filepath.Join(w.dist, matrix.Dir, matrix.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(mx.Cells) != 7 || mx.Verdict == nil || mx.Verdict.Counts[matrix.ClassPassed] != 1 {
		t.Errorf("matrix.json: %d cells, verdict %+v; want 7 cells, the good one passed", len(mx.Cells), mx.Verdict)
	}
	for name, f := range w.bad {
		n, _ := artifact.ParseName(filepath.Base(f))
		for _, c := range mx.Cells {
			if strings.HasPrefix(c.Plugin, "ok/bad@"+n.Version+" ") {
				class := Refused
				if c.Outcome == matrix.OK {
					class = Accepted
				}
				record(t, name, "matrix", class, fmt.Sprintf("cell %s: %s: %s", c.Host, c.Outcome, c.Detail))
			}
		}
	}

	// publish: every bad file is refused, naming it; the good one goes out.
	out.Reset()
	opts := publish.Options{Root: w.mod, Dist: w.dist, Getenv: func(string) string { return "" }}
	err = publish.Main(ctx, opts, &out)
	if err == nil || !strings.Contains(out.String(), "published  ok/good@1.0.0") || strings.Count(out.String(), "REFUSED    ok/bad@") != 6 {
		t.Errorf("publish: %v\n%s", err, out.String())
	}
	for name, f := range w.bad {
		n, _ := artifact.ParseName(filepath.Base(f))
		record(t, name, "publish", Refused, around(out.String(), "ok/bad@"+n.Version))
	}

	// fetch: an index with hostile entries.
	ch := filepath.Join(w.dist, publish.ChannelDir)
	data, _ := os.ReadFile(filepath.Join(ch, publish.IndexFile))
	ix, err := artifact.ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	var goodEntry artifact.Entry
	for _, e := range ix.Entries {
		if e.Plugin == "good" {
			goodEntry = e
		}
	}
	hostile := []artifact.Entry{}
	for _, mod := range []func(e *artifact.Entry){
		func(e *artifact.Entry) { e.File = "../../escape_v1.0.0_" + runtime.GOOS + "_" + runtime.GOARCH + ".so" },
		func(e *artifact.Entry) { e.Version = "2.0.0"; e.File = plugtest.FileName("good", "2.0.0", w.abi) }, // points at the 1.0.0 bytes under another name
		func(e *artifact.Entry) {
			e.Version = "3.0.0"
			e.File = plugtest.FileName("good", "3.0.0", w.abi)
			e.Assets = map[string]string{e.File: "/etc/passwd", e.File + ".sig": "/etc/hostname"}
		},
		func(e *artifact.Entry) {
			e.Version = "4.0.0"
			e.File = plugtest.FileName("good", "4.0.0", w.abi)
			e.Size = 1 << 40
			e.Assets = map[string]string{e.File: goodEntry.Assets[goodEntry.File], e.File + ".sig": goodEntry.Assets[goodEntry.File+".sig"]}
		},
	} {
		e := goodEntry
		e.Assets = map[string]string{}
		for k, v := range goodEntry.Assets {
			e.Assets[k] = v
		}
		mod(&e)
		if e.Assets[e.File] == "" {
			e.Assets[e.File] = goodEntry.Assets[goodEntry.File]
			e.Assets[e.File+".sig"] = goodEntry.Assets[goodEntry.File+".sig"]
		}
		hostile = append(hostile, e)
	}
	ix.Entries = append(ix.Entries, hostile...)
	data, _ = ix.Marshal()
	os.WriteFile(filepath.Join(ch, publish.IndexFile), data, 0o644)
	// Signed by the publisher: what fetch itself refuses of the entries
	// (an index changed by anyone else is refused before, see
	// TestBadIndexStatements).
	signChannel(t, w.mod, w.dist, ch)
	target := filepath.Join(t.TempDir(), "plugins")
	res, err := fetch.Plugins(ctx, fetch.Options{Index: filepath.Join(ch, publish.IndexFile), Plugin: "good", Dir: target, Trust: policy})
	if err == nil {
		t.Errorf("fetching a hostile index succeeded: %+v", res)
	}
	var reasons []string
	for _, r := range res {
		reasons = append(reasons, r.File+" "+r.Outcome+" "+r.Reason)
	}
	got := strings.Join(reasons, "\n")
	for _, want := range []string{
		plugtest.FileName("good", "1.0.0", w.abi) + " fetched",
		"escape_v1.0.0",
		plugtest.FileName("good", "2.0.0", w.abi) + " refused",
		plugtest.FileName("good", "3.0.0", w.abi) + " refused",
		"leaves the channel",
		plugtest.FileName("good", "4.0.0", w.abi) + " refused",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("fetch results lack %q:\n%s", want, got)
		}
	}
	entries, _ := os.ReadDir(target)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != filepath.Base(artifact.FetchedIndexFile(target, "good"))+" "+filepath.Base(artifact.FetchedStatementFile(target, "good"))+" "+plugtest.FileName("good", "1.0.0", w.abi)+" "+plugtest.FileName("good", "1.0.0", w.abi)+".sig" {
		t.Errorf("the plugin folder holds %v", names)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(target)), "escape_v1.0.0_"+runtime.GOOS+"_"+runtime.GOARCH+".so")); err == nil {
		t.Errorf("a file escaped the plugin folder")
	}
	var refusals []string
	for _, r := range res {
		if r.Outcome != "fetched" {
			refusals = append(refusals, r.Version+": "+r.Reason)
		}
	}
	record(t, "hostile-index", "fetch", Refused, strings.Join(refusals, "; "))
}

// around returns what text says about name: the rest of the first line
// that holds name, and the indented lines below it.
func around(text, name string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		j := strings.Index(l, name)
		if j < 0 {
			continue
		}
		parts := []string{strings.TrimSpace(l[j+len(name):])}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		for _, next := range lines[i+1:] {
			if next == "" || len(next)-len(strings.TrimLeft(next, " ")) <= indent {
				break
			}
			parts = append(parts, strings.TrimSpace(next))
		}
		return strings.Join(parts, " ")
	}
	return "(no message names " + name + ")"
}

// linesWith returns the lines of text that hold s, joined by "; ".
func linesWith(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "; ")
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestBadManifestsAndNames: names with separators, "..", NUL or 300
// characters, and a manifest with a 10 MB field, through the registry and
// the build; the good plugin is still built.
func TestBadManifestsAndNames(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	long := strings.Repeat("a", 300)
	if err := plugtest.Module(root, mod, map[string]string{
		"teams/ok/team.yaml":             "name: ok\nowners: [\"@ok\"]\nplugins:\n  - name: good\n    source: ok/good\n    version: 1.0.0\n",
		"plugin_sources/ok/good/main.go": good,
		"teams/names/team.yaml": "name: names\nowners: [\"@n\"]\nplugins:\n" +
			"  - {name: \"a/b\", source: names/x, version: 1.0.0}\n" +
			"  - {name: \"..\", source: names/x, version: 1.0.0}\n" +
			"  - {name: \"nul\\0x\", source: names/x, version: 1.0.0}\n" +
			"  - {name: " + long + ", source: names/x, version: 1.0.0}\n" +
			"  - {name: fine, source: ../../etc, version: 1.0.0}\n",
		"teams/huge/team.yaml": "name: huge\nowners: [\"@h\"]\nplugins: []\nnote: " + strings.Repeat("x", 10<<20) + "\n",
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out)
	if err == nil {
		t.Fatalf("build with bad manifests succeeded:\n%s", out.String())
	}
	for _, want := range []string{
		"teams/names/team.yaml:4: plugins[0].name: \"a/b\" must be 1-64 characters",
		"teams/names/team.yaml:5: plugins[1].name: \"..\"",
		"plugins[2].name: \"nul\\x00x\"",
		"plugins[3].name: \"" + long[:80] + "\"... (300 bytes)",
		"plugins[4].source",
		"teams/huge/team.yaml",
		"larger than 1048576 bytes",
		"built      ok/good v1.0.0",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("build output lacks %q:\n%.3000s", want, out.String())
		}
	}
	if strings.Contains(out.String(), strings.Repeat("x", 1000)) {
		t.Errorf("the 10 MB field is echoed")
	}
	record(t, "bad-names", "build", Refused, linesWith(out.String(), "names/team.yaml")+"; and: "+linesWith(out.String(), "built "))
	record(t, "huge-manifest", "build", Refused, linesWith(out.String(), "huge/team.yaml"))
	// And the registry itself refuses them the same way.
	_, err = teams.Load(mod)
	if err == nil {
		t.Errorf("teams.Load accepted the bad manifests")
	} else {
		record(t, "bad-names", "registry", Refused, "teams.Load: "+linesWith(err.Error(), "names/team.yaml"))
		record(t, "huge-manifest", "registry", Refused, "teams.Load: "+linesWith(err.Error(), "huge/team.yaml"))
	}
	for _, bad := range []string{"a/b_v1.0.0_linux_amd64.so", "../x_v1.0.0_linux_amd64.so", "x\x00_v1.0.0_linux_amd64.so", long + "_v1.0.0_linux_amd64.so", ""} {
		if _, err := artifact.ParseName(bad); err == nil {
			t.Errorf("ParseName(%q) accepted", bad)
		}
	}
}
