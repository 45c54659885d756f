package badinput_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/teams"
)

// TestSymlinkedSources: plugin source folders that are symlinks. A link
// to a folder inside the team's own folder is followed: the build takes
// the files it points at, and rebuilds when they change. A link out of
// the team's folder, or a team folder that is a link out of the module,
// is refused by the registry, naming the link and where it goes, and the
// team's other plugins are still built.
func TestSymlinkedSources(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	outside := t.TempDir()
	if err := plugtest.Module(root, mod, map[string]string{
		"teams/ok/team.yaml": "name: ok\nowners: [\"@ok\"]\nplugins:\n" +
			"  - {name: inside, source: ok/inside, version: 1.0.0}\n" +
			"  - {name: outside, source: ok/outside, version: 1.0.0}\n",
		"plugin_sources/ok/real/inside/main.go": good,
		"teams/ext/team.yaml":                   "name: ext\nowners: [\"@ext\"]\nplugins:\n  - {name: extp, source: ext/extp, version: 1.0.0}\n",
	}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"outside/main.go": good, "ext/extp/main.go": good} {
		if err := plugtest.WriteFile(filepath.Join(outside, name), data); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"plugin_sources/ok/inside":  "real/inside",
		"plugin_sources/ok/outside": filepath.Join(outside, "outside"),
		"plugin_sources/ext":        filepath.Join(outside, "ext"),
	} {
		if err := os.Symlink(target, filepath.Join(mod, link)); err != nil {
			t.Fatal(err)
		}
	}

	// The registry.
	_, err = teams.Load(mod)
	if err == nil {
		t.Fatal("the registry accepted links out of the team's folder and out of the module")
	}
	wantOutside := "plugin_sources/ok/outside resolves (through a symlink) to " + filepath.Join(outside, "outside") + ", outside plugin_sources/ok/"
	wantTeam := "plugin_sources/ext/ resolves (through a symlink) to " + filepath.Join(outside, "ext") + "; a team's source folder must be a folder, not a link"
	for _, want := range []string{wantOutside, wantTeam} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("registry error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "ok/inside") {
		t.Errorf("the registry refused the link inside the team's folder:\n%v", err)
	}
	record(t, "symlink-source-inside", "registry", Accepted, "no problem reported: the link resolves inside plugin_sources/ok/")
	record(t, "symlink-source-outside", "registry", Refused, "teams.Load: "+linesWith(err.Error(), "ok/outside"))
	record(t, "symlink-team-outside", "registry", Refused, "teams.Load: "+linesWith(err.Error(), "plugin_sources/ext/"))

	// The build: the refused ones are listed and not built; the link
	// inside is built from the files it points at.
	var out bytes.Buffer
	err = build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out)
	if err == nil {
		t.Errorf("build succeeded with registry problems:\n%s", out.String())
	}
	for _, want := range []string{wantOutside, wantTeam, "built      ok/inside v1.0.0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("build output lacks %q:\n%s", want, out.String())
		}
	}
	for _, dir := range []string{artifact.PluginDir(filepath.Join(mod, "dist"), "ok", "outside"), artifact.PluginDir(filepath.Join(mod, "dist"), "ext", "extp")} {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s was built", dir)
		}
	}
	record(t, "symlink-source-outside", "build", Refused, linesWith(out.String(), "ok/outside"))
	record(t, "symlink-team-outside", "build", Refused, linesWith(out.String(), "plugin_sources/ext/"))
	dist := filepath.Join(mod, "dist")
	file, err := plugtest.Find(artifact.PluginDir(dist, "ok", "inside"), "inside", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := artifact.HashFile(file)

	// A change to the file behind the link is a change to the plugin.
	changed := strings.Replace(good, "return true", "return len(version) > 0", 1)
	if err := os.WriteFile(filepath.Join(mod, "plugin_sources/ok/real/inside/main.go"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	build.Main(context.Background(), build.Selection{Team: "ok", Plugin: "inside"}, build.Options{Root: mod}, &out)
	after, _, _ := artifact.HashFile(file)
	if !strings.Contains(out.String(), "built      ok/inside v1.0.0") || before == after {
		t.Errorf("a change behind the link was not rebuilt (sha256 %.12s, then %.12s):\n%s", before, after, out.String())
	}
	m, err := artifact.ReadMetadata(file + artifact.MetadataSuffix)
	if err != nil {
		t.Fatal(err)
	}
	record(t, "symlink-source-inside", "build", Accepted, "built from the files behind the link, and built again when one of them changed; metadata source "+m.Source)

	// Signed and loaded like any plugin.
	out.Reset()
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err == nil || !strings.Contains(out.String(), "signed     inside_v1.0.0_") {
		t.Errorf("sign: %v\n%s", err, out.String())
	}
	record(t, "symlink-source-inside", "sign", Accepted, strings.TrimSpace(linesWith(out.String(), "signed     inside_")))
	f := &fleet{dist: dist}
	d := f.try(t, file, f.policy(t))
	if d.Outcome != loader.Passed {
		t.Errorf("the plugin built through a link does not load: %+v", d)
	}
	record(t, "symlink-source-inside", "loader", Accepted, "loader.Try: "+string(d.Outcome))
}
