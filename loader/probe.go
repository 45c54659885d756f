package loader

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"plugin"
	"strconv"
	"strings"
	"time"
)

// ProbeEnv is the environment variable that makes a host process a probe:
// it holds the plugin file to probe. The loader sets it on the child
// processes it starts; hosts never set it.
const ProbeEnv = "PLUGSHIP_LOADER_PROBE"

// probeKeyEnv tells a probe child on which descriptor its key pipe is; the
// key itself is never in the environment or the arguments.
const probeKeyEnv = "PLUGSHIP_LOADER_PROBE_KEY_FD"

// The probe's descriptors in the child, and its key.
const (
	probeReportFD = 3  // the report pipe, written by HandleProbe
	probeKeyFD    = 4  // the key pipe: read to its end and closed before plugin.Open
	probeKeySize  = 32 // bytes of the per-probe HMAC-SHA256 key
)

// reportPrefix starts every report line: "plugship-probe <hex HMAC-SHA256
// of the JSON> <JSON>". The loader writes each line, with a newline before
// and after, in one write of less than PIPE_BUF, so bytes the plugin writes
// to the pipe cannot split it.
const reportPrefix = "plugship-probe "

// maxReportErr bounds the error text in a report line (a panic's value is
// the plugin's) so that the line stays one atomic write.
const maxReportErr = 2048

// probeExitNoReport is the exit status of a probe child that could not
// report (no report pipe: started by hand, not by the loader).
const probeExitNoReport = 125

// Stages of trying a plugin, in order. A probe reports each as it starts,
// so a probe that dies or hangs is known to have done so in that stage.
const (
	stageOpen   = "open"       // plugin.Open: the plugin's init functions run
	stageSymbol = "symbol"     // Lookup and type check
	stageCall   = "acceptable" // Version() and IsAcceptable()
	stageDone   = "done"
)

// trial is what trying one plugin file found. It is also the probe's
// report, one JSON line per stage.
type trial struct {
	Stage      string `json:"stage"`
	Err        string `json:"error,omitempty"`
	Panic      bool   `json:"panic,omitempty"`
	Cause      string `json:"cause,omitempty"` // CauseMissingSymbol or CauseWrongType for symbol errors
	Version    string `json:"version,omitempty"`
	Acceptable bool   `json:"acceptable,omitempty"`
	Seq        int    `json:"seq"`             // the probe's reports are numbered from 0
	Final      bool   `json:"final,omitempty"` // the probe's last report: what try returned

	plugin any // in process only: the T that try resolved
}

// try opens file in this process, resolves the contract's symbol as a T
// and runs the contract's calls, calling progress at the start of each
// stage. A panic in the plugin's code is recovered and reported.
func try[T Contract](file string, names Symbols, progress func(stage string)) (t trial) {
	defer func() {
		if r := recover(); r != nil {
			t.Err = fmt.Sprintf("panic: %v", r)
			t.Panic = true
			t.plugin = nil
		}
	}()
	t.Stage = stageOpen
	progress(t.Stage)
	p, err := plugin.Open(file)
	if err != nil {
		t.Err = err.Error()
		return t
	}
	t.Stage = stageSymbol
	progress(t.Stage)
	v, err := Resolve[T](p, names)
	if err != nil {
		t.Err = err.Error()
		switch {
		case errors.Is(err, ErrMissingSymbol):
			t.Cause = CauseMissingSymbol
		case errors.Is(err, ErrWrongType):
			t.Cause = CauseWrongType
		}
		return t
	}
	t.Stage = stageCall
	progress(t.Stage)
	t.Version = v.Version()
	t.Acceptable = v.IsAcceptable()
	t.Stage = stageDone
	t.plugin = v
	return t
}

