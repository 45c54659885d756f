package oci

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader/fetch"
)

var _ fetch.Registry = (*Registry)(nil)

// The artifact types and media types of plugship's layout (see the
// package documentation).
const (
	ArtifactPlugin    = "application/vnd.plugship.plugin.v1"
	ArtifactSignature = "application/vnd.plugship.signature.v1"
	ArtifactIndex     = "application/vnd.plugship.index.v1"

	MediaTypePlugin   = "application/vnd.plugship.plugin.v1+so"
	MediaTypeMetadata = "application/vnd.plugship.metadata.v1+json"
)

// The annotations of a plugin manifest, besides the OCI ones (title of a
// layer; source, revision and created of the manifest).
const (
	AnnotationTeam     = "dev.plugship.team"
	AnnotationPlugin   = "dev.plugship.plugin"
	AnnotationVersion  = "dev.plugship.version"
	AnnotationABI      = "dev.plugship.abi"
	AnnotationContract = "dev.plugship.contract"
	// AnnotationResigned, on a signature referrer, is when publish
	// attached it in place of one whose key was revoked (RFC 3339): of
	// two referrers with one title, the later re-signed one counts.
	AnnotationResigned = "dev.plugship.resigned"
)

// Referrer is one of plugship's signature referrers of a plugin manifest.
type Referrer struct {
	Manifest ocispec.Descriptor // the referrer's manifest
	Layer    ocispec.Descriptor // its one layer: the file
	Resigned string             // AnnotationResigned, "" for the first signature
}

// CurrentReferrers reads the signature referrers of the plugin manifest
// desc in repo, by title (their layer's), keeping for each title the one
// that counts: the latest re-signed one. Two different referrers of one
// title with the same standing are an error naming both.
func CurrentReferrers(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, limit int64) (map[string]Referrer, error) {
	current := map[string]Referrer{}
	err := repo.Referrers(ctx, desc, ArtifactSignature, func(referrers []ocispec.Descriptor) error {
		for _, rd := range referrers {
			if rd.Size > limit {
				continue
			}
			data, err := content.FetchAll(ctx, repo, rd)
			if err != nil {
				return err
			}
			var sm ocispec.Manifest
			if err := json.Unmarshal(data, &sm); err != nil || len(sm.Layers) != 1 || sm.Subject == nil || sm.Subject.Digest != desc.Digest {
				continue // not one of plugship's
			}
			title := sm.Layers[0].Annotations[ocispec.AnnotationTitle]
			r := Referrer{Manifest: rd, Layer: sm.Layers[0], Resigned: sm.Annotations[AnnotationResigned]}
			prev, ok := current[title]
			switch {
			case !ok || r.Resigned > prev.Resigned:
				current[title] = r
			case r.Resigned == prev.Resigned && r.Layer.Digest != prev.Layer.Digest:
				return fmt.Errorf("two different %s are attached to it (manifests %s and %s): refused; delete the one its team did not publish", title, prev.Manifest.Digest, rd.Digest)
			}
		}
		return nil
	})
	return current, err
}

// IndexTag and MatrixTag are the tags of the index and of the matrix
// that approved the last publish (artifact.RegistryTag names them, and
// those of the index statement and the trust policy, for readers that
// link no OCI client).
const (
	IndexTag  = "plugship.index"
	MatrixTag = "plugship.matrix"
)

// Scheme starts every reference: oci://<registry>/<repository>[:<tag>|@<digest>].
const Scheme = "oci://"

// tagRE is what a tag may be (OCI distribution-spec).
var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// Tag is the tag of a plugin file: <team>.<plugin>.v<version>.<abi>, with
// the "+" of a semantic version's build metadata as "_", which a tag
// cannot hold.
func Tag(team, plugin, version, abi string) (string, error) {
	tag := strings.ReplaceAll(fmt.Sprintf("%s.%s.v%s.%s", team, plugin, version, abi), "+", "_")
	if !tagRE.MatchString(tag) {
		return "", fmt.Errorf("the tag %s is not a valid OCI tag (at most 128 characters of a-z, A-Z, 0-9, '.', '_' and '-'): shorten the team or plugin name", tag)
	}
	return tag, nil
}

// Location is the reference of a blob in the repository of ref
// (oci://<registry>/<repository>): ref@sha256:<hex>.
func Location(ref string, sha256hex string) string {
	return strings.TrimRight(ref, "/") + "@sha256:" + sha256hex
}

