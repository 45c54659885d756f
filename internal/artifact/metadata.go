package artifact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/google/renameio/v2"
)

// MetadataSchema identifies the version of the Metadata format. Readers
// refuse other schemas.
const MetadataSchema = "plugship.build/v2"

// MetadataSuffix is appended to a plugin file's name to name its metadata.
const MetadataSuffix = ".json"

// MaxMetadataSize is the largest metadata file ReadMetadata accepts.
const MaxMetadataSize = 4 << 20

// TrustFile is the trust policy the sign step writes and the matrix
// verifies against, relative to dist/.
const TrustFile = "trust.json"

// PluginsDir is where plugin builds live, relative to dist/.
const PluginsDir = "plugins"

// PluginDir is the folder of one plugin's builds.
func PluginDir(dist, team, plugin string) string {
	return filepath.Join(dist, PluginsDir, team, plugin)
}

// Metadata describes one plugin file. The build writes it beside the file;
// later steps read it instead of re-deriving what was built.
type Metadata struct {
	Schema  string `json:"schema" jsonschema:"enum=plugship.build/v2"` // MetadataSchema
	Team    string `json:"team"`
	Plugin  string `json:"plugin"`
	Version string `json:"version"`
	File    string `json:"file"` // base name, see Name
	SHA256  string `json:"sha256" jsonschema:"pattern=^[0-9a-f]{64}$"`
	Size    int64  `json:"size"`

	GoVersion string `json:"go_version"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	// ABI is the host ABI the file was built for (see CheckABI), and
	// Profiles the host profiles (compat/hosts.yaml) it was built for.
	ABI        string   `json:"abi"`
	Profiles   []string `json:"profiles,omitempty"`
	PluginPath string   `json:"plugin_path"` // the main package's unique import path
	// Settings are the build settings recorded in the file's build info
	// (-buildmode, -trimpath, CGO_ENABLED, GOAMD64, ...).
	Settings map[string]string `json:"settings"`
	// Module is the main module the plugin was built in.
	Module Module `json:"module"`
	// Deps are the modules linked into the file, from its build info.
	Deps []Module `json:"deps,omitempty"`

	Source   string `json:"source"`             // source folder, relative to the module root
	Revision string `json:"revision,omitempty"` // git commit of the checkout, when in git
	Dirty    bool   `json:"dirty,omitempty"`    // the checkout had uncommitted changes
}

// Module is one dependency module.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Sum     string `json:"sum,omitempty"`
}

// Name returns the name the metadata describes.
func (m *Metadata) Name() Name {
	return Name{Plugin: m.Plugin, Version: m.Version, GOOS: m.GOOS, GOARCH: m.GOARCH, ABI: m.ABI}
}

// Validate checks that m is well formed and agrees with its file name.
func (m *Metadata) Validate() error {
	if m.Schema != MetadataSchema {
		return fmt.Errorf("schema %s, want %s; rebuild with this plugship", Quote(m.Schema), MetadataSchema)
	}
	if err := CheckName(m.Team); err != nil {
		return fmt.Errorf("team: %w", err)
	}
	n, err := ParseName(m.File)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	if n != m.Name() {
		return fmt.Errorf("file %s does not match plugin %s version %s for %s/%s ABI %s", m.File, m.Plugin, m.Version, m.GOOS, m.GOARCH, m.ABI)
	}
	if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("sha256 %s is not 64 hex digits", Quote(m.SHA256))
	}
	if m.Size < 0 {
		return fmt.Errorf("size %d is negative", m.Size)
	}
	return nil
}

// ReadMetadata reads and validates the metadata file at path.
func ReadMetadata(path string) (*Metadata, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseMetadata decodes and validates metadata JSON. Unknown fields are
// refused so that a typo or a newer format is not silently dropped.
func ParseMetadata(data []byte) (*Metadata, error) {
	if len(data) > MaxMetadataSize {
		return nil, fmt.Errorf("metadata larger than %d bytes", MaxMetadataSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Metadata
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("metadata is not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("metadata has data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return &m, nil
}

// Marshal returns m as indented JSON with a trailing newline.
func (m *Metadata) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// WriteFileIfChanged atomically replaces path with data (temporary file in
// the same folder, hidden by a leading dot, then rename), unless path already holds exactly data. It
// reports whether it wrote. A file of another size is replaced unread (it
// may be huge).
func WriteFileIfChanged(path string, data []byte, perm os.FileMode) (bool, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(data)) {
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			return false, nil
		}
	}
	if err := renameio.WriteFile(path, data, perm, renameio.WithTempDir(filepath.Dir(path))); err != nil {
		return false, err
	}
	return true, nil
}

// HashFile returns the hex sha256 and size of the file at path, streaming it.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sum, n, err := HashReader(f)
	if err != nil {
		return "", 0, fmt.Errorf("hashing %s: %w", path, err)
	}
	return sum, n, nil
}

// HashReader returns the hex sha256 and length of r's content, streaming it.
func HashReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// Check reports whether the file at path is the one m describes.
func (m *Metadata) Check(path string) error {
	sum, size, err := HashFile(path)
	if err != nil {
		return err
	}
	if sum != m.SHA256 || size != m.Size {
		return fmt.Errorf("%s: sha256 %s (%d bytes) differs from its metadata's %s (%d bytes); rebuild it", path, sum, size, m.SHA256, m.Size)
	}
	return nil
}

// CopyFileAtomic copies src to dst through a temporary file in dst's folder
// and a rename, so dst is never seen half-written.
func CopyFileAtomic(dst, src string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	t, err := renameio.NewPendingFile(dst, renameio.WithTempDir(filepath.Dir(dst)), renameio.WithPermissions(perm))
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if _, err := io.Copy(t, in); err != nil {
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return t.CloseAtomicallyReplace()
}

// PluginFiles lists the plugin files under dist/plugins/<team>/<plugin>/,
// sorted.
func PluginFiles(dist string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dist, PluginsDir, "*", "*", "*"+PluginExt))
	sort.Strings(files)
	return files, err
}

// Dirs returns the absolute module root and dist folder of a step's
// options: root defaults to ".", dist to <root>/dist. The steps pass the
// dist folder of plugship.yaml (package internal/config) when their
// options name none.
func Dirs(root, dist string) (string, string) {
	if root == "" {
		root = "."
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	if dist == "" {
		dist = filepath.Join(root, "dist")
	}
	if abs, err := filepath.Abs(dist); err == nil {
		dist = abs
	}
	return root, dist
}

// Entry is the index entry of the file m describes, built for a host
// whose contract package is contract, with no hosts passed and no
// locations yet.
func (m *Metadata) Entry(contract string) Entry {
	return Entry{
		Team: m.Team, Plugin: m.Plugin, Version: m.Version, File: m.File, SHA256: m.SHA256, Size: m.Size,
		ABI: ABI{Tag: m.ABI, Contract: contract, GoVersion: m.GoVersion, GOOS: m.GOOS, GOARCH: m.GOARCH,
			Trimpath: m.Settings["-trimpath"] == "true", Race: m.Settings["-race"] == "true", CGO: m.Settings["CGO_ENABLED"] == "1"},
		Hosts:  []string{},
		Assets: map[string]string{},
	}
}
