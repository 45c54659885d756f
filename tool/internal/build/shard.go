package build

import (
	"slices"

	"github.com/plugship/plugship/tool/internal/matrix"
)

// ShardActions returns the actions of one shard: the plugin versions
// (team/plugin@version, in sorted order) are dealt round-robin over the
// shards, and a version's actions (one per target) stay together, so a
// version's files come from one runner. A zero shard keeps everything.
func ShardActions(actions []*Action, sh matrix.Shard) []*Action {
	if sh.Count <= 1 {
		return actions
	}
	version := func(a *Action) string { return a.Team + "/" + a.Plugin + "@" + a.Version }
	var versions []string
	seen := map[string]bool{}
	for _, a := range actions {
		if v := version(a); !seen[v] {
			seen[v] = true
			versions = append(versions, v)
		}
	}
	slices.Sort(versions)
	index := map[string]int{}
	for i, v := range versions {
		index[v] = i
	}
	var out []*Action
	for _, a := range actions {
		if sh.Holds(index[version(a)]) {
			out = append(out, a)
		}
	}
	return out
}
