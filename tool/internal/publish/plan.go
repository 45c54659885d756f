package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/stale"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

// IndexTag is the GitHub release that holds index.json, on a repository
// whose releases are not immutable.
const IndexTag = artifact.IndexTag

// IndexBranch is the branch that holds index.json on a repository with
// immutable releases.
const IndexBranch = artifact.IndexBranch

// IndexFile is the catalogue's name.
const IndexFile = artifact.IndexFile

// SumsFile lists the sha256 of a build's other assets; one per ABI, so
// its name is SumsFile + "-" + the ABI tag.
const SumsFile = "SHA256SUMS"

// Version is one plugin version to publish, with its assets.
type Version struct {
	Meta   *artifact.Metadata
	Tag    string   // <team>/<plugin>/v<version>
	Assets []Asset  // the .so first, SHA256SUMS last (see soLast)
	Hosts  []string // reference hosts it loads into (matrix ok)
	// Contract is the contract package of its host, when not the
	// repository's (a mirrored version's, from the index it came from).
	Contract string
	Notes    string // release notes: the rows of the matrix of every build of the tag
	Err      error  // why it must not be published
	// BuildNotes are the notes of this build alone (a follow-up release's).
	BuildNotes string
	// Release is the tag of the release that holds the build when it is
	// not Tag: a follow-up release (FollowUpTag), as Tag's release was
	// published immutable without it. Set by the store.
	Release string
	// Final marks the last build of its tag in this run: one release holds
	// the builds for every ABI, and leaves draft after the last.
	Final bool
	// Resigned is set by a store that replaced the signatures of a
	// published version with this build's (a rotated key).
	Resigned bool

	file   string        // the built .so, when planned from dist/
	policy *trust.Policy // the policy it was checked with
}

// isPluginFile reports whether a is v's .so or its build metadata: the
// files of a version that never change once published (the layers of
// its registry manifest); the others, its signatures, provenance and
// checksums, are attached to it and may be re-signed.
func (v *Version) isPluginFile(a Asset) bool {
	so := v.Assets[0].Name
	return a.Name == so || a.Name == so+artifact.MetadataSuffix
}

// Outlived reports whether a published signature of v's .so (name is
// the .sig or .sigstore.json, data its content) no longer verifies under
// the policy v was checked with (its key was revoked or removed): then
// the store may replace it with this build's. A signature that still
// verifies is kept, whatever signed this build.
func (v *Version) Outlived(name string, data []byte) bool {
	if v.policy == nil || v.file == "" {
		return false // a mirrored version: signatures are copied as they are
	}
	so := v.Assets[0]
	var err error
	switch {
	case strings.HasSuffix(name, trust.SignatureSuffix):
		var sig []byte
		if sig, err = trust.DecodeSignature(data); err == nil {
			_, err = v.policy.CheckSignature(v.file, so.Name, sig)
		}
	case strings.HasSuffix(name, trust.BundleSuffix):
		_, err = v.policy.CheckBundleDigest(so.Name, so.SHA256, data)
	default:
		return false
	}
	return err != nil
}

// groupByTag sets Final on the last publishable build of each tag, and
// gives every build of a tag the notes of all of them.
func groupByTag(vs []*Version) {
	last := map[string]*Version{}
	notes := map[string][]string{}
	for _, v := range vs {
		if v.Err == nil {
			last[v.Tag] = v
			notes[v.Tag] = append(notes[v.Tag], v.Notes)
		}
	}
	for _, v := range vs {
		if v.Err == nil {
			v.Final = last[v.Tag] == v
			v.BuildNotes = v.Notes
			v.Notes = strings.Join(notes[v.Tag], "\n---\n\n")
		}
	}
}

