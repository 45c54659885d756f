package plugtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/teams"
)

// Root returns the root of plugship's checkout: the folder of the module
// github.com/plugship/plugship (its plugins, contract, hosts and loader),
// found from the working directory up; the tool's own module is below it.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modfile.ModulePath(data) == "github.com/plugship/plugship" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module github.com/plugship/plugship above the working directory")
		}
		dir = parent
	}
}

// libraryFolders are the folders of the root module's packages that hosts
// import (the loader, trust and what they use), copied by Module.
var libraryFolders = []string{"loader", "trust", "internal"}

// Module writes into dir a copy of root's go.mod, go.sum and contract/,
// and of the packages hosts import (loader, trust; no tests), plus files
// (slash paths relative to dir -> content). Plugins built in it with
// -trimpath share the contract package with hosts built in root, and
// hosts can be built in it.
func Module(root, dir string, files map[string]string) error {
	all := map[string]string{}
	for _, f := range []string{"go.mod", "go.sum", "contract/contract.go", "contract/doc.go"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return err
		}
		all[f] = string(data)
	}
	for _, folder := range libraryFolders {
		err := filepath.WalkDir(filepath.Join(root, folder), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			all[filepath.ToSlash(rel)] = string(data)
			return nil
		})
		if err != nil {
			return err
		}
	}
	for name, data := range files {
		all[name] = data
	}
	for name, data := range all {
		if err := WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes data to path, creating its folder.
func WriteFile(path, data string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(data), 0o644)
}

