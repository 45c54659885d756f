package publish

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/trust"
)

// Store is where releases go: GitHub or the local channel.
type Store interface {
	// Describe names the store for output.
	Describe() string
	// Release creates or completes the release of v's tag with v's
	// assets, never replacing a published one (ErrChanged if its .so
	// differs). The release is public once the Final build of its tag is
	// released: GitHub keeps it a draft until then, the channel has no
	// drafts. It returns where each asset can be fetched (URL or channel
	// path) and whether anything changed.
	Release(ctx context.Context, v *Version) (locations map[string]string, changed bool, err error)
	// ReadIndex returns the current content of a file of the index
	// (index.json, or the matrix.json of the last publish), or nil if
	// there is none.
	ReadIndex(ctx context.Context, name string) ([]byte, error)
	// WriteIndex replaces a file of the index.
	WriteIndex(ctx context.Context, name string, data []byte) error
}

// putIndexFile writes the store's file of the index called name unless
// it holds data already.
func putIndexFile(ctx context.Context, store Store, name string, data []byte) error {
	old, err := store.ReadIndex(ctx, name)
	if err != nil || string(old) == string(data) {
		return err
	}
	return store.WriteIndex(ctx, name, data)
}

// ErrChanged marks a version that was published with other content.
var ErrChanged = errors.New("already published with other content")

// changedErr reports that v's .so so was published with sha256 sum.
func changedErr(v *Version, so Asset, sum string) error {
	return fmt.Errorf("%s: %w: asset %s has sha256 %.12s, this build %.12s; publish a new version instead", v.Tag, ErrChanged, so.Name, sum, so.SHA256)
}

// Channel is the local channel: dist/channel/<team>/<plugin>/v<version>/.
type Channel struct {
	Dir   string
	Shown string // how Describe names Dir (relative to the repository); Dir when empty
}

// Describe names the channel.
func (c *Channel) Describe() string { return "local channel " + cmp.Or(c.Shown, c.Dir) }

func (c *Channel) versionDir(v *Version) string {
	return filepath.Join(c.Dir, v.Meta.Team, v.Meta.Plugin, "v"+v.Meta.Version)
}

// Release writes v's assets into its folder, each atomically. A folder
// whose .so differs from v's is left alone and reported. A published
// version whose signature this build does not have (its team's key was
// rotated and the sign step signed it again) gets this build's
// signature, bundle, provenance, checksums and matrix in place of the old
// ones (v.Resigned): the .so and its metadata never change.
func (c *Channel) Release(ctx context.Context, v *Version) (map[string]string, bool, error) {
	dir := c.versionDir(v)
	so := v.Assets[0]
	sum, _, err := artifact.HashFile(filepath.Join(dir, so.Name))
	if err == nil && sum != so.SHA256 {
		return nil, false, changedErr(v, so, sum)
	}
	resign := err == nil && c.signedOtherwise(dir, v)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	locations := map[string]string{}
	changed := false
	// The .so goes last, so that a folder with it is complete.
	for _, a := range v.soLast() {
		if err := ctx.Err(); err != nil {
			return nil, changed, err
		}
		dst := filepath.Join(dir, a.Name)
		rel, _ := filepath.Rel(c.Dir, dst)
		locations[a.Name] = filepath.ToSlash(rel)
		if _, err := os.Stat(dst); err == nil && !(resign && !v.isPluginFile(a)) {
			continue // written atomically, so complete; published assets never change
		}
		if err := writeAsset(dst, a); err != nil {
			return nil, changed, err
		}
		changed = true
	}
	v.Resigned = resign && changed
	return locations, changed, nil
}

// signedOtherwise reports whether the published signature of v in dir
// (its .sig, else its keyless bundle) differs from this build's and no
// longer verifies (Version.Outlived).
func (c *Channel) signedOtherwise(dir string, v *Version) bool {
	sig := signatureAsset(v)
	if sig == nil {
		return false
	}
	data, err := os.ReadFile(filepath.Join(dir, sig.Name))
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) != sig.SHA256 && v.Outlived(sig.Name, data)
}

// signatureAsset is v's .sig, else its keyless bundle, or nil.
func signatureAsset(v *Version) *Asset {
	var sig *Asset
	for i, a := range v.Assets {
		if strings.HasSuffix(a.Name, trust.SignatureSuffix) || sig == nil && strings.HasSuffix(a.Name, trust.BundleSuffix) {
			sig = &v.Assets[i]
		}
	}
	return sig
}

func writeAsset(dst string, a Asset) error {
	if a.Path != "" {
		return artifact.CopyFileAtomic(dst, a.Path, 0o644)
	}
	_, err := artifact.WriteFileIfChanged(dst, a.Data, 0o644)
	return err
}

// ReadIndex reads a file of the index: dist/channel/<name>.
func (c *Channel) ReadIndex(_ context.Context, name string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(c.Dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// WriteIndex replaces dist/channel/<name> atomically.
func (c *Channel) WriteIndex(_ context.Context, name string, data []byte) error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	_, err := artifact.WriteFileIfChanged(filepath.Join(c.Dir, name), data, 0o644)
	return err
}

// IndexLocation says where hosts fetch index.json from, for output.
func (c *Channel) IndexLocation(context.Context) string {
	return filepath.Join(cmp.Or(c.Shown, c.Dir), IndexFile)
}
