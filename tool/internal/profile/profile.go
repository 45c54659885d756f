package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/module"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/config"
)

// ConfigFile is the default file of the profiles (and the matrix's
// hosts), relative to the module root (configurable in plugship.yaml:
// folders.hosts).
const ConfigFile = config.DefaultHosts

// DefaultName is the profile used when the configuration lists none.
const DefaultName = "current"

// DefaultFlags are the flags of a profile that lists none.
var DefaultFlags = []string{"-trimpath"}

// Profile is one host ABI that plugins are built for.
type Profile struct {
	Name string `yaml:"name" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]{0\\,63}$"` // a-z, 0-9, "-"
	// Go is the toolchain, e.g. go1.25.5; empty means the go command on
	// PATH.
	Go     string `yaml:"go" jsonschema:"pattern=^go1\\.[0-9]{1\\,3}(\\.[0-9]{1\\,3}|rc[0-9]{1\\,2})?$"`
	GOOS   string `yaml:"goos"`   // empty: the toolchain's default
	GOARCH string `yaml:"goarch"` // empty: the toolchain's default
	// CC is the C compiler for cgo, which plugins need: another platform
	// needs a cross compiler (Debian: gcc-aarch64-linux-gnu for
	// aarch64-linux-gnu-gcc). Empty: the go command's default.
	CC string `yaml:"cc"`
	// Flags are go build flags shared by the plugins and the hosts of the
	// profile: -trimpath, -race, -tags=..., -gcflags=...; default
	// [-trimpath]. An empty list builds with none.
	Flags []string `yaml:"flags"`
	// Ref is a git ref (tag, branch, commit) of the tree whose contract,
	// hosts and go.mod the profile's hosts are built from; empty means the
	// working tree.
	Ref string `yaml:"ref"`
	// Binary is a host executable built elsewhere: a path relative to the
	// module root, an absolute path, or an http(s) URL (then SHA256 is
	// required; the file is downloaded once into dist/.cache/hostbin/).
	// Its build info gives the Go release, platform, flags and module
	// versions, so go, goos, goarch, flags and ref must be left out.
	// Plugins are built against its module graph through a modfile of the
	// profile's own (see binary.go).
	Binary string `yaml:"binary"`
	// SHA256 is the binary's expected digest (hex), checked before use.
	SHA256 string `yaml:"sha256" jsonschema:"pattern=^[0-9a-f]{64}$"`
	// Member, when binary is an archive (.tar.gz, .tgz, .zip: a release
	// archive such as Nakama's), is the executable's path inside it; sha256
	// is then the archive's. The executable is extracted once into
	// dist/.cache/hostbin/<profile>/.
	Member string `yaml:"member"`
	// Module is the module path of a host built elsewhere, fetched at
	// Version through the module proxy (GOPROXY), or from Git: plugship
	// builds its Main package from the module's own go.mod with the
	// profile's go and flags, then treats the executable as a binary
	// profile's (see module.go). binary, sha256, ref, goos and goarch must
	// be left out.
	Module string `yaml:"module"`
	// Version is the host module's version: a semantic version, or a query
	// the go command accepts (a branch, a commit); with Git, a tag, branch
	// or commit of that repository.
	Version string `yaml:"version"`
	// Git is the host module's git repository, when it is not fetched
	// through the module proxy: any URL git clones (https://, ssh://,
	// file://) or a local path (relative to the module root, or absolute).
	Git string `yaml:"git"`
	// Main is the host's main package inside the module, such as
	// ./cmd/gateway; empty means the module root.
	Main string `yaml:"main"`
}

// Default is the profile of a configuration that lists none: the working
// tree built by the go on PATH with -trimpath.
func Default() Profile {
	return Profile{Name: DefaultName, Flags: slices.Clone(DefaultFlags)}
}

var (
	goRE  = regexp.MustCompile(`^go1\.[0-9]{1,3}(\.[0-9]{1,3}|rc[0-9]{1,2})?$`)
	refRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$`)
	ccRE  = regexp.MustCompile(`^[A-Za-z0-9_./+-]{1,128}$`)
	shaRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// versionRE is a module version or a query: no "@", no leading "-".
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$`)
)

