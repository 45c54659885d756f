package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/renameio/v2"
	sgroot "github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

// Environment variables and file names.
const (
	PasswordEnv  = "PLUGSHIP_KEY_PASSWORD" // password of encrypted private keys; PasswordEnv_<TEAM> overrides
	KeyEnvPrefix = "PLUGSHIP_KEY_"         // PLUGSHIP_KEY_<TEAM>: private key path or KMS reference
	PublicName   = "cosign.pub"            // <teams folder>/<team>/cosign.pub
	PrivateName  = "cosign.key"            // .keys/<team>/cosign.key
	PrivateDir   = ".keys"                 // git-ignored
	DevDir       = "keys/dev"              // under dist/
	RetiredDir   = "retired"               // <teams folder>/<team>/retired/<key id>.pub: keys:rotate's old keys
)

// EnvName returns the variable name for team: prefix + TEAM with "-" as "_".
func EnvName(prefix, team string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(team, "-", "_"))
}

// PublicPath is the team's committed public key, in teamsDir, the teams
// folder (teams/ under the module root, configurable in plugship.yaml).
func PublicPath(teamsDir, team string) string { return filepath.Join(teamsDir, team, PublicName) }

// PrivatePath is where Generate puts the team's private key.
func PrivatePath(root, team string) string { return filepath.Join(root, PrivateDir, team, PrivateName) }

// DevPaths are the team's development key pair under dist.
func DevPaths(dist, team string) (priv, pub string) {
	dir := filepath.Join(dist, filepath.FromSlash(DevDir), team)
	return filepath.Join(dir, PrivateName), filepath.Join(dir, PublicName)
}

// Generate creates an ECDSA P-256 key pair for team: the public key at
// PublicPath in the teams folder of root's plugship.yaml, the private key
// encrypted with password at PrivatePath (mode 0600). It refuses to
// replace an existing key of either kind.
func Generate(root, team string, password []byte) (pub, priv string, err error) {
	if err := artifact.CheckName(team); err != nil {
		return "", "", fmt.Errorf("team: %w", err)
	}
	if len(password) == 0 {
		return "", "", fmt.Errorf("no password: set %s (or %s) to the password that will protect the private key", EnvName(PasswordEnv+"_", team), PasswordEnv)
	}
	repo, err := config.Load(root)
	if err != nil {
		return "", "", err
	}
	pub, priv = PublicPath(repo.TeamsDir(), team), PrivatePath(root, team)
	if _, err := os.Stat(filepath.Dir(pub)); err != nil {
		return "", "", fmt.Errorf("team %s has no folder %s/%s: add its team.yaml first", team, repo.Teams, team)
	}
	if err := generate(pub, priv, password); err != nil {
		return "", "", err
	}
	return pub, priv, nil
}

func generate(pub, priv string, password []byte) error {
	for _, f := range []string{pub, priv} {
		if _, err := os.Stat(f); err == nil {
			return fmt.Errorf("%s exists; remove it first if you really mean to replace the key (everything signed with it will stop verifying)", f)
		}
	}
	privPEM, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc(password))
	if err != nil {
		return fmt.Errorf("generating a key pair: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(priv), 0o700); err != nil {
		return err
	}
	if err := renameio.WriteFile(priv, privPEM, 0o600, renameio.WithTempDir(filepath.Dir(priv))); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(pub), 0o755); err != nil {
		return err
	}
	return renameio.WriteFile(pub, pubPEM, 0o644, renameio.WithTempDir(filepath.Dir(pub)))
}

// Signer signs for one team.
type Signer struct {
	signature.SignerVerifier
	Team        string
	KeyID       string // see KeyID
	Source      string // where the key came from, for output: a path or a KMS reference
	Development bool   // a development key generated under dist/
}

// Describe says which key signs, for output: a team key with where it
// came from; a development key by its ID alone (the sign step says once
// where development keys are and what they are for).
func (s *Signer) Describe() string {
	if s.Development {
		return describe(s.KeyID, true)
	}
	return describe(s.KeyID, false) + " (" + s.Source + ")"
}

func describe(id string, development bool) string {
	if development {
		return "DEVELOPMENT key " + id[:12]
	}
	return "key " + id[:12]
}

// KeyID identifies a public key: the hex sha256 of its DER encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// devMu serialises creating development keys.
var devMu sync.Mutex

// SignerFor returns team's signer, looked up as the package doc says: root
// is the module root (.keys/), teamsDir the teams folder (the committed
// public key), dist the output folder (development keys).
func SignerFor(ctx context.Context, root, teamsDir, dist, team string) (*Signer, error) {
	devPriv, devPub := DevPaths(dist, team)
	return signerFrom(ctx, keySource{
		who: "team " + team, team: team, env: EnvName(KeyEnvPrefix, team),
		private: PrivatePath(root, team), public: PublicPath(teamsDir, team),
		devPrivate: devPriv, devPublic: devPub,
	})
}

// keySource says where one signer's key is looked for.
type keySource struct {
	who, team             string // for messages; the team whose password decrypts it
	env                   string // the variable of a path, PEM or KMS reference
	private, public       string // the private key file, the committed public key
	devPrivate, devPublic string
}

