package fetch

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/trust"
)

// Options say where to fetch plugins from and where to put them.
type Options struct {
	// Index is the published catalogue: a path to a channel's index.json
	// (plugship's publish step writes dist/channel/index.json), or its URL;
	// or an OCI registry's repository, oci://<registry>/<repository> (its
	// tag plugship.index), or one plugin file in it by tag or digest
	// (oci://<registry>/<repository>:<tag> or @sha256:<digest>), which
	// needs Registry.
	// For GitHub that is <repository>/raw/plugship-index/index.json on a
	// repository with immutable releases (the index is kept on the branch
	// plugship-index), else <repository>/releases/download/plugship-index/index.json
	// (an asset of the release tagged plugship-index); or the repository's
	// URL (https://github.com/<owner>/<repo>), and Plugins tries the two in
	// that order.
	Index string
	// Plugin is the plugin to fetch, every version for this platform.
	Plugin string
	// Dir is the plugin folder to fill; it is created if needed.
	Dir string
	// Trust must accept a file's signature before it gets its final name.
	Trust *trust.Policy
	// Token, if set, is sent to the index's host (private repositories).
	Token string
	// Registry reads oci:// indexes and locations. This package links no
	// OCI client: the module github.com/plugship/plugship/oci provides
	// one (oci.New). Without it an oci:// index is an error (ErrNoRegistry).
	Registry Registry
	// HTTP fetches URLs; default a client with a 10 minute timeout.
	HTTP *http.Client
	// GOOS and GOARCH select the files; default this process's.
	GOOS, GOARCH string
	// ABI selects the files by the ABI tag in their names; empty fetches
	// every ABI. A host fetching for itself sets its own (OwnABI).
	ABI string
	// Host, when set and ABI is empty, selects the files built for that
	// host executable: its ABI computed with the contract package the
	// index names for each file (what plugship install does for a host it
	// does not run). Files the index names no contract for are skipped.
	Host string
	// Newest, when positive, fetches only the files of that many of the
	// newest versions the other options select (semver order); files of
	// older versions are neither fetched nor listed. plugship install
	// starts with 1 and asks for more only when none passes.
	Newest int
}

// Result is what Plugins did with one published file.
type Result struct {
	File    string `json:"file"`
	Version string `json:"version"`
	Outcome string `json:"outcome"` // "fetched", "present", "refused", or OtherABI
	Reason  string `json:"reason,omitempty"`
	// Contract is the contract package the index names for the file,
	// whose fingerprint its ABI tag covers ("" in older indexes).
	Contract string `json:"contract,omitempty"`
}

// Registry reads plugship's artifacts in OCI registries; see package
// github.com/plugship/plugship/oci, which implements it with oras-go.
type Registry interface {
	// Index returns the index.json of ref: the one tagged plugship.index
	// in a repository (oci://<registry>/<repository>), or one that lists
	// just the plugin file a tag or digest names, with the signatures and
	// provenance attached to it.
	Index(ctx context.Context, ref string) ([]byte, error)
	// Open opens the blob at loc, oci://<registry>/<repository>@<digest>;
	// reading it to the end fails unless its content has that digest.
	Open(ctx context.Context, loc string) (io.ReadCloser, error)
}

// ErrNoRegistry is returned for an oci:// index or location when
// Options has no Registry.
var ErrNoRegistry = errors.New("fetch: reading an OCI registry needs Options.Registry: go get github.com/plugship/plugship/oci and set it to oci.New()")

// OtherABI is the outcome of a file that Options.Host did not select: it
// is built for another host; nothing was downloaded.
const OtherABI = "other-abi"

// ErrNoTrust is returned by Plugins when Options has no Trust: nothing is
// downloaded that could not be verified.
var ErrNoTrust = errors.New("fetch: no trust policy: set Options.Trust (see package trust)")

// maxIndex bounds the size of index.json, in bytes.
const maxIndex = 64 << 20