// bannedFlags are set by plugship, or would make host and plugin differ.
var bannedFlags = []string{"-o", "-buildmode", "-overlay", "-C", "-ldflags", "-modfile", "-pgo"}

// Check reports every problem of the profiles, each naming its field, and
// fills in defaults.
func Check(ps []Profile) ([]Profile, error) {
	if len(ps) == 0 {
		return []Profile{Default()}, nil
	}
	var errs []error
	seen := map[string]bool{}
	out := make([]Profile, len(ps))
	for i, p := range ps {
		bad := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("profiles[%d].%s: %s", i, field, fmt.Sprintf(format, args...)))
		}
		if err := artifact.CheckName(p.Name); err != nil {
			bad("name", "%v", err)
		} else if seen[p.Name] {
			bad("name", "profile %s is listed twice", p.Name)
		}
		seen[p.Name] = true
		if p.Go != "" && !goRE.MatchString(p.Go) {
			bad("go", "%s: want a Go release such as go1.25.5, or nothing for the go on PATH", artifact.Quote(p.Go))
		}
		for field, v := range map[string]string{"goos": p.GOOS, "goarch": p.GOARCH} {
			if v != "" && artifact.CheckName(v) != nil {
				bad(field, "%s is not a GOOS/GOARCH value", artifact.Quote(v))
			}
		}
		if p.Binary != "" {
			for _, f := range []struct {
				field string
				set   bool
			}{{"go", p.Go != ""}, {"goos", p.GOOS != ""}, {"goarch", p.GOARCH != ""}, {"flags", p.Flags != nil}, {"ref", p.Ref != ""}} {
				if field := f.field; f.set {
					bad(field, "profile %s builds for the host binary %s, whose build info gives its %s: remove %s (or remove binary)", p.Name, p.Binary, field, field)
				}
			}
			if strings.ContainsAny(p.Binary, "\n\x00") {
				bad("binary", "%s: want the path of a host executable, relative to the module root or absolute, or an https URL", artifact.Quote(p.Binary))
			} else if IsURL(p.Binary) && p.SHA256 == "" {
				bad("sha256", "profile %s downloads its host from %s: add sha256: <the SHA-256 of that file (sha256sum)>, so that what is built for is what you meant", p.Name, p.Binary)
			} else if strings.Contains(p.Binary, "://") && !IsURL(p.Binary) {
				bad("binary", "%s: want an http:// or https:// URL, or a path", artifact.Quote(p.Binary))
			}
			switch {
			case IsArchive(p.Binary) && p.Member == "":
				bad("member", "profile %s's binary %s is an archive: add member: <the executable's path inside it, such as nakama>", p.Name, p.Binary)
			case !IsArchive(p.Binary) && p.Member != "":
				bad("member", "profile %s's binary %s is not an archive (.tar.gz, .tgz or .zip): remove member, or give the archive", p.Name, p.Binary)
			case p.Member != "" && (strings.ContainsAny(p.Member, "\n\x00") || strings.HasSuffix(p.Member, "/")):
				bad("member", "%s: want the path of a file inside the archive, such as bin/gateway", artifact.Quote(p.Member))
			}
		} else if p.Member != "" {
			bad("member", "only a profile with binary (an archive) has a member: add binary, or remove member")
		}
		if p.Module != "" {
			for _, f := range []struct {
				field string
				set   bool
			}{{"binary", p.Binary != ""}, {"sha256", p.SHA256 != ""}, {"ref", p.Ref != ""}, {"goos", p.GOOS != ""}, {"goarch", p.GOARCH != ""}} {
				if field := f.field; f.set {
					bad(field, "profile %s builds its host from the module %s, for this machine: remove %s (or remove module)", p.Name, p.Module, field)
				}
			}
			if err := module.CheckPath(p.Module); err != nil {
				bad("module", "%s is not a module path (%v): write the host's module path, such as example.com/gateway", artifact.Quote(p.Module), err)
			}
			if p.Version == "" && p.Git != "" {
				bad("version", "profile %s builds the host module %s from %s: add version: <a tag, branch or commit of it, such as v1.4.2>", p.Name, p.Module, p.Git)
			} else if p.Version == "" {
				bad("version", "profile %s builds the host module %s: add version: <the host release, such as v1.4.2>", p.Name, p.Module)
			} else if !versionRE.MatchString(p.Version) || strings.Contains(p.Version, "..") {
				bad("version", "%s: want a module version such as v1.4.2, or a branch or commit the go command accepts", artifact.Quote(p.Version))
			}
			if p.Main != "" && !mainPackage(p.Main) {
				bad("main", "%s: want the host's main package as a path inside the module, such as ./cmd/gateway (default: the module root)", artifact.Quote(p.Main))
			}
			if p.Git != "" && (strings.ContainsAny(p.Git, "\n\x00") || strings.HasPrefix(p.Git, "-")) {
				bad("git", "%s: want a git URL (https://, ssh://, file://) or a local path of the host module's repository", artifact.Quote(p.Git))
			}
		} else {
			for _, f := range []struct{ field, v string }{{"version", p.Version}, {"main", p.Main}, {"git", p.Git}} {
				if field := f.field; f.v != "" {
					bad(field, "only a profile with module has a %s: add module: <the host's module path>, or remove %s", field, field)
				}
			}
		}
		if p.SHA256 != "" && p.Binary == "" {
			bad("sha256", "only a profile with binary has a digest: add binary: <path of the host executable>, or remove sha256")
		} else if p.SHA256 != "" && !shaRE.MatchString(p.SHA256) {
			bad("sha256", "%s: want the binary's SHA-256, 64 lowercase hex digits (sha256sum <binary>)", artifact.Quote(p.SHA256))
		}
		if p.Flags == nil && p.Binary == "" {
			p.Flags = slices.Clone(DefaultFlags)
		}
		for _, f := range p.Flags {
			if !strings.HasPrefix(f, "-") {
				bad("flags", "%s is not a go build flag", artifact.Quote(f))
			}
			for _, banned := range bannedFlags {
				if f == banned || strings.HasPrefix(f, banned+"=") {
					bad("flags", "%s is set by plugship or is per host; remove it (host-only flags go in the host's flags)", f)
				}
			}
		}
		if p.CC != "" && !ccRE.MatchString(p.CC) {
			bad("cc", "%s: want a C compiler command such as aarch64-linux-gnu-gcc", artifact.Quote(p.CC))
		}
		if p.Ref != "" && (!refRE.MatchString(p.Ref) || strings.Contains(p.Ref, "..")) {
			bad("ref", "%s: want a git tag, branch or commit", artifact.Quote(p.Ref))
		}
		out[i] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// IsURL reports whether a binary is given as an http(s) URL.