// Loopback reports whether the registry of ref (oci://host[:port]/...) is
// on this machine: it is talked to over http://.
func Loopback(ref string) bool {
	host, _, _ := strings.Cut(strings.TrimPrefix(ref, Scheme), "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// Registry reads (and, for plugship's publish step, writes) repositories
// in OCI registries with the credentials of Docker's config.json. It
// implements fetch.Registry. The zero value is ready to use.
type Registry struct {
	// Getenv reads GITHUB_TOKEN and GITHUB_ACTOR; default os.Getenv.
	Getenv func(string) string
	// PlainHTTP reports whether the registry of a reference is talked to
	// over http://; default Loopback.
	PlainHTTP func(ref string) bool

	once  sync.Once
	store credentials.Store
	err   error
	cache auth.Cache
}

// New returns a Registry with the defaults.
func New() *Registry { return &Registry{} }

// Repository opens the repository of ref, oci://<registry>/<repository>,
// with or without a tag or digest (in the result's Reference).
func (r *Registry) Repository(ref string) (*remote.Repository, error) {
	name, ok := strings.CutPrefix(ref, Scheme)
	if !ok {
		return nil, fmt.Errorf("%s: want oci://<registry>/<repository>, such as oci://ghcr.io/acme/plugins", ref)
	}
	repo, err := remote.NewRepository(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v; want oci://<registry>/<repository>, such as oci://ghcr.io/acme/plugins", ref, err)
	}
	r.once.Do(func() {
		r.store, r.err = credentials.NewStoreFromDocker(credentials.StoreOptions{})
		r.cache = auth.NewCache()
	})
	if r.err != nil {
		return nil, fmt.Errorf("%s: reading Docker's credentials: %w", ref, r.err)
	}
	repo.PlainHTTP = Loopback(ref)
	if r.PlainHTTP != nil {
		repo.PlainHTTP = r.PlainHTTP(ref)
	}
	getenv := r.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	host := repo.Reference.Registry
	store := r.store
	repo.Client = &auth.Client{
		Client: retry.DefaultClient,
		Cache:  r.cache,
		Credential: func(ctx context.Context, hostport string) (auth.Credential, error) {
			c, err := credentials.Credential(store)(ctx, hostport)
			if err == nil && c == auth.EmptyCredential && host == "ghcr.io" && getenv("GITHUB_TOKEN") != "" {
				// In GitHub Actions: the workflow's token.
				return auth.Credential{Username: cmp.Or(getenv("GITHUB_ACTOR"), "plugship"), Password: getenv("GITHUB_TOKEN")}, nil
			}
			return c, err
		},
	}
	return repo, nil
}

// maxManifest and maxMetadata bound what is read into memory.
const (
	maxManifest = 4 << 20
	maxMetadata = 16 << 20
)

// Index returns the index.json of ref (see fetch.Registry): a
// repository's, tagged plugship.index; or, for a plugin file's tag or
// digest, an index of that one file, made from its manifest, its
// metadata layer and the signatures attached to it, and the yank of its
// version if the repository's index has one.
func (r *Registry) Index(ctx context.Context, ref string) ([]byte, error) {
	repo, err := r.Repository(ref)
	if err != nil {
		return nil, err
	}
	at := cmp.Or(repo.Reference.Reference, IndexTag)
	desc, data, err := r.manifest(ctx, repo, at)
	if err != nil {
		return nil, Explain(ref, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not an OCI image manifest: %v", ref, err)
	}
	switch m.ArtifactType {
	case ArtifactIndex:
		if len(m.Layers) != 1 || m.Layers[0].Size > 64<<20 {
			return nil, fmt.Errorf("%s: not plugship's index (want one layer of at most 64 MB)", ref)
		}
		body, err := content.FetchAll(ctx, repo, m.Layers[0])
		return body, Explain(ref, err)
	case ArtifactPlugin:
		return r.fileIndex(ctx, repo, desc, &m)
	}
	return nil, fmt.Errorf("%s: artifact type %q is not plugship's (want %s or %s): name a plugship repository, or a plugin file's tag or digest", ref, m.ArtifactType, ArtifactIndex, ArtifactPlugin)
}

// manifest resolves at (a tag or digest) in repo and reads its manifest,
// checked against its digest.
func (r *Registry) manifest(ctx context.Context, repo *remote.Repository, at string) (ocispec.Descriptor, []byte, error) {
	desc, err := repo.Resolve(ctx, at)
	if err != nil {
		return desc, nil, err
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return desc, nil, fmt.Errorf("%s is a %s, not an OCI image manifest", at, desc.MediaType)
	}
	if desc.Size > maxManifest {
		return desc, nil, fmt.Errorf("the manifest of %s is %d bytes, more than %d", at, desc.Size, maxManifest)
	}
	data, err := content.FetchAll(ctx, repo, desc)
	return desc, data, err
}

// fileIndex is the index of the one plugin file of manifest m (desc) in
// repo.
func (r *Registry) fileIndex(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, m *ocispec.Manifest) ([]byte, error) {
	base := Scheme + repo.Reference.Registry + "/" + repo.Reference.Repository
	where := base + "@" + desc.Digest.String()
	var so, meta *ocispec.Descriptor
	for i, l := range m.Layers {
		switch l.MediaType {
		case MediaTypePlugin:
			so = &m.Layers[i]
		case MediaTypeMetadata:
			meta = &m.Layers[i]
		}
	}
	if so == nil || meta == nil || meta.Size > maxMetadata {
		return nil, fmt.Errorf("%s: a plugin manifest needs one layer of %s and one of %s (of at most %d bytes)", where, MediaTypePlugin, MediaTypeMetadata, maxMetadata)
	}
	data, err := content.FetchAll(ctx, repo, *meta)
	if err != nil {
		return nil, Explain(where, err)
	}
	md, err := artifact.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("%s: its metadata layer: %w", where, err)
	}
	a := m.Annotations
	if md.File != so.Annotations[ocispec.AnnotationTitle] || md.SHA256 != so.Digest.Encoded() || md.Size != so.Size ||
		md.Team != a[AnnotationTeam] || md.Plugin != a[AnnotationPlugin] || md.Version != a[AnnotationVersion] || md.ABI != a[AnnotationABI] {
		return nil, fmt.Errorf("%s: its annotations, its .so layer and its metadata layer name different files (metadata: %s of %s, sha256 %.12s): refused", where, md.File, md.Team, md.SHA256)
	}
	e := md.Entry(a[AnnotationContract])
	e.Tag = md.Team + "/" + md.Plugin + "/v" + md.Version
	e.Assets[md.File] = Location(base, so.Digest.Encoded())
	e.Assets[md.File+".json"] = Location(base, meta.Digest.Encoded())
	refs, err := CurrentReferrers(ctx, repo, desc, maxManifest)
	if err != nil {
		return nil, Explain(where, err)
	}
	for title, r := range refs {
		if strings.HasPrefix(title, md.File+".") || title == "SHA256SUMS-"+md.ABI {
			e.Assets[title] = Location(base, r.Layer.Digest.Encoded())
		}
	}
	ix := artifact.Index{Schema: artifact.IndexSchema, Entries: []artifact.Entry{e}}
	// A file named by tag or digest is still yanked when the repository's
	// index yanks its version.
	if data, err := r.Index(ctx, base); err == nil {
		repoIndex, err := artifact.ParseIndex(data)
		if err != nil {
			return nil, fmt.Errorf("%s, the index of the repository of %s: %w", base+":"+IndexTag, where, err)
		}
		if y, ok := repoIndex.YankOf(e.Team, e.Plugin, e.Version); ok {
			ix.Yank(y)
		}
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return nil, fmt.Errorf("reading the yanks of %s: %w", where, err)
	}
	return ix.Marshal()
}

// Open opens the blob at loc, oci://<registry>/<repository>@sha256:<hex>
// (see fetch.Registry). Reading to the end fails unless the content has
// that digest and the size the registry gave.
func (r *Registry) Open(ctx context.Context, loc string) (io.ReadCloser, error) {
	repo, err := r.Repository(loc)
	if err != nil {
		return nil, err
	}
	d, err := digest.Parse(repo.Reference.Reference)
	if err != nil {
		return nil, fmt.Errorf("%s: not a digest reference (want oci://<registry>/<repository>@sha256:<hex>)", loc)
	}
	desc, rc, err := repo.Blobs().FetchReference(ctx, d.String())
	if err != nil {
		return nil, Explain(loc, err)
	}
	if desc.Digest != d {
		rc.Close()
		return nil, fmt.Errorf("%s: the registry answered with %s", loc, desc.Digest)
	}
	return &verified{ReadCloser: rc, v: content.NewVerifyReader(rc, desc), loc: loc}, nil
}

// verified reads a blob and checks, at its end, its digest and size.
type verified struct {
	io.ReadCloser
	v   *content.VerifyReader
	loc string
}

func (b *verified) Read(p []byte) (int, error) {
	n, err := b.v.Read(p)
	if err == io.EOF {
		if verr := b.v.Verify(); verr != nil {
			return n, fmt.Errorf("%s: %w: refused", b.loc, verr)
		}
	} else if err != nil && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("%s: %w", b.loc, err)
	}
	return n, err
}

// notFound is a registry's "not found": it is an fs.ErrNotExist, as a
// missing file of a channel is, for readers that link no OCI client.
type notFound struct{ error }

func (e notFound) Unwrap() error        { return e.error }
func (e notFound) Is(target error) bool { return target == fs.ErrNotExist }

// Explain says what a registry's answer to a read of ref means, naming
// the registry, the reference and what to do.
func Explain(ref string, err error) error {
	if err == nil {
		return nil
	}
	host, _, _ := strings.Cut(strings.TrimPrefix(ref, Scheme), "/")
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return fmt.Errorf("%s: the registry wants credentials (401): docker login %s, or set GITHUB_TOKEN for ghcr.io", ref, host)
	}
	if errors.Is(err, errdef.ErrNotFound) {
		return notFound{fmt.Errorf("%s: not in the registry (publish to it first, or check the reference): %w", ref, err)}
	}
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%s: the registry wants credentials (401): docker login %s, or set GITHUB_TOKEN for ghcr.io: %w", ref, host, err)
		case resp.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%s: the registry refused these credentials (403): they need pull access to the repository: %w", ref, err)
		case resp.StatusCode == http.StatusNotFound:
			return notFound{fmt.Errorf("%s: not in the registry (publish to it first, or check the reference): %w", ref, err)}
		case resp.StatusCode >= 500:
			return fmt.Errorf("%s: the registry failed (%d); try again: %w", ref, resp.StatusCode, err)
		}
	}
	return fmt.Errorf("%s: %w", ref, err)
}
