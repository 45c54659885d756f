package hostcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/profile"
)

// externalProfiles returns the profiles of the repository's hosts file
// that name a host built elsewhere (binary or module).
func externalProfiles(repo *config.Config) ([]profile.Profile, error) {
	ps, err := profile.Load(repo.HostsFile())
	if err != nil {
		return nil, err
	}
	var ext []profile.Profile
	for _, p := range ps {
		if p.Binary != "" || p.Module != "" {
			ext = append(ext, p)
		}
	}
	return ext, nil
}

// resolveHost turns opts.Host into the path of a host executable: a file
// as it is, or the name of a binary or module profile of the hosts file,
// prepared as the build prepares it (a module profile's host built, a
// binary URL downloaded). The second result names the host for reports.
func resolveHost(ctx context.Context, opts Options) (file, label, profileName string, err error) {
	if opts.Host == "" {
		return "", "", "", errors.New("no host: give the path of a host executable, or the name of a profile with binary or module in " + config.DefaultHosts)
	}
	if _, err := os.Stat(opts.Host); err == nil || strings.ContainsAny(opts.Host, `/\`) {
		return opts.Host, opts.Host, "", nil
	}
	repo, err := config.Or(opts.Repo, opts.Root)
	if err != nil {
		return "", "", "", err
	}
	ext, err := externalProfiles(repo)
	if err != nil {
		return "", "", "", err
	}
	var names []string
	for _, p := range ext {
		if p.Name == opts.Host {
			file, label, err := prepare(ctx, repo, p)
			return file, label, p.Name, err
		}
		names = append(names, p.Name)
	}
	return "", "", "", fmt.Errorf("host %s: no such file, and %s has no profile %s with binary or module (it has %s): give the path of a host executable or one of those profiles", opts.Host, repo.Hosts, opts.Host, orNone(names))
}

// prepare returns the host executable of an external profile.
func prepare(ctx context.Context, repo *config.Config, p profile.Profile) (file, label string, err error) {
	env, err := profile.Prepare(ctx, repo.Root, repo.DistDir(), repo.Sources, p)
	if err != nil {
		return "", "", err
	}
	return env.Host.File, "profile " + p.Name + " (" + env.Host.Given + ")", nil
}

// CheckProfiles checks the plugins against the host of every profile with
// binary or module in the hosts file, one report each, and fails if any
// differs. With none, it says how to add one.
func CheckProfiles(ctx context.Context, opts Options, out io.Writer) error {
	repo, err := config.Or(opts.Repo, opts.Root)
	if err != nil {
		return err
	}
	ext, err := externalProfiles(repo)
	if err != nil {
		return err
	}
	if len(ext) == 0 {
		fmt.Fprintf(out, "%s names no host built elsewhere: add a profile with binary: <path or URL> (and sha256:) or module: <path> and version: (see the README, \"Build plugins for a host from another repository\")\n", repo.Hosts)
		return nil
	}
	var failed []string
	for i, p := range ext {
		if i > 0 {
			fmt.Fprintln(out)
		}
		o := opts
		o.Repo, o.Host = repo, p.Name
		if _, err := Check(ctx, o, out); err != nil {
			if !errors.Is(err, ErrMismatch) {
				fmt.Fprintf(out, "profile %s: %v\n", p.Name, err)
			}
			failed = append(failed, p.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d external host profiles differ from the plugins or could not be checked: %s: %w", len(failed), len(ext), strings.Join(failed, ", "), ErrMismatch)
	}
	fmt.Fprintf(out, "\nall %d external host profiles match the plugins\n", len(ext))
	return nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
