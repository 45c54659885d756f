package profile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// maxHostBinary bounds a downloaded host executable.
const maxHostBinary = 2 << 30

// downloadClient fetches host binaries; a var so that nothing else shares
// its timeout.
var downloadClient = &http.Client{Timeout: 10 * time.Minute}

// downloadBinary returns the local copy of a binary profile's host given
// as a URL: dist/.cache/hostbin/<profile>/<sha256 prefix>-<file name>,
// downloaded unless a file with the profile's sha256 is already there. The
// download is checked against sha256 before it takes that name, so a
// wrong or damaged file never does.
func downloadBinary(ctx context.Context, dist string, p Profile) (string, error) {
	u, err := url.Parse(p.Binary)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("profile %s: binary %s: not a URL (%v)", p.Name, p.Binary, err)
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || strings.HasPrefix(name, ".") {
		name = "host"
	}
	dir := filepath.Join(dist, filepath.FromSlash(HostBinariesDir), p.Name)
	file := filepath.Join(dir, p.SHA256[:16]+"-"+name)
	if sum, _, err := artifact.HashFile(file); err == nil && sum == p.SHA256 {
		return file, nil
	}
	fail := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("profile %s: downloading the host binary %s: %s", p.Name, p.Binary, fmt.Sprintf(format, args...))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Binary, nil)
	if err != nil {
		return fail("%v", err)
	}
	resp, err := downloadClient.Do(req)
	if err != nil {
		return fail("%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fail("%s: %s (is the URL right, and public? a private release asset needs a URL that carries its own access)", resp.Status, strings.TrimSpace(string(body)))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, maxHostBinary+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail("after %d bytes: %v", n, err)
	}
	if n > maxHostBinary {
		return fail("larger than %d bytes: not a host executable", int64(maxHostBinary))
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != p.SHA256 {
		return fail("SHA-256 %s, but the profile's sha256 is %s: the URL serves another file than the configuration names (correct the URL, or update sha256 if the host was rebuilt on purpose)", sum, p.SHA256)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return "", err
	}
	return file, nil
}
