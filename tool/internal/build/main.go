package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/teams"
)

// Main is what mage build runs: load the registry and the host profiles,
// prepare each profile (toolchain, tree), plan the selected plugins once
// per distinct target, build them, and print progress to out. Manifest
// and profile problems are printed first; everything else is still built.
// The error is non-nil if anything was wrong.
func Main(ctx context.Context, sel Selection, opts Options, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	reg, loadErr := teams.LoadDirs(opts.Root, opts.Repo.Teams, opts.Repo.Sources)
	problems := loadErr
	loadErr = teams.Report(out, loadErr, "these plugins are not built")
	moveStale(out, opts.Root, opts.Dist, reg, problems, time.Now())
	ps := opts.Profiles
	if ps == nil {
		var err error
		if ps, err = profile.Load(opts.Config); err != nil {
			return errors.Join(err, loadErr)
		}
	}
	targets, profileErr := Targets(ctx, ps, opts)
	if profileErr != nil {
		fmt.Fprintf(out, "PROBLEMS in the host profiles; their plugins are not built:\n  %s\n", strings.ReplaceAll(profileErr.Error(), "\n", "\n  "))
	}
	if len(targets) == 0 {
		return errors.Join(profileErr, loadErr)
	}
	actions, err := Plan(reg, sel, targets, opts)
	if err != nil {
		return errors.Join(err, profileErr, loadErr)
	}
	if opts.Shard.Count > 1 {
		all := len(actions)
		actions = ShardActions(actions, opts.Shard)
		fmt.Fprintf(out, "shard %d/%d: %d of %d plugin builds\n", opts.Shard.Index, opts.Shard.Count, len(actions), all)
	}
	if err := Keys(ctx, actions, opts); err != nil {
		// Not an error of the build: go build runs and says what is wrong.
		fmt.Fprintf(out, "no action keys (go build runs for each plugin, finding out itself what changed):\n  %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	fmt.Fprintf(out, "building %d plugin builds (%d per target), %d at a time:\n", len(actions), len(actions)/len(targets), opts.Jobs)
	for _, t := range targets {
		fmt.Fprint(out, progress.Wrapped(fmt.Sprintf("  target %-12s %s (profiles %s)", t.Name(), t.Env.Describe(), strings.Join(t.Profiles, ", ")), "      "))
	}
	s := Run(ctx, actions, opts, out)
	if profileErr == nil {
		reportStale(out, opts.Root, s)
	}
	return errors.Join(s.Err(), profileErr, loadErr)
}

// reportStale names the plugin files, beside the ones this run built, whose
// ABI no profile built in this run: left by a profile since removed or by
// an older Go. They are kept (nothing good is deleted), but they are still
// signed, tried and published; mage clean removes them.
func reportStale(out io.Writer, root string, s Summary) {
	abis := map[string]bool{}
	dirs := map[string]bool{}
	for _, r := range s.Results {
		if r.ABI != "" {
			abis[r.ABI] = true
		}
		dirs[r.Action.OutDir] = true
	}
	var stale []string
	for dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*"+artifact.PluginExt))
		for _, f := range files {
			if n, err := artifact.ParseName(filepath.Base(f)); err == nil && !abis[n.ABI] {
				rel, _ := filepath.Rel(root, f)
				stale = append(stale, rel)
			}
		}
	}
	if len(stale) == 0 {
		return
	}
	sort.Strings(stale)
	fmt.Fprintf(out, "%d plugin files were built for an ABI no profile builds now (a profile removed, or an older Go); kept, and still signed, tried and published: remove them, or run go run mage.go clean\n  %s\n", len(stale), strings.Join(stale, "\n  "))
}
