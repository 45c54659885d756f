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
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/internal/location"
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
	Outcome string `json:"outcome"` // "fetched", "present", "refused", Yanked or OtherABI
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
var ErrNoRegistry = location.ErrNoRegistry

// Yanked is the outcome of a file whose version the index yanks: it is
// neither downloaded nor chosen; Reason is the yank's reason. A copy
// already in the folder is left there (yanking deletes nothing), and the
// loader skips it too: Plugins keeps the index it read in the folder
// (artifact.FetchedIndexFile), where Load and Watch read the yanks.
const Yanked = "yanked"

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
	src := source{opts: opts, loc: &location.Reader{Index: opts.Index, Token: opts.Token, HTTP: opts.HTTP, Registry: opts.Registry}}
	data, err := src.loc.ReadIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the index %s: %w", opts.Index, err)
	}
	opts.Index = src.loc.Index
	src.opts = opts
	ix, err := artifact.ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Index, err)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	var statement []byte
	if opts.Trust.IndexSigner != nil && !location.Pinned(opts.Index) {
		if statement, err = src.checkStatement(ctx, ix); err != nil {
			return nil, err
		}
	}
	// Kept before any file is fetched, so that a host never finds a file
	// in its folder whose yank it has not been told about.
	if _, err := artifact.WriteFileIfChanged(artifact.FetchedIndexFile(opts.Dir, opts.Plugin), data, 0o644); err != nil {
		return nil, fmt.Errorf("keeping the index in %s: %w", opts.Dir, err)
	}
	if statement != nil {
		if _, err := artifact.WriteFileIfChanged(artifact.FetchedStatementFile(opts.Dir, opts.Plugin), statement, 0o644); err != nil {
			return nil, fmt.Errorf("keeping the index statement in %s: %w", opts.Dir, err)
		}
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
	keep := newest(ix, opts)
	for _, e := range ix.Entries {
		if e.Plugin != opts.Plugin || e.ABI.GOOS != opts.GOOS || e.ABI.GOARCH != opts.GOARCH || opts.ABI != "" && !artifact.MatchABI(e.ABI.Tag, opts.ABI) {
			continue
		}
		if y, ok := ix.YankOf(e.Team, e.Plugin, e.Version); ok {
			results = append(results, Result{File: e.File, Version: e.Version, Contract: e.ABI.Contract, Outcome: Yanked, Reason: y.Reason})
			continue
		}
		if keep != nil && !keep[e.Version] {
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
// platform in the index that it does not yank, nil for every version.
func newest(ix *artifact.Index, opts Options) map[string]bool {
	if opts.Newest <= 0 {
		return nil
	}
	var versions []string
	seen := map[string]bool{}
	for _, e := range ix.Entries {
		if _, yanked := ix.YankOf(e.Team, e.Plugin, e.Version); yanked {
			continue
		}
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

// checkStatement reads the index's signed statement from beside it and
// checks it (trust.Policy.CheckIndex): signed by the index signer,
// naming this index, not expired, and not older than the one last
// accepted into the folder (artifact.FetchedStatementFile). It returns
// the statement, to be kept.
func (s source) checkStatement(ctx context.Context, ix *artifact.Index) ([]byte, error) {
	statement, err := s.loc.ReadBeside(ctx, artifact.IndexStatementFile, trust.MaxBundle)
	if err != nil {
		return nil, fmt.Errorf("reading the index statement beside %s: %w", s.opts.Index, err)
	}
	st, _, err := s.opts.Trust.CheckIndex(s.opts.Index, ix, statement)
	if err != nil {
		return nil, err
	}
	kept := artifact.FetchedStatementFile(s.opts.Dir, s.opts.Plugin)
	data, err := os.ReadFile(kept)
	if errors.Is(err, os.ErrNotExist) {
		return statement, nil
	}
	if err != nil {
		return nil, err
	}
	last, err := trust.ReadIndexStatement(data)
	if err != nil {
		return nil, fmt.Errorf("%s, the index statement accepted last: %w; delete it to accept the published one", kept, err)
	}
	switch {
	case st.Version < last.Version:
		return nil, fmt.Errorf("%w: the index of %s is signed as version %d, older than version %d, which this host accepted before (%s): someone is serving an old index, which would hold this host on old versions and yanks; refused: fetch from the publisher's own store. If the publisher really started its index again, delete %s", trust.ErrIndexRolledBack, s.opts.Index, st.Version, last.Version, kept, kept)
	case st.Version == last.Version && st.Index != last.Index:
		return nil, fmt.Errorf("%w: the index of %s is signed as version %d, which this host accepted before (%s) for another index: two indexes of one version; refused: ask the publisher to publish again, which numbers it %d", trust.ErrIndexRolledBack, s.opts.Index, st.Version, kept, last.Version+1)
	}
	return statement, nil
}

type source struct {
	opts Options
	loc  *location.Reader
}

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
	sigURL, err := s.loc.Resolve(sigLoc)
	if err != nil {
		return "", err
	}
	soURL, err := s.loc.Resolve(soLoc)
	if err != nil {
		return "", err
	}
	sigSuffix, sigLimit := trust.SignatureSuffix, int64(4<<10)
	if keyless {
		sigSuffix, sigLimit = trust.BundleSuffix, 1<<20
	}
	sig, err := s.loc.Read(ctx, sigURL, sigLimit)
	if err != nil {
		return "", fmt.Errorf("signature: %w", err)
	}
	tmp, err := os.CreateTemp(s.opts.Dir, "."+e.File+".*.part")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	err = s.loc.Download(ctx, soURL, io.MultiWriter(tmp, h), e.Size)
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
	provURL, err := s.loc.Resolve(provLoc)
	if err != nil {
		return "", err
	}
	prov, err := s.loc.Read(ctx, provURL, 4<<20)
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
