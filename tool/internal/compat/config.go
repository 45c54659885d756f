package compat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/profile"
)

// ConfigFile is the hosts' default configuration, relative to the module
// root (configurable in plugship.yaml: folders.hosts).
const ConfigFile = profile.ConfigFile

// Config is compat/hosts.yaml.
type Config struct {
	// Profiles are the host ABIs plugins are built for (see package
	// profile); default one, the working tree with the go on PATH.
	Profiles []profile.Profile `yaml:"profiles"`
	// Timeout bounds each probe; default 10s.
	Timeout Duration     `yaml:"timeout" jsonschema:"default=10s"`
	Hosts   []HostConfig `yaml:"hosts"`
}

// HostConfig is one reference host.
type HostConfig struct {
	Name    string `yaml:"name" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]{0\\,63}$"` // a-z, 0-9, "-"
	Profile string `yaml:"profile"`                                                        // the profile it is built with; default the first
	// Package is the host's main package, ./compat/hosts/<dir>. A host of a
	// profile with binary or module leaves it out: the binary (built from
	// the module) itself is the host, and must call loader.HandleProbe.
	Package string `yaml:"package"`
	// Flags are its go build flags; default the profile's. flags: [] builds
	// with none.
	Flags []string `yaml:"flags"`
	// MustAccept and MustReject select plugins ("*", "team", "team/plugin")
	// whose every file must load into the host, or must not.
	MustAccept []string `yaml:"must_accept"`
	MustReject []string `yaml:"must_reject"`
	// Check is the host's own command for trying plugins, such as
	// ["{host}", "check", "--runtime.path", "{dir}"]: the matrix runs it
	// instead of the loader's probe, on a fresh folder ({dir}) that holds
	// only the candidate, named File ({file} is its path), and its exit
	// status decides the cell (see loader.Options.Check). Default none:
	// the host answers the loader's probe (loader.HandleProbe), or, for a
	// host binary that does not, a stand-in does.
	Check []string `yaml:"check"`
	// File is the name the candidate takes in Check's folder; default
	// "{plugin}.so". It may hold {plugin} and {version}.
	File string `yaml:"file"`
	// Note says why the host is there, for readers of the matrix, such as
	// "built without -trimpath on purpose: the preflight must refuse every
	// build"; the reports show it beside the host's name. Optional.
	Note string `yaml:"note"`
}

// Duration is a time.Duration written as "10s".
type Duration time.Duration

// UnmarshalYAML parses a duration such as 10s or 1m.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: timeout %s: want a positive duration such as 10s", n.Line, artifact.Quote(n.Value))
	}
	*d = Duration(v)
	return nil
}

// LoadConfig reads and checks a configuration file.
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// flatten joins errs, the errors joined in any of them listed one by one.
func flatten(errs []error) error {
	var all []error
	for _, e := range errs {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			all = append(all, j.Unwrap()...)
		} else {
			all = append(all, e)
		}
	}
	return errors.Join(all...)
}

