package plugtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// UseProxy points every go command of the test at a file:// module proxy
// holding modules (module -> version -> files), with OfflineEnv: the
// module cache's download folder as fallback, and a module cache of the
// test's own (OwnModcache).
func UseProxy(t testing.TB, modules map[string]map[string]map[string]string) {
	t.Helper()
	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	for mod, versions := range modules {
		if err := ProxyModule(tmp, proxy, mod, versions); err != nil {
			t.Fatal(err)
		}
	}
	env, err := OfflineEnv(proxy)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	OwnModcache(t)
}

// OwnModcache points GOMODCACHE at a new, empty folder until the test
// ends, then empties it (its files are read-only).
func OwnModcache(t testing.TB) {
	t.Helper()
	own, err := os.MkdirTemp("", "plugship-modcache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOMODCACHE", own)
	t.Cleanup(func() {
		cmd := exec.Command("go", "clean", "-modcache")
		cmd.Env = append(os.Environ(), "GOMODCACHE="+own)
		cmd.Run()
		os.RemoveAll(own)
	})
}

// Commit is one commit of GitRepo: files to write (slash paths ->
// content) and the tag it gets.
type Commit struct {
	Tag   string
	Files map[string]string
}

// GitRepo makes a git repository in dir (branch main) with commits, each
// tagged.
func GitRepo(t testing.TB, dir string, commits []Commit) {
	t.Helper()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q")
	for _, c := range commits {
		for name, data := range c.Files {
			if err := WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data); err != nil {
				t.Fatal(err)
			}
		}
		git("add", "-A")
		git("commit", "-qm", c.Tag)
		git("tag", c.Tag)
	}
}
