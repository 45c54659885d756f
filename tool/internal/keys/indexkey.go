package keys

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/plugship/plugship/trust"
)

// The index key signs the index statement (index.statement.json) for
// the repository, as a team's key signs the team's files. It is looked up
// like a team's: PLUGSHIP_INDEX_KEY (a path, a PEM or a KMS
// reference), else .keys/index.key, else a development key under
// dist/keys/dev-index/, made on first use. Its public key is committed
// as index.pub at the module root (keys:generateIndex writes both).
const (
	IndexKeyEnv      = "PLUGSHIP_INDEX_KEY"
	IndexPublicName  = "index.pub"
	IndexPrivateName = "index.key" // in .keys/
	IndexDevDir      = "keys/dev-index"
	// IndexPasswordName is the name whose password variables decrypt
	// the index key (Password): PLUGSHIP_KEY_PASSWORD_INDEX, else
	// PLUGSHIP_KEY_PASSWORD.
	IndexPasswordName = "index"
)

func indexKeySource(root, dist string) keySource {
	dev := filepath.Join(dist, filepath.FromSlash(IndexDevDir))
	return keySource{
		who: "the index key", team: IndexPasswordName, env: IndexKeyEnv,
		private: filepath.Join(root, PrivateDir, IndexPrivateName), public: filepath.Join(root, IndexPublicName),
		devPrivate: filepath.Join(dev, PrivateName), devPublic: filepath.Join(dev, PublicName),
	}
}

// IndexSigner returns the signer of the index statement.
func IndexSigner(ctx context.Context, root, dist string) (*Signer, error) {
	return signerFrom(ctx, indexKeySource(root, dist))
}

// GenerateIndexKey creates the index key pair: index.pub at the module
// root, the private key encrypted with password in .keys/index.key.
func GenerateIndexKey(root string, password []byte) (pub, priv string, err error) {
	ks := indexKeySource(root, "")
	if len(password) == 0 {
		return "", "", errors.New("no password: set " + EnvName(PasswordEnv+"_", IndexPasswordName) + " (or " + PasswordEnv + ") to the password that will protect the index key")
	}
	return ks.public, ks.private, generate(ks.public, ks.private, password)
}

// addIndexSigner makes the repository's index key, and the keyless
// identities of plugship.yaml's index.identities, the index signer of p: the committed index.pub
// and the development key if there is one; with no committed key, the
// key IndexSigner finds (the development one is made on first use).
func addIndexSigner(ctx context.Context, p *trust.Policy, root, dist string, identities []trust.Identity) error {
	ks := indexKeySource(root, dist)
	committed, err := ReadPublicKey(ks.public)
	switch {
	case err == nil:
		if err := p.AddIndexKey(committed.PEM, committed.ID, false); err != nil {
			return err
		}
		if dev, err := ReadPublicKey(ks.devPublic); err == nil {
			if err := p.AddIndexKey(dev.PEM, dev.ID, true); err != nil {
				return err
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		s, err := IndexSigner(ctx, root, dist)
		if err != nil {
			return err
		}
		pub, err := s.PublicKey()
		if err != nil {
			return err
		}
		pemData, err := cryptoutils.MarshalPublicKeyToPEM(pub)
		if err != nil {
			return err
		}
		if err := p.AddIndexKey(pemData, s.KeyID, s.Development); err != nil {
			return err
		}
	default:
		return err
	}
	for _, id := range identities {
		if err := p.AddIndexIdentity(id); err != nil {
			return err
		}
	}
	return nil
}
