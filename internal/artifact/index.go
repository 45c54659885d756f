package artifact

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// IndexFile is the catalogue of published plugins that hosts fetch from.
const IndexFile = "index.json"

// IndexTag is the GitHub release whose asset index.json is (matrix.json
// beside it) on a repository whose releases are not immutable:
// <repository>/releases/download/plugship-index/index.json.
const IndexTag = "plugship-index"

// IndexBranch is the branch that holds index.json and matrix.json on a
// repository with immutable releases, where a published release's assets
// can never be replaced: <repository>/raw/plugship-index/index.json.
const IndexBranch = "plugship-index"

// ChannelDir is the local channel, relative to dist/: the publish step's
// store when there are no GitHub settings. Beside its index.json lies the
// matrix.json of the last publish, which the next matrix compares with.
const ChannelDir = "channel"

// PublishedMatrixFile is where, relative to dist/, the publish step puts a
// copy of the matrix of the last publish (from the channel or the GitHub
// index release) for the matrix step to report what changed since.
const PublishedMatrixFile = "compat/published.json"

// PublishedIndexFile is where, relative to dist/, the publish step puts a
// copy of the index of the last publish, from which the matrix step marks
// the versions it yanks.
const PublishedIndexFile = "compat/published-index.json"

// IndexSchema identifies the index.json format: IndexSchemaV2 while the
// index yanks nothing, so that hosts built with an older loader keep
// reading it, and IndexSchemaV3 once it yanks a version, which such a
// host refuses (naming both schemas) rather than take a yanked version.
const (
	IndexSchemaV2 = "plugship.index/v2"
	IndexSchemaV3 = "plugship.index/v3" // v2 and the yanked list
	IndexSchema   = IndexSchemaV3       // the newest this plugship reads and writes
)

// Index is the catalogue of published plugin versions.
type Index struct {
	Schema  string  `json:"schema" jsonschema:"enum=plugship.index/v2,enum=plugship.index/v3"` // IndexSchemaV2 or IndexSchemaV3
	Entries []Entry `json:"plugins"`
	// Yanked are the versions withdrawn from hosts (v3): still listed and
	// still downloadable (a pinned deployment can be rebuilt), but never
	// chosen by fetch, plugship install, Load or Watch.
	Yanked []Yank `json:"yanked,omitempty"`
}

// Yank withdraws one version of a plugin, every file of it.
type Yank struct {
	Team    string    `json:"team"`
	Plugin  string    `json:"plugin"`
	Version string    `json:"version"`
	Reason  string    `json:"reason" jsonschema:"minLength=1"`
	At      time.Time `json:"at"`
}

// YankOf returns the yank of plugin's version, if the index has one.
// An empty team matches any team (a plugin folder knows plugins by name).
func (ix *Index) YankOf(team, plugin, version string) (Yank, bool) {
	for _, y := range ix.Yanked {
		if y.Plugin == plugin && y.Version == version && (team == "" || y.Team == team) {
			return y, true
		}
	}
	return Yank{}, false
}

// Yank adds or replaces y; it reports whether the index changed.
func (ix *Index) Yank(y Yank) bool {
	for i, old := range ix.Yanked {
		if old.Team == y.Team && old.Plugin == y.Plugin && old.Version == y.Version {
			if old.Reason == y.Reason {
				return false
			}
			ix.Yanked[i] = y
			return true
		}
	}
	ix.Yanked = append(ix.Yanked, y)
	return true
}

// Unyank removes the yank of a version; it reports whether there was one.
func (ix *Index) Unyank(team, plugin, version string) bool {
	n := len(ix.Yanked)
	ix.Yanked = slices.DeleteFunc(ix.Yanked, func(y Yank) bool {
		return y.Team == team && y.Plugin == plugin && y.Version == version
	})
	if len(ix.Yanked) == 0 {
		ix.Yanked = nil
	}
	return len(ix.Yanked) != n
}

// String is how a yank reads in reports: "yanked: <reason>".
func (y Yank) String() string { return "yanked: " + y.Reason }

// Entry is one published plugin file.
type Entry struct {
	Team    string `json:"team"`
	Plugin  string `json:"plugin"`
	Version string `json:"version"`
	Tag     string `json:"tag"`
	File    string `json:"file"`
	SHA256  string `json:"sha256" jsonschema:"pattern=^[0-9a-f]{64}$"`
	Size    int64  `json:"size" jsonschema:"minimum=1"`
	// ABI is what a host must match to load it.
	ABI ABI `json:"abi"`
	// Hosts are the reference hosts it passed in the compatibility matrix.
	Hosts []string `json:"hosts_passed"`
	// Assets are where each asset is: a URL (GitHub) or a path relative to
	// index.json (channel), by asset name.
	Assets map[string]string `json:"assets"`
}

