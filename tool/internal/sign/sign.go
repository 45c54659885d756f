package sign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"golang.org/x/sync/errgroup"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/keylesssign"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/stale"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

// TrustFile is the policy the step writes, relative to dist/.
const TrustFile = artifact.TrustFile

// Options say what to sign.
type Options struct {
	Root string // module root; default "."
	Dist string // default <Root>/dist (folders.dist of plugship.yaml)
	Jobs int    // files signed at once; default runtime.NumCPU()
	// Repo is the repository configuration; default read from
	// <Root>/plugship.yaml.
	Repo *config.Config
}

// withDefaults fills in the defaults, reading plugship.yaml unless Repo is
// set; a configuration with problems is an error listing them.
func (o Options) withDefaults() (Options, error) {
	var err error
	if o.Repo, o.Root, o.Dist, err = config.Resolve(o.Repo, o.Root, o.Dist); err != nil {
		return o, err
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	return o, nil
}

// Outcome of signing one file.
type Outcome string

// Outcomes.
const (
	Signed   Outcome = "signed"
	UpToDate Outcome = "up-to-date" // signature, bundle and provenance already verify under the key
	Failed   Outcome = "FAILED"
)

// Result is one file's outcome.
type Result struct {
	File    string // the .so
	Key     string // Signer.Describe
	Outcome Outcome
	Err     error
}

// Main signs every plugin file under dist/plugins and writes dist/trust.json,
// showing progress on out (package progress), printing a line for each file
// it signed or failed to sign (each up-to-date file too when
// progress.Verbose) and a summary. It signs what it can and returns an
// error naming everything it could not.
func Main(ctx context.Context, opts Options, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	start := time.Now()
	reg, loadErr := teams.LoadDirs(opts.Root, opts.Repo.Teams, opts.Repo.Sources)
	if reg == nil {
		return loadErr
	}
	claims := stale.New(reg, loadErr)
	loadErr = teams.Report(out, loadErr, "plugins they affect are not signed")
	owner := map[string]string{} // plugin -> team, from the registry
	for _, p := range reg.Plugins() {
		owner[p.Name] = p.Team
	}
	files, err := artifact.PluginFiles(opts.Dist)
	if err != nil {
		return err
	}
	// Files no manifest claims are skipped: stale ones until the build
	// moves them aside, those of a team whose manifest has problems until
	// it is fixed.
	files, unclaimed := claims.Split(opts.Dist, files)
	if len(files) == 0 && len(unclaimed) == 0 {
		return fmt.Errorf("nothing to sign in %s: run go run mage.go build first", filepath.Join(opts.Dist, artifact.PluginsDir))
	}
	fmt.Fprintf(out, "signing %d plugin files\n", len(files))
	stale.Report(out, unclaimed)
	signers := &signerCache{opts: opts, m: map[string]*signerResult{}, pubs: map[string]expectedKey{}, keyless: keylessTeams(reg)}
	if err := signers.prepareKeyless(ctx, reg, out); err != nil {
		return errors.Join(err, loadErr)
	}
	results := make([]Result, len(files))
	verbose := progress.Verbose()
	bar := progress.New(out, "plugin files", len(files))
	g := new(errgroup.Group)
	g.SetLimit(opts.Jobs)
	for i, file := range files {
		g.Go(func() error {
			r := signFile(ctx, file, opts.Repo.Contract, owner, signers)
			results[i] = r
			if verbose || r.Outcome != UpToDate {
				bar.Line("%s", formatResult(opts.Dist, r))
			}
			bar.Done(1)
			return nil
		})
	}
	g.Wait()
	bar.Finish()

	policyErr := writePolicy(opts, reg)
	var failed []string
	counts := map[Outcome]int{}
	for _, r := range results {
		counts[r.Outcome]++
		if r.Outcome == Failed {
			rel, _ := filepath.Rel(opts.Dist, r.File)
			failed = append(failed, rel)
		}
	}
	fmt.Fprintf(out, "%d signed, %d up to date, %d failed, of %d plugin files in %.1fs; trust policy %s\n",
		counts[Signed], counts[UpToDate], counts[Failed], len(files), time.Since(start).Seconds(), filepath.Join(filepath.Base(opts.Dist), TrustFile))
	if n := devNotice(opts.Dist, results); n != "" {
		fmt.Fprintln(out, n)
	}
	var errs []error
	if len(failed) > 0 {
		errs = append(errs, fmt.Errorf("%d of %d plugin files not signed: %s", len(failed), len(files), strings.Join(failed, ", ")))
	}
	if policyErr != nil {
		errs = append(errs, fmt.Errorf("writing the trust policy: %w", policyErr))
	}
	return errors.Join(append(errs, loadErr)...)
}

// devNotice says once what the files signed with development keys mean,
// or "" when there are none: the per-file lines only name the key.
func devNotice(dist string, results []Result) string {
	n := 0
	var teams []string
	for _, r := range results {
		if r.Outcome == Failed || !strings.HasPrefix(r.Key, "DEVELOPMENT key") {
			continue
		}
		n++
		if rel, err := filepath.Rel(filepath.Join(dist, artifact.PluginsDir), r.File); err == nil {
			if team, _, ok := strings.Cut(filepath.ToSlash(rel), "/"); ok && !slices.Contains(teams, team) {
				teams = append(teams, team)
			}
		}
	}
	if n == 0 {
		return ""
	}
	slices.Sort(teams)
	files := "1 file"
	if n > 1 {
		files = fmt.Sprintf("%d files", n)
	}
	who := "team " + strings.Join(teams, ", ")
	if len(teams) > 1 {
		who = "teams " + strings.Join(teams, ", ")
	}
	return fmt.Sprintf("development keys (%s) signed %s of %s:\n"+
		"  fine for trying things here; strict verification (PLUGSHIP_STRICT=1) and the release refuse them.\n"+
		"  A team's own key: go run mage.go keys:generate <team>",
		filepath.Join(filepath.Base(dist), "keys", "dev"), files, who)
}

// formatResult is the console line of one file (two for a failure, the
// error indented below); it ends in a newline. A signed file is named by
// its file name, which names its plugin, version and ABI, and the key;
// a failure by its path in dist/.
func formatResult(dist string, r Result) string {
	if r.Outcome == Failed {
		rel, err := filepath.Rel(dist, r.File)
		if err != nil {
			rel = r.File
		}
		return fmt.Sprintf("  %-10s %s\n      %v\n", r.Outcome, rel, r.Err)
	}
	return progress.Fit(fmt.Sprintf("  %-10s %s", r.Outcome, filepath.Base(r.File)), r.Key)
}

// signFile signs one file after checking its metadata and owner.
func signFile(ctx context.Context, file, contract string, owner map[string]string, signers *signerCache) Result {
	r := Result{File: file, Outcome: Failed}
	// The files' identities before anything is read: a state records
	// them with what the check found, so that a file changed during the
	// check is checked again next time.
	ids, identified := identify(file)
	m, err := artifact.ReadMetadata(file + artifact.MetadataSuffix)
	if err != nil {
		r.Err = fmt.Errorf("build metadata: %w (rebuild it with go run mage.go build)", err)
		return r
	}
	if m.File != filepath.Base(file) {
		r.Err = fmt.Errorf("its metadata describes %s", m.File)
		return r
	}
	if team, ok := owner[m.Plugin]; !ok {
		r.Err = fmt.Errorf("plugin %s is not listed by any team in %s/: only registered plugins are signed", m.Plugin, signers.opts.Repo.Teams)
		return r
	} else if team != m.Team {
		r.Err = fmt.Errorf("metadata says team %s, but plugin %s belongs to team %s (%s/%s/%s); refused", m.Team, m.Plugin, team, signers.opts.Repo.Teams, team, teams.ManifestName)
		return r
	}
	// Nothing changed since a full check found the file signed under the
	// key or identities the team signs with now: up to date, unread.
	statePath := ""
	if identified {
		statePath = signers.statePath(file)
	}
	var st *signState
	if statePath != "" {
		st = readSignState(statePath)
	}
	if st != nil {
		keyless := signers.keyless[m.Team]
		if keyless && st.holds(ids, contract, signers.keylessAnchor(m.Team)) {
			r.Key, r.Outcome = "its keyless signature", UpToDate
			return r
		}
		// A keyless team's file signed with a key is signed again when
		// there is a keyless signer, as below.
		if !keyless || signers.ks == nil {
			if pub, _ := signers.expected(m.Team); pub != nil && st.holds(ids, contract, keyAnchor(pub)) {
				r.Key, r.Outcome = pub.Describe(), UpToDate
				return r
			}
		}
	}
	fullChecks.Add(1)
	// Only Go plugins are signed: a signature vouches for code.
	if fp, err := fingerprint.Read(file); err != nil {
		r.Err = fmt.Errorf("not a Go plugin, refusing to sign it: %w", err)
		return r
	} else if mode := fp.Settings["-buildmode"]; mode != "plugin" {
		r.Err = fmt.Errorf("built with -buildmode=%s, not a plugin; refusing to sign it", mode)
		return r
	} else if err := fp.CheckArch(m.GOARCH); err != nil {
		r.Err = fmt.Errorf("%w; refusing to sign it", err)
		return r
	} else if abi, err := fp.ABI(contract); err != nil {
		r.Err = fmt.Errorf("%w; refusing to sign it", err)
		return r
	} else if abi != artifact.BaseABI(m.ABI) {
		r.Err = fmt.Errorf("the file name says ABI %s but the file's build gives %s: renamed, or not built by plugship; refusing to sign it", m.ABI, abi)
		return r
	}
	if signers.keyless[m.Team] {
		if upToDateKeyless(signers.policy, file, m) {
			recordState(statePath, ids, contract, signers.keylessAnchor(m.Team))
			r.Key, r.Outcome = "its keyless signature", UpToDate
			return r
		}
		if ks := signers.ks; ks != nil {
			if st != nil {
				removeState(statePath)
			}
			r.Key = ks.Describe()
			if err := ks.sign(ctx, file, m); err != nil {
				r.Err = err
				return r
			}
			r.Outcome = Signed
			return r
		}
		// Not in the release workflow: a development key, as for a team
		// without keys (prepareKeyless said so once).
	}
	// Checking needs only the public key the team signs with; the private
	// key (slow to decrypt, or remote) is loaded only to sign.
	if pub, v := signers.expected(m.Team); pub != nil && upToDate(file, m, v) {
		recordState(statePath, ids, contract, keyAnchor(pub))
		r.Key, r.Outcome = pub.Describe(), UpToDate
		return r
	}
	// Signed again below: the next run checks what it wrote in full, and
	// records that.
	if st != nil {
		removeState(statePath)
	}
	s, err := signers.get(ctx, m.Team)
	if err != nil {
		r.Err = err
		return r
	}
	r.Key = s.Describe()
	if err := sign(file, m, s); err != nil {
		r.Err = err
		return r
	}
	r.Outcome = Signed
	return r
}

// sign writes the signature, bundle and provenance of file, streaming it
// once through sha256 and signing the digest.
func sign(file string, m *artifact.Metadata, s *keys.Signer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	// One pass over the file: the digest, which is then signed as such
	// (the signature is the same as over the bytes, ECDSA with SHA-256).
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	sum := h.Sum(nil)
	if hex.EncodeToString(sum) != m.SHA256 {
		return fmt.Errorf("the file's sha256 %x differs from its build metadata's %s: it changed after the build; rebuild it", sum, m.SHA256)
	}
	sig, err := s.SignMessage(bytes.NewReader(nil), options.WithDigest(sum))
	if err != nil {
		return fmt.Errorf("signing with %s: %w", s.Source, err)
	}
	bundle, err := attest.Bundle(sum, sig, s.KeyID)
	if err != nil {
		return err
	}
	statement, err := attest.Statement(m)
	if err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	envelope, err := attest.Envelope(s, statement)
	if err != nil {
		return fmt.Errorf("signing the provenance: %w", err)
	}
	// The signature goes last: a reader that finds it finds the rest.
	for _, w := range []struct {
		suffix string
		data   []byte
	}{
		{attest.ProvenanceSuffix, envelope},
		{attest.BundleSuffix, bundle},
		{trust.SignatureSuffix, []byte(base64.StdEncoding.EncodeToString(sig))},
	} {
		if _, err := artifact.WriteFileIfChanged(file+w.suffix, w.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// upToDate reports whether file's signature, bundle and provenance all
// verify under s and describe the file's current bytes.
func upToDate(file string, m *artifact.Metadata, s signature.Verifier) bool {
	sig, err := trust.ReadSignature(file + trust.SignatureSuffix)
	if err != nil {
		return false
	}
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	if s.VerifySignature(bytes.NewReader(sig), io.TeeReader(f, h)) != nil || hex.EncodeToString(h.Sum(nil)) != m.SHA256 {
		return false
	}
	bundle, err := trust.ReadBundle(file + attest.BundleSuffix) // bounded: one too large is not up to date
	if err != nil {
		return false
	}
	digest, bsig, _, err := attest.ParseBundle(bundle)
	if err != nil || !bytes.Equal(bsig, sig) || hex.EncodeToString(digest) != m.SHA256 {
		return false
	}
	envelope, err := attest.ReadProvenance(file + attest.ProvenanceSuffix)
	if err != nil {
		return false
	}
	pub, err := s.PublicKey()
	if err != nil {
		return false
	}
	v, err := trust.NewVerifier(pub)
	return err == nil && trust.VerifyProvenance(v, envelope, m.File, m.SHA256) == nil
}

// signerCache loads each team's signer, and the public key its files are
// checked against, once.
type signerCache struct {
	opts Options
	mu   sync.Mutex
	m    map[string]*signerResult
	pubs map[string]expectedKey // team -> the public key it signs with, once found
	// Keyless signing: the teams that sign keylessly, the signer (nil
	// without an OIDC token), the trusted root, and the policy of the
	// teams' identities that tells what is already signed.
	keyless map[string]bool
	ks      *keylessSigner
	policy  *trust.Policy
	anchors map[string]string // team -> keylessAnchor, once computed
}

// statePath is the sign state file of file (see signState).
func (c *signerCache) statePath(file string) string {
	return statePath(c.opts.Dist, file)
}

// keylessAnchor is keylessAnchor for team under the policy, computed once.
func (c *signerCache) keylessAnchor(team string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.anchors[team]
	if !ok {
		a = keylessAnchor(c.policy, team)
		if c.anchors == nil {
			c.anchors = map[string]string{}
		}
		c.anchors[team] = a
	}
	return a
}

// prepareKeyless reads the trusted root when a team names keyless
// identities, and gets the OIDC token when a team signs keylessly.
func (c *signerCache) prepareKeyless(ctx context.Context, reg *teams.Registry, out io.Writer) error {
	named := false
	for _, t := range reg.Teams {
		named = named || len(t.Signing.Identities) > 0
	}
	if !named {
		return nil
	}
	var err error
	if c.policy, err = keys.Policy(c.opts.Root, c.opts.Dist, reg); err != nil {
		return err
	}
	if len(c.keyless) == 0 {
		return nil
	}
	token, err := keylesssign.IDToken(ctx, &http.Client{Timeout: time.Minute})
	if err != nil {
		return err
	}
	var names []string
	for t := range c.keyless {
		names = append(names, t)
	}
	sort.Strings(names)
	if token == "" {
		who := "teams " + strings.Join(names, ", ") + " sign keylessly in their release workflow"
		if len(names) == 1 {
			who = "team " + names[0] + " signs keylessly in its release workflow"
		}
		fmt.Fprintf(out, "%s; there is no OIDC token here (%s, or GitHub Actions with permissions id-token: write): files not yet signed keylessly get a development key\n", who, keylesssign.IDTokenEnv)
		return nil
	}
	c.ks = &keylessSigner{&keylesssign.Signer{Fulcio: c.opts.Repo.Fulcio, Rekor: c.opts.Repo.Rekor, Token: token}}
	return nil
}

type expectedKey struct {
	pub *keys.PublicKey
	v   signature.Verifier
}

type signerResult struct {
	once sync.Once
	s    *keys.Signer
	err  error
}

func (c *signerCache) get(ctx context.Context, team string) (*keys.Signer, error) {
	c.mu.Lock()
	r := c.m[team]
	if r == nil {
		r = &signerResult{}
		c.m[team] = r
	}
	c.mu.Unlock()
	r.once.Do(func() { r.s, r.err = keys.SignerFor(ctx, c.opts.Root, c.opts.Repo.TeamsDir(), c.opts.Dist, team) })
	return r.s, r.err
}

// expected returns the public key team signs with (keys.Expected) and its
// verifier, or nil if it has none that can be used. A key found is kept;
// none found is looked for again next time, since get may meanwhile have
// created a development key.
func (c *signerCache) expected(team string) (*keys.PublicKey, signature.Verifier) {
	c.mu.Lock()
	k, ok := c.pubs[team]
	c.mu.Unlock()
	if ok {
		return k.pub, k.v
	}
	pub, err := keys.Expected(c.opts.Repo.TeamsDir(), c.opts.Dist, team)
	if err != nil || pub == nil {
		return nil, nil
	}
	v, err := pub.Verifier()
	if err != nil {
		return nil, nil
	}
	c.mu.Lock()
	c.pubs[team] = expectedKey{pub, v}
	c.mu.Unlock()
	return pub, v
}

// writePolicy writes dist/trust.json, see keys.Policy.
func writePolicy(opts Options, reg *teams.Registry) error {
	p, err := keys.Policy(opts.Root, opts.Dist, reg)
	if err != nil {
		return err
	}
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	_, err = artifact.WriteFileIfChanged(filepath.Join(opts.Dist, TrustFile), data, 0o644)
	return err
}