// Go runs the go command in dir with CGO_ENABLED=1 and returns an error
// holding its output when it fails.
func Go(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	// No VCS stamping: a checkout owned by another user (CI) makes git, and
	// so go build, fail; it changes nothing that decides loading.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// BuildHost builds the main package pkg of root like plugship builds
// plugins (-trimpath, cgo), so that it can open them, into out.
func BuildHost(root, pkg, out string) error {
	return Go(root, "build", "-trimpath", "-o", out, pkg)
}

// FileName returns the plugin file name of plugin at version for this
// platform and the ABI tag abi (see ABIOf).
func FileName(plugin, version, abi string) string {
	return artifact.Name{Plugin: plugin, Version: version, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, ABI: abi}.String()
}

// OtherGo is a Go release of another minor version than the one the
// tests run with: tests build plugins with it to show a toolchain
// mismatch (a go1.26 host dies in plugin.Open on its plugins). go run
// mage.go test fetches it before the tests run (testenv).
const OtherGo = "go1.25.5"

// AnyABI is a well-formed ABI tag for files whose ABI does not matter.
const AnyABI = "go1.0.0-00000000"

// ABIOf returns the ABI tag of a built plugin or host.
func ABIOf(file string) (string, error) {
	fp, err := fingerprint.Read(file)
	if err != nil {
		return "", err
	}
	return fp.ABI(fingerprint.ContractPackage)
}

// HostABIOf returns the tag the host executable at file takes plugins
// by, for the contract package contract (fingerprint.HostABI).
func HostABIOf(file, contract string) (string, error) {
	fp, err := fingerprint.Read(file)
	if err != nil {
		return "", err
	}
	return fp.HostABI(contract)
}

// Find returns the one file of plugin at version in dir, whatever its ABI.
func Find(dir, plugin, version string) (string, error) {
	found, err := filepath.Glob(filepath.Join(dir, plugin+"_v"+version+"_*"+artifact.PluginExt))
	if err != nil {
		return "", err
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s: %d files of %s v%s (%q), want 1", dir, len(found), plugin, version, found)
	}
	return found[0], nil
}

// WriteMetadata writes, beside the file at path, metadata that records its
// current bytes, as the build would; team is any valid team name. Tests use
// it for files the build did not make.
func WriteMetadata(path, team string) error {
	n, err := artifact.ParseName(filepath.Base(path))
	if err != nil {
		return err
	}
	sum, size, err := artifact.HashFile(path)
	if err != nil {
		return err
	}
	m := &artifact.Metadata{
		Schema: artifact.MetadataSchema, Team: team, Plugin: n.Plugin, Version: n.Version,
		File: filepath.Base(path), SHA256: sum, Size: size, GOOS: n.GOOS, GOARCH: n.GOARCH, ABI: n.ABI,
	}
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	_, err = artifact.WriteFileIfChanged(path+artifact.MetadataSuffix, data, 0o644)
	return err
}

// CopyPlugin copies the plugin file src and everything beside it that
// belongs to it (metadata, signature, bundle, provenance) into dir.
func CopyPlugin(dir, src string) error {
	files, err := filepath.Glob(src + "*")
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// SignFile writes file.sig, a real signature of file's bytes by team's key
// as the sign step would find it (root, its plugship.yaml, dist), without
// the sign step's checks: tests use it for files the sign step refuses, to
// reach the stages after it, as a careless or compromised signer would. A
// root without go.mod has the default folders.
func SignFile(root, dist, team, file string) error {
	teamsDir := filepath.Join(root, teams.Dir)
	if repo, err := config.Load(root); err == nil {
		teamsDir = repo.TeamsDir()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	s, err := keys.SignerFor(context.Background(), root, teamsDir, dist, team)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sig, err := s.SignMessage(f)
	if err != nil {
		return err
	}
	return os.WriteFile(file+".sig", []byte(base64.StdEncoding.EncodeToString(sig)), 0o644)
}

// GitCopy copies the module at root (without .git, dist/ and .keys/) into
// dir and commits it there as a new git repository owned by this user, so
// that tests can use refs of it whoever owns root.
func GitCopy(root, dir string) error {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel == ".git" || rel == "dist" || rel == ".keys" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		return err
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", "copy"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// FleetManifest is the manifest of team "fleet" with n plugins, p00000 to
// p<n-1>, each at version 1.0.0 from plugin_sources/fleet/<name>.
func FleetManifest(n int) string {
	var sb strings.Builder
	sb.WriteString("name: fleet\nowners: [\"@f\"]\nplugins:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  - name: p%05d\n    source: fleet/p%05d\n    version: 1.0.0\n", i, i)
	}
	return sb.String()
}

// CopyFleet turns the module at mod, whose team fleet lists p00000 built
// at src under dist, into a fleet of n plugin versions without building
// them: src is copied under n names, each with its metadata, a source
// folder holding source, and the manifest FleetManifest(n). It returns the
// files, p00000's included.
func CopyFleet(mod, dist, src, source string, n int) ([]string, error) {
	name, err := artifact.ParseName(filepath.Base(src))
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	var files []string
	for i := range n {
		name.Plugin = fmt.Sprintf("p%05d", i)
		file := filepath.Join(dist, "plugins", "fleet", name.Plugin, name.String())
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, data, 0o755); err != nil {
			return nil, err
		}
		if err := WriteMetadata(file, "fleet"); err != nil {
			return nil, err
		}
		files = append(files, file)
		if err := WriteFile(filepath.Join(mod, "plugin_sources/fleet", name.Plugin, "main.go"), source); err != nil {
			return nil, err
		}
	}
	return files, WriteFile(filepath.Join(mod, "teams/fleet/team.yaml"), FleetManifest(n))
}

// DamageSignature returns a DSSE envelope (JSON) with one base64
// character of its first signature changed: the same envelope, whose
// signature no longer verifies.
func DamageSignature(envelope []byte) ([]byte, error) {
	const field = `"sig":"`
	i := bytes.Index(envelope, []byte(field))
	if i < 0 || i+len(field)+20 >= len(envelope) {
		return nil, errors.New("no signature in the envelope")
	}
	out := bytes.Clone(envelope)
	j := i + len(field) + 10
	if out[j] == 'A' {
		out[j] = 'B'
	} else {
		out[j] = 'A'
	}
	return out, nil
}