// ABI is the part of the build a host must match.
type ABI struct {
	Tag string `json:"tag"` // the ABI tag of the file name, see CheckABI
	// Contract is the import path of the contract package whose
	// fingerprint the tag covers: a host computes its own tag with it
	// (plugship install reads it here). Empty in older indexes.
	Contract  string `json:"contract,omitempty"`
	GoVersion string `json:"go_version"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	Trimpath  bool   `json:"trimpath"`
	Race      bool   `json:"race"`
	CGO       bool   `json:"cgo"`
}

// ParseIndex decodes an index; nil data is an empty index.
func ParseIndex(data []byte) (*Index, error) {
	ix := &Index{Schema: IndexSchema}
	if data == nil {
		return ix, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(ix); err != nil {
		return nil, fmt.Errorf("%s is not a plugship index: %w", IndexFile, err)
	}
	switch {
	case ix.Schema == IndexSchemaV2 && ix.Yanked != nil:
		return nil, fmt.Errorf("%s: schema %s has no yanked list (it came with %s), and a host of v2 would miss the yanks: refused; write it with plugship's publish or yank, which make it %s", IndexFile, IndexSchemaV2, IndexSchemaV3, IndexSchemaV3)
	case ix.Schema != IndexSchemaV2 && ix.Schema != IndexSchemaV3:
		return nil, fmt.Errorf("%s: schema %s, want %s or %s: a newer plugship wrote it; rebuild with a newer loader", IndexFile, Quote(ix.Schema), IndexSchemaV2, IndexSchemaV3)
	}
	return ix, nil
}

// Put adds or replaces the entry for e's file.
func (ix *Index) Put(e Entry) {
	for i := range ix.Entries {
		if ix.Entries[i].File == e.File {
			ix.Entries[i] = e
			return
		}
	}
	ix.Entries = append(ix.Entries, e)
}

// Marshal returns the index, entries in order, as indented JSON.
func (ix *Index) Marshal() ([]byte, error) {
	sort.Slice(ix.Entries, func(i, j int) bool {
		a, b := ix.Entries[i], ix.Entries[j]
		if a.Team != b.Team || a.Plugin != b.Plugin {
			return a.Team+"/"+a.Plugin < b.Team+"/"+b.Plugin
		}
		if c := CompareVersions(a.Version, b.Version); c != 0 {
			return c > 0
		}
		return a.File < b.File
	})
	slices.SortFunc(ix.Yanked, func(a, b Yank) int {
		return cmp.Or(cmp.Compare(a.Team+"/"+a.Plugin, b.Team+"/"+b.Plugin), CompareVersions(b.Version, a.Version))
	})
	ix.Schema = IndexSchemaV2
	if len(ix.Yanked) > 0 {
		ix.Schema = IndexSchemaV3
	}
	for i := range ix.Entries { // a file that passed no host has hosts_passed [], not null
		if ix.Entries[i].Hosts == nil {
			ix.Entries[i].Hosts = []string{}
		}
	}
	data, err := json.MarshalIndent(ix, "", "  ")
	return append(data, '\n'), err
}

// FetchedIndexFile is where, in a plugin folder, fetch keeps the index it
// last read for a plugin: the loader reads its yanked list from there, so
// a host that restarts offline still never chooses a yanked version.
func FetchedIndexFile(dir, plugin string) string {
	return filepath.Join(dir, ".plugship-"+plugin+".index.json")
}

// ReadFetchedIndex reads a plugin folder's FetchedIndexFile; a folder
// that has none (filled by hand, or never fetched into) is an empty index.
func ReadFetchedIndex(dir, plugin string) (*Index, error) {
	file := FetchedIndexFile(dir, plugin)
	ix, err := ReadIndexFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s, the index fetched last: %w; fetch again (it is rewritten) or delete it", file, err)
	}
	return ix, err
}

// ReadIndexFile reads an index from a file; a missing file is an empty
// index.
func ReadIndexFile(file string) (*Index, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return ParseIndex(nil)
	}
	if err != nil {
		return nil, err
	}
	return ParseIndex(data)
}
