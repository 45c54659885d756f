package loadertest_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/plugtest"
)

// supervised is a host running under plugship-supervise.
type supervised struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (s *supervised) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.Write(p)
}

func (s *supervised) errors() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// expect waits for the next stdout line and checks it.
func (s *supervised) expect(want string, within time.Duration) {
	s.t.Helper()
	select {
	case line := <-s.lines:
		if line != want {
			s.t.Fatalf("host printed %q, want %q\nstderr:\n%s", line, want, s.errors())
		}
	case <-time.After(within):
		s.t.Fatalf("host did not print %q within %v\nstderr:\n%s", want, within, s.errors())
	}
}

// quiet checks that the host prints nothing for d.
func (s *supervised) quiet(d time.Duration) {
	s.t.Helper()
	select {
	case line := <-s.lines:
		s.t.Fatalf("host printed %q, want nothing\nstderr:\n%s", line, s.errors())
	case <-time.After(d):
	}
}

func supervise(t *testing.T, dir string, env ...string) *supervised {
	s := &supervised{t: t, lines: make(chan string, 100)}
	s.cmd = exec.Command(superviseBin, "-backoff", "100ms", "--",
		hostBin, "-trust", fixtureTrust, "-plugin", "fx", "-watch", "-healthy-after", "5s", "-timeout", "5s", dir)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = s
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("supervisor did not stop cleanly: %v\n%s", err, s.errors())
			}
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			t.Errorf("supervisor did not stop on SIGTERM")
		}
	})
	return s
}

// drop installs a fixture in dir as an installer would: signature first,
// then the plugin under a hidden temporary name in dir, renamed into place.
func drop(t *testing.T, dir, fixture string) {
	t.Helper()
	name := filepath.Base(fixtures[fixture])
	copyFile(t, fixtures[fixture]+".sig", filepath.Join(dir, name+".sig"))
	if err := artifact.CopyFileAtomic(filepath.Join(dir, name), fixtures[fixture], 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSupervisedHost runs the four scenarios against one
// supervised host: an update is picked up, a slow copy is never opened half
// written, an unsigned drop causes no restart, and a version that crashes
// the host after being chosen is quarantined and rolled back.
func TestSupervisedHost(t *testing.T) {
	dir := t.TempDir()
	if err := plugtest.CopyPlugin(dir, fixtures["good"]); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "marker")
	s := supervise(t, dir, "PLUGSHIP_TEST_MARKER="+marker)
	s.expect(`Found newest valid plugin version: "1.0.0"`, 20*time.Second)

	// v2 copied in slowly, under its final name, signature first.
	name := filepath.Base(fixtures["goodvar"])
	copyFile(t, fixtures["goodvar"]+".sig", filepath.Join(dir, name+".sig"))
	data, err := os.ReadFile(fixtures["goodvar"])
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		f.Write(data[i*len(data)/3 : (i+1)*len(data)/3])
		f.Sync()
		if i < 2 {
			time.Sleep(1200 * time.Millisecond) // longer than the watch's debounce: it looks at the half-written file
		}
	}
	f.Close()
	s.expect(`Newer plugin version "2.0.0" passed the checks; restarting (exit status 75)`, 20*time.Second)
	s.expect(`Found newest valid plugin version: "2.0.0"`, 20*time.Second)
	if !strings.Contains(s.errors(), "ignored "+filepath.Join(dir, name)+": bad-signature") {
		t.Errorf("the half-written file was not refused by its signature:\n%s", s.errors())
	}

	// An unsigned drop: no restart, and its code never runs.
	copyFile(t, fixtures["marker"], filepath.Join(dir, filepath.Base(fixtures["marker"])))
	s.quiet(3 * time.Second)
	if !strings.Contains(s.errors(), "ignored "+filepath.Join(dir, filepath.Base(fixtures["marker"]))+": unsigned") {
		t.Errorf("the unsigned drop was not reported:\n%s", s.errors())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the unsigned plugin's init ran")
	}
	os.Remove(filepath.Join(dir, filepath.Base(fixtures["marker"])))

	// v4.5 passes every check, then crashes the host: quarantined, and the
	// host rolls back to v2.
	drop(t, dir, "latepanic")
	s.expect(`Newer plugin version "4.5.0" passed the checks; restarting (exit status 75)`, 20*time.Second)
	s.expect(`Found newest valid plugin version: "4.5.0"`, 20*time.Second)
	s.expect(`Found newest valid plugin version: "2.0.0"`, 20*time.Second)
	if !strings.Contains(s.errors(), "fixture crashes its host after being chosen") {
		t.Errorf("the crash is not in the host's output:\n%s", s.errors())
	}
	out, err := exec.Command(hostBin, "-quarantine", "-plugin", "fx", dir).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), filepath.Base(fixtures["latepanic"])+"  ") || !strings.Contains(string(out), "the host died within 5s of choosing it") {
		t.Errorf("quarantine list: %v\n%s", err, out)
	}
	// The supervised host stays on v2: no restart loop.
	s.quiet(2 * time.Second)

	out, err = exec.Command(hostBin, "-quarantine", "-clear", "-plugin", "fx", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "cleared 1") {
		t.Errorf("clearing: %v\n%s", err, out)
	}
}
