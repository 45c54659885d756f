package artifact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
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

// IndexSchema identifies the index.json format.
const IndexSchema = "plugship.index/v2"

// Index is the catalogue of published plugin versions.
type Index struct {
	Schema  string  `json:"schema" jsonschema:"enum=plugship.index/v2"` // IndexSchema
	Entries []Entry `json:"plugins"`
}

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
	if ix.Schema != IndexSchema {
		return nil, fmt.Errorf("%s: schema %s, want %s", IndexFile, Quote(ix.Schema), IndexSchema)
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
	for i := range ix.Entries { // a file that passed no host has hosts_passed [], not null
		if ix.Entries[i].Hosts == nil {
			ix.Entries[i].Hosts = []string{}
		}
	}
	data, err := json.MarshalIndent(ix, "", "  ")
	return append(data, '\n'), err
}
