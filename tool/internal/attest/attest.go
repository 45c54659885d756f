package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/trust"
)

// File name suffixes, appended to the plugin file's name.
const (
	BundleSuffix     = ".sigstore.json"
	ProvenanceSuffix = trust.ProvenanceSuffix
)

// Media and predicate types.
const (
	BundleMediaType   = "application/vnd.dev.sigstore.bundle.v0.3+json"
	InTotoPayloadType = trust.InTotoPayloadType
	SLSAPredicateType = trust.SLSAPredicateType
	BuildType         = "https://github.com/plugship/plugship/build/v1"
	BuilderID         = "https://github.com/plugship/plugship"
)

// MaxProvenance bounds a provenance file (a DSSE envelope of one in-toto
// statement, a few KiB): ReadProvenance refuses a larger one unread, as
// fetch.Plugins does.
const MaxProvenance = 4 << 20

// ReadProvenance reads a provenance file, at most MaxProvenance bytes.
func ReadProvenance(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no provenance %s; sign the file again with go run mage.go sign", filepath.Base(path))
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxProvenance+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > MaxProvenance {
		return nil, fmt.Errorf("provenance %s is larger than %d bytes: refused unread; sign the file again with go run mage.go sign", filepath.Base(path), MaxProvenance)
	}
	return data, nil
}

// Bundle returns a key-based Sigstore bundle for a message signature: the
// message's sha256, the signature over the message, and a hint naming the
// key. It has no transparency log entry and no certificate.
func Bundle(sha256 []byte, sig []byte, keyHint string) ([]byte, error) {
	b := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: keyHint}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sha256},
			Signature:     sig,
		}},
	}
	return marshal(b)
}

// ParseBundle returns what Bundle put in.
func ParseBundle(data []byte) (sha256, sig []byte, keyHint string, err error) {
	var b protobundle.Bundle
	if err := protojson.Unmarshal(data, &b); err != nil {
		return nil, nil, "", fmt.Errorf("not a Sigstore bundle: %w", err)
	}
	if b.MediaType != BundleMediaType {
		return nil, nil, "", fmt.Errorf("bundle media type %s, want %s", artifact.Quote(b.MediaType), BundleMediaType)
	}
	ms := b.GetMessageSignature()
	if ms == nil || ms.MessageDigest == nil || ms.MessageDigest.Algorithm != protocommon.HashAlgorithm_SHA2_256 {
		return nil, nil, "", fmt.Errorf("bundle holds no sha256 message signature")
	}
	return ms.MessageDigest.Digest, ms.Signature, b.GetVerificationMaterial().GetPublicKey().GetHint(), nil
}

// Statement returns the in-toto statement (JSON) for the file m describes:
// subject its sha256, predicate SLSA provenance v1 from the metadata.
func Statement(m *artifact.Metadata) ([]byte, error) {
	external, err := structpb.NewStruct(map[string]any{
		"team": m.Team, "plugin": m.Plugin, "version": m.Version, "source": m.Source,
		"goos": m.GOOS, "goarch": m.GOARCH,
	})
	if err != nil {
		return nil, err
	}
	settings := map[string]any{}
	for k, v := range m.Settings {
		settings[k] = v
	}
	internal, err := structpb.NewStruct(map[string]any{
		"goVersion": m.GoVersion, "pluginPath": m.PluginPath, "settings": settings,
	})
	if err != nil {
		return nil, err
	}
	var deps []*intoto.ResourceDescriptor
	if m.Revision != "" {
		rev := &intoto.ResourceDescriptor{Uri: "git+" + m.Module.Path, Digest: map[string]string{"gitCommit": m.Revision}}
		if m.Dirty {
			rev.Annotations, _ = structpb.NewStruct(map[string]any{"dirty": true})
		}
		deps = append(deps, rev)
	}
	deps = append(deps, &intoto.ResourceDescriptor{Uri: "pkg:golang/toolchain@" + m.GoVersion, Name: "go"})
	for _, d := range m.Deps {
		rd := &intoto.ResourceDescriptor{Uri: "pkg:golang/" + d.Path + "@" + d.Version, Name: d.Path}
		if d.Sum != "" {
			rd.Digest = map[string]string{"dirHash1": d.Sum}
		}
		deps = append(deps, rd)
	}
	prov := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType: BuildType, ExternalParameters: external, InternalParameters: internal,
			ResolvedDependencies: deps,
		},
		RunDetails: &slsa.RunDetails{Builder: &slsa.Builder{Id: BuilderID}},
	}
	predJSON, err := protojson.Marshal(prov)
	if err != nil {
		return nil, err
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(predJSON, pred); err != nil {
		return nil, err
	}
	sum, err := hex.DecodeString(m.SHA256)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: m.File, Digest: map[string]string{"sha256": hex.EncodeToString(sum)}}},
		PredicateType: SLSAPredicateType,
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	return protojson.Marshal(st)
}

// Envelope signs statement as a DSSE envelope (JSON).
func Envelope(s signature.Signer, statement []byte) ([]byte, error) {
	return dsse.WrapSigner(s, InTotoPayloadType).SignMessage(bytes.NewReader(statement))
}

func marshal(b *protobundle.Bundle) ([]byte, error) {
	data, err := protojson.Marshal(b)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
