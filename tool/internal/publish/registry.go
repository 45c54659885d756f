package publish

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// The artifact layout in a registry, one repository per publish target.
//
// Each plugin file (one ABI of one version) is a manifest of artifact
// type ArtifactPlugin, tagged <team>.<plugin>.v<version>.<abi> ("+" of a
// semantic version's build metadata as "_", which a tag cannot hold):
// its layers are the .so and its build metadata, its config the empty
// descriptor. Its signature, keyless bundle, provenance and SHA256SUMS
// are referrers (OCI 1.1 subject), pushed before the tag, so that a tag
// never points at content whose signatures are not there yet. The index
// (index.json) and the approving matrix (matrix.json) are artifacts of
// their own, tagged plugship.index and plugship.matrix.
const (
	ArtifactPlugin    = "application/vnd.plugship.plugin.v1"
	ArtifactSignature = "application/vnd.plugship.signature.v1"
	ArtifactIndex     = "application/vnd.plugship.index.v1"

	MediaTypePlugin   = "application/vnd.plugship.plugin.v1+so"
	MediaTypeMetadata = "application/vnd.plugship.metadata.v1+json"

	// Annotations of a plugin manifest, besides the OCI ones (title of a
	// layer; source, revision and created of the manifest).
	AnnotationTeam    = "dev.plugship.team"
	AnnotationPlugin  = "dev.plugship.plugin"
	AnnotationVersion = "dev.plugship.version"
	AnnotationABI     = "dev.plugship.abi"
)

// created is every manifest's creation time: a fixed one, so that the
// same files always make the same manifest, and publishing them again is
// a no-op.
const created = "1970-01-01T00:00:00Z"

// tagRE is what a tag may be (OCI distribution-spec).
var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// Registry is a repository in an OCI registry: oci://<registry>/<repository>.
type Registry struct {
	Ref  string // as given, oci://...
	repo *remote.Repository
}

// NewRegistry opens the publish target ref, oci://<registry>/<repository>,
// with the credentials of Docker's config.json and its credential helpers
// (docker login, or DOCKER_CONFIG), and for ghcr.io GITHUB_TOKEN when
// there are none. plainHTTP talks http:// (a registry on loopback).
func NewRegistry(ref string, getenv func(string) string, plainHTTP bool) (*Registry, error) {
	name, ok := strings.CutPrefix(ref, "oci://")
	if !ok {
		return nil, fmt.Errorf("publish target %s: want oci://<registry>/<repository>, such as oci://ghcr.io/acme/plugins", ref)
	}
	repo, err := remote.NewRepository(name)
	if err != nil {
		return nil, fmt.Errorf("publish target %s: %v; want oci://<registry>/<repository>, such as oci://ghcr.io/acme/plugins", ref, err)
	}
	if repo.Reference.Reference != "" {
		return nil, fmt.Errorf("publish target %s: a repository, without a tag or digest (plugship tags each plugin file)", ref)
	}
	repo.PlainHTTP = plainHTTP
	// A registry without the referrers API (Distribution 3.1, older
	// Harbors) keeps a referrers index under the tag sha256-<digest>; each
	// new referrer replaces it, and deleting the one it replaced needs
	// delete rights many registries do not give: the old index is left.
	repo.SkipReferrersGC = true
	store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
	if err != nil {
		return nil, fmt.Errorf("publish target %s: reading Docker's credentials: %w", ref, err)
	}
	host := repo.Reference.Registry
	repo.Client = &auth.Client{
		Client: retry.DefaultClient,
		Cache:  auth.NewCache(),
		Credential: func(ctx context.Context, hostport string) (auth.Credential, error) {
			c, err := credentials.Credential(store)(ctx, hostport)
			if err == nil && c == auth.EmptyCredential && host == "ghcr.io" && getenv("GITHUB_TOKEN") != "" {
				// In GitHub Actions: the workflow's token, with packages: write.
				return auth.Credential{Username: cmp.Or(getenv("GITHUB_ACTOR"), "plugship"), Password: getenv("GITHUB_TOKEN")}, nil
			}
			return c, err
		},
	}
	return &Registry{Ref: ref, repo: repo}, nil
}

