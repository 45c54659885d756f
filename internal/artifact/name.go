package artifact

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// PluginExt is the extension of a plugin file.
const PluginExt = ".so"

var (
	nameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	platformRE = regexp.MustCompile(`^[a-z0-9]{1,16}$`)
	abiRE      = regexp.MustCompile(`^go[a-z0-9.]{0,22}-[0-9a-f]{8}(-[0-9a-f]{8})?$`)
)

// CheckABI reports whether s is an ABI tag: go<version>-<8 hex digits>,
// e.g. go1.26.8-1a2b3c4d (see fingerprint.ABI), optionally followed by a
// module graph, -<8 hex digits> (see WithGraph).
func CheckABI(s string) error {
	if abiRE.MatchString(s) {
		return nil
	}
	return fmt.Errorf("ABI %s: want go<version>-<8 hex digits>, e.g. go1.26.8-1a2b3c4d, optionally followed by -<8 hex digits> of a host's module graph", Quote(s))
}

// WithGraph returns the ABI tag abi extended with graph, the tag of a
// host's module graph (8 hex digits, see hostmods.Graph):
// go1.26.8-1a2b3c4d-5e6f7a8b. A host's own tag always carries its graph;
// a plugin file's carries one when it was built against a host's module
// graph (a binary or module profile), so that two hosts that differ only
// in a module they link get two files.
func WithGraph(abi, graph string) string { return abi + "-" + graph }

// BaseABI returns abi without its module graph: the part a binary's
// build gives (fingerprint.ABI).
func BaseABI(abi string) string {
	if strings.Count(abi, "-") == 2 {
		return abi[:strings.LastIndex(abi, "-")]
	}
	return abi
}

// MatchABI reports whether a plugin file tagged file serves a host tagged
// host: the tags are equal, or the file has no module graph and the
// host's tag without its graph equals it.
func MatchABI(file, host string) bool {
	return file == host || file == BaseABI(file) && file == BaseABI(host)
}

// CheckName reports whether s is a valid team or plugin name: 1 to 64
// characters of a-z, 0-9 and "-", starting with a letter or digit. Names
// become folder and file names, so nothing else is allowed.
func CheckName(s string) error {
	if nameRE.MatchString(s) {
		return nil
	}
	return fmt.Errorf("%s must be 1-64 characters of a-z, 0-9 and \"-\", starting with a letter or digit", Quote(s))
}

// CheckVersion reports whether s is a full semantic version without a
// leading "v": MAJOR.MINOR.PATCH, optionally -prerelease and +build.
func CheckVersion(s string) error {
	if strings.HasPrefix(s, "v") && CheckVersion(s[1:]) == nil {
		return fmt.Errorf("%s: write the version without the leading \"v\" (%s)", Quote(s), s[1:])
	}
	core, _, _ := strings.Cut(s, "+")
	core, _, _ = strings.Cut(core, "-")
	if len(s) > 128 || !semver.IsValid("v"+s) || strings.Count(core, ".") != 2 {
		return fmt.Errorf("%s is not semver: want MAJOR.MINOR.PATCH with optional -prerelease and +build, e.g. 1.2.0", Quote(s))
	}
	return nil
}

// CompareVersions orders two valid versions as semver does: a pre-release
// sorts below its release and build metadata is ignored.
func CompareVersions(a, b string) int { return semver.Compare("v"+a, "v"+b) }

// Quote quotes s for a message, shortening very long values.
func Quote(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q... (%d bytes)", s[:80], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// Name is what a plugin file's name says about it.
type Name struct {
	Plugin  string // plugin name, see CheckName
	Version string // semver without "v", see CheckVersion
	GOOS    string
	GOARCH  string
	// ABI is the host ABI the file was built for, see CheckABI: one plugin
	// version has one file per ABI, and a host considers only its own.
	ABI string
}

// namePattern describes a plugin file name, for messages.
const namePattern = "<plugin>_v<version>_<goos>_<goarch>_<abi>" + PluginExt

// String returns the file name: <plugin>_v<version>_<goos>_<goarch>_<abi>.so.
func (n Name) String() string {
	return n.Plugin + "_v" + n.Version + "_" + n.GOOS + "_" + n.GOARCH + "_" + n.ABI + PluginExt
}

// ErrTemporary marks a name that belongs to a file being written: hidden
// (".name1234", as atomic writers create them) or ending in .tmp or .part.
// Readers skip such files silently.
var ErrTemporary = errors.New("temporary or partial file")

// IsTemporary reports whether file (a base name) is a file being written.
func IsTemporary(file string) bool {
	return strings.HasPrefix(file, ".") || strings.HasSuffix(file, ".tmp") || strings.HasSuffix(file, ".part")
}

// ParseName parses a plugin file's base name. The error says which part is
// wrong; it wraps ErrTemporary for temporary files.
func ParseName(file string) (Name, error) {
	fail := func(format string, args ...any) (Name, error) {
		return Name{}, fmt.Errorf("plugin file name %s: %s", Quote(file), fmt.Sprintf(format, args...))
	}
	if strings.ContainsAny(file, "/\\\x00") {
		return fail("contains a path separator or NUL; want a base name")
	}
	if IsTemporary(file) {
		return Name{}, fmt.Errorf("plugin file name %s: %w", Quote(file), ErrTemporary)
	}
	stem, ok := strings.CutSuffix(file, PluginExt)
	if !ok {
		return fail("does not end in %s", PluginExt)
	}
	parts := strings.Split(stem, "_")
	if len(parts) == 4 {
		return fail("want %s; a name without the ABI comes from a plugship before host profiles: rebuild it", namePattern)
	}
	if len(parts) != 5 {
		return fail("want %s", namePattern)
	}
	n := Name{Plugin: parts[0], GOOS: parts[2], GOARCH: parts[3], ABI: parts[4]}
	if err := CheckName(n.Plugin); err != nil {
		return fail("plugin name %v", err)
	}
	v, ok := strings.CutPrefix(parts[1], "v")
	if !ok {
		return fail("version %s does not start with \"v\"", Quote(parts[1]))
	}
	if err := CheckVersion(v); err != nil {
		return fail("version %v", err)
	}
	n.Version = v
	if !platformRE.MatchString(n.GOOS) || !platformRE.MatchString(n.GOARCH) {
		return fail("platform %s_%s is not a GOOS_GOARCH pair", Quote(n.GOOS), Quote(n.GOARCH))
	}
	if err := CheckABI(n.ABI); err != nil {
		return fail("%v", err)
	}
	return n, nil
}
