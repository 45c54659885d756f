package sign_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/verify"
)

const payManifest = `name: pay
owners: ["@pay"]
plugins:
  - name: fraud
    source: pay/fraud
    version: 1.3.0
    previous:
      - version: 1.2.0
        source: pay/fraud12
  - name: ledger
    source: pay/ledger
    version: 2.0.0
  - name: old
    source: pay/old
    version: 1.0.0
`

// After: fraud 1.2.0 removed, ledger renamed books, old removed.
const payManifestAfter = `name: pay
owners: ["@pay"]
plugins:
  - name: fraud
    source: pay/fraud
    version: 1.3.0
  - name: books
    source: pay/ledger
    version: 2.0.0
`

// steps runs build, sign and verify in mod, and returns their output and
// errors.
type steps struct {
	t   *testing.T
	mod string
}

func (s steps) build() (string, error) {
	var out bytes.Buffer
	err := build.Main(context.Background(), build.Selection{}, build.Options{Root: s.mod}, &out)
	return out.String(), err
}

func (s steps) sign() (string, error) {
	var out bytes.Buffer
	err := sign.Main(context.Background(), sign.Options{Root: s.mod}, &out)
	return out.String(), err
}

func (s steps) verify() (string, error) {
	var out bytes.Buffer
	err := verify.Main(context.Background(), verify.Options{Root: s.mod}, &out)
	return out.String(), err
}

// all runs build, sign and verify, failing the test if any fails.
func (s steps) all() (b, sg, v string) {
	s.t.Helper()
	var err error
	if b, err = s.build(); err != nil {
		s.t.Fatalf("build: %v\n%s", err, b)
	}
	if sg, err = s.sign(); err != nil {
		s.t.Fatalf("sign: %v\n%s", err, sg)
	}
	if v, err = s.verify(); err != nil {
		s.t.Fatalf("verify: %v\n%s", err, v)
	}
	return b, sg, v
}

func (s steps) write(file, data string) {
	s.t.Helper()
	if err := plugtest.WriteFile(filepath.Join(s.mod, file), data); err != nil {
		s.t.Fatal(err)
	}
}

func (s steps) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(s.mod, "dist", rel))
	return err == nil
}

func contains(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s output lacks %q:\n%s", what, w, out)
		}
	}
}

func lacks(t *testing.T, what, out string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(out, b) {
			t.Errorf("%s output has %q:\n%s", what, b, out)
		}
	}
}

