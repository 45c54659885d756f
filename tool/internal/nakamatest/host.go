package nakamatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartTimeout is how long Start waits for the host's "Startup done".
const StartTimeout = 30 * time.Second

// Check runs bin check --runtime.path dir, as nakama check: it opens every
// .so below dir and checks its InitModule's type without calling it. It
// returns the exit code (0 and no output when every file passes; 1 and a
// JSON log line on stdout at the first that does not) and the output.
// A run that does not end within 10 minutes fails the test.
func Check(t testing.TB, bin, dir string) (exitCode int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "check", "--runtime.path", dir)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s check --runtime.path %s: %v\nstdout:\n%s\nstderr:\n%s", bin, dir, ctx.Err(), out.Bytes(), errOut.Bytes())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String(), errOut.String()
	default:
		t.Fatalf("%s check --runtime.path %s: %v", bin, dir, err)
	}
	return 0, out.String(), errOut.String()
}

// Server is a host serving (see Start).
type Server struct {
	// Addr is the address it listens on (host:port), from its "Startup
	// done" line; URL is http://Addr.
	Addr, URL string

	cmd            *exec.Cmd
	stdout, stderr *output
	done           chan struct{} // closed once the process has exited
}

// ExitError is TryStart's error when the host exits before it logs
// "Startup done".
type ExitError struct {
	Code           int // the exit status; -1 if a signal ended it
	Stdout, Stderr string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("host exited with status %d before Startup done\nstdout:\n%s\nstderr:\n%s", e.Code, e.Stdout, e.Stderr)
}

// Start serves the .so files below dir with the host bin (bin
// --runtime.path dir --addr 127.0.0.1:0) in a process group of its own:
// the host opens each file and calls its InitModule, then listens. Start
// returns once it has logged "Startup done", failing the test if it exits
// first (with its output) or takes longer than StartTimeout. The process
// group is killed when the test ends.
func Start(t testing.TB, bin, dir string) *Server {
	t.Helper()
	s, err := TryStart(t, bin, dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TryStart is Start for hosts expected to fail: if the host exits before
// "Startup done", it returns an *ExitError with its status and output. It
// still fails the test if the host cannot be started or takes longer than
// StartTimeout.
func TryStart(t testing.TB, bin, dir string) (*Server, error) {
	t.Helper()
	s := &Server{
		cmd:    exec.Command(bin, "--runtime.path", dir, "--addr", "127.0.0.1:0"),
		stdout: newOutput(),
		stderr: newOutput(),
		done:   make(chan struct{}),
	}
	s.cmd.Stdout = s.stdout
	s.cmd.Stderr = s.stderr
	s.cmd.WaitDelay = 5 * time.Second // a child holding its output open
	ownGroup(s.cmd)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
			return
		default:
		}
		killGroup(s.cmd)
		<-s.done
	})
	select {
	case s.Addr = <-s.stdout.ready:
		s.URL = "http://" + s.Addr
		return s, nil
	case <-s.done:
		select {
		case s.Addr = <-s.stdout.ready: // started, then exited
			s.URL = "http://" + s.Addr
			return s, nil
		default:
		}
		return nil, &ExitError{Code: s.cmd.ProcessState.ExitCode(), Stdout: s.Output(), Stderr: s.Stderr()}
	case <-time.After(StartTimeout):
		killGroup(s.cmd)
		<-s.done
		t.Fatalf("%s --runtime.path %s: no Startup done after %v\nstdout:\n%s\nstderr:\n%s", bin, dir, StartTimeout, s.Output(), s.Stderr())
		return nil, nil
	}
}

// RPC calls the RPC id with payload as Nakama's HTTP API is called with
// unwrap (POST /v2/rpc/<id>?http_key=defaulthttpkey&unwrap, the raw
// payload as body) and returns the response's body and status: 200 with
// what the RPC returned, 500 with its error's text, 404 for an id no
// module registered.
func (s *Server) RPC(id, payload string) (string, int, error) {
	client := &http.Client{Timeout: StartTimeout}
	resp, err := client.Post(s.URL+"/v2/rpc/"+url.PathEscape(id)+"?http_key=defaulthttpkey&unwrap", "application/json", strings.NewReader(payload))
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), resp.StatusCode, err
}

// Output returns what the host wrote to standard output so far: its JSON
// log lines, the modules' own included.
func (s *Server) Output() string { return s.stdout.String() }

// Stderr returns what the host wrote to standard error so far (a panic's
// trace, for one).
func (s *Server) Stderr() string { return s.stderr.String() }

// Stop sends SIGTERM to the host (os.Interrupt where there are no
// signals) and returns its exit status once it has exited; it kills it
// and returns an error if that takes longer than StartTimeout.
func (s *Server) Stop() (int, error) {
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode(), nil
	default:
	}
	if err := terminate(s.cmd); err != nil {
		return 0, err
	}
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode(), nil
	case <-time.After(StartTimeout):
		killGroup(s.cmd)
		<-s.done
		return s.cmd.ProcessState.ExitCode(), fmt.Errorf("host did not exit within %v of SIGTERM", StartTimeout)
	}
}

// output collects a stream and reports the address of the first JSON
// line whose msg is "Startup done".
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	scanned int
	found   bool
	ready   chan string
}

func newOutput() *output { return &output{ready: make(chan string, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	for !o.found {
		rest := o.buf.Bytes()[o.scanned:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		o.scanned += i + 1
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(rest[:i], &line) == nil && line.Msg == "Startup done" {
			o.found = true
			o.ready <- line.Addr
		}
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
