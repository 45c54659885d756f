package fingerprint

import (
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// elfMachines maps GOARCH to the ELF machine the go command builds for it.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM,
	"riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "ppc64": elf.EM_PPC64, "s390x": elf.EM_S390,
	"loong64": elf.EM_LOONGARCH, "mips64le": elf.EM_MIPS, "mips64": elf.EM_MIPS, "mipsle": elf.EM_MIPS, "mips": elf.EM_MIPS,
}

// CheckArch reports an error unless the file's ELF machine is the one
// goarch builds for (a file renamed, or patched, from another architecture).
func (fp *Fingerprint) CheckArch(goarch string) error {
	want, ok := elfMachines[goarch]
	if !ok {
		return nil
	}
	if !strings.HasSuffix(fp.Machine, " "+want.String()) {
		return fmt.Errorf("%s: ELF machine %s, but GOARCH %s builds %s", fp.File, fp.Machine, goarch, want)
	}
	return nil
}

// symbolPrefix starts the name of every package fingerprint symbol.
const symbolPrefix = "go:link.pkghashbytes."

// Fingerprint is what one binary (host or plugin) was built from.
type Fingerprint struct {
	File      string
	Machine   string            // ELF class and machine, e.g. ELFCLASS64 EM_X86_64
	GoVersion string            // e.g. go1.26.8
	Settings  map[string]string // build settings: -trimpath, -race, CGO_ENABLED, GOOS, ...
	Modules   map[string]string // module path -> version (and sum), main module included
	Packages  map[string]string // import path -> hex fingerprint
	// Exports are the exported top-level functions and variables of the
	// main package (BuildInfo.Path): in a plugin, what plugin.Lookup can find.
	Exports map[string]bool
	// Funcs are the Exports that are functions; the others are variables.
	Funcs     map[string]bool
	BuildInfo *buildinfo.BuildInfo
}

// Read reads the fingerprint of the ELF binary or plugin at path. It opens
// the file as data only: no code in it runs.
func Read(path string) (*Fingerprint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	ef, err := elf.Open(path)
	if err != nil {
		var fe *elf.FormatError
		if errors.As(err, &fe) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: not an ELF shared object or executable (%v)", path, err)
		}
		return nil, fmt.Errorf("%s: reading ELF: %w", path, err)
	}
	defer ef.Close()
	fp := &Fingerprint{File: path, Machine: ef.Class.String() + " " + ef.Machine.String(),
		Settings: map[string]string{}, Modules: map[string]string{}, Packages: map[string]string{}, Exports: map[string]bool{}, Funcs: map[string]bool{}}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: no Go build info (%v): not built by the go command, or damaged", path, err)
	}
	fp.BuildInfo, fp.GoVersion = bi, bi.GoVersion
	for _, s := range bi.Settings {
		fp.Settings[s.Key] = s.Value
	}
	for _, d := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		path := d.Path
		switch {
		case d.Replace != nil && (d.Replace.Version == "" || d.Replace.Version == "(devel)"):
			// A folder replacement: -trimpath records its files as the
			// required version's (path@version/...), so it compares as that
			// version, with no sum; the package fingerprints compare the
			// code.
			d = &debug.Module{Version: d.Version}
		case d.Replace != nil:
			d = d.Replace
		}
		if path != "" {
			fp.Modules[path] = strings.TrimSpace(d.Version + " " + d.Sum)
		}
	}
	syms, err := ef.DynamicSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, fmt.Errorf("%s: reading dynamic symbols: %w", path, err)
	}
	mainPrefix := symbolPath(bi.Path) + "."
	for _, s := range syms {
		if name, ok := strings.CutPrefix(s.Name, mainPrefix); ok && isExported(name) {
			if t := elf.ST_TYPE(s.Info); t == elf.STT_FUNC || t == elf.STT_OBJECT {
				fp.Exports[name] = true
				fp.Funcs[name] = t == elf.STT_FUNC
			}
		}
		pkg, ok := strings.CutPrefix(s.Name, symbolPrefix)
		if !ok {
			continue
		}
		if int(s.Section) >= len(ef.Sections) || s.Size == 0 || s.Size > 64 {
			return nil, fmt.Errorf("%s: package fingerprint of %s is malformed", path, pkg)
		}
		sec := ef.Sections[s.Section]
		if sec.Type != elf.SHT_PROGBITS || s.Value < sec.Addr || s.Value-sec.Addr+s.Size > sec.Size {
			return nil, fmt.Errorf("%s: package fingerprint of %s lies outside its section", path, pkg)
		}
		b := make([]byte, s.Size)
		if _, err := sec.ReadAt(b, int64(s.Value-sec.Addr)); err != nil {
			return nil, fmt.Errorf("%s: reading the fingerprint of %s: %w", path, pkg, err)
		}
		fp.Packages[pkg] = hex.EncodeToString(b)
	}
	if len(fp.Packages) == 0 {
		return nil, fmt.Errorf("%s: no package fingerprints: built without cgo, or a binary that does not import plugin, or not a Go plugin", path)
	}
	return fp, nil
}

