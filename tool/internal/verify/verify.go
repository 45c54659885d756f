package verify

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/stale"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

// StrictEnv turns on strict mode when set to 1.
const StrictEnv = "PLUGSHIP_STRICT"

// Options say what to verify.
type Options struct {
	Root   string // module root; default "."
	Dist   string // default <Root>/dist (folders.dist of plugship.yaml)
	Strict bool   // refuse development keys
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
	return o, nil
}

// Row is one artifact's line in the table.
type Row struct {
	File   string // relative to dist
	Team   string
	Key    string // short key ID, "(dev)" for development keys
	Err    error  // nil when it verified
	Checks string // what was checked
}

// Main verifies every plugin file under dist/plugins, prints the table to
// out and returns an error if any failed.
func Main(ctx context.Context, opts Options, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	reg, loadErr := teams.LoadDirs(opts.Root, opts.Repo.Teams, opts.Repo.Sources)
	if reg == nil {
		return loadErr
	}
	policy, err := keys.Policy(opts.Root, opts.Dist, reg)
	if err != nil {
		return err
	}
	policy.Strict = opts.Strict
	files, err := artifact.PluginFiles(opts.Dist)
	if err != nil {
		return err
	}
	// Files no manifest claims are skipped: stale ones until the build
	// moves them aside, those of a team whose manifest has problems until
	// it is fixed (the registry error below names it).
	files, unclaimed := stale.New(reg, loadErr).Split(opts.Dist, files)
	if len(files) == 0 && len(unclaimed) == 0 {
		return fmt.Errorf("nothing to verify in %s: run go run mage.go build first", filepath.Join(opts.Dist, artifact.PluginsDir))
	}
	var rows []Row
	failed := 0
	for _, f := range files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := Check(policy, f)
		r.File, _ = filepath.Rel(opts.Dist, f)
		if r.Err != nil {
			failed++
		}
		rows = append(rows, r)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ARTIFACT\tTEAM\tKEY\tRESULT")
	for _, r := range rows {
		result := "ok (" + r.Checks + ")"
		if r.Err != nil {
			result = "FAILED: " + r.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.File, r.Team, r.Key, result)
	}
	tw.Flush()
	stale.Report(out, unclaimed)
	mode := "development keys accepted"
	if opts.Strict {
		mode = "strict: development keys refused"
	}
	fmt.Fprintf(out, "%d of %d artifacts verified (%s)\n", len(rows)-failed, len(rows), mode)
	var errs []error
	if failed > 0 {
		errs = append(errs, fmt.Errorf("%d of %d artifacts failed verification", failed, len(rows)))
	}
	if loadErr != nil {
		errs = append(errs, fmt.Errorf("team registry: %w", loadErr))
	}
	return errors.Join(errs...)
}

// Check verifies one plugin file's signature, bundle and provenance.
func Check(policy *trust.Policy, file string) Row {
	r := Row{Team: "?", Key: "-"}
	if n, err := artifact.ParseName(filepath.Base(file)); err == nil {
		if t, ok := policy.Plugins[n.Plugin]; ok {
			r.Team = t
		}
	}
	verdict, err := policy.Check(file)
	if err != nil {
		r.Err = err
		return r
	}
	sum, _, err := artifact.HashFile(file)
	if err != nil {
		r.Err = err
		return r
	}
	if verdict.KeyID == "" { // keyless: the bundle was the signature
		r.Key = "keyless " + verdict.Signer
		prov, err := trust.ReadBundle(file + attest.ProvenanceSuffix)
		if err != nil {
			r.Err = fmt.Errorf("provenance: %w", err)
			return r
		}
		if _, err := policy.CheckKeylessProvenance(prov, filepath.Base(file), sum); err != nil {
			r.Err = err
			return r
		}
		r.Checks = "keyless bundle (certificate, transparency log, identity), provenance"
		return r
	}
	r.Key = verdict.KeyID[:12]
	if verdict.Development {
		r.Key += " (dev)"
	}
	v := policy.Verifier(verdict.KeyID)
	bundle, err := trust.ReadBundle(file + attest.BundleSuffix) // at most its size limit
	if errors.Is(err, trust.ErrUnsigned) {
		err = fmt.Errorf("no bundle %s; sign the file again with go run mage.go sign", filepath.Base(file)+attest.BundleSuffix)
	}
	if err != nil {
		r.Err = fmt.Errorf("bundle: %w", err)
		return r
	}
	digest, bsig, _, err := attest.ParseBundle(bundle)
	if err != nil {
		r.Err = fmt.Errorf("bundle %s: %w", filepath.Base(file)+attest.BundleSuffix, err)
		return r
	}
	if hex.EncodeToString(digest) != sum {
		r.Err = fmt.Errorf("bundle digest %x is not the file's sha256 %s", digest, sum)
		return r
	}
	if err := trust.VerifyFile(v, bsig, file); err != nil {
		r.Err = fmt.Errorf("bundle signature does not verify: %w", err)
		return r
	}
	envelope, err := attest.ReadProvenance(file + attest.ProvenanceSuffix)
	if err != nil {
		r.Err = err
		return r
	}
	if err := trust.VerifyProvenance(v, envelope, filepath.Base(file), sum); err != nil {
		r.Err = err
		return r
	}
	r.Checks = "signature, bundle, provenance"
	return r
}