// ParseConfig decodes a configuration, refusing unknown fields, and checks
// every host; the error lists every problem.
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(10 * time.Second)
	}
	var errs []error
	profiles, err := profile.Check(c.Profiles)
	if err != nil {
		errs = append(errs, err)
	} else {
		c.Profiles = profiles
	}
	if len(c.Hosts) == 0 {
		errs = append(errs, fmt.Errorf("hosts: list at least one reference host"))
	}
	seen := map[string]bool{}
	for i, h := range c.Hosts {
		bad := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("hosts[%d].%s: %s", i, field, fmt.Sprintf(format, args...)))
		}
		if err := artifact.CheckName(h.Name); err != nil {
			bad("name", "%v", err)
		} else if seen[h.Name] {
			bad("name", "host %s is listed twice", h.Name)
		}
		seen[h.Name] = true
		if h.Profile == "" && len(c.Profiles) > 0 {
			c.Hosts[i].Profile = c.Profiles[0].Name
		} else if _, ok := profile.Find(c.Profiles, h.Profile); !ok && profiles != nil {
			bad("profile", "no profile %s (profiles: %s)", artifact.Quote(h.Profile), strings.Join(profile.Names(c.Profiles), ", "))
		}
		p, ok := profile.Find(c.Profiles, c.Hosts[i].Profile)
		binary := ok && (p.Binary != "" || p.Module != "")
		given, kind := "the host binary "+p.Binary, "binary"
		if p.Module != "" {
			given, kind = "the host built from the module "+p.Module+"@"+p.Version, "module"
		}
		if binary && h.Package != "" {
			bad("package", "profile %s is %s, which the matrix uses as this host as it is (it cannot build one for a %s profile): remove package", p.Name, given, kind)
		}
		if binary && h.Flags != nil {
			bad("flags", "profile %s is %s, used as it was built: remove flags", p.Name, given)
		} else if ok && !binary && h.Flags == nil {
			c.Hosts[i].Flags = p.Flags
		}
		if !binary && (!strings.HasPrefix(h.Package, "./compat/hosts/") || strings.Contains(h.Package, "..")) {
			bad("package", "%s: want a main package under ./compat/hosts/ (only a host of a profile with binary or module leaves it out)", artifact.Quote(h.Package))
		}
		for _, f := range h.Flags {
			for _, banned := range []string{"-o", "-buildmode", "-overlay", "-C"} {
				if f == banned || strings.HasPrefix(f, banned+"=") {
					bad("flags", "%s is set by plugship or breaks a host build; remove it", f)
				}
			}
			if !strings.HasPrefix(f, "-") {
				bad("flags", "%s is not a go build flag", artifact.Quote(f))
			}
		}
		if h.Check != nil {
			if err := checkCommand(h.Check); err != nil {
				bad("check", "%v", err)
			}
		}
		if h.File != "" {
			if h.Check == nil {
				bad("file", "file names the candidate for the host's check command, and there is none: add check, or remove file")
			} else if strings.ContainsAny(h.File, `/\`) || h.File == "." || h.File == ".." || strings.Contains(h.File, "{dir}") || strings.Contains(h.File, "{file}") || strings.Contains(h.File, "{host}") {
				bad("file", "%s: want a file name, such as \"{plugin}.so\" (it may hold {plugin} and {version})", artifact.Quote(h.File))
			}
		}
		for field, sels := range map[string][]string{"must_accept": h.MustAccept, "must_reject": h.MustReject} {
			for _, s := range sels {
				if err := matrix.CheckSelector(s); err != nil {
					bad(field, "%v", err)
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, profile.WithLines(data, flatten(errs))
	}
	return &c, nil
}

// checkCommand checks a host's check command: a program and arguments,
// with known placeholders only, that is given the candidate.
func checkCommand(cmd []string) error {
	example := `["{host}", "check", "--runtime.path", "{dir}"]`
	if len(cmd) == 0 || cmd[0] == "" {
		return fmt.Errorf("empty: write the program and its arguments as a list, such as %s", example)
	}
	given := false
	for _, a := range cmd {
		rest := a
		for _, ph := range loader.CheckPlaceholders() {
			rest = strings.ReplaceAll(rest, ph, "")
		}
		if i := strings.Index(rest, "{"); i >= 0 && strings.Contains(rest[i:], "}") {
			return fmt.Errorf("%s holds an unknown placeholder: the known ones are %s", artifact.Quote(a), strings.Join(loader.CheckPlaceholders(), ", "))
		}
		given = given || strings.Contains(a, "{dir}") || strings.Contains(a, "{file}")
	}
	if !given {
		return fmt.Errorf("%s never names the candidate: give the host {dir} (the folder that holds only the candidate) or {file} (its path), such as %s", artifact.Quote(strings.Join(cmd, " ")), example)
	}
	return nil
}
