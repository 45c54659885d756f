package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/plugship/plugship/internal/artifact"
)

// Folders of module profiles, relative to dist/: the writable copies of
// the host modules' sources, and the hosts built from them.
const (
	HostSourcesDir  = ".cache/hostsrc"
	HostBinariesDir = ".cache/hostbin"
)

// hostMarker, beside a host built for a module profile (its file name plus
// this suffix), holds the key it was built with; it is written last.
const hostMarker = ".plugship-host"

// srcMarker, inside a copy of a host module's sources, says the copy is
// complete; it is written last.
const srcMarker = ".plugship-src"

// majorRE is a major version suffix of a module path, such as v2.
var majorRE = regexp.MustCompile(`^v[0-9]+$`)

// moduleHost builds the host executable of a module profile into
// dist/.cache/hostbin/<profile>/<name>, unless it is there already built
// with the same module version, main package, flags, toolchain and C
// compiler, and returns its absolute path and the module@version built.
// The module is fetched with go mod download through GOPROXY and copied
// (the module cache is read-only) into dist/.cache/hostsrc/; the build runs
// there with the module's own go.mod (GOFLAGS=-mod=mod, GOWORK=off), the
// profile's toolchain and flags, and CGO_ENABLED=1. With Git, the module
// comes from that repository instead (see gitResolve), its tree at the
// version exported into dist/.cache/hostsrc/.
func moduleHost(ctx context.Context, root, dist string, p Profile) (bin, built string, cached bool, err error) {
	dist, err = filepath.Abs(dist)
	if err != nil {
		return "", "", false, err
	}
	vars := []string{"CGO_ENABLED=1", "GOFLAGS=-mod=mod", "GOWORK=off"}
	if p.Go != "" {
		vars = append(vars, "GOTOOLCHAIN="+p.Go)
	}
	if p.CC != "" {
		vars = append(vars, "CC="+p.CC)
	}
	run := func(dir string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), vars...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return out, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
		}
		return out, nil
	}
	// Outside any module: the plugin repository's go.mod must not choose
	// the toolchain or take part in the download.
	outside := os.TempDir()
	toolchain := p.Go
	if toolchain == "" {
		out, err := run(outside, "env", "GOVERSION")
		if err != nil {
			return "", "", false, err
		}
		toolchain = strings.TrimSpace(string(out))
	}
	name := path.Base(p.Module)
	if p.Main != "" && p.Main != "." {
		name = path.Base(p.Main)
	} else if majorRE.MatchString(name) && strings.Contains(p.Module, "/") {
		name = path.Base(path.Dir(p.Module))
	}
	bindir := filepath.Join(dist, filepath.FromSlash(HostBinariesDir), p.Name)
	bin = filepath.Join(bindir, name)
	marker := bin + hostMarker
	main := p.Main
	if main == "" {
		main = "."
	}
	key := func(version string) string {
		from := "proxy"
		if p.Git != "" {
			from = "git " + p.Git
		}
		return fmt.Sprintf("plugship.hostbin/v1\n%s@%s from %s\nmain %s\nflags %q\n%s\ncc %s\n", p.Module, version, from, main, p.Flags, toolchain, p.CC)
	}
	var keyVersion string
	fresh := func(version string) bool {
		old, err := os.ReadFile(marker)
		if err != nil || string(old) != key(version) {
			return false
		}
		_, err = os.Stat(bin)
		return err == nil
	}
	var src string
	if p.Git != "" {
		repo := p.Git
		if !strings.Contains(repo, "://") && !strings.Contains(repo, "@") && !filepath.IsAbs(repo) {
			repo = filepath.Join(root, filepath.FromSlash(repo)) // a local path, relative to the module root
		}
		commit, tree, mirror, err := gitResolve(ctx, dist, p, repo)
		if err != nil {
			return "", "", false, err
		}
		built = p.Module + "@" + p.Version
		if p.Version != commit {
			built += " (" + commit[:12] + ")"
		}
		if fresh(commit) {
			return bin, built, true, nil
		}
		src = filepath.Join(dist, filepath.FromSlash(HostSourcesDir), p.Name, "git-"+tree[:16])
		if err := export(ctx, mirror, tree, "", src); err != nil {
			return "", "", false, fmt.Errorf("exporting the host module %s from %s: %w", built, p.Git, err)
		}
		if err := checkModulePath(src, p.Module, p.Git, p.Version); err != nil {
			return "", "", false, err
		}
		keyVersion = commit
	} else {
		// A semantic version names one module zip forever: no need to ask
		// the proxy again. A branch or commit is resolved every time.
		if semver.IsValid(p.Version) && semver.Canonical(p.Version) == p.Version && fresh(p.Version) {
			return bin, p.Module + "@" + p.Version, true, nil
		}
		out, dlErr := run(outside, "mod", "download", "-json", p.Module+"@"+p.Version)
		var dl struct{ Path, Version, Dir, Error string }
		if err := json.Unmarshal(out, &dl); err != nil || dl.Error != "" || dl.Dir == "" {
			if dl.Error != "" {
				return "", "", false, fmt.Errorf("fetching the host module %s@%s through GOPROXY: %s", p.Module, p.Version, dl.Error)
			}
			if dlErr == nil {
				dlErr = fmt.Errorf("go mod download printed %q", out)
			}
			return "", "", false, fmt.Errorf("fetching the host module %s@%s through GOPROXY: %w", p.Module, p.Version, dlErr)
		}
		built = p.Module + "@" + dl.Version
		if fresh(dl.Version) {
			return bin, built, true, nil
		}
		escaped, err := module.EscapePath(p.Module)
		if err != nil {
			return "", "", false, err
		}
		src = filepath.Join(dist, filepath.FromSlash(HostSourcesDir), p.Name, filepath.FromSlash(escaped)+"@"+dl.Version)
		if err := copyModule(dl.Dir, src); err != nil {
			return "", "", false, fmt.Errorf("copying the host module %s from the module cache: %w", built, err)
		}
		keyVersion = dl.Version
	}
	os.Remove(marker)
	if err := os.MkdirAll(bindir, 0o755); err != nil {
		return "", "", false, err
	}
	args := []string{"build", "-buildvcs=false"}
	args = append(args, p.Flags...)
	args = append(args, "-o", bin, main)
	if _, err := run(src, args...); err != nil {
		return "", "", false, fmt.Errorf("building the host %s (%s) with its own go.mod: %w", built, main, err)
	}
	if err := os.WriteFile(marker, []byte(key(keyVersion)), 0o644); err != nil {
		return "", "", false, err
	}
	return bin, built, false, nil
}

