package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/plugship/plugship/internal/artifact"
)

// keySchema starts every action key's inputs: changing how keys are made
// changes it, so that no key of an older plugship ever matches.
const keySchema = "schema plugship-build-key/1"

// listFields are the fields of go list -json the keys read.
var listFields = []string{
	"ImportPath", "Dir", "Standard", "Module", "Deps", "Error", "DepsErrors",
	"GoFiles", "CgoFiles", "CFiles", "CXXFiles", "MFiles", "HFiles", "FFiles",
	"SFiles", "SwigFiles", "SwigCXXFiles", "SysoFiles", "EmbedFiles",
}

// listPackage is one package of go list -deps -json.
type listPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Module     *listModule
	Deps       []string
	Error      *struct{ Err string }
	DepsErrors []*struct{ Err string }

	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles []string
	SFiles, SwigFiles, SwigCXXFiles, SysoFiles, EmbedFiles      []string
}

type listModule struct {
	Path    string
	Version string
	Dir     string
	GoMod   string
	Replace *listModule
}

// files are the package's files that go build reads, relative to Dir.
func (p *listPackage) files() []string {
	var fs []string
	for _, l := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles,
		p.SFiles, p.SwigFiles, p.SwigCXXFiles, p.SysoFiles, p.EmbedFiles} {
		fs = append(fs, l...)
	}
	sort.Strings(fs)
	return slices.Compact(fs)
}

// ignoredGoEnv are the go env variables that cannot change a build's
// output (caches, downloads, telemetry), or change at every call
// (GOGCCFLAGS names a fresh temporary folder). Every other variable, known
// to this Go or not, is part of the key.
var ignoredGoEnv = map[string]bool{
	"GOCACHE": true, "GOCACHEPROG": true, "GOENV": true, "GOMODCACHE": true, "GOPATH": true, "GOBIN": true,
	"GOPROXY": true, "GOSUMDB": true, "GONOPROXY": true, "GONOSUMDB": true, "GOPRIVATE": true,
	"GOINSECURE": true, "GOVCS": true, "GOAUTH": true, "GOTELEMETRY": true, "GOTELEMETRYDIR": true,
	"GOTMPDIR": true, "GOGCCFLAGS": true,
}

