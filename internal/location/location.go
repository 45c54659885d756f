package location

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// Reader reads a published index and the assets it lists.
type Reader struct {
	// Index is the index's location (see fetch.Options.Index); ReadIndex
	// sets it to the one it read, for a GitHub repository's URL.
	Index string
	// Token, if set, is sent to the index's host.
	Token string
	// HTTP fetches URLs; default a client with a 10 minute timeout.
	HTTP *http.Client
	// Registry reads oci:// indexes and locations.
	Registry Registry
}

// Registry reads plugship's artifacts in OCI registries (fetch.Registry).
type Registry interface {
	Index(ctx context.Context, ref string) ([]byte, error)
	Open(ctx context.Context, loc string) (io.ReadCloser, error)
}

// ErrNoRegistry is returned for an oci:// index or location when the
// Reader has no Registry.
var ErrNoRegistry = errors.New("fetch: reading an OCI registry needs Options.Registry: go get github.com/plugship/plugship/oci and set it to oci.New()")

// MaxIndex bounds the size of index.json, in bytes.
const MaxIndex = 64 << 20

// indexBranch and indexTag are where plugship's publish keeps index.json
// in a GitHub repository: on this branch when its releases are immutable,
// else in the release with this tag (artifact.IndexBranch, IndexTag).
const (
	indexBranch = artifact.IndexBranch
	indexTag    = artifact.IndexTag
)

// readIndex reads the index. For a GitHub repository's URL (two path
// segments, owner and name) it reads the index on the branch, else the
// one in the index release, and from then on uses the URL it read.
func (s *Reader) ReadIndex(ctx context.Context) ([]byte, error) {
	if isOCI(s.Index) {
		if s.Registry == nil {
			return nil, ErrNoRegistry
		}
		return s.Registry.Index(ctx, s.Index)
	}
	u := s.index()
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if !isHTTP(u) || len(parts) != 2 || parts[0] == "" || parts[1] == "" || strings.HasSuffix(u.Path, ".json") {
		return s.Read(ctx, u, MaxIndex)
	}
	base := strings.TrimSuffix(u.String(), "/")
	var errs []error
	for _, loc := range []string{base + "/raw/" + indexBranch + "/" + artifact.IndexFile, base + "/releases/download/" + indexTag + "/" + artifact.IndexFile} {
		c, err := url.Parse(loc)
		if err != nil {
			return nil, err
		}
		data, err := s.Read(ctx, c, MaxIndex)
		var st *statusError
		if errors.As(err, &st) && st.code == http.StatusNotFound {
			errs = append(errs, err)
			continue
		}
		if err == nil {
			s.Index = loc
		}
		return data, err
	}
	return nil, fmt.Errorf("no plugship index in repository %s: %w (publish to it first)", u.Redacted(), errors.Join(errs...))
}

// Pinned reports whether an index names one file of a registry by tag or
// digest (oci://<registry>/<repository>:<tag> or @sha256:<digest>): an
// index made for that file alone, which no index statement covers.
func Pinned(index string) bool {
	if !isOCI(index) {
		return false
	}
	rest := strings.TrimPrefix(index, "oci://")
	_, repo, _ := strings.Cut(rest, "/")
	return strings.ContainsAny(repo, ":@")
}

// ReadBeside returns the file of the index called name (such as
// index.statement.json or matrix.json) from beside the index ReadIndex
// read: the same folder or URL (at most limit bytes), or for a registry's
// repository the file's tag (artifact.RegistryTag; the registry client
// bounds it). It returns nil, nil when the store has none, and for an
// index pinned to one file (Pinned), which has nothing beside it. Call it
// after ReadIndex, which settles where the index is.
func (s *Reader) ReadBeside(ctx context.Context, name string, limit int64) ([]byte, error) {
	if Pinned(s.Index) {
		return nil, nil
	}
	var data []byte
	var err error
	if isOCI(s.Index) {
		if s.Registry == nil {
			return nil, ErrNoRegistry
		}
		data, err = s.Registry.Index(ctx, strings.TrimSuffix(s.Index, "/")+":"+artifact.RegistryTag(name))
	} else {
		var u *url.URL
		if u, err = s.Resolve(name); err != nil {
			return nil, err
		}
		data, err = s.Read(ctx, u, limit)
	}
	if NotFound(err) {
		return nil, nil
	}
	return data, err
}

// statusError is an HTTP answer other than 200.
type statusError struct {
	url    string
	status string
	code   int
}

func (e *statusError) Error() string { return "GET " + e.url + ": " + e.status }

// NotFound reports whether err says a location holds nothing: no such
// file, or an HTTP 404.
func NotFound(err error) bool {
	var st *statusError
	return errors.Is(err, os.ErrNotExist) || errors.As(err, &st) && st.code == http.StatusNotFound
}

// index is the index's location as a URL (a file URL for a path).
func (s *Reader) index() *url.URL {
	if u, err := url.Parse(s.Index); err == nil && isHTTP(u) {
		return u
	}
	return &url.URL{Path: s.Index}
}

func isHTTP(u *url.URL) bool { return u.Scheme == "http" || u.Scheme == "https" }

// isOCI reports whether loc is in an OCI registry: oci://...
func isOCI(loc string) bool { return strings.HasPrefix(loc, "oci://") }

// read returns a location's content, at most limit bytes.
func (s *Reader) Read(ctx context.Context, u *url.URL, limit int64) ([]byte, error) {
	rc, err := s.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", u.Redacted(), limit)
	}
	return data, nil
}

// download writes a location's content, which must be exactly size bytes,
// to w.
func (s *Reader) Download(ctx context.Context, u *url.URL, w io.Writer, size int64) error {
	rc, err := s.Open(ctx, u)
	if err != nil {
		return err
	}
	defer rc.Close()
	n, err := io.Copy(w, io.LimitReader(rc, size+1))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("got %d bytes, the index says %d", n, size)
	}
	return nil
}

// open opens a location: a GET for an http(s) URL (with the token if it
// is on the index's host), else the file at its path.
func (s *Reader) Open(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	if u.Scheme == "oci" {
		if s.Registry == nil {
			return nil, ErrNoRegistry
		}
		return s.Registry.Open(ctx, u.String())
	}
	if !isHTTP(u) {
		f, err := os.Open(u.Path)
		if err != nil {
			return nil, err // not a typed nil *os.File
		}
		return f, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/octet-stream")
	if s.Token != "" && s.index().Host == u.Host {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &statusError{url: u.Redacted(), status: resp.Status, code: resp.StatusCode}
	}
	return resp.Body, nil
}

// resolve turns a location into a URL: absolute URLs as they are, others
// relative to the index (a file path or a URL).
func (s *Reader) Resolve(loc string) (*url.URL, error) {
	if u, err := url.Parse(loc); err == nil && (isHTTP(u) || u.Scheme == "oci") {
		return u, nil
	}
	if isOCI(s.Index) {
		return nil, errors.New("location " + artifact.Quote(loc) + " of an index in a registry is not an oci:// reference")
	}
	if base := s.index(); isHTTP(base) {
		return base.Parse(loc)
	}
	if filepath.IsAbs(loc) || strings.Contains(filepath.ToSlash(loc), "../") {
		return nil, errors.New("location " + artifact.Quote(loc) + " leaves the channel")
	}
	return &url.URL{Path: filepath.Join(filepath.Dir(s.Index), filepath.FromSlash(loc))}, nil
}
