package build

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/plugship/plugship/teams"
)

// Main is what `mage build` runs: load the registry, plan the selected
// plugins for the go command's platform, build them, and print progress to
// out. Manifest problems are printed first; the valid plugins are still
// built. The error is non-nil if anything was wrong.
func Main(ctx context.Context, sel Selection, opts Options, out io.Writer) error {
	opts = opts.withDefaults()
	reg, loadErr := teams.Load(opts.Root)
	loadErr = teams.Report(out, loadErr, "these plugins are not built")
	if opts.GOOS == "" || opts.GOARCH == "" {
		goos, goarch, err := PlatformOf(ctx, opts.Go)
		if err != nil {
			return err
		}
		opts.GOOS, opts.GOARCH = goos, goarch
	}
	actions, err := Plan(reg, sel, opts)
	if err != nil {
		return errors.Join(err, loadErr)
	}
	fmt.Fprintf(out, "building %d plugin versions for %s/%s, %d at a time\n", len(actions), opts.GOOS, opts.GOARCH, opts.Jobs)
	s := Run(ctx, actions, opts, out)
	return errors.Join(s.Err(), loadErr)
}