// TestStaleFiles removes a version, a plugin and a whole team from the
// manifests and renames a plugin: sign, verify and publish skip the old
// files until the build moves them, with their signatures and metadata, to
// dist/.stale/, saying so once; the next run reports nothing.
func TestStaleFiles(t *testing.T) {
	t.Setenv(progress.VerboseEnv, "")
	mod := t.TempDir()
	if err := plugtest.Module(filepath.Join("..", "..", ".."), mod, map[string]string{
		"teams/pay/team.yaml":                payManifest,
		"teams/gone/team.yaml":               "name: gone\nowners: [\"@g\"]\nplugins:\n  - name: x\n    source: gone/x\n    version: 1.0.0\n",
		"plugin_sources/pay/fraud/main.go":   source("fraud"),
		"plugin_sources/pay/fraud12/main.go": source("fraud 1.2"),
		"plugin_sources/pay/ledger/main.go":  source("ledger"),
		"plugin_sources/pay/old/main.go":     source("old"),
		"plugin_sources/gone/x/main.go":      source("x"),
	}); err != nil {
		t.Fatal(err)
	}
	s := steps{t, mod}
	s.all()

	s.write("teams/pay/team.yaml", payManifestAfter)
	if err := os.RemoveAll(filepath.Join(mod, "teams/gone")); err != nil {
		t.Fatal(err)
	}
	skipped := []string{
		"skipped    1 file of pay/fraud v1.2.0, stale: no longer in teams/pay/team.yaml, which lists v1.3.0; go run mage.go build moves them to dist/.stale/",
		"skipped    1 file of pay/ledger, stale: no longer in teams/pay/team.yaml; go run mage.go build",
		"skipped    1 file of pay/old, stale: no longer in teams/pay/team.yaml; go run mage.go build",
		"skipped    1 file of team gone (x), stale: no longer in teams/ (no team gone); go run mage.go build",
	}

	// Before any build: sign and verify skip the stale files, and pass;
	// publish does not offer them.
	out, err := s.sign()
	if err != nil {
		t.Fatalf("sign with stale files: %v\n%s", err, out)
	}
	t.Logf("sign:\n%s", out)
	contains(t, "sign", out, skipped...)
	lacks(t, "sign", out, "FAILED")
	out, err = s.verify()
	if err != nil {
		t.Fatalf("verify with stale files: %v\n%s", err, out)
	}
	contains(t, "verify", out, skipped...)
	contains(t, "verify", out, "1 of 1 artifacts verified")
	vs, err := publish.Plan(publish.Options{Root: mod})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Meta.Plugin != "fraud" || vs[0].Meta.Version != "1.3.0" {
		for _, v := range vs {
			t.Errorf("publish plans %s %s", v.Meta.File, v.Err)
		}
	}

	// The build moves them aside, each with the files beside it, and
	// says so once per plugin (per team when the team is gone).
	b, sg, v := s.all()
	t.Logf("build:\n%s", b)
	stamp := regexp.MustCompile(`moved to dist/\.stale/([0-9]{8}-[0-9]{6})/pay/fraud/`).FindStringSubmatch(b)
	if stamp == nil {
		t.Fatalf("build does not move pay/fraud v1.2.0 to dist/.stale/<time>/pay/fraud/:\n%s", b)
	}
	at := "dist/.stale/" + stamp[1] + "/"
	contains(t, "build", b,
		"stale: 1 file of pay/fraud v1.2.0, no longer in teams/pay/team.yaml, which lists v1.3.0; moved to "+at+"pay/fraud/\n",
		"stale: 1 file of pay/ledger, no longer in teams/pay/team.yaml; moved to "+at+"pay/ledger/\n",
		"stale: 1 file of pay/old, no longer in teams/pay/team.yaml; moved to "+at+"pay/old/\n",
		"stale: 1 file of team gone (x), no longer in teams/ (no team gone); moved to "+at+"gone/\n",
		"built      pay/books v2.0.0",
	)
	if n := strings.Count(b, "stale:"); n != 4 {
		t.Errorf("build has %d stale lines, want 4:\n%s", n, b)
	}
	lacks(t, "sign", sg, "skipped", "FAILED")
	contains(t, "sign", sg, "signed     books_v2.0.0_")
	contains(t, "verify", v, "2 of 2 artifacts verified")
	lacks(t, "verify", v, "skipped")
	for _, gone := range []string{"plugins/gone", "plugins/pay/ledger", "plugins/pay/old"} {
		if s.exists(gone) {
			t.Errorf("dist/%s is still there", gone)
		}
	}
	moved, _ := filepath.Glob(filepath.Join(mod, at, "pay/ledger/ledger_v2.0.0_*"))
	var suffixes []string
	for _, f := range moved {
		suffixes = append(suffixes, strings.TrimPrefix(filepath.Base(f)[strings.Index(filepath.Base(f), ".so"):], ".so"))
	}
	if got := strings.Join(suffixes, " "); got != " .intoto.json .json .sig .sigstore.json" {
		t.Errorf("moved for pay/ledger: %q, want the .so and its .intoto.json .json .sig .sigstore.json", got)
	}
	if fraud, _ := filepath.Glob(filepath.Join(mod, "dist/plugins/pay/fraud/*")); len(fraud) != 5 {
		t.Errorf("dist/plugins/pay/fraud holds %d files, want 1.3.0's five", len(fraud))
	}

	// The next run has nothing stale.
	b, sg, v = s.all()
	lacks(t, "second build", b, "stale", "kept")
	lacks(t, "second sign", sg, "skipped", "FAILED")
	lacks(t, "second verify", v, "skipped")
}