// FollowUpTag is the tag of the release that takes v's build when v.Tag's
// release was published immutable without it: <tag>+<abi>, the ABI as
// semver build metadata (<tag>.<abi> when the version has build metadata
// already), e.g. payments/fraud/v1.3.0+go1.26.8-1a2b3c4d. It is a valid
// git ref name (git check-ref-format) for every valid team, plugin,
// version and ABI, and sorts with its version: a version's files are its
// release's and its follow-ups'.
func FollowUpTag(v *Version) string {
	sep := "+"
	if strings.Contains(v.Meta.Version, "+") {
		sep = "."
	}
	return v.Tag + sep + v.Meta.ABI
}

// validRef reports whether tag is a valid tag name by git's rules
// (git-check-ref-format) as GitHub applies them.
func validRef(tag string) bool {
	if tag == "" || tag == "@" || strings.HasSuffix(tag, "/") || strings.HasSuffix(tag, ".") || strings.Contains(tag, "..") ||
		strings.Contains(tag, "@{") || strings.Contains(tag, "//") || strings.HasPrefix(tag, "/") {
		return false
	}
	for _, c := range tag {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	for _, part := range strings.Split(tag, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	return true
}

// Asset is one file of a release.
type Asset struct {
	Name   string // file name in the release
	Path   string // local file, or "" for Data
	Data   []byte // content made here (SHA256SUMS)
	SHA256 string
	Size   int64
}

// dataAsset is an asset made here, with content data.
func dataAsset(name string, data []byte) Asset {
	sum := sha256.Sum256(data)
	return Asset{Name: name, Data: data, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
}

// ID names the build as the matrix names its plugin file (matrix.Plugin.ID):
// team/plugin@version abi.
func (v *Version) ID() string {
	return matrix.Plugin{Team: v.Meta.Team, Plugin: v.Meta.Plugin, Version: v.Meta.Version, ABI: v.Meta.ABI}.ID()
}

// soLast returns v's assets in the order that leaves a published release
// or a channel folder complete whenever it holds the .so: the .so last.
func (v *Version) soLast() []Asset {
	return append(append([]Asset{}, v.Assets[1:]...), v.Assets[0])
}

// Plan finds every plugin version in opts.Dist and decides whether it may
// be published: signed by its team's key, in a passing matrix. It reads
// only Root, Dist and Repo of opts.
func Plan(opts Options) ([]*Version, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	root, dist := opts.Root, opts.Dist
	reg, loadErr := teams.LoadDirs(root, opts.Repo.Teams, opts.Repo.Sources)
	if reg == nil {
		return nil, loadErr
	}
	policy, err := keys.Policy(root, dist, reg)
	if err != nil {
		return nil, err
	}
	mx, mxErr := matrix.Read(filepath.Join(dist, matrix.Dir, matrix.JSONFile))
	if mxErr == nil && mx.Shard != nil {
		mxErr = fmt.Errorf("%s is one shard's result; merge the shards first (go run mage.go compat:merge)", matrix.JSONFile)
	}
	files, err := artifact.PluginFiles(dist)
	if err != nil {
		return nil, err
	}
	// Stale files (no manifest claims them) are not published; those of a
	// team whose manifest has problems are refused until it is fixed.
	files, unclaimed := stale.New(reg, loadErr).Split(dist, files)
	var vs []*Version
	for _, g := range unclaimed {
		for _, f := range g.Files {
			if n, err := artifact.ParseName(filepath.Base(f)); err == nil && g.Kind == stale.Held {
				m := &artifact.Metadata{Team: g.Team, Plugin: n.Plugin, Version: n.Version, ABI: n.ABI, File: n.String()}
				vs = append(vs, &Version{Meta: m, Err: fmt.Errorf("%s: fix it, then go run mage.go all", g.Why)})
			}
		}
	}
	for _, f := range files {
		m, err := artifact.ReadMetadata(f + artifact.MetadataSuffix)
		if err != nil {
			vs = append(vs, &Version{Meta: &artifact.Metadata{File: filepath.Base(f)}, Err: err})
			continue
		}
		v := &Version{Meta: m, Tag: m.Team + "/" + m.Plugin + "/v" + m.Version, file: f, policy: policy}
		v.Err = check(v, f, policy, mx, mxErr)
		if v.Err == nil {
			v.Err = v.collect(f, dist)
		}
		vs = append(vs, v)
	}
	groupByTag(vs)
	return vs, nil
}

// check decides whether v (file f) may be published.
func check(v *Version, f string, policy *trust.Policy, mx *matrix.Matrix, mxErr error) error {
	if err := v.Meta.Check(f); err != nil {
		return err
	}
	verdict, err := policy.Check(f)
	if err != nil {
		return fmt.Errorf("not signed by team %s (a key or a keyless identity of its policy): %w", v.Meta.Team, err)
	}
	if verdict.Team != v.Meta.Team {
		return fmt.Errorf("signed by team %s, but the metadata says %s", verdict.Team, v.Meta.Team)
	}
	if mxErr != nil {
		return fmt.Errorf("no compatibility matrix: %w (run go run mage.go compat)", mxErr)
	}
	id := v.ID()
	var found bool
	var tested matrix.Plugin
	for _, p := range mx.Plugins {
		if p.ID() == id {
			if p.SHA256 != v.Meta.SHA256 {
				return fmt.Errorf("the matrix tested sha256 %.12s, the file is %.12s: rerun go run mage.go compat", p.SHA256, v.Meta.SHA256)
			}
			found, tested = true, p
		}
	}
	if !found {
		return fmt.Errorf("not in the compatibility matrix %s: rerun go run mage.go compat", filepath.Join(matrix.Dir, matrix.JSONFile))
	}
	for _, viol := range mx.Violations {
		if strings.HasPrefix(viol, id+" ") {
			return fmt.Errorf("the compatibility matrix fails it: %s", viol)
		}
	}
	if err := loadsSomewhere(mx, tested); err != nil {
		return err
	}
	var rows []string
	for _, c := range mx.Cells {
		if c.Plugin != id {
			continue
		}
		if c.Outcome == matrix.OK {
			v.Hosts = append(v.Hosts, c.Host)
		}
		mark := "✅ ok"
		if c.Outcome != matrix.OK {
			mark = "❌ " + c.Outcome
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %.12s |", c.Host, mark, c.HostSHA256))
	}
	v.Notes = fmt.Sprintf("%s %s by team %s.\n\n`%s`: sha256 `%s`, built by %s for %s/%s, ABI %s (profiles %s).\n\n%s\n\n### Compatibility matrix\n\n| host | result | host sha256 |\n| --- | --- | --- |\n%s\n",
		v.Meta.Plugin, v.Meta.Version, v.Meta.Team, v.Meta.File, v.Meta.SHA256, v.Meta.GoVersion, v.Meta.GOOS, v.Meta.GOARCH, v.Meta.ABI, strings.Join(v.Meta.Profiles, ", "), acceptance(mx, tested), strings.Join(rows, "\n"))
	return nil
}

// loadsSomewhere refuses to publish a file that no reference host of its
// ABI would ever take: every such host must reject it, or none loads it
// (a cell is ok, or not acceptable, which is the host's environment's
// call and not the file's). A file whose ABI no reference host has is
// published untested, as before: its hosts are not in the matrix.
func loadsSomewhere(mx *matrix.Matrix, p matrix.Plugin) error {
	abi := map[string]bool{}
	for _, h := range mx.Hosts {
		if artifact.MatchABI(p.ABI, h.ABI) {
			abi[h.Name] = true
		}
	}
	if len(abi) == 0 {
		return nil
	}
	rejected, loads := true, false
	var why []string
	for _, c := range mx.Cells {
		if c.Plugin != p.ID() || !abi[c.Host] {
			continue
		}
		if c.Required != "reject" {
			rejected = false
		}
		if c.Outcome == matrix.OK || c.Outcome == "not-acceptable" {
			loads = true
		} else {
			why = append(why, c.Host+": "+matrix.Words(c.Outcome))
		}
	}
	switch {
	case rejected:
		return fmt.Errorf("every reference host of its ABI must reject it (must_reject in %s): not published", strings.Join(slices.Sorted(maps.Keys(abi)), ", "))
	case !loads:
		return fmt.Errorf("no reference host of its ABI loads it (%s): not published; fix it, or remove the version from its team.yaml", strings.Join(why, "; "))
	}
	return nil
}

// acceptance says, for release notes, which hosts accept p and whether
// that changed from the previous version of the same plugin built for the
// same ABI in the matrix.
func acceptance(mx *matrix.Matrix, p matrix.Plugin) string {
	accepted := func(id string) []string {
		var hosts []string
		for _, c := range mx.Cells {
			if c.Plugin == id && c.Outcome == matrix.OK {
				hosts = append(hosts, c.Host)
			}
		}
		return hosts
	}
	list := func(hosts []string) string {
		if len(hosts) == 0 {
			return "no host"
		}
		return strings.Join(hosts, ", ")
	}
	now := accepted(p.ID())
	s := "Accepted by " + list(now) + "."
	var prev *matrix.Plugin
	for i, q := range mx.Plugins {
		if q.Team == p.Team && q.Plugin == p.Plugin && q.ABI == p.ABI && artifact.CompareVersions(q.Version, p.Version) < 0 &&
			(prev == nil || artifact.CompareVersions(q.Version, prev.Version) > 0) {
			prev = &mx.Plugins[i]
		}
	}
	if prev == nil {
		return s + " No earlier version of " + p.Plugin + " for this ABI is in the matrix."
	}
	before := accepted(prev.ID())
	var gained, lost []string
	for _, h := range now {
		if !slices.Contains(before, h) {
			gained = append(gained, h)
		}
	}
	for _, h := range before {
		if !slices.Contains(now, h) {
			lost = append(lost, h)
		}
	}
	if len(gained) == 0 && len(lost) == 0 {
		return s + " Unchanged from v" + prev.Version + "."
	}
	s += " Changed from v" + prev.Version + ":"
	if len(lost) > 0 {
		s += " no longer accepted by " + list(lost) + ";"
	}
	if len(gained) > 0 {
		s += " newly accepted by " + list(gained) + ";"
	}
	return strings.TrimSuffix(s, ";") + "."
}

// collect lists v's assets: the plugin file and what signing and the build
// wrote beside it, the matrix, and SHA256SUMS over all of them.
func (v *Version) collect(f, dist string) error {
	paths := []string{f, f + trust.SignatureSuffix, f + attest.BundleSuffix, f + attest.ProvenanceSuffix, f + artifact.MetadataSuffix,
		filepath.Join(dist, matrix.Dir, matrix.JSONFile)}
	var sums strings.Builder
	limits := map[string]int64{f + attest.BundleSuffix: trust.MaxBundle, f + attest.ProvenanceSuffix: attest.MaxProvenance}
	for _, p := range paths {
		if p == f+trust.SignatureSuffix {
			if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
				continue // signed keylessly: the bundle is the signature
			}
		}
		if limit, ok := limits[p]; ok {
			if fi, err := os.Stat(p); err == nil && fi.Size() > limit {
				return fmt.Errorf("asset %s is %d bytes, more than any bundle or provenance (%d): refused; sign the file again with go run mage.go sign", filepath.Base(p), fi.Size(), limit)
			}
		}
		sum, size, err := artifact.HashFile(p)
		if err != nil {
			return fmt.Errorf("asset %s: %w", filepath.Base(p), err)
		}
		a := Asset{Name: filepath.Base(p), Path: p, SHA256: sum, Size: size}
		v.Assets = append(v.Assets, a)
		fmt.Fprintf(&sums, "%s  %s\n", sum, a.Name)
	}
	v.Assets = append(v.Assets, dataAsset(SumsFile+"-"+v.Meta.ABI, []byte(sums.String())))
	return nil
}
