package keys

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/trust"
)

// The release key signs the index statement (index.statement.json) for
// the repository, as a team's key signs the team's files. It is looked up
// like a team's: PLUGSHIP_RELEASE_KEY (a path, a PEM or a KMS
// reference), else .keys/release.key, else a development key under
// dist/keys/dev-release/, made on first use. Its public key is committed
// as release.pub at the module root (keys:generate release writes both).
const (
	ReleaseKeyEnv      = "PLUGSHIP_RELEASE_KEY"
	ReleasePublicName  = "release.pub"
	ReleasePrivateName = "release.key" // in .keys/
	ReleaseDevDir      = "keys/dev-release"
	// releasePassword is the team name whose password variables decrypt
	// the release key: PLUGSHIP_KEY_PASSWORD_RELEASE, else
	// PLUGSHIP_KEY_PASSWORD.
	releasePassword = "release"
)

func releaseSource(root, dist string) keySource {
	dev := filepath.Join(dist, filepath.FromSlash(ReleaseDevDir))
	return keySource{
		who: "the release key", team: releasePassword, env: ReleaseKeyEnv,
		private: filepath.Join(root, PrivateDir, ReleasePrivateName), public: filepath.Join(root, ReleasePublicName),
		devPrivate: filepath.Join(dev, PrivateName), devPublic: filepath.Join(dev, PublicName),
	}
}

// ReleaseSigner returns the signer of the index statement.
func ReleaseSigner(ctx context.Context, root, dist string) (*Signer, error) {
	return signerFrom(ctx, releaseSource(root, dist))
}

// GenerateRelease creates the release key pair: release.pub at the module
// root, the private key encrypted with password in .keys/release.key.
func GenerateRelease(root string, password []byte) (pub, priv string, err error) {
	ks := releaseSource(root, "")
	if len(password) == 0 {
		return "", "", errors.New("no password: set " + PasswordEnv + "_RELEASE (or " + PasswordEnv + ") to the password that will protect the release key")
	}
	return ks.public, ks.private, generate(ks.public, ks.private, password)
}

// addRelease makes the repository's release key and plugship.yaml's
// index.identities the release signer of p: the committed release.pub
// and the development key if there is one; with no committed key, the
// key ReleaseSigner finds (the development one is made on first use).
func addRelease(ctx context.Context, p *trust.Policy, root, dist string, repo *config.Config) error {
	ks := releaseSource(root, dist)
	committed, err := ReadPublicKey(ks.public)
	switch {
	case err == nil:
		if err := p.AddReleaseKey(committed.PEM, committed.ID, false); err != nil {
			return err
		}
		if dev, err := ReadPublicKey(ks.devPublic); err == nil {
			if err := p.AddReleaseKey(dev.PEM, dev.ID, true); err != nil {
				return err
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		s, err := ReleaseSigner(ctx, root, dist)
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
		if err := p.AddReleaseKey(pemData, s.KeyID, s.Development); err != nil {
			return err
		}
	default:
		return err
	}
	for _, id := range repo.IndexIdentities {
		if err := p.AddReleaseIdentity(id); err != nil {
			return err
		}
	}
	return nil
}