// cEnv are the variables of the caller's environment that the C compiler
// and pkg-config read; go env does not show them.
var cEnv = []string{"CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "LIBRARY_PATH", "GCC_EXEC_PREFIX",
	"COMPILER_PATH", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR", "SOURCE_DATE_EPOCH"}

// toolchainTools are the toolchain's programs whose identity (Go build
// ID) is part of the key, beside GOVERSION.
var toolchainTools = []string{"compile", "link", "asm", "cgo"}

// Keys computes the key of every action (Action.Key, Action.Inputs): a
// hash of everything the action's go build reads, so that Run can skip
// the build when the key and the file it built are unchanged. Per target
// (all targets at once) it runs go env once, the C compiler once (-###)
// and go list -deps once for all the target's plugins, then reads and
// hashes the files of every package they import that is not in the
// standard library (covered by the toolchain's identity) or in a module
// version from the module cache (covered by go.sum, and read-only): the
// plugin's own files, the module's packages, replaced and vendored
// modules.
//
// An action whose inputs cannot be had keeps an empty key (and
// Action.KeyErr says why): it is built every time, and go build says what
// is wrong. The error names each target whose keys could not be computed
// at all (go env or go list failed) and why.
func Keys(ctx context.Context, actions []*Action, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	var targets []*Target
	byTarget := map[*Target][]*Action{}
	for _, a := range actions {
		if a.Err != nil {
			continue
		}
		if byTarget[a.Target] == nil {
			targets = append(targets, a.Target)
		}
		byTarget[a.Target] = append(byTarget[a.Target], a)
	}
	h := &hasher{sums: map[string]string{}}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			list := filepath.Join(opts.Dist, filepath.FromSlash(workDir), t.Name(), "list.overlay.json")
			if err := keyTarget(ctx, t, byTarget[t], list, h); err != nil {
				errs[i] = fmt.Errorf("target %s: %w", t.Name(), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// keyTarget sets the keys of the actions of target t.
func keyTarget(ctx context.Context, t *Target, actions []*Action, list string, h *hasher) error {
	env, err := goEnv(ctx, t, actions[0].Env)
	if err != nil {
		return err
	}
	common, err := targetInputs(ctx, t, env, h)
	if err != nil {
		return err
	}
	pkgs, err := listPackages(ctx, t, actions, list)
	if err != nil {
		return err
	}
	modcache := env["GOMODCACHE"]
	for _, a := range actions {
		in, err := actionInputs(a, pkgs, modcache, h)
		if err != nil {
			// A package with errors: go build says what they are.
			a.KeyErr = err
			continue
		}
		a.Inputs = append(slices.Clone(common), in...)
		a.Key = hashLines(a.Inputs)
	}
	return nil
}

// goEnv runs go env -json with the target's environment.
func goEnv(ctx context.Context, t *Target, extra []string) (map[string]string, error) {
	cmd := t.Env.Command(ctx, "env", "-json")
	cmd.Env = append(cmd.Env, extra...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env -json: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	env := map[string]string{}
	if err := json.Unmarshal(out, &env); err != nil {
		return nil, fmt.Errorf("go env -json: %w", err)
	}
	return env, nil
}

// targetInputs are the inputs every action of t shares: the toolchain, the
// environment, the C compiler, go.mod and go.sum (the profile's modfile
// when it has one) and go.work.
func targetInputs(ctx context.Context, t *Target, env map[string]string, h *hasher) ([]string, error) {
	self, err := selfID()
	if err != nil {
		return nil, err
	}
	in := []string{keySchema, self, "target " + t.Env.Key(), "dir " + t.Env.Dir}
	for _, v := range t.Env.Vars {
		in = append(in, "var "+v)
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if !ignoredGoEnv[k] {
			in = append(in, "goenv "+k+"="+env[k])
		}
	}
	for _, k := range cEnv {
		if v, ok := os.LookupEnv(k); ok {
			in = append(in, "cenv "+k+"="+v)
		}
	}
	goBin := filepath.Join(env["GOROOT"], "bin", "go")
	tools := []string{goBin}
	for _, tool := range toolchainTools {
		tools = append(tools, filepath.Join(env["GOTOOLDIR"], tool))
	}
	for _, f := range tools {
		id, err := toolID(f)
		if errors.Is(err, fs.ErrNotExist) {
			id, err = "missing", nil // the go command builds some tools when needed
		}
		if err != nil {
			return nil, fmt.Errorf("the toolchain's %s: %w", f, err)
		}
		in = append(in, "tool "+f+" "+id)
	}
	if env["CGO_ENABLED"] == "1" {
		cc, err := compilerID(ctx, env["CC"])
		if err != nil {
			return nil, err
		}
		in = append(in, cc...)
	}
	mod := filepath.Join(t.Env.Dir, "go.mod")
	if h := t.Env.Host; h != nil {
		mod = h.Modfile
	}
	files := []string{mod, strings.TrimSuffix(mod, ".mod") + ".sum", filepath.Join(t.Env.Dir, "vendor", "modules.txt")}
	if w := env["GOWORK"]; w != "" && w != "off" {
		files = append(files, w, strings.TrimSuffix(w, ".work")+".work.sum")
	}
	for _, f := range files {
		in = append(in, "file "+f+" "+h.sumOrMissing(f))
	}
	return in, nil
}

// actionInputs are the inputs of one action: its arguments, environment,
// contract and symbols, its overlay and the files of every package it
// builds from, as go list gave them.
func actionInputs(a *Action, pkgs map[string]*listPackage, modcache string, h *hasher) ([]string, error) {
	in := []string{
		"action " + a.Team + "/" + a.Plugin + " " + a.Version + " " + a.Source,
		"args " + strings.Join(a.Args, " "),
		"env " + strings.Join(a.Env, " "),
		"contract " + a.Contract,
		"symbols " + strings.Join(a.Symbols, " "),
		"outdir " + a.OutDir,
	}
	// The version's own files are all of its source folder's files, Go or
	// not (a default.pgo, say), whichever go build reads.
	for _, v := range slices.Sorted(maps.Keys(a.Overlay)) {
		if filepath.Dir(v) != a.VirtualDir {
			continue // the tree's overlay: read when a package below lists it
		}
		sum, err := h.sum(a.Overlay[v])
		if err != nil {
			return nil, err
		}
		in = append(in, "overlay "+v+" "+a.Overlay[v]+" "+sum)
	}
	root := pkgs[a.Package]
	if root == nil {
		return nil, fmt.Errorf("go list did not list %s", a.Package)
	}
	if err := pkgErr(root); err != nil {
		return nil, err
	}
	modules := map[string]bool{}
	linked := []string{}
	for _, path := range append([]string{a.Package}, root.Deps...) {
		p := pkgs[path]
		if p == nil {
			return nil, fmt.Errorf("go list did not list %s, a dependency of %s", path, a.Package)
		}
		if p.Module != nil {
			linked = append(linked, p.Module.Path)
		}
		if p.Standard {
			continue // the toolchain's identity covers the standard library
		}
		m := p.Module
		if m != nil && m.Replace != nil {
			m = m.Replace
		}
		if m != nil && m.Version != "" && modcache != "" && within(modcache, p.Dir) {
			// A module version in the module cache, which go.sum pins.
			if !modules[m.Path] {
				modules[m.Path] = true
				in = append(in, "module "+m.Path+"@"+m.Version)
			}
			continue
		}
		if m != nil && m.GoMod != "" && !modules[m.GoMod] {
			// A local module: its go.mod's go line decides the language.
			modules[m.GoMod] = true
			in = append(in, "gomod "+m.GoMod+" "+h.sumOrMissing(m.GoMod))
		}
		in = append(in, "package "+p.ImportPath+" "+p.Dir)
		for _, f := range p.files() {
			file := filepath.Join(p.Dir, f)
			real := file
			if r, ok := a.Overlay[file]; ok {
				real = r
			}
			sum, err := h.sum(real)
			if err != nil {
				return nil, err
			}
			in = append(in, "file "+file+" "+sum)
		}
	}
	slices.Sort(linked)
	a.modules = slices.Compact(linked)
	return in, nil
}

// pkgErr is the error go list -e reports for p or its dependencies.
func pkgErr(p *listPackage) error {
	if p.Error != nil {
		return fmt.Errorf("%s", p.Error.Err)
	}
	if len(p.DepsErrors) > 0 {
		return fmt.Errorf("%s", p.DepsErrors[0].Err)
	}
	return nil
}

// listPackages runs go list -deps once for every action of t, through one
// overlay holding all their virtual packages (written to file), and
// returns the packages by import path.
func listPackages(ctx context.Context, t *Target, actions []*Action, file string) (map[string]*listPackage, error) {
	overlay := map[string]string{}
	var roots []string
	for _, a := range actions {
		maps.Copy(overlay, a.Overlay)
		roots = append(roots, a.Package)
	}
	data, err := json.Marshal(struct{ Replace map[string]string }{overlay})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, err
	}
	if _, err := artifact.WriteFileIfChanged(file, data, 0o644); err != nil {
		return nil, fmt.Errorf("writing the overlay of go list: %w", err)
	}
	args := []string{"list", "-e", "-deps", "-json=" + strings.Join(listFields, ",")}
	args = append(args, t.Env.Flags...)
	if h := t.Env.Host; h != nil {
		args = append(args, "-modfile="+h.Modfile)
	}
	args = append(args, "-overlay="+file)
	args = append(args, roots...)
	cmd := t.Env.Command(ctx, args...)
	cmd.Env = append(cmd.Env, actions[0].Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps (%s): %v: %s", t.Env.Describe(), err, strings.TrimSpace(stderr.String()))
	}
	pkgs := map[string]*listPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listPackage)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list -deps: %w", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs, nil
}

// selfID identifies the running plugship (the mage binary, a test): a new
// plugship may name, check or describe files otherwise, so its files are
// built again by go build once.
var selfID = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding plugship's own executable: %w", err)
	}
	id, err := toolID(exe)
	if err != nil {
		return "", fmt.Errorf("identifying plugship's own executable: %w", err)
	}
	return "plugship " + id, nil
})

