package publish

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/oci"
)

// The artifact layout in a registry is package oci's (see its
// documentation): a manifest per plugin file, tagged oci.Tag, with its
// signatures as referrers pushed before the tag, so that a tag never
// points at content whose signatures are not there yet; the index and the
// matrix tagged oci.IndexTag and oci.MatrixTag.

// created is every manifest's creation time: a fixed one, so that the
// same files always make the same manifest, and publishing them again is
// a no-op.
const created = "1970-01-01T00:00:00Z"

// Registry is a repository in an OCI registry: oci://<registry>/<repository>.
type Registry struct {
	Ref string // as given, oci://...
	// Contract is the contract package of the repository's host, which
	// each plugin manifest names (oci.AnnotationContract).
	Contract string
	repo     *remote.Repository
	// index is the index this run found in the repository, read once
	// (the locations of what is published).
	index *artifact.Index
}

// NewRegistry opens the publish target ref, oci://<registry>/<repository>,
// with the credentials of Docker's config.json and its credential helpers
// (docker login, or DOCKER_CONFIG), and for ghcr.io GITHUB_TOKEN when
// there are none. plainHTTP talks http:// (a registry on loopback).
func NewRegistry(ref string, getenv func(string) string, plainHTTP bool) (*Registry, error) {
	client := &oci.Registry{Getenv: getenv, PlainHTTP: func(string) bool { return plainHTTP }}
	repo, err := client.Repository(ref)
	if err != nil {
		return nil, fmt.Errorf("publish target %w", err)
	}
	if repo.Reference.Reference != "" {
		return nil, fmt.Errorf("publish target %s: a repository, without a tag or digest (plugship tags each plugin file)", ref)
	}
	// A registry without the referrers API (Distribution 3.1, older
	// Harbors) keeps a referrers index under the tag sha256-<digest>; each
	// new referrer replaces it, and deleting the one it replaced needs
	// delete rights many registries do not give: the old index is left.
	repo.SkipReferrersGC = true
	return &Registry{Ref: ref, repo: repo}, nil
}

// Describe names the registry repository.
func (r *Registry) Describe() string { return "registry " + r.Ref }

// Tag is the tag of v's file: <team>.<plugin>.v<version>.<abi> (oci.Tag).
func (r *Registry) Tag(v *Version) (string, error) {
	tag, err := oci.Tag(v.Meta.Team, v.Meta.Plugin, v.Meta.Version, v.Meta.ABI)
	if err != nil {
		return "", fmt.Errorf("%s: %w", v.Tag, err)
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
		locations[a.Name] = oci.Location(r.Ref, a.SHA256)
	}
	if published, err := r.repo.Resolve(ctx, tag); err == nil {
		sum, err := r.soDigest(ctx, published, so.Name)
		if err != nil {
			return nil, false, r.explain(tag, err)
		}
		if sum != so.SHA256 {
			return nil, false, fmt.Errorf("%s: %w: %s:%s holds %s with sha256 %s, this build %s; publish a new version instead", v.Tag, ErrChanged, r.Ref, tag, so.Name, sum, so.SHA256)
		}
		return r.published(ctx, v, tag, published, locations)
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return nil, false, r.explain(tag, err)
	}
	layers := map[string]ocispec.Descriptor{}
	for _, a := range v.Assets {
		desc, err := r.pushBlob(ctx, a, mediaType(a.Name, so.Name))
		if err != nil {
			return nil, false, r.explain(tag, err)
		}
		layers[a.Name] = desc
	}
	annotations := map[string]string{
		ocispec.AnnotationCreated: created,
		oci.AnnotationTeam:        v.Meta.Team,
		oci.AnnotationPlugin:      v.Meta.Plugin,
		oci.AnnotationVersion:     v.Meta.Version,
		oci.AnnotationABI:         v.Meta.ABI,
	}
	if c := cmp.Or(v.Contract, r.Contract); c != "" {
		annotations[oci.AnnotationContract] = c
	}
	if v.Meta.Revision != "" {
		annotations[ocispec.AnnotationRevision] = v.Meta.Revision
	}
	plugin, err := oras.PackManifest(ctx, r.repo, oras.PackManifestVersion1_1, oci.ArtifactPlugin, oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{layers[so.Name], layers[so.Name+".json"]},
		ManifestAnnotations: annotations,
	})
	if err != nil {
		return nil, false, r.explain(tag, err)
	}
	for _, a := range v.Assets {
		if v.isPluginFile(a) {
			continue
		}
		if err := r.attach(ctx, plugin, layers[a.Name], nil); err != nil {
			return nil, false, r.explain(tag, err)
		}
	}
	if err := r.repo.Tag(ctx, plugin, tag); err != nil {
		return nil, false, r.explain(tag, err)
	}
	return locations, true, nil
}