func signerFrom(ctx context.Context, ks keySource) (*Signer, error) {
	var (
		sv          signature.SignerVerifier
		source      string
		development bool
		err         error
	)
	committed, committedErr := readPublic(ks.public)
	switch ref := os.Getenv(ks.env); {
	case strings.Contains(ref, "://"):
		source = ref
		sv, err = kms.Get(ctx, ref, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("%s: KMS key %s (from %s): %w", ks.who, ref, ks.env, err)
		}
	case strings.HasPrefix(ref, "-----BEGIN"):
		source = ks.env + " (PEM)"
		sv, err = parsePrivate([]byte(ref), source, ks.team)
	case ref != "":
		source = ref
		sv, err = loadPrivate(ref, ks.team)
	default:
		source = ks.private
		if _, statErr := os.Stat(source); statErr == nil {
			sv, err = loadPrivate(source, ks.team)
			break
		}
		development = true
		source = ks.devPrivate
		devMu.Lock()
		if _, statErr := os.Stat(ks.devPrivate); errors.Is(statErr, fs.ErrNotExist) {
			err = generate(ks.devPublic, ks.devPrivate, []byte{})
		}
		devMu.Unlock()
		if err == nil {
			sv, err = signature.LoadSignerVerifierFromPEMFile(ks.devPrivate, crypto.SHA256, cryptoutils.StaticPasswordFunc([]byte{}))
		}
	}
	if err != nil {
		return nil, err
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%s: public key of %s: %w", ks.who, source, err)
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	if !development && committedErr == nil {
		if cryptoutils.EqualKeys(committed, pub) != nil {
			return nil, fmt.Errorf("%s: the key %s is not the one committed in %s; signatures made with it would not verify", ks.who, source, ks.public)
		}
	}
	return &Signer{SignerVerifier: sv, Team: ks.team, KeyID: id, Source: source, Development: development}, nil
}

func loadPrivate(path, team string) (signature.SignerVerifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("team %s: private key: %w", team, err)
	}
	return parsePrivate(data, path, team)
}

// parsePrivate decodes a private key PEM; path names it in errors.
func parsePrivate(data []byte, path, team string) (signature.SignerVerifier, error) {
	password := []byte(Password(team))
	encrypted := bytes.Contains(data, []byte("ENCRYPTED"))
	if encrypted && len(password) == 0 {
		return nil, fmt.Errorf("team %s: %s is encrypted: set %s (or %s) to its password", team, path, EnvName(PasswordEnv+"_", team), PasswordEnv)
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(data, cryptoutils.StaticPasswordFunc(password))
	if err != nil {
		if encrypted {
			return nil, fmt.Errorf("team %s: cannot decrypt %s: wrong password in %s/%s, or a damaged key (%v)", team, path, EnvName(PasswordEnv+"_", team), PasswordEnv, err)
		}
		return nil, fmt.Errorf("team %s: %s is not a private key PEM: %w", team, path, err)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("team %s: %s: %w", team, path, err)
	}
	return sv, nil
}

// Password returns team's key password from the environment:
// PLUGSHIP_KEY_PASSWORD_<TEAM>, else PLUGSHIP_KEY_PASSWORD.
func Password(team string) string {
	if p := os.Getenv(EnvName(PasswordEnv+"_", team)); p != "" {
		return p
	}
	return os.Getenv(PasswordEnv)
}

func readPublic(path string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}

// PublicKey is a public key a verifier may accept for a team.
type PublicKey struct {
	PEM         []byte
	ID          string
	Source      string
	Development bool
}

// Describe names the key for output.
func (k *PublicKey) Describe() string { return describe(k.ID, k.Development) }

// Verifier returns a verifier for the key.
func (k *PublicKey) Verifier() (signature.Verifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(k.PEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.Source, err)
	}
	return signature.LoadVerifier(pub, crypto.SHA256)
}

// Expected returns the public key team signs with unless told otherwise:
// the committed key (in teamsDir, the teams folder), else the development
// key under dist if one exists, else nil.
func Expected(teamsDir, dist, team string) (*PublicKey, error) {
	keys, err := PublicKeys(teamsDir, dist, team)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	return &keys[0], nil
}

// PublicKeys returns the keys that may have signed team's plugins: the
// committed <teamsDir>/<team>/cosign.pub (teamsDir is the teams folder,
// teams/ unless plugship.yaml says otherwise) and, if present, the
// development key under dist. A committed key that cannot be read is an
// error.
func PublicKeys(teamsDir, dist, team string) ([]PublicKey, error) {
	_, devPub := DevPaths(dist, team)
	paths := []string{PublicPath(teamsDir, team), devPub}
	// Retired keys (keys:rotate): still in the policy, so that what they
	// signed verifies until their revocation, and a refusal names them.
	retired, err := filepath.Glob(filepath.Join(teamsDir, team, RetiredDir, "*.pub"))
	if err != nil {
		return nil, err
	}
	var keys []PublicKey
	for i, path := range append(paths, retired...) {
		k, err := ReadPublicKey(path)
		if errors.Is(err, fs.ErrNotExist) && i < len(paths) {
			continue
		}
		if err != nil {
			return nil, err
		}
		k.Development = path == devPub
		keys = append(keys, *k)
	}
	return keys, nil
}