// Plugins copies every published version of a plugin for this platform (and
// opts.ABI) into
// a plugin folder, with its signature, so that loader.Load can choose among them.
// Each file is downloaded under a hidden temporary name, checked against the
// index's sha256 and size and against the trust policy, and only then
// renamed into place, signature first: a partial or refused file never
// appears under its final name. Files already present with the right digest
// are left alone. The error lists every file that was refused.
func Plugins(ctx context.Context, opts Options) ([]Result, error) {
	if opts.Trust == nil {
		return nil, ErrNoTrust
	}
	if err := artifact.CheckName(opts.Plugin); err != nil {
		return nil, fmt.Errorf("plugin name: %w", err)
	}
	opts.GOOS = cmp.Or(opts.GOOS, runtime.GOOS)
	opts.GOARCH = cmp.Or(opts.GOARCH, runtime.GOARCH)
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 10 * time.Minute}
	}
	src := source{opts: opts}
	data, err := src.readIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the index %s: %w", opts.Index, err)
	}
	opts = src.opts
	ix, err := artifact.ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Index, err)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	var host *fingerprint.Fingerprint
	if opts.Host != "" && opts.ABI == "" {
		if host, err = fingerprint.Read(opts.Host); err != nil {
			return nil, fmt.Errorf("the host: %w", err)
		}
	}
	hostABIs := map[string]string{} // by contract
	var results []Result
	var refused []string
	keep := newest(ix.Entries, opts)
	for _, e := range ix.Entries {
		if keep != nil && !keep[e.Version] {
			continue
		}
		if e.Plugin != opts.Plugin || e.ABI.GOOS != opts.GOOS || e.ABI.GOARCH != opts.GOARCH || opts.ABI != "" && !artifact.MatchABI(e.ABI.Tag, opts.ABI) {
			continue
		}
		if host != nil {
			skip := func(format string, args ...any) {
				results = append(results, Result{File: e.File, Version: e.Version, Contract: e.ABI.Contract, Outcome: OtherABI, Reason: fmt.Sprintf(format, args...)})
			}
			if e.ABI.Contract == "" {
				skip("the index names no contract package for it (published by an older plugship): republish it")
				continue
			}
			abi, ok := hostABIs[e.ABI.Contract]
			if !ok {
				abi, err = host.HostABI(e.ABI.Contract)
				if err != nil {
					abi = "-" // matches nothing
				}
				hostABIs[e.ABI.Contract] = abi
			}
			if abi == "-" {
				skip("the host %s does not link its contract package %s: not a host of this plugin", opts.Host, e.ABI.Contract)
				continue
			}
			if !artifact.MatchABI(e.ABI.Tag, abi) {
				skip("built for ABI %s; the host takes %s (its Go release, flags or module graph differ): build the plugin for this host", e.ABI.Tag, abi)
				continue
			}
		}
		r := Result{File: e.File, Version: e.Version, Contract: e.ABI.Contract}
		outcome, err := src.fetch(ctx, e)
		if err != nil {
			r.Outcome, r.Reason = "refused", err.Error()
			refused = append(refused, e.File)
		} else {
			r.Outcome = outcome
		}
		results = append(results, r)
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
	}
	if len(refused) > 0 {
		return results, fmt.Errorf("%d files refused: %s", len(refused), strings.Join(refused, ", "))
	}
	return results, nil
}

// newest returns the opts.Newest newest versions of opts.Plugin for the
// platform in entries, nil for every version.
func newest(entries []artifact.Entry, opts Options) map[string]bool {
	if opts.Newest <= 0 {
		return nil
	}
	var versions []string
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Plugin == opts.Plugin && e.ABI.GOOS == opts.GOOS && e.ABI.GOARCH == opts.GOARCH && !seen[e.Version] {
			seen[e.Version] = true
			versions = append(versions, e.Version)
		}
	}
	slices.SortFunc(versions, func(a, b string) int { return artifact.CompareVersions(b, a) })
	keep := map[string]bool{}
	for _, v := range versions[:min(opts.Newest, len(versions))] {
		keep[v] = true
	}
	return keep
}

type source struct{ opts Options }