// Describe names the registry repository.
func (r *Registry) Describe() string { return "registry " + r.Ref }

// Tag is the tag of v's file: <team>.<plugin>.v<version>.<abi>.
func (r *Registry) Tag(v *Version) (string, error) {
	tag := strings.ReplaceAll(fmt.Sprintf("%s.%s.v%s.%s", v.Meta.Team, v.Meta.Plugin, v.Meta.Version, v.Meta.ABI), "+", "_")
	if !tagRE.MatchString(tag) {
		return "", fmt.Errorf("%s: the tag %s is not a valid OCI tag (at most 128 characters of a-z, A-Z, 0-9, '.', '_' and '-'): shorten the team or plugin name", v.Tag, tag)
	}
	return tag, nil
}

// Release pushes v's file as a plugin manifest with its referrers, then
// tags it. A tag that points at another .so is refused, naming both
// digests; one at the same .so is left as it is, and nothing is uploaded.
// Blobs already in the repository are not uploaded again, so a push cut
// off halfway completes on the next run.
func (r *Registry) Release(ctx context.Context, v *Version) (map[string]string, bool, error) {
	tag, err := r.Tag(v)
	if err != nil {
		return nil, false, err
	}
	so := v.Assets[0]
	locations := map[string]string{}
	for _, a := range v.Assets {
		locations[a.Name] = r.Ref + "@sha256:" + a.SHA256
	}
	if published, err := r.repo.Resolve(ctx, tag); err == nil {
		sum, err := r.soDigest(ctx, published, so.Name)
		if err != nil {
			return nil, false, r.explain(tag, err)
		}
		if sum != so.SHA256 {
			return nil, false, fmt.Errorf("%s: %w: %s:%s holds %s with sha256 %s, this build %s; publish a new version instead", v.Tag, ErrChanged, r.Ref, tag, so.Name, sum, so.SHA256)
		}
		return locations, false, nil
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return nil, false, r.explain(tag, err)
	}
	layers := map[string]ocispec.Descriptor{}
	for _, a := range v.Assets {
		mediaType := "application/octet-stream"
		switch {
		case a.Name == so.Name:
			mediaType = MediaTypePlugin
		case a.Name == so.Name+".json":
			mediaType = MediaTypeMetadata
		case strings.HasSuffix(a.Name, ".json"):
			mediaType = "application/json"
		}
		desc, err := r.pushBlob(ctx, a, mediaType)
		if err != nil {
			return nil, false, r.explain(tag, err)
		}
		layers[a.Name] = desc
	}
	annotations := map[string]string{
		ocispec.AnnotationCreated: created,
		AnnotationTeam:            v.Meta.Team,
		AnnotationPlugin:          v.Meta.Plugin,
		AnnotationVersion:         v.Meta.Version,
		AnnotationABI:             v.Meta.ABI,
	}
	if v.Meta.Revision != "" {
		annotations[ocispec.AnnotationRevision] = v.Meta.Revision
	}
	plugin, err := oras.PackManifest(ctx, r.repo, oras.PackManifestVersion1_1, ArtifactPlugin, oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{layers[so.Name], layers[so.Name+".json"]},
		ManifestAnnotations: annotations,
	})
	if err != nil {
		return nil, false, r.explain(tag, err)
	}
	for _, a := range v.Assets {
		if a.Name == so.Name || a.Name == so.Name+".json" {
			continue
		}
		_, err := oras.PackManifest(ctx, r.repo, oras.PackManifestVersion1_1, ArtifactSignature, oras.PackManifestOptions{
			Subject:             &plugin,
			Layers:              []ocispec.Descriptor{layers[a.Name]},
			ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: created, ocispec.AnnotationTitle: a.Name},
		})
		if err != nil {
			return nil, false, r.explain(tag, err)
		}
	}
	if err := r.repo.Tag(ctx, plugin, tag); err != nil {
		return nil, false, r.explain(tag, err)
	}
	return locations, true, nil
}