// ReadPublicKey reads a public key PEM file.
func ReadPublicKey(path string) (*PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a public key PEM: %w", path, err)
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &PublicKey{PEM: data, ID: id, Source: path}, nil
}

// revoke applies team t's signing.revoked to the policy: each entry must
// name one of the team's keys (by ID prefix) or identities.
func revoke(p *trust.Policy, t *teams.Team) error {
	for _, r := range t.Signing.Revoked {
		rev := &trust.Revocation{At: r.At.UTC(), Reason: r.Reason}
		pt := p.Teams[t.Name]
		found := false
		if pt != nil && r.Key != "" {
			var ids []string
			for i, k := range pt.Keys {
				ids = append(ids, k.ID[:12])
				if strings.HasPrefix(k.ID, strings.ToLower(r.Key)) {
					pt.Keys[i].Revoked, found = rev, true
				}
			}
			if !found {
				return fmt.Errorf("%s: %s.key %s: team %s has no such key (its keys: %s; a retired key's public key must stay in %s/)", t.File, r.Field, r.Key, t.Name, strings.Join(ids, ", "), path.Join(path.Dir(t.File), RetiredDir))
			}
		}
		if pt != nil && r.Identity != "" {
			for i, id := range pt.Identities {
				if id.Subject == r.Identity || id.SubjectRegexp == r.Identity {
					pt.Identities[i].Revoked, found = rev, true
				}
			}
			if !found {
				return fmt.Errorf("%s: %s.identity %s: no identity of team %s has this subject or subject_regexp (keep the identity under signing.identities, revoked)", t.File, r.Field, artifact.Quote(r.Identity), t.Name)
			}
		}
		if pt == nil {
			return fmt.Errorf("%s: %s: team %s has no keys or identities to revoke", t.File, r.Field, t.Name)
		}
	}
	return nil
}

// Policy returns the trust policy for reg: the public keys of every team
// that has one (committed in the registry's folder under root, or a
// development key under dist), and the owner of each of those teams'
// plugins, and the keyless identities each team names; and the index
// signer (addIndexSigner). Plugins of teams without any key or identity
// are left out, so nothing of theirs verifies. When a team or the index
// names identities, the trusted root they are checked against comes with
// them (TrustedRoot).
func Policy(root, dist string, reg *teams.Registry) (*trust.Policy, error) {
	p := trust.New()
	named := false
	teamsDir := filepath.Join(root, filepath.FromSlash(reg.TeamsFolder()))
	for _, t := range reg.Teams {
		pubs, err := PublicKeys(teamsDir, dist, t.Name)
		if err != nil {
			return nil, err
		}
		for _, k := range pubs {
			if err := p.AddKey(t.Name, k.PEM, k.ID, k.Development); err != nil {
				return nil, fmt.Errorf("%s: %w", k.Source, err)
			}
		}
		for _, id := range t.Signing.Identities {
			if err := p.AddIdentity(t.Name, id); err != nil {
				return nil, fmt.Errorf("%s: %w", t.File, err)
			}
			named = true
		}
		if len(pubs) == 0 && len(t.Signing.Identities) == 0 {
			continue
		}
		if err := revoke(p, t); err != nil {
			return nil, err
		}
		for _, pl := range t.Plugins {
			p.Plugins[pl.Name] = t.Name
		}
	}
	repo, err := config.Load(root)
	if err != nil {
		return nil, err
	}
	if err := addIndexSigner(context.Background(), p, root, dist, repo.IndexIdentities); err != nil {
		return nil, err
	}
	if named || len(repo.IndexIdentities) > 0 {
		data, err := TrustedRoot(repo)
		if err != nil {
			return nil, err
		}
		if err := p.SetSigstoreRoot(data); err != nil {
			return nil, err
		}
	}
	if err := keyless.Enable(p); err != nil {
		return nil, err
	}
	return p, nil
}

// TrustedRoot returns Sigstore's trusted root JSON for the repository:
// the file sigstore.trusted_root of plugship.yaml names, or, when it names
// none, the public-good instance's, fetched through Sigstore's TUF
// repository.
func TrustedRoot(repo *config.Config) ([]byte, error) {
	if repo.TrustedRoot != "" {
		data, err := os.ReadFile(repo.Path(repo.TrustedRoot))
		if err != nil {
			return nil, fmt.Errorf("sigstore.trusted_root of %s: %w", config.File, err)
		}
		if _, err := sgroot.NewTrustedRootFromJSON(data); err != nil {
			return nil, fmt.Errorf("sigstore.trusted_root %s: not a Sigstore trusted root: %w", repo.TrustedRoot, err)
		}
		return data, nil
	}
	tr, err := sgroot.FetchTrustedRoot()
	if err != nil {
		return nil, fmt.Errorf("fetching Sigstore's public-good trusted root through TUF: %w (offline, or a private Sigstore: set sigstore.trusted_root in %s to its trusted root JSON)", err, config.File)
	}
	return tr.MarshalJSON()
}