// fetch brings one published file into the folder.
func (s source) fetch(ctx context.Context, e artifact.Entry) (string, error) {
	n, err := artifact.ParseName(e.File)
	if err != nil || n.Plugin != e.Plugin || n.Version != e.Version || n.ABI != e.ABI.Tag {
		return "", fmt.Errorf("the index names file %s for %s %s", artifact.Quote(e.File), e.Plugin, e.Version)
	}
	final := filepath.Join(s.opts.Dir, e.File)
	if sum, _, err := artifact.HashFile(final); err == nil && sum == e.SHA256 {
		if _, err := s.opts.Trust.Check(final); err == nil {
			return "present", nil
		}
	}
	// A key's signature (.sig), or a keyless Sigstore bundle when the file
	// has no .sig (a team that signs keylessly).
	soLoc, sigLoc, bundleLoc := e.Assets[e.File], e.Assets[e.File+trust.SignatureSuffix], e.Assets[e.File+trust.BundleSuffix]
	keyless := sigLoc == "" && bundleLoc != ""
	if keyless {
		sigLoc = bundleLoc
	}
	if soLoc == "" || sigLoc == "" {
		return "", fmt.Errorf("the index lists no location for %s or its signature", e.File)
	}
	sigURL, err := s.resolve(sigLoc)
	if err != nil {
		return "", err
	}
	soURL, err := s.resolve(soLoc)
	if err != nil {
		return "", err
	}
	sigSuffix, sigLimit := trust.SignatureSuffix, int64(4<<10)
	if keyless {
		sigSuffix, sigLimit = trust.BundleSuffix, 1<<20
	}
	sig, err := s.read(ctx, sigURL, sigLimit)
	if err != nil {
		return "", fmt.Errorf("signature: %w", err)
	}
	tmp, err := os.CreateTemp(s.opts.Dir, "."+e.File+".*.part")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	err = s.download(ctx, soURL, io.MultiWriter(tmp, h), e.Size)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", e.File, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != e.SHA256 {
		return "", fmt.Errorf("downloaded %s has sha256 %.12s, the index says %.12s; refused", e.File, sum, e.SHA256)
	}
	var verdict *trust.Verdict
	if keyless {
		verdict, err = s.opts.Trust.CheckBundleDigest(e.File, e.SHA256, sig) // the download's sha256, checked above
	} else {
		var sigBytes []byte
		if sigBytes, err = trust.DecodeSignature(sig); err != nil {
			return "", fmt.Errorf("signature %s: %w", e.File+trust.SignatureSuffix, err)
		}
		verdict, err = s.opts.Trust.CheckSignature(tmp.Name(), e.File, sigBytes)
	}
	if err != nil {
		return "", err
	}
	// The signature covers the bytes; the provenance binds them to this
	// name, so a signed file cannot pose as another version.
	provLoc := e.Assets[e.File+trust.ProvenanceSuffix]
	if provLoc == "" {
		return "", fmt.Errorf("the index lists no provenance for %s: refused, nothing binds the file to its name", e.File)
	}
	provURL, err := s.resolve(provLoc)
	if err != nil {
		return "", err
	}
	prov, err := s.read(ctx, provURL, 4<<20)
	if err != nil {
		return "", fmt.Errorf("provenance: %w", err)
	}
	if keyless {
		_, err = s.opts.Trust.CheckKeylessProvenance(prov, e.File, e.SHA256)
	} else {
		err = s.opts.Trust.CheckProvenance(prov, verdict.KeyID, e.File, e.SHA256)
	}
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	sigTmp := tmp.Name() + sigSuffix
	if err := os.WriteFile(sigTmp, sig, 0o644); err != nil {
		return "", err
	}
	defer os.Remove(sigTmp)
	if err := os.Rename(sigTmp, final+sigSuffix); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	return "fetched", nil
}

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
func (s *source) readIndex(ctx context.Context) ([]byte, error) {
	if isOCI(s.opts.Index) {
		if s.opts.Registry == nil {
			return nil, ErrNoRegistry
		}
		return s.opts.Registry.Index(ctx, s.opts.Index)
	}
	u := s.index()
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if !isHTTP(u) || len(parts) != 2 || parts[0] == "" || parts[1] == "" || strings.HasSuffix(u.Path, ".json") {
		return s.read(ctx, u, maxIndex)
	}
	base := strings.TrimSuffix(u.String(), "/")
	var errs []error
	for _, loc := range []string{base + "/raw/" + indexBranch + "/" + artifact.IndexFile, base + "/releases/download/" + indexTag + "/" + artifact.IndexFile} {
		c, err := url.Parse(loc)
		if err != nil {
			return nil, err
		}
		data, err := s.read(ctx, c, maxIndex)
		var st *statusError
		if errors.As(err, &st) && st.code == http.StatusNotFound {
			errs = append(errs, err)
			continue
		}
		if err == nil {
			s.opts.Index = loc
		}
		return data, err
	}
	return nil, fmt.Errorf("no plugship index in repository %s: %w (publish to it first)", u.Redacted(), errors.Join(errs...))
}

// statusError is an HTTP answer other than 200.
type statusError struct {
	url    string
	status string
	code   int
}

func (e *statusError) Error() string { return "GET " + e.url + ": " + e.status }

// index is the index's location as a URL (a file URL for a path).
func (s source) index() *url.URL {
	if u, err := url.Parse(s.opts.Index); err == nil && isHTTP(u) {
		return u
	}
	return &url.URL{Path: s.opts.Index}
}

func isHTTP(u *url.URL) bool { return u.Scheme == "http" || u.Scheme == "https" }

// isOCI reports whether loc is in an OCI registry: oci://...
func isOCI(loc string) bool { return strings.HasPrefix(loc, "oci://") }

// read returns a location's content, at most limit bytes.
func (s source) read(ctx context.Context, u *url.URL, limit int64) ([]byte, error) {
	rc, err := s.open(ctx, u)
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
func (s source) download(ctx context.Context, u *url.URL, w io.Writer, size int64) error {
	rc, err := s.open(ctx, u)
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
func (s source) open(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	if u.Scheme == "oci" {
		if s.opts.Registry == nil {
			return nil, ErrNoRegistry
		}
		return s.opts.Registry.Open(ctx, u.String())
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
	if s.opts.Token != "" && s.index().Host == u.Host {
		req.Header.Set("Authorization", "Bearer "+s.opts.Token)
	}
	resp, err := s.opts.HTTP.Do(req)
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
func (s source) resolve(loc string) (*url.URL, error) {
	if u, err := url.Parse(loc); err == nil && (isHTTP(u) || u.Scheme == "oci") {
		return u, nil
	}
	if isOCI(s.opts.Index) {
		return nil, errors.New("location " + artifact.Quote(loc) + " of an index in a registry is not an oci:// reference")
	}
	if base := s.index(); isHTTP(base) {
		return base.Parse(loc)
	}
	if filepath.IsAbs(loc) || strings.Contains(filepath.ToSlash(loc), "../") {
		return nil, errors.New("location " + artifact.Quote(loc) + " leaves the channel")
	}
	return &url.URL{Path: filepath.Join(filepath.Dir(s.opts.Index), filepath.FromSlash(loc))}, nil
}
