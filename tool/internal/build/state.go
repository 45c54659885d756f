package build

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// racyWindow: a file whose last change is this close to the moment its
// state was recorded may change again within the same tick of the file
// system's clock without its times showing it, so the next run checks its
// content instead (as git does for "racily clean" files).
const racyWindow = 100 * time.Millisecond

// buildState is what the last successful build of an action left, in its
// Action.StateFile: Run skips go build while the key is the same and the
// final file is still the one it recorded.
type buildState struct {
	Key    string
	File   string // the final file
	ABI    string
	SHA256 string
	Size   int64
	// Stat is the final file's identity when recorded (at Recorded, Unix
	// nanoseconds): while it holds, the file was not written since.
	Stat     fileStat
	Recorded int64
	// Meta is the file's metadata but for what each run sets (profiles,
	// revision, dirty).
	Meta   *artifact.Metadata
	Inputs []string // Action.Inputs, to say what changed
}

// fileStat identifies a file's content without reading it: any write
// changes its change time, any replacement its inode.
type fileStat struct {
	Size, MTime, CTime int64
	Ino, Dev           uint64
}

// readState reads a state file; nil when there is none or it is not
// readable as one (the action is then built, and the file rewritten).
func readState(file string) *buildState {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	st := new(buildState)
	if json.Unmarshal(data, st) != nil || st.Meta == nil || st.Key == "" {
		return nil
	}
	return st
}

// current reports whether the final file is still the one st recorded:
// the same identity and not racily recorded, or else the same digest
// (then restat says the state must be recorded again).
func (st *buildState) current() (ok, restat bool) {
	fs, err := statFile(st.File)
	if err != nil {
		return false, false
	}
	racy := st.Recorded-max(st.Stat.MTime, st.Stat.CTime) < racyWindow.Nanoseconds()
	if fs == st.Stat && !racy {
		return true, false
	}
	sum, size, err := artifact.HashFile(st.File)
	if err != nil || sum != st.SHA256 || size != st.Size {
		return false, false
	}
	return true, true
}

// record stats the final file and writes the state atomically.
func (st *buildState) record(file string) error {
	fs, err := statFile(st.File)
	if err != nil {
		return err
	}
	st.Stat, st.Recorded = fs, time.Now().UnixNano()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	if _, err := artifact.WriteFileIfChanged(file, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the build state %s: %w", file, err)
	}
	return nil
}

// changed names the first input of now that the state's inputs lack: what
// made the key change. Empty without a state.
func changed(st *buildState, now []string) string {
	if st == nil {
		return ""
	}
	old := map[string]bool{}
	for _, l := range st.Inputs {
		old[l] = true
	}
	for _, l := range now {
		if !old[l] {
			f := strings.Fields(l)
			switch {
			case len(f) == 4 && f[0] == "overlay":
				return "file " + f[2] // the real file, not its virtual name
			case len(f) == 3 && (f[0] == "file" || f[0] == "gomod"):
				return "file " + f[1]
			case len(f) >= 2 && f[0] == "tool":
				return "toolchain program " + f[1]
			}
			return l
		}
	}
	if len(now) < len(st.Inputs) {
		return "an input removed"
	}
	return ""
}