func IsURL(binary string) bool {
	return strings.HasPrefix(binary, "https://") || strings.HasPrefix(binary, "http://")
}

// mainPackage reports whether m is "." or a clean "./dir/..." path inside
// the module.
func mainPackage(m string) bool {
	if m == "." {
		return true
	}
	rel, ok := strings.CutPrefix(m, "./")
	return ok && rel != "" && path.Clean(rel) == rel && rel != ".." && !strings.HasPrefix(rel, "../") &&
		!strings.HasPrefix(rel, "/") && !strings.ContainsAny(rel, " \\\n\x00")
}

// Parse reads the profiles from a compat/hosts.yaml document; the other
// fields are the matrix's and are not checked here.
func Parse(data []byte) ([]Profile, error) {
	var doc struct {
		Profiles []Profile `yaml:"profiles"`
		// The matrix's fields, checked by package compat.
		Timeout any `yaml:"timeout"`
		Hosts   any `yaml:"hosts"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt field is an error, not a default
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	ps, err := Check(doc.Profiles)
	return ps, WithLines(data, err)
}

// Load reads the profiles from file; a missing file means the default
// profile.
func Load(file string) ([]Profile, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return []Profile{Default()}, nil
	}
	if err != nil {
		return nil, err
	}
	ps, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return ps, nil
}

// Find returns the profile named name.
func Find(ps []Profile, name string) (Profile, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// Names lists the profiles' names.
func Names(ps []Profile) []string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return names
}
