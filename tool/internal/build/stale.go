package build

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/stale"
	"github.com/plugship/plugship/tool/internal/teams"
)

// moveStale moves the files under dist/plugins that no team manifest claims
// any more (package stale), each plugin file with the files beside it, to
// dist/.stale/<time>/<team>/<plugin>/, one rename each, and prints a line
// per plugin (per team when the whole team is gone). Files of a team whose
// manifest has problems are kept where they are, with one line per team.
// A file that cannot be moved is named with what to do; it is not an
// error of the build: the other steps skip stale files.
func moveStale(out io.Writer, root, dist string, reg *teams.Registry, loadErr error, now time.Time) {
	entries, err := filepath.Glob(filepath.Join(dist, artifact.PluginsDir, "*", "*", "*"))
	if err != nil || len(entries) == 0 {
		return
	}
	_, groups := stale.New(reg, loadErr).Split(dist, entries)
	if len(groups) == 0 {
		return
	}
	show := func(p string) string {
		if rel, err := filepath.Rel(root, p); err == nil && filepath.IsLocal(rel) {
			return rel
		}
		return p
	}
	to := filepath.Join(dist, stale.Dir, now.UTC().Format("20060102-150405"))
	for _, g := range groups {
		if g.Kind == stale.Held {
			fmt.Fprintf(out, "kept: %s as they are, not built, signed, tried or published until %s is fixed (problems listed above)\n", g.What(), g.Manifest)
			continue
		}
		dest := filepath.Join(to, filepath.FromSlash(g.Rel()))
		var failed []string
		for _, f := range g.Files {
			rel, _ := filepath.Rel(filepath.Join(dist, artifact.PluginsDir), f)
			d := filepath.Join(to, rel)
			err := os.MkdirAll(filepath.Dir(d), 0o755)
			if err == nil {
				err = os.Rename(f, d)
			}
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", show(f), err))
			}
		}
		if len(failed) == 0 {
			fmt.Fprintf(out, "stale: %s, %s; moved to %s%c\n", g.What(), g.Why, show(dest), filepath.Separator)
		} else {
			fmt.Fprintf(out, "stale: %s, %s; could not move %d of its %d files to %s (the other steps skip them meanwhile): move or delete them by hand\n  %s\n",
				g.What(), g.Why, len(failed), len(g.Files), show(dest), strings.Join(failed, "\n  "))
		}
		removeEmptyDirs(dist, g.Files)
	}
}

// removeEmptyDirs removes the plugin and team folders of files that are
// left empty.
func removeEmptyDirs(dist string, files []string) {
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[filepath.Dir(f)] = true
	}
	var list []string
	for d := range dirs {
		list = append(list, d, filepath.Dir(d))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(list))) // plugin folders before their team's
	top := filepath.Join(dist, artifact.PluginsDir)
	for _, d := range list {
		if d != top {
			os.Remove(d) // fails, as it should, unless empty
		}
	}
}
