package sign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/trust"
)

// stateSchema starts every sign state: changing what a state means changes
// it, so that no state of an older plugship ever matches.
const stateSchema = "plugship-sign-state/1"

// stateDir holds the sign states, relative to dist/: one per plugin file,
// at its path under dist/ plus ".state.json".
const stateDir = ".work/sign"

// fullChecks counts the files checked in full (no state held), for tests.
var fullChecks atomic.Int64

// racyWindow: a file whose last change is this close to the moment its
// identity was taken may change again within the same tick of the file
// system's clock without its times showing it, so the next run checks it
// in full instead (as git does for "racily clean" files, and the build's
// action states).
const racyWindow = 100 * time.Millisecond

// stateSuffixes are the files a state identifies, by the suffix appended
// to the plugin file's path: the file, its metadata, its signature, bundle
// and provenance. A file that does not exist is identified as missing.
var stateSuffixes = [...]string{"", artifact.MetadataSuffix, trust.SignatureSuffix, trust.BundleSuffix, trust.ProvenanceSuffix}

// fileStat identifies a file's content without reading it: any write
// changes its change time, any replacement its inode.
type fileStat struct {
	Size, MTime, CTime int64
	Ino, Dev           uint64
	Missing            bool `json:",omitempty"`
}

// identities are the identities of a plugin file and the files beside it
// (stateSuffixes), taken at Taken (Unix nanoseconds, before the stats).
type identities struct {
	Files [len(stateSuffixes)]fileStat
	Taken int64
}

// identify stats file and the files beside it; ok is false when one of
// them cannot be statted (it is then checked in full, and no state kept).
func identify(file string) (ids identities, ok bool) {
	ids.Taken = time.Now().UnixNano()
	for i, suffix := range stateSuffixes {
		st, err := statFile(file + suffix)
		if err != nil {
			return ids, false
		}
		ids.Files[i] = st
	}
	return ids, true
}

// signState is what the last full check of a plugin file found: that its
// signature, bundle and provenance verified under Anchor when its files
// had the identities Files. While every identity holds (and none was
// racily recorded), the plugship, the contract and the anchor are the
// same, the files are the ones checked, and the check is skipped.
type signState struct {
	Schema   string
	Plugship string // the plugship build that checked (plugshipBuild)
	Contract string // the contract package the file's ABI was checked for
	// Anchor is what the signatures were checked against: "key <id>" (and
	// " development") for a team key, "keyless <digest>" for a keyless
	// team's identities and the Sigstore trusted root (keylessAnchor).
	Anchor string
	identities
}

// plugshipBuild names the running plugship build: its module version and
// VCS revision when known. A state recorded by another build is not used.
var plugshipBuild = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	parts := []string{bi.Main.Path + "@" + bi.Main.Version, bi.GoVersion}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			parts = append(parts, s.Key+"="+s.Value)
		}
	}
	return strings.Join(parts, " ")
})

// statePath is the state file of the plugin file at file, under dist; ""
// when file is not under dist.
func statePath(dist, file string) string {
	rel, err := filepath.Rel(dist, file)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.Join(dist, filepath.FromSlash(stateDir), rel+".state.json")
}

// readSignState reads a state file; nil when there is none or it is not
// readable as one of this plugship (the file is then checked in full).
func readSignState(path string) *signState {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	st := new(signState)
	if json.Unmarshal(data, st) != nil || st.Schema != stateSchema || st.Plugship != plugshipBuild() || st.Anchor == "" {
		return nil
	}
	return st
}

// holds reports whether st describes the files as they are now (ids), for
// contract and anchor, and was not recorded racily: then they still verify
// as they did.
func (st *signState) holds(ids identities, contract, anchor string) bool {
	if st == nil || anchor == "" || st.Anchor != anchor || st.Contract != contract || st.Files != ids.Files {
		return false
	}
	for _, f := range st.Files {
		if !f.Missing && st.Taken-max(f.MTime, f.CTime) < racyWindow.Nanoseconds() {
			return false
		}
	}
	return true
}

// recordState writes, atomically, that the files with identities ids
// (taken before the check) verified under anchor. A state that cannot be
// written only costs the next run a full check.
func recordState(path string, ids identities, contract, anchor string) {
	if path == "" || anchor == "" {
		return
	}
	data, err := json.MarshalIndent(&signState{Schema: stateSchema, Plugship: plugshipBuild(), Contract: contract, Anchor: anchor, identities: ids}, "", "  ")
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o755) != nil {
		return
	}
	artifact.WriteFileIfChanged(path, append(data, '\n'), 0o644)
}

// removeState removes a state that no longer holds, so that a later run
// cannot find it holding again (a file restored to an identity it had).
func removeState(path string) {
	if path != "" {
		os.Remove(path)
	}
}

// keyAnchor is the anchor of files checked against the public key pub.
func keyAnchor(pub *keys.PublicKey) string {
	if pub == nil || pub.ID == "" {
		return ""
	}
	a := "key " + pub.ID
	if pub.Development {
		a += " development"
	}
	return a
}

// keylessAnchor is the anchor of a keyless team's files: a digest of the
// team's identities and the trusted root in policy. "" without a policy.
func keylessAnchor(policy *trust.Policy, team string) string {
	if policy == nil {
		return ""
	}
	var ids []trust.Identity
	if t := policy.Teams[team]; t != nil {
		ids = t.Identities
	}
	data, err := json.Marshal(struct {
		Team       string
		Identities []trust.Identity
		Root       json.RawMessage
	}{team, ids, policy.SigstoreRoot})
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return "keyless " + hex.EncodeToString(sum[:])
}
