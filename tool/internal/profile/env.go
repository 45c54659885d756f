package profile

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/config"
)

// TreesDir holds the trees of profiles at a git ref, relative to dist/.
const TreesDir = ".cache/trees"

// treeMarker, inside an exported tree, holds the tree hash it was exported
// from (and the sources folder left out, when not the default); it is
// written last, so a tree without it is incomplete.
const treeMarker = ".plugship-tree"

// Env is a profile made ready to build with.
type Env struct {
	Profile
	GoVersion string // the toolchain's version, e.g. go1.25.5
	GOOS      string // resolved platform
	GOARCH    string
	Dir       string   // the module root to run go in: the working tree or the exported ref
	Tree      string   // the git tree hash of Ref; empty for the working tree
	Vars      []string // environment for the go command, on top of the caller's
	// Host is set for a profile with binary: what its executable says, and
	// the modfile plugins are built with (go build -modfile).
	Host *Host
}

// Key is what decides a plugin build: two profiles with the same key
// build identical plugins, so they share one build.
func (e *Env) Key() string {
	tree := "working-tree"
	if e.Tree != "" {
		tree = "tree " + e.Tree
	}
	key := fmt.Sprintf("%s %s/%s cc=%s [%s] %s", e.GoVersion, e.GOOS, e.GOARCH, e.CC, strings.Join(e.Flags, " "), tree)
	if e.Host != nil {
		key += " modfile " + e.Host.Digest
	}
	return key
}

// Describe says what the profile is, for progress lines.
func (e *Env) Describe() string {
	s := e.GoVersion + " " + e.GOOS + "/" + e.GOARCH
	if len(e.Flags) > 0 {
		s += " " + strings.Join(e.Flags, " ")
	}
	if e.Ref != "" {
		s += " at " + e.Ref
	}
	if e.Host != nil && e.Host.Module != "" {
		s += " for host module " + e.Host.Module + " (" + e.Host.Given + ")"
	} else if e.Host != nil {
		s += " for host " + e.Host.Given
	}
	return s
}

// Command returns a go command that runs args in the profile's tree with
// its toolchain and platform, CGO_ENABLED=1 and an empty GOFLAGS.
func (e *Env) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = e.Dir
	cmd.Env = append(os.Environ(), e.Vars...)
	return cmd
}

