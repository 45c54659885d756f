package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/location"
	"github.com/plugship/plugship/oci"
	"github.com/plugship/plugship/tool/internal/matrix"
)

// MirrorOptions say what to mirror where.
type MirrorOptions struct {
	// From is the published index to copy: a channel folder or its
	// index.json, its URL, a GitHub repository's URL, or an OCI
	// registry's repository (oci://<registry>/<repository>).
	From string
	// To is where the copy goes: an OCI registry's repository, or a
	// channel folder.
	To string
	// Token is sent to From's host (a private GitHub repository).
	Token string
	// Getenv reads the environment (registry credentials for ghcr.io);
	// default os.Getenv.
	Getenv func(string) string
	// HTTP fetches From's URLs; default a client with a 10 minute timeout.
	HTTP *http.Client
}

// maxAsset bounds an asset other than the .so (signature, bundle,
// provenance, metadata, checksums), in bytes.
const maxAsset = 16 << 20

// Mirror copies every version From's index lists, with its signatures,
// provenance, metadata and checksums, and then the index (its locations
// now To's) and the approving matrix, into To: for sites that reach only
// their own registry. Each .so is checked against the index's sha256 and
// size, and its metadata must name it, before it is copied. It is
// idempotent: a version To's index already lists with the same sha256 is
// not downloaded again, and a second run changes nothing. Nothing is
// verified against a trust policy: hosts and plugship install do that
// when they take a file from To, as from any store. The error names every
// version not copied; the others are copied, and the index lists them.
func Mirror(ctx context.Context, opts MirrorOptions, out io.Writer) error {
	start := time.Now()
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	from := opts.From
	if st, err := os.Stat(from); err == nil && st.IsDir() {
		from = filepath.Join(from, IndexFile)
	}
	store, err := mirrorStore(opts)
	if err != nil {
		return err
	}
	src := &location.Reader{Index: from, Token: opts.Token, HTTP: opts.HTTP, Registry: &oci.Registry{Getenv: opts.Getenv}}
	data, err := src.ReadIndex(ctx)
	if err != nil {
		return fmt.Errorf("reading the index %s: %w", opts.From, err)
	}
	ix, err := artifact.ParseIndex(data)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.From, err)
	}
	have := map[string]artifact.Entry{} // by file, what To lists already
	if data, err := store.ReadIndex(ctx, IndexFile); err != nil {
		return fmt.Errorf("reading the index of %s: %w", store.Describe(), err)
	} else if old, err := artifact.ParseIndex(data); err != nil {
		return fmt.Errorf("the index of %s: %w", store.Describe(), err)
	} else {
		for _, e := range old.Entries {
			have[e.File] = e
		}
	}
	tmp, err := os.MkdirTemp("", "plugship-mirror-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(out, "mirroring %d plugin files from %s to %s\n", len(ix.Entries), opts.From, store.Describe())
	var entries []artifact.Entry
	var failed []string
	copied := 0
	for _, e := range ix.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if old, ok := have[e.File]; ok && old.SHA256 == e.SHA256 && len(old.Assets) >= len(e.Assets) {
			entries = append(entries, old)
			continue
		}
		v, err := download(ctx, src, e, tmp)
		var locs map[string]string
		if err == nil {
			locs, _, err = store.Release(ctx, v)
		}
		if err != nil {
			fmt.Fprintf(out, "  %-10s %s\n      %v\n", "FAILED", e.File, err)
			failed = append(failed, e.File)
			continue
		}
		fmt.Fprintf(out, "  %-10s %s\n", "copied", e.File)
		copied++
		entries = append(entries, entry(v, locs, e.ABI.Contract))
	}
	mirrored, _, indexErr := updateIndex(ctx, store, entries, func(dst *artifact.Index) error {
		dst.Yanked = slices.Clone(ix.Yanked) // yank at the source, then mirror again
		// What each file's entry says is the source's, only its
		// locations are the mirror's: the source's signed statement
		// covers the copy (artifact.Index.ContentDigest).
		byFile := map[string]artifact.Entry{}
		for _, e := range ix.Entries {
			byFile[e.File] = e
		}
		for i, e := range dst.Entries {
			if se, ok := byFile[e.File]; ok {
				se.Assets = e.Assets
				dst.Entries[i] = se
			}
		}
		return nil
	})
	if indexErr == nil {
		indexErr = mirrorBeside(ctx, src, ix, mirrored, store, out)
	}
	fmt.Fprintf(out, "%d copied, %d already there, %d failed, of %d plugin files in %.1fs\n",
		copied, len(ix.Entries)-copied-len(failed), len(failed), len(ix.Entries), time.Since(start).Seconds())
	var errs []error
	if len(failed) > 0 {
		errs = append(errs, fmt.Errorf("%d plugin files not copied: %s", len(failed), strings.Join(failed, ", ")))
	}
	if indexErr != nil {
		errs = append(errs, fmt.Errorf("updating the index of %s: %w", store.Describe(), indexErr))
	}
	return errors.Join(errs...)
}