// HandleProbe makes this process answer the loader's probe when it was
// started as one, and does nothing otherwise. T is the host's contract and
// names the symbols it looks up (the zero Symbols means DefaultSymbols):
// the same as the host passes to [Load]. Call it first thing in main,
// before flags are parsed or anything is started:
//
//	func main() {
//		loader.HandleProbe[contract.Greeter](symbols)
//		...
//	}
//
// A probe opens one plugin file, checks that its symbol is a T, calls
// Version and IsAcceptable, reports to the loader over a pipe and exits.
// If the plugin crashes, exits or hangs, only the probe process is lost.
// Before opening the plugin it reads and closes the probe's key, with which
// it signs its reports: what the plugin's code writes to the pipe is
// ignored, and a probe that ends without its final signed report (an exit
// in init, Version or IsAcceptable, with any status) is a crash. A
// host that does not call HandleProbe still works: [Load] answers the probe
// when the child reaches it, but only after whatever main did before
// calling Load. The compatibility matrix runs its reference hosts as
// probes, so a reference host must call it.
func HandleProbe[T Contract](names Symbols) {
	file := os.Getenv(ProbeEnv)
	if file == "" {
		return
	}
	os.Unsetenv(ProbeEnv) // not for processes the plugin may start
	rep, err := openReport()
	os.Unsetenv(probeKeyEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s is set, but %v\n", ProbeEnv, err)
		os.Exit(probeExitNoReport)
	}
	// From here on the plugin's code runs in this process: it can write to
	// the report pipe, but not sign what it writes.
	t := try[T](file, names, func(stage string) { rep.send(trial{Stage: stage}) })
	t.Final = true
	if err := rep.send(t); err != nil {
		fmt.Fprintf(os.Stderr, "probe: writing the report: %v\n", err)
		os.Exit(probeExitNoReport)
	}
	os.Exit(0)
}

// reporter writes a probe's report lines, each signed with the probe's key.
type reporter struct {
	w   *os.File
	mac hash.Hash
	seq int
}

// openReport takes the report pipe (descriptor 3) and reads the probe's
// key from the key pipe (the descriptor probeKeyEnv names) to its end, then
// closes the key pipe: nothing the plugin's code can open, read or inherit
// holds the key afterwards, and the environment and arguments never did.
func openReport() (*reporter, error) {
	report := os.NewFile(probeReportFD, "loader-report")
	if _, err := report.Stat(); err != nil {
		return nil, errors.New("there is no report pipe: this process was not started by the plugship loader")
	}
	if os.Getenv(probeKeyEnv) != strconv.Itoa(probeKeyFD) {
		return nil, fmt.Errorf("%s is not %d: the plugship loader that started this probe is older than this host's; build the program that runs the probe (or the matrix) with the same plugship version as the host", probeKeyEnv, probeKeyFD)
	}
	keyPipe := os.NewFile(probeKeyFD, "loader-key")
	st, err := keyPipe.Stat()
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return nil, fmt.Errorf("descriptor %d is not the loader's key pipe: this process was not started by the plugship loader", probeKeyFD)
	}
	key := make([]byte, probeKeySize+1)
	n, _ := io.ReadFull(keyPipe, key)
	keyPipe.Close()
	if n != probeKeySize {
		clear(key)
		return nil, fmt.Errorf("the key pipe held %d bytes, want %d: this process was not started by the plugship loader", n, probeKeySize)
	}
	closeOnExec(report) // nor the report pipe: the loader waits for it to close
	rep := &reporter{w: report, mac: hmac.New(sha256.New, key[:probeKeySize])}
	clear(key)
	return rep, nil
}

// send writes t as the next report line.
func (r *reporter) send(t trial) error {
	t.Seq = r.seq
	r.seq++
	if len(t.Err) > maxReportErr {
		t.Err = t.Err[:maxReportErr] + "..."
	}
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	r.mac.Reset()
	r.mac.Write(body)
	line := make([]byte, 0, 2+len(reportPrefix)+2*sha256.Size+1+len(body))
	line = append(line, '\n')
	line = append(line, reportPrefix...)
	line = hex.AppendEncode(line, r.mac.Sum(nil))
	line = append(line, ' ')
	line = append(line, body...)
	line = append(line, '\n')
	_, err = r.w.Write(line)
	return err
}

