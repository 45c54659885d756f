package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/oci"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/progress"
)

// ChannelDir is the local channel, relative to dist/.
const ChannelDir = artifact.ChannelDir

// Options say what to publish where.
type Options struct {
	Root   string // module root; default "."
	Dist   string // default <Root>/dist (folders.dist of plugship.yaml)
	DryRun bool   // print the plan, call nothing
	// Store overrides the store chosen from the environment.
	Store Store
	// Getenv reads the environment; default os.Getenv.
	Getenv func(string) string
	// RetryBase is the first backoff of GitHub calls; default 1s.
	RetryBase time.Duration
	// Repo is the repository configuration; default read from
	// <Root>/plugship.yaml.
	Repo *config.Config
	// Now is the clock the index statement's expiry is reckoned by;
	// default time.Now.
	Now func() time.Time
}

// withDefaults fills in the defaults, reading plugship.yaml unless Repo is
// set; a configuration with problems is an error listing them.
func (o Options) withDefaults() (Options, error) {
	var err error
	if o.Repo, o.Root, o.Dist, err = config.Resolve(o.Repo, o.Root, o.Dist); err != nil {
		return o, err
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Main publishes every approved plugin version and updates index.json. It
// reports each version on out, publishes what it can, and returns an
// error naming every version it refused or could not publish. With
// opts.DryRun it only reports: it calls no store and returns nil even when
// it refused versions (they are listed as REFUSED on out).
func Main(ctx context.Context, opts Options, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	start := time.Now()
	store, err := opts.store()
	if err != nil {
		return err
	}
	versions, err := Plan(opts)
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		return fmt.Errorf("nothing to publish in %s: run go run mage.go all first", filepath.Join(opts.Dist, "plugins"))
	}
	verb := "publishing"
	if opts.DryRun {
		verb = "dry run: would publish"
	}
	fmt.Fprintf(out, "%s %d plugin versions to %s\n", verb, len(versions), store.Describe())
	var failed []string
	var entries []artifact.Entry
	counts := map[string]int{}
	for _, v := range versions {
		if err := ctx.Err(); err != nil {
			return err
		}
		if v.Err != nil {
			fmt.Fprintf(out, "  %-10s %s\n      %v\n", "REFUSED", v.label(), v.Err)
			failed = append(failed, v.label())
			counts["refused"]++
			continue
		}
		if opts.DryRun {
			var names []string
			for _, a := range v.Assets {
				names = append(names, a.Name)
			}
			fmt.Fprintf(out, "  %-10s %s  tag %s, assets %s\n", "would", v.ID(), v.Tag, strings.Join(names, ", "))
			continue
		}
		locs, changed, err := store.Release(ctx, v)
		switch {
		case err != nil:
			fmt.Fprintf(out, "  %-10s %s\n      %v\n", "FAILED", v.ID(), err)
			failed = append(failed, v.ID())
			counts["failed"]++
		case changed && v.Resigned:
			fmt.Fprintf(out, "  %-10s %s  %s: its signatures replaced by this build's (the team's key changed)\n", "re-signed", v.ID(), v.where())
			counts["re-signed"]++
		case changed:
			fmt.Fprintf(out, "  %-10s %s  %s\n", "published", v.ID(), v.where())
			counts["published"]++
		default:
			if progress.Verbose() {
				fmt.Fprintf(out, "  %-10s %s  %s\n", "unchanged", v.ID(), v.where())
			}
			counts["unchanged"]++
		}
		if err == nil {
			entries = append(entries, entry(v, locs, opts.Repo.Contract))
		}
	}
	if opts.DryRun {
		return nil
	}
	ix, _, indexErr := updateIndex(ctx, store, entries, nil)
	if indexErr == nil && len(failed) == 0 {
		indexErr = updateMatrix(ctx, store, filepath.Join(opts.Dist, matrix.Dir, matrix.JSONFile))
	}
	var signed signedIndex
	if indexErr == nil {
		signed, indexErr = signIndex(ctx, opts, store, ix)
	}
	where := indexLocation(ctx, store)
	resigned := ""
	if n := counts["re-signed"]; n > 0 {
		resigned = fmt.Sprintf("%d re-signed, ", n)
	}
	fmt.Fprintf(out, "%d published, %s%d unchanged, %d refused, %d failed, of %d plugin versions in %.1fs\n  index %s\n",
		counts["published"], resigned, counts["unchanged"], counts["refused"], counts["failed"], len(versions), time.Since(start).Seconds(), where)
	if signed.By != "" {
		fmt.Fprintf(out, "  %s\n", signed.line())
	}
	var errs []error
	if len(failed) > 0 {
		errs = append(errs, fmt.Errorf("%d plugin versions not published: %s", len(failed), strings.Join(failed, ", ")))
	}
	if indexErr != nil {
		errs = append(errs, fmt.Errorf("updating the index (%s, %s, %s): %w", IndexFile, matrix.JSONFile, artifact.IndexStatementFile, indexErr))
	}
	return errors.Join(errs...)
}

// RegistryEnv names an OCI registry repository to publish to,
// oci://<registry>/<repository>; it overrides publish.registry of
// plugship.yaml.
const RegistryEnv = "PLUGSHIP_REGISTRY"

// store is opts.Store, else the OCI registry of PLUGSHIP_REGISTRY or
// plugship.yaml's publish.registry, else GitHub when the environment says
// so, else the local channel.
func (o Options) store() (Store, error) {
	if o.Store != nil {
		return o.Store, nil
	}
	if ref := cmp.Or(o.Getenv(RegistryEnv), o.Repo.Registry); ref != "" {
		reg, err := NewRegistry(ref, o.Getenv, oci.Loopback(ref))
		if err != nil {
			return nil, err
		}
		reg.Contract = o.Repo.Contract
		return reg, nil
	}
	gh, err := GitHubFromEnv(o.Getenv)
	if err != nil {
		return nil, err
	}
	if gh != nil {
		gh.RetryBase = o.RetryBase
		return gh, nil
	}
	ch := &Channel{Dir: filepath.Join(o.Dist, ChannelDir)}
	if rel, err := filepath.Rel(o.Root, ch.Dir); err == nil && filepath.IsLocal(rel) {
		ch.Shown = rel
	}
	return ch, nil
}

// where names the release that holds v: its tag, or its follow-up's.
func (v *Version) where() string {
	if v.Release == "" || v.Release == v.Tag {
		return v.Tag
	}
	return fmt.Sprintf("%s (follow-up: release %s is immutable)", v.Release, v.Tag)
}

func (v *Version) label() string {
	if v.Meta.Team == "" {
		return v.Meta.File
	}
	return v.ID()
}

// updateIndex merges entries into the store's index.json, then, if edit
// is not nil, lets it change the index (or refuse, with its error as it
// is), and writes the index if it changed. It returns the index and
// whether it wrote it.
func updateIndex(ctx context.Context, store Store, entries []artifact.Entry, edit func(*artifact.Index) error) (*artifact.Index, bool, error) {
	data, err := store.ReadIndex(ctx, IndexFile)
	if err != nil {
		return nil, false, fmt.Errorf("reading the index of %s: %w", store.Describe(), err)
	}
	ix, err := artifact.ParseIndex(data)
	if err != nil {
		return nil, false, fmt.Errorf("reading the index of %s: %w", store.Describe(), err)
	}
	for _, e := range entries {
		ix.Put(e)
	}
	if edit != nil {
		if err := edit(ix); err != nil {
			return nil, false, err
		}
	}
	out, err := ix.Marshal()
	if err != nil || string(out) == string(data) {
		return ix, false, err
	}
	if err := store.WriteIndex(ctx, IndexFile, out); err != nil {
		return nil, false, fmt.Errorf("writing the index of %s: %w", store.Describe(), err)
	}
	return ix, true, nil
}

// indexLocation says where hosts fetch the store's index.json from.
func indexLocation(ctx context.Context, store Store) string {
	if l, ok := store.(interface{ IndexLocation(context.Context) string }); ok {
		return l.IndexLocation(ctx)
	}
	return IndexFile
}

// updateMatrix puts the matrix that approved this publish beside
// index.json, where the next matrix run compares itself with it (see
// compat.Options.Base): "what changed since the last release".
func updateMatrix(ctx context.Context, store Store, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return putIndexFile(ctx, store, matrix.JSONFile, data)
}

// entry describes a published version for the index.
func entry(v *Version, all map[string]string, contract string) artifact.Entry {
	e := v.Meta.Entry(contract)
	e.Tag = cmp.Or(v.Release, v.Tag)
	if v.Hosts != nil {
		e.Hosts = v.Hosts
	}
	for _, a := range v.Assets {
		if loc, ok := all[a.Name]; ok {
			e.Assets[a.Name] = loc
		}
	}
	return e
}

// FetchMatrix copies the matrix of the last publish (the matrix.json
// beside index.json, in the channel or the GitHub index release) to
// <Dist>/compat/published.json, for the matrix step to report what changed
// since, and index.json to <Dist>/compat/published-index.json, for it to
// mark the versions that are yanked; when nothing was published yet it
// removes those files.
func FetchMatrix(ctx context.Context, opts Options, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	store, err := opts.store()
	if err != nil {
		return err
	}
	if _, err := fetchPublished(ctx, store, IndexFile, filepath.Join(opts.Dist, filepath.FromSlash(artifact.PublishedIndexFile))); err != nil {
		return fmt.Errorf("reading the index of the last publish from %s: %w", store.Describe(), err)
	}
	found, err := fetchPublished(ctx, store, matrix.JSONFile, filepath.Join(opts.Dist, filepath.FromSlash(artifact.PublishedMatrixFile)))
	if err != nil {
		return fmt.Errorf("reading the matrix of the last publish from %s: %w", store.Describe(), err)
	}
	if !found {
		fmt.Fprintf(out, "no matrix published yet in %s: nothing to compare with\n", store.Describe())
	}
	return nil
}

// fetchPublished copies the store's file name to file, or removes file
// when the store has none; it reports whether the store had one.
func fetchPublished(ctx context.Context, store Store, name, file string) (bool, error) {
	data, err := store.ReadIndex(ctx, name)
	if err != nil {
		return false, err
	}
	if data == nil {
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return true, err
	}
	_, err = artifact.WriteFileIfChanged(file, data, 0o644)
	return true, err
}
