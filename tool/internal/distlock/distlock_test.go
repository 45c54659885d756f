package distlock

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdEnv makes the test binary a holder: it takes the lock of the folder
// the variable names, says "locked" and keeps the lock until its stdin closes.
const holdEnv = "DISTLOCK_TEST_HOLD"

func TestMain(m *testing.M) {
	if dist := os.Getenv(holdEnv); dist != "" {
		l, err := Acquire(context.Background(), dist, "mage build", os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("locked")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		l.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder starts another process that holds the lock of dist; closing the
// returned pipe ends it.
func holder(t *testing.T, dist string) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dist)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("the holder said %q, %v", line, err)
	}
	return cmd, func() { stdin.Close() }
}

// syncBuffer is a bytes.Buffer two goroutines can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSecondRunWaits: while another process holds dist/, a second run
// waits, naming that process's pid and what it runs, and goes on as soon as
// the first ends; the lock file then names the second.
func TestSecondRunWaits(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	first, release := holder(t, dist)
	var out syncBuffer
	got := make(chan error, 1)
	var l *Lock
	go func() {
		var err error
		l, err = Acquire(context.Background(), dist, "mage sign", &out)
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the second run did not wait: %v\n%s", err, out.String())
	case <-time.After(time.Second):
	}
	want := fmt.Sprintf("%s is being written by pid %d (mage build, since ", dist, first.Process.Pid)
	if s := out.String(); !strings.HasPrefix(s, want) || !strings.Contains(s, "waiting for it to finish") {
		t.Errorf("while waiting it said %q, want it to start %q", s, want)
	}
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still waiting 10s after the first run ended:\n%s", out.String())
	}
	defer l.Release()
	if !strings.Contains(out.String(), dist+" is free: going on after ") {
		t.Errorf("output:\n%s", out.String())
	}
	if h := Read(filepath.Join(dist, File)); h.PID != os.Getpid() || h.What != "mage sign" || time.Since(h.Since) > time.Minute {
		t.Errorf("the lock file says %+v, want this process", h)
	}
}

// TestKilledHolder: a run killed while holding the lock lets go of it.
func TestKilledHolder(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	first, _ := holder(t, dist)
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	l, err := Acquire(ctx, dist, "mage build", &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	l.Release()
	if out.Len() != 0 {
		t.Errorf("said %q, want nothing: nobody holds the lock", out.String())
	}
}

// TestGiveUp: a run whose context ends while it waits says for whom it waited.
func TestGiveUp(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	first, _ := holder(t, dist)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	_, err := Acquire(ctx, dist, "mage build", &out)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("gave up waiting for %s, held by pid %d (mage build", dist, first.Process.Pid)) {
		t.Errorf("got %v", err)
	}
}

// TestRemovedWhileHeld: a run that removes dist/ while holding its lock
// (clean) must not let a waiting run and a later one both hold it.
func TestRemovedWhileHeld(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	first, err := Acquire(context.Background(), dist, "mage clean", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dist); err != nil {
		t.Fatal(err)
	}
	second, err := Acquire(context.Background(), dist, "mage build", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	first.Release()
	defer second.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if third, err := Acquire(ctx, dist, "mage sign", &bytes.Buffer{}); err == nil {
		third.Release()
		t.Fatal("a third run took the lock the second holds")
	}
}