// copyModule copies the extracted module dir (read-only, in the module
// cache) into dst, writable, unless dst already holds a complete copy. It
// builds the copy in a hidden sibling folder and renames it into place.
func copyModule(dir, dst string) error {
	if _, err := os.Stat(filepath.Join(dst, srcMarker)); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".src-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	err = filepath.WalkDir(dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, file)
		if err != nil {
			return err
		}
		target := filepath.Join(tmp, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			return writeFile(target, f, info.Mode().Perm()|0o644)
		}
		return nil // module zips hold regular files only
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, srcMarker), nil, 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// HostGitDir holds, relative to dist/, a bare mirror of each module
// profile's git repository (one per profile).
const HostGitDir = ".cache/hostgit"

// fullCommitRE is a full commit hash: it names one tree forever.
var fullCommitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// gitResolve fetches the branches and tags of repo (the profile's git, as
// git reaches it) into a bare mirror under dist/.cache/hostgit/ and
// returns the commit and tree that p.Version names there, and the mirror.
// A full commit hash already in the mirror is not fetched again.
func gitResolve(ctx context.Context, dist string, p Profile, repo string) (commit, tree, mirror string, err error) {
	mirror = filepath.Join(dist, filepath.FromSlash(HostGitDir), p.Name+".git")
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"--git-dir", mirror}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	resolve := func() (string, string, error) {
		c, err := git("rev-parse", "--verify", "--quiet", p.Version+"^{commit}")
		if err != nil {
			return "", "", err
		}
		t, err := git("rev-parse", "--verify", "--quiet", c+"^{tree}")
		return c, t, err
	}
	if _, err := os.Stat(filepath.Join(mirror, "HEAD")); err != nil {
		if err := os.MkdirAll(mirror, 0o755); err != nil {
			return "", "", "", err
		}
		if _, err := git("init", "--bare", "--quiet"); err != nil {
			return "", "", "", err
		}
	}
	if fullCommitRE.MatchString(p.Version) {
		if c, t, err := resolve(); err == nil {
			return c, t, mirror, nil
		}
	}
	if _, err := git("fetch", "--quiet", "--force", "--prune", "--no-tags", "--", repo, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return "", "", "", fmt.Errorf("fetching the host module %s from %s: %w (git: is an https://, ssh:// or file:// URL, or a local path relative to the module root)", p.Module, p.Git, err)
	}
	c, t, err := resolve()
	if err != nil {
		return "", "", "", fmt.Errorf("the host module's repository %s has no tag, branch or commit %q: check version (git ls-remote %s lists its tags and branches)", p.Git, p.Version, p.Git)
	}
	return c, t, mirror, nil
}

// checkModulePath reports an error unless the go.mod at the root of src
// declares module path.
func checkModulePath(src, path, repo, version string) error {
	data, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return fmt.Errorf("%s at %s has no go.mod at its root: a module profile builds a Go module (%v)", repo, version, err)
	}
	if got := modfile.ModulePath(data); got != path {
		return fmt.Errorf("%s at %s is module %s, not %s: correct module (or git) in the profile", repo, version, artifact.Quote(got), path)
	}
	return nil
}
