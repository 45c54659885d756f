package loader

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"plugin"
	"strings"
	"time"
)

// ProbeEnv is the environment variable that makes a host process a probe:
// it holds the plugin file to probe. The loader sets it on the child
// processes it starts; hosts never set it.
const ProbeEnv = "PLUGSHIP_LOADER_PROBE"

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
// If the plugin crashes, exits or hangs, only the probe process is lost. A
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
	report := os.NewFile(3, "loader-report")
	if _, err := report.Stat(); err != nil {
		fmt.Fprintf(os.Stderr, "%s is set but there is no report pipe: this process was not started by the plugship loader\n", ProbeEnv)
		os.Exit(probeExitNoReport)
	}
	closeOnExec(report) // nor the pipe: the loader waits for it to close
	enc := json.NewEncoder(report)
	t := try[T](file, names, func(stage string) { enc.Encode(trial{Stage: stage}) })
	if err := enc.Encode(t); err != nil {
		fmt.Fprintf(os.Stderr, "probe: writing the report: %v\n", err)
		os.Exit(probeExitNoReport)
	}
	os.Exit(0)
}

// maxProbeOutput is how much of a probe's stdout and stderr is kept for
// the reason of a crash.
const maxProbeOutput = 16 << 10

// probe runs host with ProbeEnv=file and returns what it reported, or why it
// did not: the outcome is Crashed or TimedOut when the process died or
// hung, with the stage it was in and the tail of its output.
func probe(ctx context.Context, host, file string, timeout time.Duration) (trial, Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, w, err := os.Pipe()
	if err != nil {
		return trial{}, "", err
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, host)
	cmd.Env = append(os.Environ(), ProbeEnv+"="+file)
	cmd.ExtraFiles = []*os.File{w}
	output := &tailBuffer{max: maxProbeOutput}
	cmd.Stdout, cmd.Stderr = output, output
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		w.Close()
		return trial{}, "", fmt.Errorf("starting the probe %s: %w", host, err)
	}
	w.Close()
	var reports []trial
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var t trial
			if json.Unmarshal(sc.Bytes(), &t) == nil {
				reports = append(reports, t)
			}
		}
	}()
	waitErr := cmd.Wait()
	select {
	case <-done:
	case <-time.After(time.Second):
		// Something the probe started still holds the pipe open.
		r.Close()
		<-done
	}
	last := trial{Stage: "start"}
	if len(reports) > 0 {
		last = reports[len(reports)-1]
	}
	switch {
	case ctx.Err() != nil && (last.Stage != stageDone || waitErr != nil) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return last, TimedOut, fmt.Errorf("no answer within %v; killed while in %s", timeout, describeStage(last.Stage))
	case ctx.Err() != nil:
		return last, "", ctx.Err()
	case last.Stage == stageDone && last.Err == "" && waitErr == nil:
		return last, "", nil
	case last.Err != "" && waitErr == nil:
		return last, "", nil // a failure the probe reported; the caller classifies it
	}
	var ee *exec.ExitError
	status := waitErr.Error()
	if errors.As(waitErr, &ee) {
		if ee.ExitCode() == probeExitNoReport {
			return last, Crashed, fmt.Errorf("the probe could not report: %s", lastLines(output.String(), 3))
		}
		status = ee.String()
	}
	msg := fmt.Sprintf("the probe process ended (%s) while in %s", status, describeStage(last.Stage))
	if tail := lastLines(output.String(), 3); tail != "" {
		msg += ": " + tail
	}
	return last, Crashed, errors.New(msg)
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
