package loader

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
)

// Candidate is one plugin file the loader may try.
type Candidate struct {
	File    string // path of the .so
	Version string // from the file name, without "v"
	ABI     string // from the file name
}

// OwnABI returns the ABI tag of the executable at host (this process's
// when empty) for the contract T: go<release>-<build>-<graph>, its build's
// ABI (Go release, flags, runtime and contract) and its module graph. The
// plugin files built for it are tagged either with the first two parts
// (built from the same repository as the host) or with all three (built
// against this host's module graph by a binary or module profile). See
// Options.ABI.
func OwnABI[T Contract](host string) (string, error) { return ownABI(host, ContractPackage[T]()) }

func ownABI(host, contract string) (string, error) {
	if contract == "" {
		return "", errUnnamedContract
	}
	if host == "" {
		var err error
		if host, err = os.Executable(); err != nil {
			return "", err
		}
	}
	fp, err := hostFingerprint(host)
	if err != nil {
		return "", err
	}
	return fp.HostABI(contract)
}

// otherABIs describes the files of plugin in dir built for other ABIs than
// abi, for the message when none of the host's own passed.
func otherABIs(dir, plugin, goos, goarch, abi string) string {
	all, _, err := Discover(dir, plugin, goos, goarch, "")
	if err != nil {
		return ""
	}
	counts := map[string]int{}
	for _, c := range all {
		if !artifact.MatchABI(c.ABI, abi) {
			counts[c.ABI]++
		}
	}
	if len(counts) == 0 {
		return ""
	}
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d for %s", counts[a], a))
	}
	return fmt.Sprintf("; not tried: %s (this host is %s: build the plugin for this host's profile)", strings.Join(parts, ", "), abi)
}

// Refusal is a file that looks like one of the plugin's but cannot be
// tried: a symlink out of the folder, a folder or device, a bad name.
type Refusal struct {
	File   string
	Reason string
}

// Discover lists the files of plugin in dir built for goos/goarch and a
// host of ABI tag abi (any ABI when abi is empty; see OwnABI), one per
// version for a host (a version's build against the host's own module
// graph, when it has one, leaves out its other builds), newest version
// first (semver: a pre-release sorts below its release, build
// metadata does not count; equal versions by file name). Files being
// written (hidden, .tmp, .part), metadata, and other plugins', other
// platforms' or other ABIs' files are ignored. Files named like the plugin's that cannot
// be tried are returned as refusals, with the reason.
func Discover(dir, plugin, goos, goarch, abi string) ([]Candidate, []Refusal, error) {
	if err := artifact.CheckName(plugin); err != nil {
		return nil, nil, fmt.Errorf("plugin name: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin folder: %w", err)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin folder: %w", err)
	}
	var cands []Candidate
	var refused []Refusal
	for _, e := range entries {
		base := e.Name()
		if !strings.HasPrefix(base, plugin+"_") || !strings.HasSuffix(base, artifact.PluginExt) {
			continue
		}
		// plugin passed CheckName, so base neither is a temporary name nor
		// parses to another plugin.
		file := filepath.Join(dir, base)
		n, err := artifact.ParseName(base)
		if err != nil {
			refused = append(refused, Refusal{file, err.Error()})
			continue
		}
		if n.GOOS != goos || n.GOARCH != goarch || abi != "" && !artifact.MatchABI(n.ABI, abi) {
			continue
		}
		if err := checkRegularInside(realDir, file); err != nil {
			refused = append(refused, Refusal{file, err.Error()})
			continue
		}
		cands = append(cands, Candidate{File: file, Version: n.Version, ABI: n.ABI})
	}
	slices.SortStableFunc(cands, func(a, b Candidate) int {
		if c := artifact.CompareVersions(b.Version, a.Version); c != 0 {
			return c
		}
		return strings.Compare(a.File, b.File)
	})
	if abi != "" && artifact.BaseABI(abi) != abi {
		cands = ownBuilds(cands, abi)
	}
	return cands, refused, nil
}

// ownBuilds keeps, of each version that has a file built against the
// host's own module graph (tagged abi exactly), that file alone: it is
// the version's file for this host, and the build from the plugins'
// repository, which may link other module versions, is not tried too.
func ownBuilds(cands []Candidate, abi string) []Candidate {
	own := map[string]bool{}
	for _, c := range cands {
		if c.ABI == abi {
			own[c.Version] = true
		}
	}
	return slices.DeleteFunc(cands, func(c Candidate) bool { return own[c.Version] && c.ABI != abi })
}

// checkRegularInside reports why file is not a regular file inside realDir
// (following symlinks).
func checkRegularInside(realDir, file string) error {
	st, err := os.Lstat(file)
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(file)
		if err != nil {
			return fmt.Errorf("symlink that cannot be followed: %w", err)
		}
		rel, err := filepath.Rel(realDir, target)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
			return fmt.Errorf("symlink to %s, outside the plugin folder %s; refused: copy the file into the folder instead", target, realDir)
		}
		if st, err = os.Stat(target); err != nil {
			return err
		}
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (%s); refused", describeMode(st.Mode()))
	}
	return nil
}

func describeMode(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return m.String()
}