// toolID identifies a toolchain program by its Go build ID (a hash of its
// content the go command records in it), or by its content otherwise.
func toolID(file string) (string, error) {
	f, err := elf.Open(file)
	if err == nil {
		defer f.Close()
		if s := f.Section(".note.go.buildid"); s != nil {
			if data, err := s.Data(); err == nil && len(data) > 16 {
				return "buildid " + strings.TrimRight(string(data[16:]), "\x00"), nil
			}
		}
	}
	sum, _, err := artifact.HashFile(file)
	if err != nil {
		return "", err
	}
	return "sha256 " + sum, nil
}

// compilerID identifies the C compiler cc (go env CC, possibly with
// arguments): the program's path, size and time, and what it says of its
// version and target with -### (the temporary files it names are left
// out).
func compilerID(ctx context.Context, cc string) ([]string, error) {
	fields := strings.Fields(cc)
	if len(fields) == 0 {
		return nil, fmt.Errorf("go env CC is empty")
	}
	bin, err := exec.LookPath(fields[0])
	if err != nil {
		return nil, fmt.Errorf("C compiler %s not found on PATH: plugins need cgo", fields[0])
	}
	in := []string{"cc " + cc}
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		if st, err := os.Stat(real); err == nil {
			in = append(in, fmt.Sprintf("cc-file %s %d %d", real, st.Size(), st.ModTime().UnixNano()))
		}
	}
	args := append(fields[1:], "-###", "-x", "c", "-c", os.DevNull)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s -###: %v: %s", cc, err, bytes.TrimSpace(out))
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if strings.Contains(line, " version ") || strings.HasPrefix(line, "Target:") ||
			strings.HasPrefix(line, "Configured with:") || strings.HasPrefix(line, "InstalledDir:") {
			in = append(in, "cc-says "+line)
		}
	}
	return in, nil
}

// hasher hashes files, each once per Keys; the targets share it.
type hasher struct {
	mu   sync.Mutex
	sums map[string]string
}

func (h *hasher) sum(file string) (string, error) {
	h.mu.Lock()
	s, ok := h.sums[file]
	h.mu.Unlock()
	if ok {
		return s, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	s = hex.EncodeToString(sum[:])
	h.mu.Lock()
	h.sums[file] = s
	h.mu.Unlock()
	return s, nil
}

// sumOrMissing is the file's hash, or "missing" when there is none.
func (h *hasher) sumOrMissing(file string) string {
	s, err := h.sum(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	} else if err != nil {
		return "unreadable " + err.Error()
	}
	return s
}

// hashLines is the hex sha256 of lines, each ended by a newline.
func hashLines(lines []string) string {
	s := sha256.New()
	for _, l := range lines {
		io.WriteString(s, l)
		io.WriteString(s, "\n")
	}
	return hex.EncodeToString(s.Sum(nil))
}

// within reports whether path is dir or below it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}