// readReports reads report lines from r until it ends and returns those
// signed with key, in order, up to the final one, and the number of the
// other non-empty lines: lines the loader did not write (the plugin's
// code can write to the pipe), lines out of order, and any line after the
// final one. Lines are bounded: a longer one counts as forged.
func readReports(r io.Reader, key []byte) (reports []trial, forged int) {
	br := bufio.NewReaderSize(r, 64<<10)
	mac := hmac.New(sha256.New, key)
	final := false
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			forged++
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err != nil {
				return reports, forged
			}
			continue
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if t, ok := authentic(line, mac, len(reports)); ok && !final {
				reports = append(reports, t)
				final = t.Final
			} else {
				forged++
			}
		}
		if err != nil {
			return reports, forged
		}
	}
}

// authentic parses one report line and reports whether it is the probe's
// report number seq, signed with mac's key.
func authentic(line []byte, mac hash.Hash, seq int) (trial, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(reportPrefix))
	if !ok {
		return trial{}, false
	}
	sumHex, body, ok := bytes.Cut(rest, []byte(" "))
	if !ok || len(sumHex) != 2*sha256.Size {
		return trial{}, false
	}
	sum := make([]byte, sha256.Size)
	if _, err := hex.Decode(sum, sumHex); err != nil {
		return trial{}, false
	}
	mac.Reset()
	mac.Write(body)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return trial{}, false
	}
	var t trial
	if json.Unmarshal(body, &t) != nil || t.Seq != seq {
		return trial{}, false
	}
	return t, true
}

// maxProbeOutput is how much of a probe's stdout and stderr is kept for
// the reason of a crash.
const maxProbeOutput = 16 << 10

// probe runs host with ProbeEnv=file and returns what it reported, or why it
// did not: the outcome is Crashed or TimedOut when the process died or
// hung, with the stage it was in and the tail of its output.
//
// The probe runs in a session (and process group) of its own, which ends
// with it: whatever the plugin's code started is killed when the probe
// exits, crashes or times out (see containProbe). Only
// report lines signed with a key made for this probe count; the key
// reaches the child through a pipe of its own that HandleProbe reads and
// closes before plugin.Open. A probe that ends without its final signed
// report, whatever its exit status, crashed.
func probe(ctx context.Context, host, file string, timeout time.Duration) (trial, Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	key := make([]byte, probeKeySize)
	rand.Read(key) // never fails (crypto/rand)
	r, w, err := os.Pipe()
	if err != nil {
		return trial{}, "", fmt.Errorf("creating the probe's report pipe: %w", err)
	}
	defer r.Close()
	kr, kw, err := os.Pipe()
	if err != nil {
		w.Close()
		return trial{}, "", fmt.Errorf("creating the probe's key pipe: %w", err)
	}
	_, err = kw.Write(key) // 32 bytes: fits the pipe's buffer, the child reads them later
	kw.Close()
	if err != nil {
		w.Close()
		kr.Close()
		return trial{}, "", fmt.Errorf("writing the probe's key: %w", err)
	}
	cmd := exec.CommandContext(ctx, host)
	cmd.Env = append(os.Environ(), ProbeEnv+"="+file, probeKeyEnv+"="+strconv.Itoa(probeKeyFD))
	cmd.ExtraFiles = []*os.File{w, kr} // descriptors 3 and 4
	output := &tailBuffer{max: maxProbeOutput}
	cmd.Stdout, cmd.Stderr = output, output
	cmd.WaitDelay = time.Second
	wait := containProbe(cmd)
	err = cmd.Start()
	w.Close()
	kr.Close()
	if err != nil {
		return trial{}, "", fmt.Errorf("starting the probe %s: %w", host, err)
	}
	var reports []trial
	var forged int
	done := make(chan struct{})
	go func() {
		defer close(done)
		reports, forged = readReports(r, key)
	}()
	waitErr := wait()
	select {
	case <-done:
	case <-time.After(time.Second):
		// Something the probe started, and that left its session, still
		// holds the pipe open.
		r.Close()
		<-done
	}
	last := trial{Stage: "start"}
	if len(reports) > 0 {
		last = reports[len(reports)-1]
	}
	switch {
	case ctx.Err() != nil && (!last.Final || waitErr != nil) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return last, TimedOut, fmt.Errorf("no answer within %v; killed while in %s%s", timeout, describeStage(last.Stage), describeForged(forged, len(reports)))
	case ctx.Err() != nil:
		return last, "", ctx.Err()
	case last.Final && waitErr == nil:
		return last, "", nil // passed, or a failure the probe reported; the caller classifies it
	}
	status := "exit status 0"
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		if ee.ExitCode() == probeExitNoReport {
			return last, Crashed, fmt.Errorf("the probe could not report: %s", lastLines(output.String(), 3))
		}
		status = ee.String()
	} else if waitErr != nil {
		status = waitErr.Error()
	}
	msg := fmt.Sprintf("the probe process ended (%s) while in %s", status, describeStage(last.Stage))
	if waitErr == nil || last.Final {
		msg += ", without the loader's final report: the plugin's code ended the process"
		if last.Final {
			msg = fmt.Sprintf("the probe process ended (%s) after the loader's final report: the plugin's code ended the process", status)
		}
	}
	msg += describeForged(forged, len(reports))
	if tail := lastLines(output.String(), 3); tail != "" {
		msg += ": " + tail
	}
	return last, Crashed, errors.New(msg)
}