// Difference is one way a plugin differs from its host that stops it
// loading.
type Difference struct {
	Kind   string `json:"kind"`   // "go", "setting", "module" or "package"
	Name   string `json:"name"`   // setting key, module or package path; "" for go
	Host   string `json:"host"`   // the host's value
	Plugin string `json:"plugin"` // the plugin's value
}

func (d Difference) String() string {
	name := d.Kind
	if d.Name != "" {
		name += " " + d.Name
	}
	host, plugin := d.Host, d.Plugin
	if host == "" {
		host = "unset"
	}
	if plugin == "" {
		plugin = "unset"
	}
	return fmt.Sprintf("%s: plugin %s, host %s", name, plugin, host)
}

// certainSettings are the build settings that, when they differ, always
// stop a plugin loading. Others (GOAMD64, -ldflags, -gcflags on the main
// package only, vcs) may not; the package fingerprints decide for them.
var certainSettings = []string{"CGO_ENABLED", "GOOS", "GOARCH", "-trimpath", "-race", "-msan", "-asan"}

// Compare lists every difference between host and plugin that stops the
// plugin from loading into the host, in a stable order: ELF machine, build mode, Go
// release, settings, modules, packages. Only packages both sides contain
// count, and a module counts only when a package both contain is in it.
// An empty result means the runtime will accept the plugin's packages; it
// says nothing about what the plugin's code does.
func Compare(host, plugin *Fingerprint) []Difference {
	var ds []Difference
	if host.Machine != plugin.Machine {
		ds = append(ds, Difference{Kind: "setting", Name: "ELF machine", Host: host.Machine, Plugin: plugin.Machine})
	}
	if m := plugin.Settings["-buildmode"]; m != "plugin" {
		ds = append(ds, Difference{Kind: "setting", Name: "-buildmode", Host: "plugin", Plugin: m})
	}
	if minor(host.GoVersion) != minor(plugin.GoVersion) {
		ds = append(ds, Difference{Kind: "go", Host: host.GoVersion, Plugin: plugin.GoVersion})
	}
	for _, k := range certainSettings {
		h, p := host.Settings[k], plugin.Settings[k]
		if strings.HasPrefix(k, "-") {
			h, p = normBool(h), normBool(p)
		}
		if h == p {
			continue
		}
		ds = append(ds, Difference{Kind: "setting", Name: k, Host: h, Plugin: p})
	}
	var shared []string
	for _, p := range sortedKeys(plugin.Packages) {
		if _, ok := host.Packages[p]; ok {
			shared = append(shared, p)
		}
	}
	for _, m := range sortedKeys(plugin.Modules) {
		h, ok := host.Modules[m]
		if !ok || sameModule(h, plugin.Modules[m]) {
			continue
		}
		for _, p := range shared {
			if moduleOf(p, plugin.Modules) == m {
				ds = append(ds, Difference{Kind: "module", Name: m, Host: h, Plugin: plugin.Modules[m]})
				break
			}
		}
	}
	for _, p := range shared {
		if h := host.Packages[p]; h != plugin.Packages[p] {
			ds = append(ds, Difference{Kind: "package", Name: p, Host: h, Plugin: plugin.Packages[p]})
		}
	}
	return ds
}

// sameModule reports whether two "version sum" entries of Modules name the
// same module version: equal versions, and equal sums where both have one.
// A binary built with -mod=vendor (Nakama's release) records no sums; the
// package fingerprints still compare the code itself.
func sameModule(a, b string) bool {
	va, sa, _ := strings.Cut(a, " ")
	vb, sb, _ := strings.Cut(b, " ")
	return va == vb && (sa == "" || sb == "" || sa == sb)
}

// minor is the Go release series of a version: go1.26.8 -> go1.26. Patch
// releases of one series share the runtime's plugin data layout; whether
// their packages agree is for the fingerprints to say.
func minor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 || !strings.HasPrefix(v, "go1.") {
		return v
	}
	digits := strings.IndexFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
	if digits < 0 {
		digits = len(parts[1])
	}
	return parts[0] + "." + parts[1][:digits]
}

// moduleOf returns the module among mods that provides package pkg: the
// longest module path that is pkg or a prefix of it at a slash.
func moduleOf(pkg string, mods map[string]string) string {
	best := ""
	for m := range mods {
		if (pkg == m || strings.HasPrefix(pkg, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	return best
}

// normBool normalises a boolean build setting: absent means false.
func normBool(v string) string {
	if v == "" {
		return "false"
	}
	return v
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// symbolPath is an import path as the linker writes it in symbol names
// (cmd/internal/objabi.PathToPrefix): control characters, space, '%', '"',
// non-ASCII bytes and the dots of the last element are %-escaped.
func symbolPath(s string) string {
	slash := strings.LastIndex(s, "/")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '.' && i > slash || c == '%' || c == '"' || c >= 0x7f {
			fmt.Fprintf(&b, "%%%02x", c)
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isExported reports whether name, the rest of a symbol after its
// package, is an exported top-level identifier (not a method, closure or
// type's symbol).
func isExported(name string) bool {
	r, _ := utf8.DecodeRuneInString(name)
	return unicode.IsUpper(r) && !strings.ContainsAny(name, ".·:[")
}
