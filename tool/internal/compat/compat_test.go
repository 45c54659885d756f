package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/sign"
)

// fixtures are loader/testdata/fixtures built as versions of plugin fx.
var fixtures = map[string]string{
	"panicinit":     "9.0.0",
	"exitinit":      "8.0.0",
	"hang":          "7.0.0",
	"notacceptable": "6.0.0",
	"good":          "1.0.0",
}

const config = `timeout: 2s
hosts:
  - name: showcase
    package: ./compat/hosts/showcase
    flags: [-trimpath]
    must_accept: [fixtures]
  - name: untrimmed
    package: ./compat/hosts/showcase
    flags: []
    must_reject: ["*"]
`

// abi is the ABI tag of the fixtures built by the go on PATH, set by setUp.
var abi string

// id is the matrix's name for fixture version v.
func id(v string) string { return "fixtures/fx@" + v + " " + abi }

// setUp builds and signs the fixtures into a scratch dist/ and returns the
// options that run the matrix over them with the hosts of config.
func setUp(t testing.TB) compat.Options {
	t.Helper()
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	files := map[string]string{}
	manifest := "name: fixtures\nowners: [\"@plugship\"]\nplugins:\n  - name: fx\n    source: fixtures/panicinit\n    version: 9.0.0\n    previous:\n"
	for name, version := range fixtures {
		src, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures", name, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		files["plugin_sources/fixtures/"+name+"/main.go"] = string(src)
		if name != "panicinit" {
			manifest += fmt.Sprintf("      - version: %s\n        source: fixtures/%s\n", version, name)
		}
	}
	files["teams/fixtures/team.yaml"] = manifest
	files["hosts.yaml"] = config
	if err := plugtest.Module(root, mod, files); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	good, err := plugtest.Find(filepath.Join(mod, "dist/plugins/fixtures/fx"), "fx", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if abi, err = plugtest.ABIOf(good); err != nil {
		t.Fatal(err)
	}
	return compat.Options{Root: root, Dist: filepath.Join(mod, "dist"), Config: filepath.Join(mod, "hosts.yaml")}
}

func readMatrix(t testing.TB, opts compat.Options) *matrix.Matrix {
	t.Helper()
	m, err := matrix.Read(filepath.Join(opts.Dist, matrix.Dir, matrix.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// essence is what a cell says, without timings and cache marks.
func essence(m *matrix.Matrix) string {
	var b strings.Builder
	for _, c := range m.Cells {
		fmt.Fprintf(&b, "%s|%s|%s|%s|%s|%s|%v|%s\n", c.Plugin, c.Host, c.PluginSHA256, c.HostSHA256, c.Outcome, c.Detail, c.Differences, c.Required)
	}
	fmt.Fprintf(&b, "%q", m.Violations)
	return b.String()
}

func TestMatrix(t *testing.T) {
	t.Setenv(progress.VerboseEnv, "")
	opts := setUp(t)
	ctx := context.Background()
	var out bytes.Buffer
	err := compat.Main(ctx, opts, &out)
	if err == nil {
		t.Fatalf("the run passed though required cells fail:\n%s", out.String())
	}
	if !strings.HasPrefix(err.Error(), "NOT ready: 4 violations\n") {
		t.Errorf("error does not lead with the verdict:\n%v", err)
	}
	for _, want := range []string{
		"fixtures/fx@9.0.0 in host showcase: panic: ",
		"fixtures/fx@8.0.0 in host showcase: exit: ",
		"fixtures/fx@7.0.0 in host showcase: timeout: ",
		"fixtures/fx@6.0.0 in host showcase: not-acceptable: ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "fx@1.0.0") {
		t.Errorf("the good plugin is reported: %v", err)
	}
	// The console is quiet: a line for each unexpected cell only, with
	// its reason, and a summary.
	if !strings.Contains(out.String(), "PLUGIN") || !strings.Contains(out.String(), "matrix tried in ") ||
		!strings.Contains(out.String(), "; 4 unexpected, 0 changed since the last run") {
		t.Errorf("console lacks the summary or the grid:\n%s", out.String())
	}
	lines := cellLines(out.String())
	if n := strings.Count(strings.Join(lines, "\n"), "  UNEXPECTED (must load)"); n != 4 || len(lines) != 4 || !strings.Contains(out.String(), "\n      in the probe: panic: fixture panics in init") {
		t.Errorf("%d cell lines, %d of them unexpected, want the 4 unexpected cells with their reason:\n%s", len(lines), n, out.String())
	}

	m := readMatrix(t, opts)
	want := map[string]string{
		id("9.0.0") + " × showcase": "panic",
		id("8.0.0") + " × showcase": "exit",
		id("7.0.0") + " × showcase": "timeout",
		id("6.0.0") + " × showcase": "not-acceptable",
		id("1.0.0") + " × showcase": "ok",
	}
	for _, c := range m.Cells {
		if c.Host == "untrimmed" {
			if c.Outcome != "build-mismatch" || c.ProbeMillis != 0 {
				t.Errorf("%s: %s (probe %.1f ms), want an unprobed build-mismatch", c.Key(), c.Outcome, c.ProbeMillis)
			}
			diffs := strings.Join(c.Differences, "\n")
			for _, w := range []string{"setting -trimpath: plugin true, host false", "package runtime:", "package github.com/plugship/plugship/contract:"} {
				if !strings.Contains(diffs, w) {
					t.Errorf("%s: differences lack %q:\n%s", c.Key(), w, diffs)
				}
			}
			continue
		}
		if c.Outcome != want[c.Key()] {
			t.Errorf("%s: %s (%s), want %s", c.Key(), c.Outcome, c.Detail, want[c.Key()])
		}
		var p string
		for _, mp := range m.Plugins {
			if mp.ID() == c.Plugin {
				p = filepath.Join(opts.Dist, mp.File)
			}
		}
		if sum, _, _ := artifact.HashFile(p); sum != c.PluginSHA256 {
			t.Errorf("%s: plugin digest %s, file has %s", c.Key(), c.PluginSHA256, sum)
		}
		if sum, _, _ := artifact.HashFile(compat.HostPath(opts.Dist, c.Host)); sum != c.HostSHA256 {
			t.Errorf("%s: host digest %s, binary has %s", c.Key(), c.HostSHA256, sum)
		}
	}
	if c := m.Cell(id("9.0.0"), "showcase"); !strings.Contains(c.Detail, "panic: fixture panics in init") {
		t.Errorf("panic detail %q", c.Detail)
	}
	for _, f := range []string{matrix.MarkdownFile, matrix.HTMLFile} {
		if st, err := os.Stat(filepath.Join(opts.Dist, matrix.Dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("report %s: %v", f, err)
		}
	}

	// Nothing changed: every cell comes from the cache.
	out.Reset()
	compat.Main(ctx, opts, &out)
	again := readMatrix(t, opts)
	for _, c := range again.Cells {
		if !c.Cached {
			t.Errorf("%s was run again with nothing changed", c.Key())
		}
	}
	if essence(again) != essence(m) {
		t.Errorf("the cached run differs from the first")
	}
	if !strings.Contains(out.String(), ", all from cache; ") || strings.Count(out.String(), "UNEXPECTED") != 4 || strings.Contains(out.String(), "CHANGED") {
		t.Errorf("cached run: want the unexpected cells again and nothing changed:\n%s", out.String())
	}

	// A cell whose outcome differs from the last matrix's gets a line.
	last := readMatrix(t, opts)
	last.Cell(id("1.0.0"), "showcase").Outcome = "panic"
	data, err := last.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(opts.Dist, matrix.Dir, matrix.JSONFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	compat.Main(ctx, opts, &out)
	if lines := cellLines(out.String()); len(lines) != 5 || !regexp.MustCompile(`(?m)^  \[ ?\d+/10\] `+regexp.QuoteMeta(id("1.0.0"))+` +showcase +ok +CHANGED \(was panic\)$`).MatchString(strings.Join(lines, "\n")) ||
		!strings.Contains(out.String(), "; 4 unexpected, 1 changed since the last run") {
		t.Errorf("no line for the changed cell:\n%s", out.String())
	}

	// Verbose: a line for every cell.
	t.Setenv(progress.VerboseEnv, "1")
	out.Reset()
	compat.Main(ctx, opts, &out)
	if n := len(cellLines(out.String())); n != 10 || strings.Count(out.String(), " ms (cached)") != 10 || !strings.Contains(out.String(), "[10/10]") {
		t.Errorf("verbose: %d cell lines, want 10:\n%s", n, out.String())
	}
	t.Setenv(progress.VerboseEnv, "")

	// Shards 1/3, 2/3 and 3/3, run for real (no cache), merge into the
	// same matrix.
	os.Remove(filepath.Join(opts.Dist, filepath.FromSlash(compat.CacheFile)))
	os.Remove(filepath.Join(opts.Dist, matrix.Dir, matrix.JSONFile))
	total := 0
	for i := 1; i <= 3; i++ {
		out.Reset()
		if err := compat.Shard(ctx, opts, matrix.Shard{Index: i, Count: 3}, &out); err != nil {
			t.Fatalf("shard %d/3: %v\n%s", i, err, out.String())
		}
		part, err := matrix.Read(compat.ShardFile(opts.Dist, matrix.Shard{Index: i, Count: 3}))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range part.Cells {
			if c.Cached {
				t.Errorf("shard %d/3: %s came from the cache", i, c.Key())
			}
		}
		total += len(part.Cells)
	}
	if total != 10 {
		t.Errorf("the shards ran %d cells, want 10", total)
	}
	out.Reset()
	compat.Merge(ctx, opts, &out)
	if merged := readMatrix(t, opts); essence(merged) != essence(m) {
		t.Errorf("merged shards differ from the whole run:\n%s\n---\n%s", essence(merged), essence(m))
	}
}

// cellLines are the console's lines about single cells.
func cellLines(out string) []string {
	return regexp.MustCompile(`(?m)^  \[ ?\d+/\d+\] .*$`).FindAllString(out, -1)
}

func TestConfigProblems(t *testing.T) {
	_, err := compat.ParseConfig([]byte(`hosts:
  - name: Bad_Name
    package: ../elsewhere
    flags: [-o, out, "-buildmode=exe"]
    must_accept: ["a/b/c"]
  - name: x
    package: ./compat/hosts/x
    colour: red
`))
	if err == nil || !strings.Contains(err.Error(), "field colour not found") {
		t.Errorf("unknown field: %v", err)
	}
	_, err = compat.ParseConfig([]byte(`hosts:
  - name: Bad_Name
    package: ../elsewhere
    flags: [-o, out, "-buildmode=exe"]
    must_accept: ["a/b/c"]
  - name: ok
    package: ./compat/hosts/ok
  - name: ok
    package: ./compat/hosts/ok
`))
	for _, want := range []string{"hosts[0].name:", "hosts[0].package: \"../elsewhere\"", "hosts[0].flags: -o is set by plugship", "hosts[0].flags: \"out\" is not a go build flag", "-buildmode=exe is set by plugship", "hosts[0].must_accept: selector \"a/b/c\"", "hosts[2].name: host ok is listed twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config error lacks %q: %v", want, err)
		}
	}
	if _, err := compat.ParseConfig([]byte("timeout: soon\nhosts: []\n")); err == nil || !strings.Contains(err.Error(), "positive duration") {
		t.Errorf("bad timeout: %v", err)
	}
}

func TestBundledConfig(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	c, err := compat.LoadConfig(filepath.Join(root, compat.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Hosts) < 3 {
		t.Errorf("%d reference hosts, want at least 3", len(c.Hosts))
	}
}

// FuzzParseConfig: compat/hosts.yaml is edited by people.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(config))
	f.Add([]byte("hosts:\n  - name: x\n    package: ./compat/hosts/x\n    must_accept: [\"*\"]\n"))
	f.Add([]byte("timeout: 1s\nhosts: [{name: a, package: ./compat/hosts/a, flags: [-race]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := compat.ParseConfig(data)
		if err != nil {
			return
		}
		if len(c.Hosts) == 0 || c.Timeout <= 0 {
			t.Fatalf("accepted a config without hosts or timeout: %+v", c)
		}
	})
}

// profilesConfig has two profiles, the go on PATH and go1.25.8, and the
// reference host built with each.
const profilesConfig = `profiles:
  - name: current
  - name: go1-25
    go: go1.25.8
timeout: 5s
hosts:
  - name: showcase
    package: ./compat/hosts/showcase
    must_accept: [fixtures]
  - name: showcase-go1-25
    profile: go1-25
    package: ./compat/hosts/showcase
    must_accept: [fixtures]
`

// TestProfilesMatrix: with two profiles on two Go releases, the build makes
// one file per plugin version per ABI, and the matrix shows each accepted
// by the host of its own profile and refused, with the reason and without
// any probe (so no host process could crash), by the other.
func TestProfilesMatrix(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures/good/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := plugtest.Module(root, mod, map[string]string{
		"teams/fixtures/team.yaml":             "name: fixtures\nowners: [\"@plugship\"]\nplugins:\n  - name: fx\n    source: fixtures/good\n    version: 1.1.0\n    previous:\n      - version: 1.0.0\n        source: fixtures/old\n",
		"plugin_sources/fixtures/good/main.go": string(src),
		"plugin_sources/fixtures/old/main.go":  string(src),
		"compat/hosts.yaml":                    profilesConfig,
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out)
	if err != nil && strings.Contains(err.Error(), "toolchain go1.25.8") && os.Getenv("CI") == "" {
		t.Fatalf("go1.25.8 cannot be downloaded through the module proxy here: %v (go run mage.go test fetches it, or says why it cannot)", err)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "4 built, 0 up to date, 0 failed, of 4 plugin builds") {
		t.Errorf("build output:\n%s", out.String())
	}
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	opts := compat.Options{Root: root, Dist: filepath.Join(mod, "dist"), Config: filepath.Join(mod, "compat/hosts.yaml")}
	out.Reset()
	if err := compat.Main(context.Background(), opts, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	m := readMatrix(t, opts)
	if len(m.Plugins) != 4 || len(m.Cells) != 8 || len(m.Violations) != 0 {
		t.Fatalf("%d files, %d cells, violations %q:\n%s", len(m.Plugins), len(m.Cells), m.Violations, out.String())
	}
	hosts := map[string]matrix.Host{}
	for _, h := range m.Hosts {
		hosts[h.Name] = h
	}
	if hosts["showcase"].Toolchain == "go1.25.8" || hosts["showcase-go1-25"].Toolchain != "go1.25.8" || hosts["showcase"].ABI == hosts["showcase-go1-25"].ABI {
		t.Errorf("hosts %+v", m.Hosts)
	}
	abis := map[string]int{}
	for _, p := range m.Plugins {
		abis[p.ABI]++
		for _, h := range m.Hosts {
			c := m.Cell(p.ID(), h.Name)
			switch {
			case artifact.MatchABI(p.ABI, h.ABI):
				if c.Outcome != matrix.OK || c.Required != "accept" {
					t.Errorf("%s: %s (%s), want ok as required", c.Key(), c.Outcome, c.Detail)
				}
			default:
				if c.Outcome != "toolchain-mismatch" || c.ProbeMillis != 0 || !strings.Contains(c.Detail, "go: plugin go1.2") || c.Required != "reject" {
					t.Errorf("%s: %s (probe %.1f ms, required %q): %s; want an unprobed toolchain-mismatch", c.Key(), c.Outcome, c.ProbeMillis, c.Required, c.Detail)
				}
			}
		}
	}
	if abis[artifact.BaseABI(hosts["showcase"].ABI)] != 2 || abis[artifact.BaseABI(hosts["showcase-go1-25"].ABI)] != 2 {
		t.Errorf("files per ABI %v, want 2 for each host's ABI", abis)
	}
	md, _ := os.ReadFile(filepath.Join(opts.Dist, matrix.Dir, matrix.MarkdownFile))
	for _, want := range []string{"Which builds serve which hosts", "| `" + artifact.BaseABI(hosts["showcase-go1-25"].ABI) + "` | 2 | showcase-go1-25 | go1-25 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("matrix.md lacks %q:\n%s", want, md)
		}
	}
}

// TestRefProfileHost runs the matrix with a profile at a git ref (HEAD of
// a committed copy of this module): its host is built in the tree exported
// for the ref, the plugins for it too, and each host takes the builds of
// its own ABI.
func TestRefProfileHost(t *testing.T) {
	module, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := plugtest.GitCopy(module, root); err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "hosts.yaml")
	os.WriteFile(cfg, []byte(`profiles:
  - name: current
  - name: head
    ref: HEAD
timeout: 5s
hosts:
  - name: showcase
    package: ./compat/hosts/showcase
    must_accept: [showcase/showcase]
  - name: showcase-head
    profile: head
    package: ./compat/hosts/showcase
    must_accept: [showcase/showcase]
`), 0o644)
	var out bytes.Buffer
	ctx := context.Background()
	if err := build.Main(ctx, build.Selection{Team: "showcase", Plugin: "showcase"}, build.Options{Root: root, Dist: dist, Config: cfg}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "at HEAD (profiles head)") {
		t.Errorf("build output:\n%s", out.String())
	}
	if err := sign.Main(ctx, sign.Options{Root: root, Dist: dist}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	opts := compat.Options{Root: root, Dist: dist, Config: cfg}
	out.Reset()
	if err := compat.Main(ctx, opts, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	m := readMatrix(t, opts)
	var head matrix.Host
	for _, h := range m.Hosts {
		if h.Name == "showcase-head" {
			head = h
		}
	}
	if head.Ref != "HEAD" || head.Profile != "head" || head.ABI == "" {
		t.Fatalf("the ref profile's host: %+v", head)
	}
	if !strings.Contains(out.String(), "host showcase-head") || !strings.Contains(out.String(), "at HEAD") {
		t.Errorf("matrix output:\n%s", out.String())
	}
	served := 0
	for _, p := range m.Plugins {
		if artifact.MatchABI(p.ABI, head.ABI) {
			served++
			if !slices.Contains(p.Profiles, "head") {
				t.Errorf("%s serves the head host's ABI, but its metadata lists profiles %q", p.ID(), p.Profiles)
			}
		}
	}
	if served != 2 || len(m.Violations) != 0 {
		t.Errorf("%d files for the head host's ABI, want both showcase versions; violations %q\n%s", served, m.Violations, out.String())
	}
	trees, _ := os.ReadDir(filepath.Join(dist, ".cache/trees"))
	if len(trees) != 1 {
		t.Errorf("%d exported trees, want the one of HEAD", len(trees))
	}
}

// TestRegressionAgainstTheLastPublish compares a run with a previous
// matrix in which one required cell passed and one version did not exist:
// every report leads with the verdict and that regression, the JSON
// carries them as fields, and compat.Diff says the same.
func TestRegressionAgainstTheLastPublish(t *testing.T) {
	t.Setenv(progress.VerboseEnv, "")
	opts := setUp(t)
	ctx := context.Background()
	var out bytes.Buffer
	compat.Main(ctx, opts, &out)
	base := readMatrix(t, opts)
	base.Cell(id("6.0.0"), "showcase").Outcome = matrix.OK
	base.Plugins = slices.DeleteFunc(base.Plugins, func(p matrix.Plugin) bool { return p.Version == "1.0.0" })
	base.Cells = slices.DeleteFunc(base.Cells, func(c matrix.Cell) bool { return strings.HasPrefix(c.Plugin, "fixtures/fx@1.0.0 ") })
	base.Verdict = nil
	data, err := base.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	baseFile := filepath.Join(t.TempDir(), "published.json")
	if err := os.WriteFile(baseFile, data, 0o644); err != nil {
		t.Fatal(err)
	}

	opts.Base = baseFile
	out.Reset()
	err = compat.Main(ctx, opts, &out)
	const verdict = "NOT ready: 1 regression, 3 violations"
	if err == nil || !strings.HasPrefix(err.Error(), verdict+"\n  fixtures/fx@6.0.0 in host showcase: not-acceptable: ") {
		t.Fatalf("error %v, want it to lead with %q and the regression", err, verdict)
	}
	console := out.String()
	if i := strings.Index(console, verdict); i < 0 || !strings.HasPrefix(console[i+len(verdict):], "\n  regression fixtures/fx@6.0.0 in showcase: not acceptable") {
		t.Errorf("the console's report does not lead with the verdict and the regression:\n%s", console)
	}
	dir := filepath.Join(opts.Dist, matrix.Dir)
	for _, f := range []string{matrix.MarkdownFile, matrix.HTMLFile} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		i, j, grid := strings.Index(s, verdict), strings.Index(s, "fixtures/fx@6.0.0"), strings.Index(s, "fixtures/fx@9.0.0")
		if i < 0 || j < i || grid < j {
			t.Errorf("%s does not lead with %q and the regression before the grid (at %d, %d, %d)", f, verdict, i, j, grid)
		}
	}
	m := readMatrix(t, opts)
	if v := m.Verdict; v == nil || v.Ready || v.Line != verdict || len(v.Regressions) != 1 || v.Regressions[0].Version != "fixtures/fx@6.0.0" || v.Regressions[0].Host != "showcase" {
		t.Errorf("matrix.json verdict %+v", m.Verdict)
	}
	if c := m.Changes; c == nil || !slices.Equal(c.NewVersions, []string{"fixtures/fx@1.0.0"}) || len(c.Changed) == 0 || !c.Changed[0].Regression {
		t.Errorf("matrix.json changes %+v", m.Changes)
	}

	out.Reset()
	err = compat.Diff(ctx, baseFile, filepath.Join(dir, matrix.JSONFile), &out)
	if err == nil || !strings.Contains(out.String(), "1 regression") || !strings.Contains(out.String(), "fixtures/fx@1.0.0") {
		t.Errorf("compat.Diff: %v\n%s", err, out.String())
	}
}
