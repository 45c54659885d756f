package profile

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
)

// archiveSuffixes are the names of the archives a binary profile's binary
// may be, with the executable inside at Member: release archives, such as
// Nakama's nakama-3.40.0-linux-amd64.tar.gz.
var archiveSuffixes = []string{".tar.gz", ".tgz", ".zip"}

// IsArchive reports whether binary (a path or URL) names an archive.
func IsArchive(binary string) bool {
	name := binary
	if IsURL(binary) {
		if u, err := url.Parse(binary); err == nil {
			name = u.Path
		}
	}
	name = strings.ToLower(name)
	return slices.ContainsFunc(archiveSuffixes, func(s string) bool { return strings.HasSuffix(name, s) })
}

// extractMember copies the member p.Member of the archive at file (already
// checked against p.SHA256) to dist/.cache/hostbin/<profile>/<sha256
// prefix>-<member, "/" as "_">, unless it is there, and returns that path.
// It is written under a temporary name and renamed, so a partial file never
// takes the name.
func extractMember(dist string, p Profile, file string) (string, error) {
	fail := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("profile %s: archive %s: %s", p.Name, p.Binary, fmt.Sprintf(format, args...))
	}
	sum, _, err := artifact.HashFile(file)
	if err != nil {
		return fail("%v", err)
	}
	dir := filepath.Join(dist, filepath.FromSlash(HostBinariesDir), p.Name)
	member := strings.TrimPrefix(path.Clean("/"+p.Member), "/")
	out := filepath.Join(dir, sum[:16]+"-"+strings.ReplaceAll(member, "/", "_"))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".extract-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	found, names, err := copyMember(file, p.Member, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return fail("%v", err)
	case !found:
		list := strings.Join(names[:min(len(names), 10)], ", ")
		if len(names) > 10 {
			list += fmt.Sprintf(" and %d more", len(names)-10)
		}
		return fail("holds no file %s (member); its files: %s", artifact.Quote(p.Member), list)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	return out, nil
}

// copyMember writes the regular file member of the archive at file to w.
// It returns whether it found it and, if not, the archive's regular files.
func copyMember(file, member string, w io.Writer) (bool, []string, error) {
	clean := func(name string) string { return strings.TrimPrefix(path.Clean("/"+name), "/") }
	want := clean(member)
	var names []string
	copyLimited := func(r io.Reader) error {
		n, err := io.Copy(w, io.LimitReader(r, maxHostBinary+1))
		if err == nil && n > maxHostBinary {
			err = fmt.Errorf("%s is larger than %d bytes: not a host executable", member, int64(maxHostBinary))
		}
		return err
	}
	if strings.HasSuffix(strings.ToLower(file), ".zip") {
		zr, err := zip.OpenReader(file)
		if err != nil {
			return false, nil, err
		}
		defer zr.Close()
		for _, f := range zr.File {
			if !f.Mode().IsRegular() {
				continue
			}
			if clean(f.Name) != want {
				names = append(names, clean(f.Name))
				continue
			}
			r, err := f.Open()
			if err != nil {
				return false, nil, err
			}
			defer r.Close()
			return true, nil, copyLimited(r)
		}
		return false, names, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return false, nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return false, nil, fmt.Errorf("not a gzip archive: %w", err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, names, nil
		}
		if err != nil {
			return false, nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if clean(h.Name) != want {
			names = append(names, clean(h.Name))
			continue
		}
		return true, nil, copyLimited(tr)
	}
}