// TestManifestWithProblemsKeepsFiles breaks a team manifest, in one entry
// and then whole: the build, sign and verify report the manifest, and its
// files are neither moved nor reported as unsigned or stale; once fixed,
// everything is as before.
func TestManifestWithProblemsKeepsFiles(t *testing.T) {
	t.Setenv(progress.VerboseEnv, "")
	mod := t.TempDir()
	if err := plugtest.Module(filepath.Join("..", "..", ".."), mod, map[string]string{
		"teams/pay/team.yaml":               payManifestAfter,
		"teams/lab/team.yaml":               "name: lab\nowners: [\"@l\"]\nplugins:\n  - name: up\n    source: lab/up\n    version: 1.0.0\n",
		"plugin_sources/pay/fraud/main.go":  source("fraud"),
		"plugin_sources/pay/ledger/main.go": source("ledger"),
		"plugin_sources/lab/up/main.go":     source("up"),
	}); err != nil {
		t.Fatal(err)
	}
	s := steps{t, mod}
	s.all()
	before, _ := filepath.Glob(filepath.Join(mod, "dist/plugins/pay/*/*"))

	for _, tc := range []struct {
		name, manifest, problem, kept string
		signed                        int // files still signed: those the manifest still claims
	}{
		{"a typo in one entry", strings.Replace(payManifestAfter, "version: 1.3.0", "version: 1.3.O", 1),
			"teams/pay/team.yaml:6: plugins[0].version", "kept: 1 file of team pay (fraud) as they are", 2},
		{"not YAML", payManifestAfter + "  - {", "teams/pay/team.yaml: not valid YAML",
			"kept: 2 files of team pay (books, fraud) as they are", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := steps{t, mod}
			s.write("teams/pay/team.yaml", tc.manifest)
			b, err := s.build()
			t.Logf("build:\n%s", b)
			if err == nil || !strings.Contains(err.Error(), "problems in the team registry") {
				t.Errorf("build: %v, want the registry's problems\n%s", err, b)
			}
			contains(t, "build", b, tc.problem, tc.kept, "until teams/pay/team.yaml is fixed")
			lacks(t, "build", b, "stale")
			if n := strings.Count(b, "kept:"); n != 1 {
				t.Errorf("build has %d kept lines, want 1:\n%s", n, b)
			}
			sg, err := s.sign()
			if err == nil || !strings.Contains(err.Error(), "problems in the team registry") || strings.Contains(err.Error(), "not signed") {
				t.Errorf("sign: %v, want the registry's problems alone\n%s", err, sg)
			}
			t.Logf("sign:\n%s", sg)
			contains(t, "sign", sg, tc.problem, "teams/pay/team.yaml has problems (listed above)")
			lacks(t, "sign", sg, "FAILED", "stale")
			v, err := s.verify()
			if err == nil || !strings.Contains(err.Error(), "team registry") || strings.Contains(err.Error(), "failed verification") {
				t.Errorf("verify: %v, want the registry's problems alone\n%s", err, v)
			}
			contains(t, "verify", v, "teams/pay/team.yaml has problems")
			lacks(t, "verify", v, "FAILED")
			vs, err := publish.Plan(publish.Options{Root: mod})
			if err != nil {
				t.Fatal(err)
			}
			held := 0
			for _, v := range vs {
				if v.Err != nil && strings.Contains(v.Err.Error(), "teams/pay/team.yaml has problems: fix it") {
					held++
				}
			}
			if held != 3-tc.signed {
				t.Errorf("publish refuses %d files for the manifest, want %d", held, 3-tc.signed)
			}
			after, _ := filepath.Glob(filepath.Join(mod, "dist/plugins/pay/*/*"))
			if strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("files of team pay changed:\n%s\nwant:\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
			}
			if s.exists(".stale") {
				t.Errorf("dist/.stale exists")
			}
		})
	}

	// Fixed: nothing stale, nothing kept, everything up to date.
	s.write("teams/pay/team.yaml", payManifestAfter)
	b, sg, v := s.all()
	lacks(t, "build", b, "stale", "kept", "built  ")
	lacks(t, "sign", sg, "skipped", "signed  ")
	contains(t, "verify", v, "3 of 3 artifacts verified")
}
