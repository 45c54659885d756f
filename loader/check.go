package loader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// DefaultCheckFile is the name a candidate takes in the folder of a host
// check (Options.CheckFile): {plugin}.so, the name hosts such as Nakama
// give a module.
const DefaultCheckFile = "{plugin}.so"

// maxCheckLines is how many of a check's last lines of output its reason
// keeps.
const maxCheckLines = 3

// checkPlaceholders are the words a check command and CheckFile may hold.
var checkPlaceholders = []string{"{host}", "{dir}", "{file}", "{plugin}", "{version}"}

// CheckPlaceholders returns the placeholders a check command may hold,
// for messages.
func CheckPlaceholders() []string { return append([]string(nil), checkPlaceholders...) }

// hostCheck runs a host's own command for trying plugins (Options.Check)
// on a fresh folder that holds only file, under the name the host expects
// (Options.CheckFile): the check's exit status decides. The command runs
// in a session of its own, killed at the timeout, and nothing it started
// outlives it (see containProbe). It returns nil when the check passed,
// else the outcome (TimedOut, or CheckFailed) and the host's last lines
// of output as the reason.
func hostCheck(ctx context.Context, opts Options, c Candidate, plugin string) (Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.ProbeTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "plugship-check-")
	if err != nil {
		return CheckFailed, fmt.Errorf("creating the check's folder: %w", err)
	}
	defer os.RemoveAll(dir)
	name := expandCheck(opts.CheckFile, opts.Host, dir, "", plugin, c.Version)
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return CheckFailed, fmt.Errorf("the check's file name %q (Options.CheckFile %q) is not a file name", name, opts.CheckFile)
	}
	placed := filepath.Join(dir, name)
	if err := artifact.CopyFileAtomic(placed, c.File, 0o755); err != nil {
		return CheckFailed, fmt.Errorf("placing the candidate in the check's folder: %w", err)
	}
	args := make([]string, len(opts.Check))
	for i, a := range opts.Check {
		args[i] = expandCheck(a, opts.Host, dir, placed, plugin, c.Version)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...) // in this process's folder: a check may be a script of the repository's
	cmd.Env = os.Environ()
	output := &tailBuffer{max: maxProbeOutput}
	cmd.Stdout, cmd.Stderr = output, output
	cmd.WaitDelay = time.Second
	wait := containProbe(cmd)
	if err := cmd.Start(); err != nil {
		return CheckFailed, fmt.Errorf("starting the host's check %s: %w", strings.Join(args, " "), err)
	}
	waitErr := wait()
	tail := lastLines(output.String(), maxCheckLines)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return TimedOut, fmt.Errorf("the host's check gave no answer within %v and was killed%s", opts.ProbeTimeout, colon(tail))
	case ctx.Err() != nil:
		return CheckFailed, ctx.Err()
	case waitErr == nil:
		return "", nil
	}
	status := waitErr.Error()
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		status = ee.String()
	}
	return CheckFailed, fmt.Errorf("the host's check (%s) failed, %s%s", strings.Join(shortArgs(args, dir), " "), status, colon(tail))
}

// expandCheck replaces the placeholders of one check argument.
func expandCheck(s, host, dir, file, plugin, version string) string {
	return strings.NewReplacer("{host}", host, "{dir}", dir, "{file}", file, "{plugin}", plugin, "{version}", version).Replace(s)
}

// shortArgs writes the check's folder as {dir} in messages: it is gone
// when they are read.
func shortArgs(args []string, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, dir, "{dir}")
	}
	if len(out) > 0 {
		out[0] = filepath.Base(out[0])
	}
	return out
}

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}
