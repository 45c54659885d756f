package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/tool/internal/verify"
)

// KeyEnv holds the release's signing key (reference or PEM).
const KeyEnv = "PLUGSHIP_RELEASE_KEY"

// Tag is a parsed release tag.
type Tag struct{ Team, Plugin, Version string }

// ParseTag parses <team>/<plugin>/v<version>, also as refs/tags/....
func ParseTag(s string) (Tag, error) {
	parts := strings.Split(strings.TrimPrefix(s, "refs/tags/"), "/")
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "v") {
		return Tag{}, fmt.Errorf("tag %s: want <team>/<plugin>/v<version>, e.g. payments/fraud/v1.3.0", artifact.Quote(s))
	}
	t := Tag{Team: parts[0], Plugin: parts[1], Version: parts[2][1:]}
	if err := artifact.CheckName(t.Team); err != nil {
		return Tag{}, fmt.Errorf("tag %s: team: %w", artifact.Quote(s), err)
	}
	if err := artifact.CheckName(t.Plugin); err != nil {
		return Tag{}, fmt.Errorf("tag %s: plugin: %w", artifact.Quote(s), err)
	}
	if err := artifact.CheckVersion(t.Version); err != nil {
		return Tag{}, fmt.Errorf("tag %s: version: %w", artifact.Quote(s), err)
	}
	return t, nil
}

// Options say where to release from.
type Options struct {
	Root string // module root; default "."
	// Repo is the repository configuration; default read from
	// <Root>/plugship.yaml. Every step is given it.
	Repo *config.Config
}

// Main releases the plugin version a tag names from the module in the
// working directory: Run with the default options.
func Main(ctx context.Context, tag string, out io.Writer) error {
	return Run(ctx, tag, Options{}, out)
}

// Run releases the plugin version a tag names: the manifest must list that
// version, then build (every version of the plugin), sign, verify strictly
// (no development keys), matrix, publish, each step with the folders of
// plugship.yaml.
func Run(ctx context.Context, tag string, opts Options, out io.Writer) error {
	t, err := ParseTag(tag)
	if err != nil {
		return err
	}
	if opts.Root == "" && opts.Repo != nil {
		opts.Root = opts.Repo.Root
	}
	repo, err := config.Or(opts.Repo, opts.Root)
	if err != nil {
		return err
	}
	root := repo.Root
	reg, loadErr := teams.LoadDirs(root, repo.Teams, repo.Sources)
	if reg == nil {
		return loadErr
	}
	if err := listed(reg, t); err != nil {
		return err
	}
	if key := os.Getenv(KeyEnv); key != "" {
		os.Setenv(keys.EnvName(keys.KeyEnvPrefix, t.Team), key)
	}
	fmt.Fprintf(out, "releasing %s/%s %s\n", t.Team, t.Plugin, t.Version)
	if err := build.Main(ctx, build.Selection{Team: t.Team, Plugin: t.Plugin}, build.Options{Root: root, Repo: repo}, out); err != nil {
		return err
	}
	if err := sign.Main(ctx, sign.Options{Root: root, Repo: repo}, out); err != nil {
		return err
	}
	// A release ships team keys only, never development keys.
	if err := verify.Main(ctx, verify.Options{Root: root, Repo: repo, Strict: true}, out); err != nil {
		return fmt.Errorf("%w (a release must be signed with the team's key: set %s or %s)", err, KeyEnv, keys.EnvName(keys.KeyEnvPrefix, t.Team))
	}
	if err := publish.FetchMatrix(ctx, publish.Options{Root: root, Repo: repo}, out); err != nil {
		return fmt.Errorf("the matrix of the last publish, to compare with: %w", err)
	}
	if err := compat.Main(ctx, compat.Options{Root: root, Repo: repo}, out); err != nil {
		return err
	}
	return publish.Main(ctx, publish.Options{Root: root, Repo: repo}, out)
}

// listed checks that the registry lists the tag's version.
func listed(reg *teams.Registry, t Tag) error {
	team := reg.Team(t.Team)
	if team == nil {
		return fmt.Errorf("tag names team %s, which has no valid manifest in %s/", t.Team, reg.TeamsFolder())
	}
	for _, p := range team.Plugins {
		if p.Name != t.Plugin {
			continue
		}
		for _, r := range p.Releases() {
			if r.Version == t.Version {
				return nil
			}
		}
		return fmt.Errorf("tag names %s/%s %s, but %s/%s/%s does not list that version; add it before tagging", t.Team, t.Plugin, t.Version, reg.TeamsFolder(), t.Team, teams.ManifestName)
	}
	return fmt.Errorf("tag names plugin %s, which team %s does not list", t.Plugin, t.Team)
}