// Prepare resolves the profile's toolchain (downloading it the first
// time) and exports its tree at Ref into dist/.cache/trees/ unless already
// there, leaving out sources, the plugins' sources folder (a slash path
// relative to root; "" means plugin_sources, the default of
// plugship.yaml's folders.sources). root is the working tree, a git
// checkout when Ref is set.
func Prepare(ctx context.Context, root, dist, sources string, p Profile) (*Env, error) {
	if sources == "" {
		sources = config.DefaultSources
	}
	var host *Host
	built, rebuilt := "", false
	if p.Module != "" {
		bin, mod, cached, err := moduleHost(ctx, root, dist, p)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.Name, err)
		}
		p.Binary, p.Go, p.Flags = bin, "", nil
		if rel, err := filepath.Rel(root, bin); err == nil && filepath.IsLocal(rel) {
			p.Binary = filepath.ToSlash(rel)
		}
		built, rebuilt = mod, !cached
	}
	if p.Binary != "" {
		given := p.Binary
		if IsURL(p.Binary) {
			file, err := downloadBinary(ctx, dist, p)
			if err != nil {
				return nil, err
			}
			p.Binary = file
		}
		if p.Member != "" {
			// The archive is checked against sha256 (downloadBinary did for
			// a URL), then its member is the binary.
			archive := p.Binary
			if !filepath.IsAbs(archive) {
				archive = filepath.Join(root, filepath.FromSlash(archive))
			}
			if !IsURL(given) && p.SHA256 != "" {
				if sum, _, err := artifact.HashFile(archive); err != nil {
					return nil, fmt.Errorf("profile %s: archive %s: %w", p.Name, given, err)
				} else if sum != p.SHA256 {
					return nil, fmt.Errorf("profile %s: archive %s: SHA-256 %s, but the profile's sha256 is %s: the file is not the archive the configuration names", p.Name, given, sum, p.SHA256)
				}
			}
			file, err := extractMember(dist, Profile{Name: p.Name, Binary: given, Member: p.Member}, archive)
			if err != nil {
				return nil, err
			}
			p.Binary, p.SHA256 = file, ""
		}
		var err error
		if p, host, err = readBinary(root, p); err != nil {
			return nil, err
		}
		host.Module, host.Built = built, rebuilt
		switch {
		case p.Member != "":
			host.Given = p.Member + " in " + given
		case IsURL(given):
			host.Given = given
		}
	}
	e := &Env{Profile: p, Dir: root, Vars: []string{"CGO_ENABLED=1", "GOFLAGS="}, Host: host}
	if p.Go != "" {
		e.Vars = append(e.Vars, "GOTOOLCHAIN="+p.Go)
	}
	if p.GOOS != "" {
		e.Vars = append(e.Vars, "GOOS="+p.GOOS)
	}
	if p.GOARCH != "" {
		e.Vars = append(e.Vars, "GOARCH="+p.GOARCH)
	}
	if p.CC != "" {
		if _, err := exec.LookPath(p.CC); err != nil {
			return nil, fmt.Errorf("profile %s: C compiler %s not found on PATH: plugins need cgo (Debian: apt-get install gcc-aarch64-linux-gnu for aarch64-linux-gnu-gcc)", p.Name, p.CC)
		}
		e.Vars = append(e.Vars, "CC="+p.CC)
	}
	if p.Ref != "" {
		tree, err := gitTree(ctx, root, p.Ref)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.Name, err)
		}
		e.Tree = tree
		e.Dir = filepath.Join(dist, filepath.FromSlash(TreesDir), tree[:16])
		if err := export(ctx, root, tree, sources, e.Dir); err != nil {
			return nil, fmt.Errorf("profile %s: exporting %s (tree %s): %w", p.Name, p.Ref, tree[:12], err)
		}
	}
	if p.Go != "" {
		// The go command fetches the release silently (this step captures
		// its output): a first run would otherwise pause here with no word.
		if paths := toolchainPaths(goEnv(ctx, "GOMODCACHE"), p); len(paths) > 0 {
			if _, err := os.Stat(paths[0]); err != nil {
				fmt.Fprintf(os.Stderr, "downloading Go %s for profile %s (once per machine, about 70 MB) ...\n", p.Go, p.Name)
			}
		}
	}
	var stderr bytes.Buffer
	cmd := e.Command(ctx, "env", "GOVERSION", "GOOS", "GOARCH")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if p.Go != "" {
			return nil, fmt.Errorf("profile %s: toolchain %s: %v: %s (the go command downloads it through the module proxy, GOPROXY; the tree's go.mod must allow it)", p.Name, p.Go, err, msg)
		}
		return nil, fmt.Errorf("profile %s: go env: %v: %s", p.Name, err, msg)
	}
	f := strings.Fields(string(out))
	if len(f) != 3 {
		return nil, fmt.Errorf("profile %s: go env GOVERSION GOOS GOARCH printed %q", p.Name, out)
	}
	e.GoVersion, e.GOOS, e.GOARCH = f[0], f[1], f[2]
	if p.Go != "" && e.GoVersion != p.Go {
		return nil, fmt.Errorf("profile %s: asked for %s, the go command runs %s (GOTOOLCHAIN=%s was not honoured; is the tree's go.mod asking for a newer Go?)", p.Name, p.Go, e.GoVersion, p.Go)
	}
	if host != nil {
		if err := hostModfile(ctx, e, root, dist, sources); err != nil {
			return nil, fmt.Errorf("profile %s (host binary %s): %w", p.Name, p.Binary, err)
		}
	}
	return e, nil
}

// gitTree returns the tree hash ref points at in root's repository.
func gitTree(ctx context.Context, root, ref string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--verify", "--quiet", ref+"^{tree}")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return "", fmt.Errorf("git ref %q not found in %s: a typo, or a shallow clone without it (git fetch --tags --unshallow; actions/checkout with fetch-depth: 0)", ref, root)
		}
		return "", fmt.Errorf("git rev-parse %s: %v %s (profiles at a ref need a git checkout)", ref, err, strings.TrimSpace(stderr.String()))
	}
	tree := strings.TrimSpace(string(out))
	if len(tree) < 40 {
		return "", fmt.Errorf("git rev-parse %s printed %q", ref, tree)
	}
	return tree, nil
}

// export writes the tree into dir with git archive, leaving out the
// sources folder, unless dir already holds it. It builds the copy in a
// hidden sibling folder and renames it into place.
func export(ctx context.Context, root, tree, sources, dir string) error {
	marker := tree
	if sources != config.DefaultSources {
		marker += " without " + sources
	}
	if data, err := os.ReadFile(filepath.Join(dir, treeMarker)); err == nil && strings.TrimSpace(string(data)) == marker {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tree-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", tree)
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	extractErr := extract(tar.NewReader(stdout), tmp, sources)
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive: %v %s", err, strings.TrimSpace(stderr.String()))
	}
	if extractErr != nil {
		return extractErr
	}
	if err := os.WriteFile(filepath.Join(tmp, treeMarker), []byte(marker+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// extract writes the archive's files into dir, except those under the
// sources folder (a slash path).
func extract(tr *tar.Reader, dir, sources string) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading git archive: %w", err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if !filepath.IsLocal(name) {
			return fmt.Errorf("git archive holds %q, outside the tree", h.Name)
		}
		if name == sources || strings.HasPrefix(name, sources+"/") {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			err = writeFile(target, tr, os.FileMode(h.Mode)&0o755|0o644)
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
				err = os.Symlink(h.Linkname, target)
			}
		}
		if err != nil {
			return err
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}
