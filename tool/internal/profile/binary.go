package profile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/internal/hostmods"
)

// ModfilesDir holds the modfiles of binary profiles, one folder per
// profile, relative to dist/.
const ModfilesDir = ".cache/modfiles"

// modfileMarker, beside a binary profile's go.mod and go.sum, holds the
// digest of what they were made from; it is written last.
const modfileMarker = ".plugship-modfile"

// Host is what a binary profile read from its host executable.
type Host struct {
	File     string            // absolute path of the executable
	Given    string            // the path as the configuration gives it
	Modules  map[string]string // every module it links, path -> effective version (see hostmods.Effective)
	Graph    string            // hostmods.Graph of Modules: the files built for it carry it in their ABI tag
	Modfile  string            // absolute path of the profile's go.mod under dist/.cache/modfiles/
	Digest   string            // SHA-256 over the modfile, its go.sum and the host's modules: part of Env.Key
	Selected map[string]string // the modules it links that the modfile's graph selects at another version, path -> that version
	Cached   bool              // the modfile and its sums were already there: nothing was fetched
	// Module is set for a module profile: the host module@version the
	// executable was built from, and Built whether this preparation built
	// it (false: the one in dist/.cache/hostbin/ was current).
	Module string
	Built  bool
}

// settingFlags are the build settings the go command records that are
// build flags a plugin must share with its host.
var settingFlags = []string{"-trimpath", "-race", "-msan", "-asan"}

