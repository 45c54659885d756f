package loader

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/plugship/plugship/internal/artifact"
)

// DefaultHealthyAfter is a good Options.HealthyAfter for a long-running
// host: it must run this long after choosing a plugin before the choice
// counts as good.
const DefaultHealthyAfter = 30 * time.Second

// State is what the loader remembers about a plugin folder between runs,
// in .plugship-<plugin>.state.json beside the plugins.
type State struct {
	// Pending is the version chosen by a host that has not yet run for
	// HealthyAfter. If a host finds it at start-up, the previous host died
	// with that version: it is quarantined.
	Pending *Selection `json:"pending,omitempty"`
	// Quarantine lists files never to choose again (until cleared).
	Quarantine []QuarantineEntry `json:"quarantine,omitempty"`
}

// Selection is a chosen file.
type Selection struct {
	File   string    `json:"file"`
	SHA256 string    `json:"sha256"`
	At     time.Time `json:"at"`
}

// QuarantineEntry is a file the loader will not choose.
type QuarantineEntry struct {
	File   string    `json:"file"`
	SHA256 string    `json:"sha256"` // only these bytes: a rebuilt file is tried again
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// StatePath is the state file of plugin's folder dir.
func StatePath(dir, plugin string) string {
	return filepath.Join(dir, ".plugship-"+plugin+".state.json")
}

var stateMu sync.Mutex

// ReadState reads a folder's state; a missing file is an empty state.
func ReadState(dir, plugin string) (*State, error) {
	data, err := os.ReadFile(StatePath(dir, plugin))
	if errors.Is(err, os.ErrNotExist) {
		return &State{}, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start afresh)", StatePath(dir, plugin), err)
	}
	return &s, nil
}

// updateState applies f to the folder's state and writes it atomically.
func updateState(dir, plugin string, f func(*State)) error {
	stateMu.Lock()
	defer stateMu.Unlock()
	s, err := ReadState(dir, plugin)
	if err != nil {
		return err
	}
	f(s)
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = artifact.WriteFileIfChanged(StatePath(dir, plugin), append(data, '\n'), 0o644)
	return err
}

// quarantined returns the reason file (with these bytes) is quarantined.
func (s *State) quarantined(file, sha256 string) (string, bool) {
	for _, q := range s.Quarantine {
		if q.File == file && q.SHA256 == sha256 {
			return q.Reason, true
		}
	}
	return "", false
}

// ClearQuarantine empties a folder's quarantine and returns what it held.
func ClearQuarantine(dir, plugin string) ([]QuarantineEntry, error) {
	var cleared []QuarantineEntry
	err := updateState(dir, plugin, func(s *State) {
		cleared, s.Quarantine = s.Quarantine, nil
	})
	return cleared, err
}

// MarkHealthy records that the host runs well with its chosen version:
// the pending selection is cleared, so an exit from now on does not
// quarantine it. Load does this itself after Options.HealthyAfter; a host
// that exits on purpose earlier (to restart for a newer version) calls it.
func MarkHealthy(dir, plugin string) error {
	return updateState(dir, plugin, func(s *State) { s.Pending = nil })
}

// beginSelection quarantines a pending selection left by a host that died,
// and returns the state to choose with.
func beginSelection(dir, plugin string, window time.Duration) (*State, error) {
	var out *State
	err := updateState(dir, plugin, func(s *State) {
		if p := s.Pending; p != nil {
			if _, already := s.quarantined(p.File, p.SHA256); !already {
				s.Quarantine = append(s.Quarantine, QuarantineEntry{File: p.File, SHA256: p.SHA256, At: time.Now().UTC(),
					Reason: fmt.Sprintf("the host died within %v of choosing it (at %s)", window, p.At.Format(time.RFC3339))})
			}
			s.Pending = nil
		}
		out = s // a fresh ReadState, not kept by updateState
	})
	return out, err
}

// selected records a choice as pending and clears it after window unless
// another choice replaced it.
func selected(dir, plugin, file, sum string, window time.Duration) error {
	sel := Selection{File: file, SHA256: sum, At: time.Now().UTC()}
	if err := updateState(dir, plugin, func(s *State) { s.Pending = &sel }); err != nil {
		return err
	}
	time.AfterFunc(window, func() {
		updateState(dir, plugin, func(s *State) {
			if s.Pending != nil && s.Pending.At.Equal(sel.At) && s.Pending.File == sel.File {
				s.Pending = nil
			}
		})
	})
	return nil
}
