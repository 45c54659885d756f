package loader

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/fingerprint"
)

// Outcome is what happened to one candidate file.
type Outcome string

// The outcomes. Every candidate gets exactly one. Refused to NotAcceptable
// are failures, listed in the order the checks run: the file and its name,
// verification, the static preflight, then the probe and the opening
// (Crashed and TimedOut can happen at any point of those). Yanked and
// Quarantined candidates are skipped before any check. Chosen (Load) and Passed (Try)
// mean every check passed; NotTried marks the candidates older than the
// chosen one, which Load does not check.
const (
	Refused         Outcome = "refused"          // not a regular file inside the folder, or a bad name
	Unverified      Outcome = "unverified"       // Options.Verify rejected it; it was never opened
	Incompatible    Outcome = "incompatible"     // the static preflight found differences with the host; never opened
	Crashed         Outcome = "crashed"          // its code panicked, or ended the probe process
	TimedOut        Outcome = "timed-out"        // the probe did not answer within Options.ProbeTimeout
	OpenFailed      Outcome = "open-failed"      // plugin.Open returned an error
	BadSymbol       Outcome = "bad-symbol"       // the contract's symbol is missing or of the wrong type
	VersionMismatch Outcome = "version-mismatch" // Version() differs from the version in the file name
	NotAcceptable   Outcome = "not-acceptable"   // IsAcceptable() returned false
	CheckFailed     Outcome = "check-failed"     // the host's own check (Options.Check) failed
	Chosen          Outcome = "chosen"           // the plugin Load returned
	Passed          Outcome = "passed"           // Try: every check passed
	Quarantined     Outcome = "quarantined"      // a host died soon after choosing it; see State
	Yanked          Outcome = "yanked"           // the index the folder was fetched from withdrew its version
	NotTried        Outcome = "not-tried"        // older than the chosen one
)

// Causes refine outcomes for reports and the compatibility matrix: each
// Decision has one.
const (
	CauseOK                = "ok"                 // chosen or passed
	CauseUnsigned          = "unsigned"           // no signature
	CauseBadSignature      = "bad-signature"      // a signature that does not verify, or by the wrong team
	CauseBadFile           = "bad-file"           // not a Go plugin (not ELF, no build info), or a bad name
	CauseToolchainMismatch = "toolchain-mismatch" // built by another Go release
	CauseBuildMismatch     = "build-mismatch"     // other build settings, module versions or package sources
	CausePanic             = "panic"              // panicked while loading or in its methods
	CauseExit              = "exit"               // ended the probe process
	CauseTimeout           = "timeout"            // did not answer in time
	CauseOpenFailed        = "open-failed"        // plugin.Open returned an error
	CauseMissingSymbol     = "missing-symbol"     // exports neither symbol
	CauseWrongType         = "wrong-type"         // a symbol of the wrong type
	CauseVersionMismatch   = "version-mismatch"   // Version() differs from the file name
	CauseNotAcceptable     = "not-acceptable"     // IsAcceptable() returned false
	CauseHostCheck         = "host-check"         // the host's own check command failed
	CauseQuarantined       = "quarantined"        // skipped: see State
	CauseYanked            = "yanked"             // skipped: its version is yanked (Reason says why)
)

// Report says what Load did with every candidate, newest first. It is
// meant to be logged: String for people, JSON for tools.
type Report struct {
	Plugin     string        `json:"plugin"`
	Dir        string        `json:"dir"`
	Platform   string        `json:"platform"` // GOOS/GOARCH the loader looked for
	ABI        string        `json:"abi"`      // the ABI tag it looked for
	Host       string        `json:"host"`     // the executable compared with, and probed
	Mode       string        `json:"mode"`     // "probe" or "in-process"
	Chosen     *Decision     `json:"chosen"`   // nil when none was acceptable
	Candidates []*Decision   `json:"candidates"`
	Warnings   []string      `json:"warnings,omitempty"`
	Duration   time.Duration `json:"-"`
	Millis     float64       `json:"duration_ms"`
}

// Decision is one candidate's outcome.
type Decision struct {
	File        string                   `json:"file"`
	Version     string                   `json:"version,omitempty"`
	Outcome     Outcome                  `json:"outcome"`
	Cause       string                   `json:"cause,omitempty"` // see the Cause constants
	Reason      string                   `json:"reason,omitempty"`
	Differences []fingerprint.Difference `json:"differences,omitempty"` // for Incompatible
	Millis      float64                  `json:"duration_ms"`
	ProbeMillis float64                  `json:"probe_ms,omitempty"` // the child process's part
}

// String is a summary line, then one line per candidate, in order: its
// outcome padded to 16 characters, its file name and the reason, if any:
//
//	plugin showcase in plugins/showcase (linux/amd64 go1.26.8-166835a9, probe mode): chose version 0.2.0 of 2 candidates in 41 ms
//	  not-acceptable   showcase_v0.3.0_linux_amd64_go1.26.8-166835a9.so: in the probe: IsAcceptable() returned false
//	  chosen           showcase_v0.2.0_linux_amd64_go1.26.8-166835a9.so
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %s in %s (%s %s, %s mode): ", r.Plugin, r.Dir, r.Platform, r.ABI, r.Mode)
	if r.Chosen != nil {
		fmt.Fprintf(&b, "chose version %s", r.Chosen.Version)
	} else {
		b.WriteString("no acceptable version")
	}
	fmt.Fprintf(&b, " of %d candidates in %.0f ms\n", len(r.Candidates), r.Millis)
	for _, d := range r.Candidates {
		fmt.Fprintf(&b, "  %-16s %s", d.Outcome, filepath.Base(d.File))
		if d.Reason != "" {
			fmt.Fprintf(&b, ": %s", d.Reason)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
