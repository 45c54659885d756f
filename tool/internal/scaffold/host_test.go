package scaffold

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/teams"
)

// What init -host nakama writes: no contract or reference host of its
// own, a go.mod that requires the server's contract module and nothing of
// plugship's, and configuration files that plugship's own parsers read as
// the contract made of the server's symbols, a binary profile and the
// server's check.
func TestInitHost(t *testing.T) {
	dir := t.TempDir()
	const mod = "github.com/acme/studio"
	host := Presets["nakama"]
	host.Binary, host.SHA256 = "https://downloads.example.com/nakama-3.40.0/nakama", strings.Repeat("ab", 32)
	if err := initOffline(t, Options{Dir: dir, Module: mod, Version: "v1.2.3", Host: &host}); err != nil {
		t.Fatal(err)
	}
	want := []string{".github/workflows/ci.yml", ".github/workflows/refresh.yml", ".github/workflows/release.yml", ".github/workflows/yank.yml", ".gitignore", "Dockerfile", "README.md",
		"compat/hosts.yaml", "go.mod", "mage.go", "magefiles/go.mod", "magefiles/magefile.go",
		"plugin_sources/core/hello/main.go", "plugin_sources/core/hello/main_test.go", "plugship.yaml", "teams/core/team.yaml"}
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Errorf("init -host nakama wrote %v, want %v", got, want)
	}
	f, err := modfile.Parse("go.mod", []byte(read(t, filepath.Join(dir, "go.mod"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []string
	for _, r := range f.Require {
		reqs = append(reqs, r.Mod.String())
	}
	if !slices.Equal(reqs, []string{"github.com/heroiclabs/nakama-common@v1.47.0", "github.com/magefile/mage@" + MageVersion}) || len(f.Replace) != 0 {
		t.Errorf("go.mod requires %v, replaces %v; want the server's contract module and mage only", reqs, f.Replace)
	}
	if mage := read(t, filepath.Join(dir, "magefiles/go.mod")); !strings.Contains(mage, ToolModule+" v1.2.3") {
		t.Errorf("magefiles/go.mod does not require the tool:\n%s", mage)
	}
	c, problems := config.Parse(config.File, []byte(read(t, filepath.Join(dir, config.File))), mod)
	if len(problems) > 0 {
		t.Fatalf("plugship.yaml: %v", problems)
	}
	if c.Contract != "github.com/heroiclabs/nakama-common/runtime" || len(c.Symbols) != 1 ||
		c.Symbols[0].String() != "InitModule func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error" {
		t.Errorf("plugship.yaml reads as contract %s, symbols %v", c.Contract, c.Symbols)
	}
	hosts, err := compat.ParseConfig([]byte(read(t, filepath.Join(dir, "compat/hosts.yaml"))))
	if err != nil {
		t.Fatalf("compat/hosts.yaml: %v", err)
	}
	if p := hosts.Profiles[0]; len(hosts.Profiles) != 1 || p.Name != "nakama-3-40-0" || p.Binary != host.Binary || p.SHA256 != host.SHA256 {
		t.Errorf("compat/hosts.yaml profiles: %+v", hosts.Profiles)
	}
	if h := hosts.Hosts[0]; len(hosts.Hosts) != 1 || h.Name != "nakama" || h.Package != "" ||
		!slices.Equal(h.Check, []string{"{host}", "check", "--runtime.path", "{dir}"}) {
		t.Errorf("compat/hosts.yaml hosts: %+v", hosts.Hosts)
	}
	if strings.Contains(read(t, filepath.Join(dir, "compat/hosts.yaml")), "member:") {
		t.Errorf("compat/hosts.yaml names a member of an executable that is no archive")
	}
	// The release archive by URL: the profile names the executable in it.
	archived := host
	archived.Binary = "https://github.com/heroiclabs/nakama/releases/download/v3.40.0/nakama-3.40.0-linux-amd64.tar.gz"
	adir := t.TempDir()
	if err := initOffline(t, Options{Dir: adir, Module: mod, Version: "v1.2.3", Host: &archived}); err != nil {
		t.Fatal(err)
	}
	if ah, err := compat.ParseConfig([]byte(read(t, filepath.Join(adir, "compat/hosts.yaml")))); err != nil || ah.Profiles[0].Member != "nakama" || ah.Profiles[0].Binary != archived.Binary {
		t.Errorf("compat/hosts.yaml of an archive: %+v, %v", ah, err)
	}
	if _, problems := teams.Parse("teams/core/team.yaml", []byte(read(t, filepath.Join(dir, "teams/core/team.yaml")))); len(problems) > 0 {
		t.Errorf("teams/core/team.yaml: %v", problems)
	}
	docker := read(t, filepath.Join(dir, "Dockerfile"))
	for _, w := range []string{"go run github.com/plugship/plugship/cmd/plugship@v1.2.3 install", "-index https://github.com/acme/studio", "-check '{host} check --runtime.path {dir}'", "FROM heroiclabs/nakama:3.40.0"} {
		if !strings.Contains(docker, w) {
			t.Errorf("Dockerfile lacks %q:\n%s", w, docker)
		}
	}
	for _, name := range files(t, dir) {
		for _, bad := range forbidden {
			if strings.Contains(read(t, filepath.Join(dir, name)), bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}

// A host without its binary or digest is refused before anything is
// written, naming the flags to give.
func TestInitHostRefuses(t *testing.T) {
	dir := t.TempDir()
	host := Presets["nakama"]
	host.SHA256 = "abc"
	err := initOffline(t, Options{Dir: dir, Module: "example.com/studio", Version: "v1.2.3", Host: &host})
	if err == nil || !strings.Contains(err.Error(), "-host-binary: give the URL") || !strings.Contains(err.Error(), `-host-sha256 "abc": want the executable's SHA-256`) {
		t.Errorf("Init without a binary: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("the refused init wrote %v", got)
	}
}
