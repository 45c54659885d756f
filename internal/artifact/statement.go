package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// IndexStatementFile is the signed statement of the index, beside
// index.json in every store: which index.json and trust.json were
// published together, the statement's version and when it expires. It
// is an in-toto statement in a DSSE envelope signed by the repository's
// release key, or in a Sigstore bundle signed keylessly by the release
// workflow (trust.Policy.Release says who may sign it). Like TUF's
// timestamp and snapshot roles in one file, it lets a host refuse an
// index that was changed, replayed from the past, or frozen.
const IndexStatementFile = "index.statement.json"

// IndexPredicateType is the predicate type of the index statement.
const IndexPredicateType = "https://plugship.dev/index-statement/v1"

// DefaultIndexExpiry is how long a signed index statement is valid by
// default; the release workflow signs it again well before (half way).
const DefaultIndexExpiry = 7 * 24 * time.Hour

// IndexStatement is what the statement says. Its subjects are index.json
// (by its ContentDigest) and trust.json (by its sha256).
type IndexStatement struct {
	// Version grows by one with each statement the store publishes; a host
	// refuses one lower than the last it accepted.
	Version int64 `json:"version"`
	// Expires is when hosts stop accepting it.
	Expires time.Time `json:"expires"`
	// Index is the index's ContentDigest; Trust the sha256 (hex) of the
	// trust.json published with it.
	Index string `json:"-"`
	Trust string `json:"-"`
}

// inToto is the statement's JSON (in-toto Statement v1).
type inToto struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// inTotoType is in-toto's statement type.
const inTotoType = "https://in-toto.io/Statement/v1"

// Marshal returns the statement as in-toto JSON, the payload to sign.
func (s *IndexStatement) Marshal() ([]byte, error) {
	pred, err := json.Marshal(struct {
		Version int64     `json:"version"`
		Expires time.Time `json:"expires"`
	}{s.Version, s.Expires.UTC()})
	if err != nil {
		return nil, err
	}
	st := inToto{Type: inTotoType, PredicateType: IndexPredicateType, Predicate: pred,
		Subject: []subject{{Name: IndexFile, Digest: map[string]string{"sha256": s.Index}}}}
	if s.Trust != "" {
		st.Subject = append(st.Subject, subject{Name: TrustFile, Digest: map[string]string{"sha256": s.Trust}})
	}
	return json.Marshal(st)
}

// ParseIndexStatement decodes a statement's payload (in-toto JSON).
func ParseIndexStatement(payload []byte) (*IndexStatement, error) {
	var st inToto
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("%s: not an in-toto statement: %w", IndexStatementFile, err)
	}
	if st.Type != inTotoType || st.PredicateType != IndexPredicateType {
		return nil, fmt.Errorf("%s: statement of type %s, predicate %s; want %s, %s", IndexStatementFile, Quote(st.Type), Quote(st.PredicateType), inTotoType, IndexPredicateType)
	}
	var s IndexStatement
	if err := json.Unmarshal(st.Predicate, &s); err != nil {
		return nil, fmt.Errorf("%s: predicate: %w", IndexStatementFile, err)
	}
	for _, sub := range st.Subject {
		switch sub.Name {
		case IndexFile:
			s.Index = sub.Digest["sha256"]
		case TrustFile:
			s.Trust = sub.Digest["sha256"]
		}
	}
	if s.Index == "" || s.Version <= 0 || s.Expires.IsZero() {
		return nil, errors.New(IndexStatementFile + ": names no index.json sha256, version or expiry")
	}
	return &s, nil
}

// FetchedStatementFile is where, in a plugin folder, fetch keeps the
// index statement it last accepted for a plugin: the version a later
// fetch must not go below.
func FetchedStatementFile(dir, plugin string) string {
	return filepath.Join(dir, ".plugship-"+plugin+".statement.json")
}

// ContentDigest is the sha256 (hex) that the index statement signs: of
// the index as Marshal writes it with every entry's assets left out. It
// covers what the index says (each file's version, sha256, size, ABI and
// hosts, and the yanks) and not where the files are, as TUF signs targets
// by hash and not by mirror: a mirror's copy, whose locations are its
// own, carries the publisher's statement unchanged, and a file fetched
// from a changed location is still checked against its signed sha256 and
// its team's signature.
func (ix *Index) ContentDigest() (string, error) {
	c := &Index{Schema: ix.Schema, Yanked: slices.Clone(ix.Yanked)} // Marshal sorts them
	for _, e := range ix.Entries {
		e.Assets = nil
		c.Entries = append(c.Entries, e)
	}
	data, err := c.Marshal()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// RegistryTag is the tag of a file of the index (index.json, matrix.json,
// index.statement.json, trust.json) in an OCI registry's repository: the
// tags that move with each publish.
func RegistryTag(name string) string {
	switch name {
	case IndexFile:
		return "plugship.index"
	case IndexStatementFile:
		return "plugship.statement"
	case TrustFile:
		return "plugship.trust"
	}
	return "plugship.matrix"
}