// readBinary fills in p's go, goos, goarch and flags from the build info
// of its host executable, after checking its digest, and returns what
// else the build needs from it.
func readBinary(root string, p Profile) (Profile, *Host, error) {
	file := p.Binary
	if !filepath.IsAbs(file) {
		file = filepath.Join(root, filepath.FromSlash(file))
	}
	h := &Host{File: file, Given: p.Binary}
	fail := func(format string, args ...any) (Profile, *Host, error) {
		return p, nil, fmt.Errorf("profile %s: host binary %s: %s", p.Name, p.Binary, fmt.Sprintf(format, args...))
	}
	if _, err := os.Stat(file); err != nil {
		return fail("%v (binary: is relative to the module root %s, or absolute)", err, root)
	}
	if p.SHA256 != "" {
		sum, _, err := artifact.HashFile(file)
		if err != nil {
			return fail("%v", err)
		}
		if sum != p.SHA256 {
			return fail("SHA-256 %s, but the profile's sha256 is %s: the file is not the host the configuration names (replace it, or update sha256 if the host was rebuilt on purpose)", sum, p.SHA256)
		}
	}
	bi, err := buildinfo.ReadFile(file)
	if err != nil {
		return fail("no Go build info (%v): not an executable built by the go command, or damaged", err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "1" {
		return fail("built with CGO_ENABLED=0: the host cannot load plugins (plugin.Open needs cgo); build it with CGO_ENABLED=1")
	}
	if _, err := fingerprint.Read(file); err != nil {
		return fail("cannot load plugins: %s", hostmods.CannotLoad(settings, err))
	}
	if !goRE.MatchString(bi.GoVersion) {
		return fail("built by %s, not a Go release the go command can fetch (want such as go1.26.8)", bi.GoVersion)
	}
	p.Go, p.GOOS, p.GOARCH = bi.GoVersion, settings["GOOS"], settings["GOARCH"]
	p.Flags = []string{}
	for _, f := range settingFlags {
		if v := settings[f]; v == "true" {
			p.Flags = append(p.Flags, f)
		}
	}
	if v := settings["-tags"]; v != "" {
		p.Flags = append(p.Flags, "-tags="+v)
	}
	if v := settings["-gcflags"]; v != "" {
		p.Flags = append(p.Flags, "-gcflags="+v) // one argument, spaces and all
	}
	h.Modules = hostmods.HostModules(bi)
	h.Graph = hostmods.Graph(h.Modules)
	return p, h, nil
}

// hostModfile writes the profile's go.mod and go.sum under dist/: the
// repository's go.mod (root is the module root) with every module the
// host links required at least at the host's version, and a host's
// replacement by another module version copied, and a go.sum that starts
// as the repository's. They are written once per content (a marker holds
// its digest). Then one go list -mod=mod of the plugins' packages (under
// sources) fetches, through GOPROXY, what they need and records its sums
// in the profile's go.sum, and Selected gets the modules they link that
// the host links at another version: the plugin repository needs a newer
// one, or replaces it.
func hostModfile(ctx context.Context, e *Env, root, dist, sources string) error {
	h := e.Host
	gomod := filepath.Join(root, "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		return fmt.Errorf("reading the module: %w", err)
	}
	f, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return err
	}
	main := ""
	if f.Module != nil {
		main = f.Module.Mod.Path
	}
	bi, err := buildinfo.ReadFile(h.File)
	if err != nil {
		return err
	}
	required := map[string]string{}
	for _, r := range f.Require {
		required[r.Mod.Path] = r.Mod.Version
	}
	for _, d := range bi.Deps {
		if d.Path == main {
			return fmt.Errorf("the host links module %s %s, which is this repository's own (main) module: under -trimpath the host records its packages as %s@%s/..., plugins built here record them as %s/..., so none of them, the contract among them, can ever match. Make the contract a module of its own, as plugship init lays it out: contract/go.mod declaring %s/contract, this repository's go.mod requiring it at a version with replace %s/contract => ./contract, and the host requiring that version (tag contract/vX.Y.Z); then point contract.package in plugship.yaml at it",
				d.Path, d.Version, d.Path, d.Version, d.Path, d.Path, d.Path)
		}
		// A folder replacement has no version to write into go.mod
		// (build info says "(devel)"); it names no module version the
		// plugins could take, and is left to the preflight to compare.
		if d.Replace != nil && d.Replace.Version != "" && d.Replace.Version != "(devel)" {
			if err := f.AddReplace(d.Path, "", d.Replace.Path, d.Replace.Version); err != nil {
				return err
			}
		}
		if v, ok := required[d.Path]; !ok {
			f.AddNewRequire(d.Path, d.Version, true)
		} else if semver.Compare(v, d.Version) < 0 {
			if err := f.AddRequire(d.Path, d.Version); err != nil {
				return err
			}
		}
	}
	f.Cleanup()
	out, err := f.Format()
	if err != nil {
		return err
	}
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	d := sha256.New()
	fmt.Fprintf(d, "plugship.modfile/v1\n%s\n%d\n", e.GoVersion, len(out))
	d.Write(out)
	d.Write(sums)
	// Two hosts whose modules differ only where the repository requires
	// newer versions get the same go.mod, but not the same verdicts.
	for _, m := range slices.Sorted(maps.Keys(h.Modules)) {
		fmt.Fprintf(d, "host %s %s\n", m, h.Modules[m])
	}
	h.Digest = hex.EncodeToString(d.Sum(nil))
	dir := filepath.Join(dist, filepath.FromSlash(ModfilesDir), e.Name)
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	h.Modfile = filepath.Join(dir, "go.mod")
	marker := filepath.Join(dir, modfileMarker)
	if old, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(old)) == h.Digest {
		h.Cached = true
	} else {
		os.Remove(marker)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(h.Modfile, out, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(marker, []byte(h.Digest+"\n"), 0o644); err != nil {
			return err
		}
	}
	// Every run: the plugins' imports may have changed since the sums were
	// fetched. -mod=mod records the sums of what they need in the
	// profile's go.sum (never the repository's), fetching through GOPROXY.
	list, err := e.goOutput(ctx, "list", "-modfile="+h.Modfile, "-mod=mod", "-e", "-deps", "-json=ImportPath,Module", "./"+sources+"/...")
	if err != nil {
		return fmt.Errorf("listing the plugins' packages in the host's module graph: %w", err)
	}
	h.Selected = map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(list))
	for {
		var p struct {
			Module *struct {
				Path, Version string
				Replace       *struct{ Path, Version string }
			}
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("reading go list's output: %w", err)
		}
		m := p.Module
		if m == nil {
			continue
		}
		hv, ok := h.Modules[m.Path]
		if !ok {
			continue
		}
		var rp, rv string
		if m.Replace != nil {
			rp, rv = m.Replace.Path, m.Replace.Version
		}
		if v := hostmods.Effective(m.Path, m.Version, rp, rv); v != hv {
			h.Selected[m.Path] = v
		}
	}
	return nil
}

// goOutput runs the go command in the profile's tree and returns its
// standard output; a failure's error holds its standard error.
func (e *Env) goOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := e.Command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}
