package scaffold

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/symbols"
)

// Host is a host that someone else releases, for which Init makes a
// repository of plugins (Options.Host).
type Host struct {
	Kind    string // the preset: "nakama"
	Name    string // the reference host's name in compat/hosts.yaml, a-z, 0-9, "-"
	Release string // the host's release, for prose and the profile's name: 3.40.0
	// Binary is the host's executable, by URL (or a path relative to the
	// new repository), and SHA256 its digest: the binary profile the
	// plugins are built against. Required: only the host's own release
	// binary says which Go, flags and module versions its plugins need.
	Binary, SHA256 string
	// Member is the executable's path inside Binary when that is a
	// release archive (.tar.gz, .tgz, .zip): SHA256 is the archive's.
	Member string
	// The host's contract: the module and package its symbols' types come
	// from, at the version the release links, and the symbols.
	ContractModule, ContractVersion, ContractPackage string
	Symbols                                          []string
	// Check is the host's own command for trying plugins.
	Check []string
	// PluginDir is where the host reads plugins in its image, Image that
	// image (for the Dockerfile).
	PluginDir, Image string
}

// Presets are the hosts Init knows, by kind. Binary and SHA256 are the
// user's to give.
var Presets = map[string]Host{
	"nakama": {
		Kind:            "nakama",
		Name:            "nakama",
		Release:         "3.40.0",
		ContractModule:  "github.com/heroiclabs/nakama-common",
		ContractVersion: "v1.47.0",
		ContractPackage: "github.com/heroiclabs/nakama-common/runtime",
		Symbols:         []string{"InitModule func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error"},
		Check:           []string{"{host}", "check", "--runtime.path", "{dir}"},
		Member:          "nakama",
		PluginDir:       "/nakama/data/modules",
		Image:           "heroiclabs/nakama:3.40.0",
	},
}

// PresetNames are the kinds of Presets, sorted.
func PresetNames() []string {
	var names []string
	for k := range Presets {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// ProfileName is the binary profile's name: the host and its release,
// such as nakama-3-40-0.
func (h *Host) ProfileName() string {
	return h.Name + "-" + strings.NewReplacer(".", "-", "+", "-").Replace(h.Release)
}

// CheckYAML is the check command as a YAML flow list.
func (h *Host) CheckYAML() string {
	quoted := make([]string, len(h.Check))
	for i, a := range h.Check {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// Archive reports whether Binary is a release archive, whose Member is
// the executable.
func (h *Host) Archive() bool { return profile.IsArchive(h.Binary) }

// CheckShell is the check command as install's -check flag takes it.
func (h *Host) CheckShell() string { return strings.Join(h.Check, " ") }

// check reports what is wrong with h, naming the flag that sets it.
func (h *Host) check() error {
	var errs []error
	if h.Binary == "" {
		errs = append(errs, fmt.Errorf("-host-binary: give the URL (or path) of the %s %s executable your servers run: its build says which Go release, flags and module versions the plugins must be built with", h.Kind, h.Release))
	} else if u, err := url.Parse(h.Binary); err == nil && u.Scheme != "" && u.Scheme != "https" && u.Scheme != "http" {
		errs = append(errs, fmt.Errorf("-host-binary %s: want an https:// URL or a path", h.Binary))
	}
	if b, err := hex.DecodeString(h.SHA256); err != nil || len(b) != 32 {
		errs = append(errs, fmt.Errorf("-host-sha256 %q: want the executable's SHA-256, 64 hex digits (sha256sum prints it)", h.SHA256))
	}
	if err := module.Check(h.ContractModule, h.ContractVersion); err != nil || semver.Canonical(h.ContractVersion) != h.ContractVersion {
		errs = append(errs, fmt.Errorf("-contract-module %s@%s: want a module path and a version the host links, such as %s@%s", h.ContractModule, h.ContractVersion, Presets["nakama"].ContractModule, Presets["nakama"].ContractVersion))
	}
	for _, s := range h.Symbols {
		if _, _, err := symbols.Parse(s); err != nil {
			errs = append(errs, fmt.Errorf("symbol: %w", err))
		}
	}
	if len(h.Check) == 0 {
		errs = append(errs, errors.New("-check: give the host's own check command"))
	}
	return errors.Join(errs...)
}