// pushBlob uploads a unless the repository has it, and returns its
// descriptor, titled with its name.
func (r *Registry) pushBlob(ctx context.Context, a Asset, mediaType string) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.NewDigestFromEncoded(digest.SHA256, a.SHA256), Size: a.Size,
		Annotations: map[string]string{ocispec.AnnotationTitle: a.Name}}
	if ok, err := r.repo.Exists(ctx, desc); err != nil || ok {
		return desc, err
	}
	var body io.Reader = bytes.NewReader(a.Data)
	if a.Path != "" {
		f, err := os.Open(a.Path)
		if err != nil {
			return desc, err
		}
		defer f.Close()
		body = f
	}
	return desc, r.repo.Push(ctx, desc, body)
}

// soDigest is the sha256 (hex) of the layer called name of the plugin
// manifest desc.
func (r *Registry) soDigest(ctx context.Context, desc ocispec.Descriptor, name string) (string, error) {
	data, err := content.FetchAll(ctx, r.repo, desc)
	if err != nil {
		return "", err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("not an OCI manifest: %w", err)
	}
	for _, l := range m.Layers {
		if l.Annotations[ocispec.AnnotationTitle] == name {
			return l.Digest.Encoded(), nil
		}
	}
	return "", fmt.Errorf("the manifest %s has no layer %s: it is not plugship's; remove the tag or publish to another repository", desc.Digest, name)
}

// indexTag is the tag of a file of the index: plugship.index for
// index.json, plugship.matrix for matrix.json.
func indexTag(name string) string {
	return "plugship." + strings.TrimSuffix(name, ".json")
}

// ReadIndex returns the file of the index called name, or nil if the
// repository has none.
func (r *Registry) ReadIndex(ctx context.Context, name string) ([]byte, error) {
	tag := indexTag(name)
	desc, err := r.repo.Resolve(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, r.explain(tag, err)
	}
	data, err := content.FetchAll(ctx, r.repo, desc)
	if err != nil {
		return nil, r.explain(tag, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil || len(m.Layers) != 1 {
		return nil, fmt.Errorf("%s:%s is not plugship's %s (want a manifest of one layer)", r.Ref, tag, name)
	}
	body, err := content.FetchAll(ctx, r.repo, m.Layers[0])
	if err != nil {
		return nil, r.explain(tag, err)
	}
	return body, nil
}

// WriteIndex pushes data as the file of the index called name and moves
// its tag to it: the one tag that moves.
func (r *Registry) WriteIndex(ctx context.Context, name string, data []byte) error {
	tag := indexTag(name)
	layer, err := r.pushBlob(ctx, dataAsset(name, data), "application/json")
	if err != nil {
		return r.explain(tag, err)
	}
	desc, err := oras.PackManifest(ctx, r.repo, oras.PackManifestVersion1_1, ArtifactIndex, oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{layer},
		ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: created},
	})
	if err != nil {
		return r.explain(tag, err)
	}
	return r.explain(tag, r.repo.Tag(ctx, desc, tag))
}

// explain says what a registry's answer means for reference tag, naming
// the registry, the reference and what to do.
func (r *Registry) explain(tag string, err error) error {
	if err == nil {
		return nil
	}
	where := r.Ref + ":" + tag
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return fmt.Errorf("%s: the registry wants credentials (401): docker login %s, or set GITHUB_TOKEN for ghcr.io", where, r.repo.Reference.Registry)
	}
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: the registry wants credentials (401): docker login %s, or set GITHUB_TOKEN for ghcr.io: %w", where, r.repo.Reference.Registry, err)
		case http.StatusForbidden:
			return fmt.Errorf("%s: the registry refused these credentials (403): they need push access to %s (for ghcr.io in Actions, permissions packages: write): %w", where, r.repo.Reference.Repository, err)
		}
		if resp.StatusCode >= 500 {
			return fmt.Errorf("%s: the registry failed (%d); run publish again, which uploads only what is missing: %w", where, resp.StatusCode, err)
		}
	}
	return fmt.Errorf("%s: %w", where, err)
}
