package build

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/verify"
	"github.com/plugship/plugship/trust"
)

// TestConfiguredFolders builds, signs and verifies in a repository whose
// plugship.yaml renames every folder: the registry comes from squads/, the
// sources from src/, the host profiles from ci/hosts.yaml, and everything
// goes to out/. The default folders hold a broken registry that must not
// be read. A plugship.yaml with problems stops every step with all of them.
func TestConfiguredFolders(t *testing.T) {
	mod := newModule(t, map[string]string{
		"plugship.yaml": "version: 1\nfolders:\n  teams: squads\n  sources: src\n  hosts: ci/hosts.yaml\n  dist: out\n",
		"ci/hosts.yaml": "profiles:\n  - name: renamed\n",
		"squads/acme/team.yaml": `name: acme
owners: [dev@example.com]
plugins:
  - name: good
    source: acme/good
    version: 1.0.0
`,
		"src/acme/good/main.go": pluginSource(`"configured"`),
		// The default folders, which must not be read.
		"teams/acme/team.yaml":                "this is not a manifest\n",
		"plugin_sources/acme/good/main.go":    "this is not Go\n",
		"compat/hosts.yaml":                   "profiles: [what]\n",
		"plugin_sources/acme/other/README.md": "",
	})
	ctx := context.Background()
	const password = "configured folders"
	t.Setenv(keys.PasswordEnv, password)
	pub, _, err := keys.Generate(mod, "acme", []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(mod, "squads", "acme", keys.PublicName); pub != want {
		t.Errorf("public key written to %s, want %s", pub, want)
	}

	var out bytes.Buffer
	if err := Main(ctx, Selection{}, Options{Root: mod}, &out); err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	for _, want := range []string{"target renamed", "built      acme/good v1.0.0", "files: out/plugins/<team>/<plugin>/"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("build output lacks %q:\n%s", want, out.String())
		}
	}
	file, err := plugtest.Find(artifact.PluginDir(filepath.Join(mod, "out"), "acme", "good"), "good", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mod, "dist")); err == nil {
		t.Error("the build wrote into dist/, not the configured out/")
	}

	out.Reset()
	if err := sign.Main(ctx, sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("sign: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "signed     good_v1.0.0_") || strings.Contains(out.String(), "DEVELOPMENT") {
		t.Errorf("sign did not use the key committed in squads/:\n%s", out.String())
	}
	for _, f := range []string{file + trust.SignatureSuffix, filepath.Join(mod, "out", artifact.TrustFile)} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	out.Reset()
	if err := verify.Main(ctx, verify.Options{Root: mod, Strict: true}, &out); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}

	// A broken configuration: every step refuses, naming every problem;
	// a configuration passed in Repo is used instead of the file.
	writeFile(t, filepath.Join(mod, config.File), "folders:\n  dist: ../out\n  teams: /squads\n")
	for step, run := range map[string]func() error{
		"build":  func() error { return Main(ctx, Selection{}, Options{Root: mod}, &out) },
		"sign":   func() error { return sign.Main(ctx, sign.Options{Root: mod}, &out) },
		"verify": func() error { return verify.Main(ctx, verify.Options{Root: mod}, &out) },
	} {
		err := run()
		if err == nil || !strings.Contains(err.Error(), `plugship.yaml:2: folders.dist: "../out" leaves the module root`) ||
			!strings.Contains(err.Error(), `plugship.yaml:3: folders.teams: "/squads" starts with "/"`) {
			t.Errorf("%s with a broken plugship.yaml: %v", step, err)
		}
	}
	repo := config.Default("github.com/plugship/plugship")
	repo.Teams, repo.Sources, repo.Hosts, repo.Dist = "squads", "src", "ci/hosts.yaml", "out"
	out.Reset()
	if err := Main(ctx, Selection{}, Options{Root: mod, Repo: repo}, &out); err != nil || !strings.Contains(out.String(), "0 built, 1 up to date, 0 failed, of 1 plugin builds") {
		t.Errorf("build with Repo: %v\n%s", err, out.String())
	}
}

// TestBuildChecksTheConfiguredSymbols builds with plugship.yaml naming the
// symbols Greeter and GreeterElement: a plugin that exports only the
// variable is built, one that exports only the seed's Showcase fails with
// a message naming both configured symbols, and the other still builds.
func TestBuildChecksTheConfiguredSymbols(t *testing.T) {
	mod := newModule(t, map[string]string{
		"plugship.yaml": "contract:\n  accessor: Greeter\n  element: GreeterElement\n",
		"teams/acme/team.yaml": `name: acme
owners: [dev@example.com]
plugins:
  - name: element
    source: acme/element
    version: 1.0.0
  - name: seed
    source: acme/seed
    version: 1.0.0
`,
		"plugin_sources/acme/element/main.go": strings.Replace(pluginSource(`"element"`),
			"func Showcase() contract.Plugin { return p{} }", "var GreeterElement contract.Plugin = p{}", 1),
		"plugin_sources/acme/seed/main.go": pluginSource(`"seed"`),
	})
	var out bytes.Buffer
	err := Main(context.Background(), Selection{}, Options{Root: mod}, &out)
	if err == nil {
		t.Fatalf("build of a plugin exporting neither Greeter nor GreeterElement succeeded:\n%s", out.String())
	}
	for _, want := range []string{
		"built      acme/element v1.0.0",
		"FAILED     acme/seed v1.0.0",
		"exports neither Greeter nor GreeterElement: hosts look up these names (plugship.yaml contract.accessor and contract.element)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("build output lacks %q:\n%s", want, out.String())
		}
	}
}
