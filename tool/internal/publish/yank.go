package publish

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// YankRef names one published version: <team>/<plugin>@<version>.
type YankRef struct{ Team, Plugin, Version string }

func (r YankRef) String() string { return r.Team + "/" + r.Plugin + "@" + r.Version }

// ParseYankRef reads <team>/<plugin>@<version> (the version with or
// without a leading v).
func ParseYankRef(s string) (YankRef, error) {
	bad := func(why string) (YankRef, error) {
		return YankRef{}, fmt.Errorf("%s: %s; name a published version as <team>/<plugin>@<version>, such as payments/fraud@1.2.0", artifact.Quote(s), why)
	}
	name, version, ok := strings.Cut(s, "@")
	team, plugin, ok2 := strings.Cut(name, "/")
	if !ok || !ok2 {
		return bad("not <team>/<plugin>@<version>")
	}
	r := YankRef{Team: team, Plugin: plugin, Version: strings.TrimPrefix(version, "v")}
	if err := artifact.CheckName(team); err != nil {
		return bad("team: " + err.Error())
	}
	if err := artifact.CheckName(plugin); err != nil {
		return bad("plugin: " + err.Error())
	}
	if err := artifact.CheckVersion(r.Version); err != nil {
		return bad("version: " + err.Error())
	}
	return r, nil
}

// noteYanks is what a store does for people when a version is yanked
// (y) or unyanked (y nil) beyond the index: GitHub marks the notes of the
// releases that hold it. It reports what it changed.
type noteYanks interface {
	NoteYank(ctx context.Context, tags []string, y *artifact.Yank) ([]string, error)
}

// Yank withdraws a published version from hosts, or with unyank gives it
// back, in the store publish would use (the registry, GitHub or the
// channel). It records the yank, with its reason and time, in index.json,
// which is all hosts read: fetch, plugship install, Load and Watch skip
// the version from then on. It deletes nothing: the files stay where
// they were published, so a deployment pinned to them can still be
// rebuilt. On GitHub the notes of the version's releases say it is
// yanked. Yanking again with the same reason, or unyanking a version that
// is not yanked, changes nothing.
func Yank(ctx context.Context, opts Options, ref, reason string, unyank bool, out io.Writer) error {
	r, err := ParseYankRef(ref)
	if err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if !unyank && reason == "" {
		return fmt.Errorf("yanking %s: give a reason (--reason): every host that skips it prints it", r)
	}
	if opts, err = opts.withDefaults(); err != nil {
		return err
	}
	store, err := opts.store()
	if err != nil {
		return err
	}
	var tags []string
	var files int
	var y *artifact.Yank
	ix, changed, err := updateIndex(ctx, store, nil, func(ix *artifact.Index) error {
		var published []string
		for _, e := range ix.Entries {
			if e.Team == r.Team && e.Plugin == r.Plugin {
				if !slices.Contains(published, e.Version) {
					published = append(published, e.Version)
				}
				if e.Version == r.Version {
					files++
					if !slices.Contains(tags, e.Tag) {
						tags = append(tags, e.Tag)
					}
				}
			}
		}
		if files == 0 && len(published) == 0 {
			return fmt.Errorf("%s: the index of %s lists no version of %s/%s", r, store.Describe(), r.Team, r.Plugin)
		}
		if files == 0 {
			return fmt.Errorf("%s: the index of %s lists no such version; published: %s", r, store.Describe(), strings.Join(published, ", "))
		}
		if unyank {
			ix.Unyank(r.Team, r.Plugin, r.Version)
			return nil
		}
		y = &artifact.Yank{Team: r.Team, Plugin: r.Plugin, Version: r.Version, Reason: reason, At: time.Now().UTC().Truncate(time.Second)}
		if old, ok := ix.YankOf(r.Team, r.Plugin, r.Version); ok && old.Reason == reason {
			y = &old // yanked already: it keeps its time
		}
		ix.Yank(*y)
		return nil
	})
	if err != nil {
		return err
	}
	signed, err := signIndex(ctx, opts, store, ix)
	if err != nil {
		return fmt.Errorf("the index is written, but its signed statement is not (hosts refuse the index until it is): %w; run it again", err)
	}
	where := indexLocation(ctx, store)
	switch {
	case !changed && unyank:
		fmt.Fprintf(out, "%s is not yanked in %s: nothing changed\n", r, store.Describe())
	case !changed:
		fmt.Fprintf(out, "%s is yanked already in %s (since %s): nothing changed\n", r, store.Describe(), y.At.Format(time.RFC3339))
	case unyank:
		fmt.Fprintf(out, "unyanked %s (%d files) in %s: hosts may choose it again; index %s\n", r, files, store.Describe(), where)
	default:
		fmt.Fprintf(out, "yanked %s (%d files) in %s: %s\n  index %s: hosts skip it from their next fetch, and a host running it restarts on its next one (loader.Watch)\n  the files stay published; unyank with: go run mage.go unyank %s\n",
			r, files, store.Describe(), reason, where, r)
	}
	if signed.By != "" {
		fmt.Fprintf(out, "  %s\n", signed.line())
	}
	if n, ok := store.(noteYanks); ok {
		notes, err := n.NoteYank(ctx, tags, y)
		for _, line := range notes {
			fmt.Fprintln(out, "  "+line)
		}
		if err != nil {
			return fmt.Errorf("the index is written, but the release notes are not: %w; run it again", err)
		}
	}
	return nil
}