// published returns the locations of a published version's files: the
// signatures attached to it, not this build's (which another key may
// have made). When its signature no longer verifies under the current
// policy and this build's does (its team's key was rotated), this build's
// signature files are attached, annotated as re-signed, and counted from
// then on (v.Resigned).
func (r *Registry) published(ctx context.Context, v *Version, tag string, plugin ocispec.Descriptor, locations map[string]string) (map[string]string, bool, error) {
	so := v.Assets[0]
	// Where the published files are: the index says (no request), or,
	// for a version it lacks, the referrers.
	have := map[string]ocispec.Descriptor{} // by name: the published blob
	if r.index == nil {
		data, err := r.ReadIndex(ctx, IndexFile)
		if err == nil {
			r.index, err = artifact.ParseIndex(data)
		}
		if err != nil {
			return nil, false, err
		}
	}
	for _, e := range r.index.Entries {
		if e.File != so.Name || e.SHA256 != so.SHA256 {
			continue
		}
		for name, loc := range e.Assets {
			if _, d, ok := strings.Cut(loc, "@"); ok {
				if dg, err := digest.Parse(d); err == nil {
					have[name] = ocispec.Descriptor{Digest: dg, Size: -1}
				}
			}
		}
	}
	if len(have) == 0 {
		refs, err := oci.CurrentReferrers(ctx, r.repo, plugin, 4<<20)
		if err != nil {
			return nil, false, r.explain(tag, err)
		}
		for title, ref := range refs {
			have[title] = ref.Layer
		}
	}
	for name, d := range have {
		if _, ok := locations[name]; ok {
			locations[name] = oci.Location(r.Ref, d.Digest.Encoded())
		}
	}
	sig := signatureAsset(v)
	if sig == nil {
		return locations, false, nil
	}
	old, ok := have[sig.Name]
	if !ok || old.Digest.Encoded() == sig.SHA256 {
		return locations, false, nil
	}
	_, rc, err := r.repo.Blobs().FetchReference(ctx, old.Digest.String())
	if err != nil {
		return nil, false, r.explain(tag, err)
	}
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	rc.Close()
	if err != nil {
		return nil, false, r.explain(tag, err)
	}
	if !v.Outlived(sig.Name, data) {
		return locations, false, nil // it still verifies: kept
	}
	resigned := map[string]string{oci.AnnotationResigned: time.Now().UTC().Format(time.RFC3339)}
	for _, a := range v.Assets {
		if v.isPluginFile(a) {
			continue // the .so and its metadata never change
		}
		if d, ok := have[a.Name]; ok && d.Digest.Encoded() == a.SHA256 {
			continue
		}
		layer, err := r.pushBlob(ctx, a, mediaType(a.Name, so.Name))
		if err == nil {
			err = r.attach(ctx, plugin, layer, resigned)
		}
		if err != nil {
			return nil, false, r.explain(tag, err)
		}
		locations[a.Name] = oci.Location(r.Ref, a.SHA256)
	}
	v.Resigned = true
	return locations, true, nil
}

// mediaType is the media type of the layer holding the file called name,
// of the plugin file so.
func mediaType(name, so string) string {
	switch {
	case name == so:
		return oci.MediaTypePlugin
	case name == so+artifact.MetadataSuffix:
		return oci.MediaTypeMetadata
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	}
	return "application/octet-stream"
}

// attach pushes a signature referrer of the plugin manifest: one layer
// (a titled blob already pushed), with extra annotations.
func (r *Registry) attach(ctx context.Context, plugin, layer ocispec.Descriptor, extra map[string]string) error {
	annotations := map[string]string{ocispec.AnnotationCreated: created, ocispec.AnnotationTitle: layer.Annotations[ocispec.AnnotationTitle]}
	maps.Copy(annotations, extra)
	_, err := oras.PackManifest(ctx, r.repo, oras.PackManifestVersion1_1, oci.ArtifactSignature, oras.PackManifestOptions{
		Subject: &plugin, Layers: []ocispec.Descriptor{layer}, ManifestAnnotations: annotations,
	})
	return err
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

// ReadIndex returns the file of the index called name, or nil if the
// repository has none.
func (r *Registry) ReadIndex(ctx context.Context, name string) ([]byte, error) {
	tag := artifact.RegistryTag(name)
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
	tag := artifact.RegistryTag(name)
	layer, err := r.pushBlob(ctx, dataAsset(name, data), "application/json")
	if err != nil {
		return r.explain(tag, err)
	}
	desc, err := oras.PackManifest(ctx, r.repo, oras.PackManifestVersion1_1, oci.ArtifactIndex, oras.PackManifestOptions{
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

// IndexLocation says where hosts fetch index.json from, for output: the
// repository (its tag plugship.index).
func (r *Registry) IndexLocation(context.Context) string {
	return IndexFile + " tagged " + oci.IndexTag + " in " + r.Ref
}