// mirrorStore is the store of opts.To: a registry for oci://, else a
// channel folder.
func mirrorStore(opts MirrorOptions) (Store, error) {
	if strings.TrimSuffix(opts.To, "/") == strings.TrimSuffix(opts.From, "/") {
		return nil, fmt.Errorf("%s is both the source and the destination", opts.To)
	}
	if strings.HasPrefix(opts.To, oci.Scheme) {
		return NewRegistry(opts.To, opts.Getenv, oci.Loopback(opts.To))
	}
	if strings.Contains(opts.To, "://") {
		return nil, fmt.Errorf("destination %s: want oci://<registry>/<repository> or a channel folder", opts.To)
	}
	return &Channel{Dir: opts.To}, nil
}

// download reads e's assets from src into memory, the .so into a file
// in tmp, checked against the index, and returns them as a Version.
func download(ctx context.Context, src *location.Reader, e artifact.Entry, tmp string) (*Version, error) {
	if e.Assets[e.File] == "" || e.Assets[e.File+".json"] == "" {
		return nil, fmt.Errorf("the index lists no location for %s or its metadata %s.json", e.File, e.File)
	}
	v := &Version{Tag: e.Tag, Hosts: e.Hosts, Contract: e.ABI.Contract, Final: true}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range e.Assets {
			if name != e.File && !yield(name) {
				return
			}
		}
	})
	// The .so first, SHA256SUMS last (Version.Assets).
	slices.SortStableFunc(names, func(a, b string) int {
		return boolInt(strings.HasPrefix(a, SumsFile)) - boolInt(strings.HasPrefix(b, SumsFile))
	})
	u, err := src.Resolve(e.Assets[e.File])
	if err != nil {
		return nil, err
	}
	so := filepath.Join(tmp, e.File)
	f, err := os.Create(so)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	err = src.Download(ctx, u, io.MultiWriter(f, h), e.Size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", e.File, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != e.SHA256 {
		return nil, fmt.Errorf("downloaded %s has sha256 %.12s, the index says %.12s; not copied", e.File, sum, e.SHA256)
	}
	v.Assets = append(v.Assets, Asset{Name: e.File, SHA256: e.SHA256, Size: e.Size, Path: so})
	for _, name := range names {
		u, err := src.Resolve(e.Assets[name])
		if err != nil {
			return nil, err
		}
		data, err := src.Read(ctx, u, maxAsset)
		if err != nil {
			return nil, fmt.Errorf("downloading %s: %w", name, err)
		}
		v.Assets = append(v.Assets, dataAsset(name, data))
	}
	for _, a := range v.Assets {
		if a.Name == e.File+".json" {
			if v.Meta, err = artifact.ParseMetadata(a.Data); err != nil {
				return nil, fmt.Errorf("%s: %w", a.Name, err)
			}
		}
	}
	if m := v.Meta; m.File != e.File || m.SHA256 != e.SHA256 || m.Size != e.Size || m.Team != e.Team || m.Plugin != e.Plugin || m.Version != e.Version {
		return nil, fmt.Errorf("its metadata %s.json describes %s of team %s (sha256 %.12s), the index %s of team %s (%.12s): not copied", e.File, m.File, m.Team, m.SHA256, e.File, e.Team, e.SHA256)
	}
	return v, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mirrorBeside copies the files beside the source's index: the matrix
// that approved it, and the trust policy and signed index statement
// published with it, the last two only when the mirror's index says what
// the source's does (artifact.Index.ContentDigest), which the statement
// signs; otherwise it says why hosts will refuse the copy.
func mirrorBeside(ctx context.Context, src *location.Reader, from, to *artifact.Index, store Store, out io.Writer) error {
	names := []string{matrix.JSONFile}
	a, err := from.ContentDigest()
	if err != nil {
		return err
	}
	b, err := to.ContentDigest()
	if err != nil {
		return err
	}
	if a == b {
		names = append(names, artifact.TrustFile, artifact.IndexStatementFile)
	} else {
		fmt.Fprintf(out, "  the mirror's index lists other files than the source's (a copy failed, or it holds files the source dropped): the source's %s does not cover it, and hosts whose trust policy names an index signer refuse it until a mirror run copies everything\n", artifact.IndexStatementFile)
	}
	for _, name := range names {
		data, err := src.ReadBeside(ctx, name, location.MaxIndex)
		if err != nil {
			return err
		}
		if data == nil {
			continue // none published beside the index
		}
		if err := putIndexFile(ctx, store, name, data); err != nil {
			return err
		}
	}
	return nil
}