// describeForged says, for a reason, that the probe's pipe carried lines
// the loader did not write, if it did.
func describeForged(forged, authentic int) string {
	switch {
	case forged == 0:
		return ""
	case authentic == 0:
		return fmt.Sprintf("; %d report lines the loader did not write were ignored (not signed with this probe's key: written by the plugin, or by a host built with an older plugship loader, which must be rebuilt)", forged)
	}
	return fmt.Sprintf("; %d report lines the loader did not write were ignored (not signed with this probe's key, or out of order: written by the plugin)", forged)
}

func describeStage(stage string) string {
	switch stage {
	case stageOpen:
		return "plugin.Open (the plugin's init)"
	case stageSymbol:
		return "the symbol lookup"
	case stageCall:
		return "Version or IsAcceptable"
	case stageDone:
		return "exit after reporting"
	}
	return "start-up, before opening the plugin (does the host call loader.HandleProbe first thing in main?)"
}

// lastLines returns the first line that explains a crash (a panic or fatal
// error) or else the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			return strings.TrimSpace(l)
		}
	}
	var keep []string
	for i := len(lines) - 1; i >= 0 && len(keep) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			keep = append([]string{l}, keep...)
		}
	}
	return strings.Join(keep, " | ")
}

// tailBuffer keeps the first and last bytes written to it, at most max in
// all, so a chatty plugin cannot exhaust the host's memory.
type tailBuffer struct {
	max  int
	head bytes.Buffer
	tail []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max/2 - b.head.Len(); room > 0 {
		k := min(room, len(p))
		b.head.Write(p[:k])
		p = p[k:]
	}
	b.tail = append(b.tail, p...)
	if over := len(b.tail) - b.max/2; over > 0 {
		b.tail = b.tail[over:]
	}
	return n, nil
}

func (b *tailBuffer) String() string {
	if len(b.tail) == 0 {
		return b.head.String()
	}
	return b.head.String() + "\n...\n" + string(b.tail)
}

var _ io.Writer = (*tailBuffer)(nil)
