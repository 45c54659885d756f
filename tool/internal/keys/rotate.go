package keys

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
	"go.yaml.in/yaml/v3"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/teams"
)

// Rotation is what Rotate did.
type Rotation struct {
	Team          string
	OldID, NewID  string
	Retired       string // the old public key's new path
	Public        string // the new public key
	Private       string // the new private key
	Manifest      string // the team.yaml that now revokes the old key
	RevokedAt     time.Time
	Reason        string
	RetiredSecret string // where the old private key went, "" if there was none here
}

// Rotate replaces team's key: the public key moves to
// <teams folder>/<team>/retired/<id>.pub (it stays in the trust policy,
// revoked, so that refusals name it), the private key to
// .keys/<team>/retired/<id>.key, a new pair is generated in their place,
// and the team's team.yaml gets a signing.revoked entry for the old key
// from at, with reason. The sign step then re-signs every file with the
// new key and writes the trust policy that revokes the old one.
func Rotate(root, team, reason string, at time.Time, password []byte) (*Rotation, error) {
	if err := artifact.CheckName(team); err != nil {
		return nil, fmt.Errorf("team: %w", err)
	}
	if reason == "" {
		return nil, fmt.Errorf("rotating team %s's key: give a reason (a leaked key, a planned rotation): hosts print it when they refuse a file signed with the old key", team)
	}
	if len(password) == 0 {
		return nil, fmt.Errorf("no password: set %s (or %s) to the password that will protect the new private key", EnvName(PasswordEnv+"_", team), PasswordEnv)
	}
	repo, err := config.Load(root)
	if err != nil {
		return nil, err
	}
	r := &Rotation{Team: team, RevokedAt: at.UTC().Truncate(time.Second), Reason: reason}
	r.Public, r.Private = PublicPath(repo.TeamsDir(), team), PrivatePath(root, team)
	r.Manifest = filepath.Join(repo.TeamsDir(), team, teams.ManifestName)
	old, err := ReadPublicKey(r.Public)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("team %s has no key to rotate (%v): make one with go run mage.go keys:generate %s", team, err, team)
	}
	if err != nil {
		return nil, err
	}
	r.OldID = old.ID
	manifest, err := os.ReadFile(r.Manifest)
	if err != nil {
		return nil, err
	}
	edited, err := addRevocation(manifest, r.OldID[:12], r.RevokedAt, reason)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Manifest, err)
	}
	if _, problems := teams.Parse(r.Manifest, edited); len(problems) > 0 {
		return nil, fmt.Errorf("%s would not parse with the revocation added: %v", r.Manifest, problems)
	}
	// In this order, each step leaves a state the next run or the sign
	// step understands: the manifest revokes a key still present, then the
	// key is retired, then the new one made.
	if err := renameio.WriteFile(r.Manifest, edited, 0o644, renameio.WithTempDir(filepath.Dir(r.Manifest))); err != nil {
		return nil, err
	}
	r.Retired = filepath.Join(filepath.Dir(r.Public), RetiredDir, r.OldID[:12]+".pub")
	if err := os.MkdirAll(filepath.Dir(r.Retired), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(r.Public, r.Retired); err != nil {
		return nil, err
	}
	if _, err := os.Stat(r.Private); err == nil {
		r.RetiredSecret = filepath.Join(filepath.Dir(r.Private), RetiredDir, r.OldID[:12]+".key")
		if err := os.MkdirAll(filepath.Dir(r.RetiredSecret), 0o700); err != nil {
			return nil, err
		}
		if err := os.Rename(r.Private, r.RetiredSecret); err != nil {
			return nil, err
		}
	}
	if err := generate(r.Public, r.Private, password); err != nil {
		return nil, fmt.Errorf("the old key is retired and revoked, but the new one: %w; make it with go run mage.go keys:generate %s", err, team)
	}
	k, err := ReadPublicKey(r.Public)
	if err != nil {
		return nil, err
	}
	r.NewID = k.ID
	return r, nil
}

// addRevocation adds to a team.yaml, keeping its comments, a
// signing.revoked entry for the key keyID.
func addRevocation(data []byte, keyID string, at time.Time, reason string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a mapping")
	}
	signing := child(doc.Content[0], "signing", yaml.MappingNode)
	revoked := child(signing, "revoked", yaml.SequenceNode)
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	revoked.Content = append(revoked.Content, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("key"), str(keyID), str("at"), str(at.Format(time.RFC3339)), str("reason"), str(reason),
	}})
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return out.Bytes(), enc.Close()
}

// child returns m's value under key, adding one of kind if there is none.
func child(m *yaml.Node, key string, kind yaml.Kind) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			if v.Kind != kind { // null or empty: replace
				*v = yaml.Node{Kind: kind}
			}
			return v
		}
	}
	v := &yaml.Node{Kind: kind}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	return v
}
