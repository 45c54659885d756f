package loader

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The host's check runs as a real process (a shell script standing in for
// the host's check command): its exit status decides, its last lines are
// the reason, the candidate is placed under the name the host expects, and
// a check that hangs is killed at the timeout with everything it started.
func TestHostCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "greeter_v1.2.0_linux_amd64_go1.26.8-00000000.so")
	if err := os.WriteFile(file, []byte("the candidate's bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Candidate{File: file, Version: "1.2.0"}
	run := func(t *testing.T, timeout time.Duration, check ...string) (Outcome, error) {
		t.Helper()
		opts, err := Options{Host: "/bin/sh", Check: check, ProbeTimeout: timeout}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		return hostCheck(context.Background(), opts, c, "greeter")
	}

	t.Run("passes", func(t *testing.T) {
		// Only the candidate, named {plugin}.so, is in the folder, with the
		// candidate's bytes; {version} and {host} are filled in.
		script := `test "$(ls "$1")" = greeter.so && test "$(cat "$1/greeter.so")" = "the candidate's bytes" && test "$2" = 1.2.0 && test "$3" = /bin/sh`
		if o, err := run(t, 10*time.Second, "/bin/sh", "-c", script, "sh", "{dir}", "{version}", "{host}"); err != nil {
			t.Fatalf("outcome %q, %v; want the check to pass", o, err)
		}
	})
	t.Run("fails with the host's last lines", func(t *testing.T) {
		script := `echo starting; echo '{"level":"error","msg":"Could not open Go module","path":"'"$1"'"}'; echo "on stderr" >&2; exit 1`
		o, err := run(t, 10*time.Second, "/bin/sh", "-c", script, "sh", "{file}")
		if o != CheckFailed || err == nil {
			t.Fatalf("outcome %q, %v; want %s", o, err, CheckFailed)
		}
		for _, want := range []string{"exit status 1", `"msg":"Could not open Go module"`, "greeter.so", "on stderr"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("reason %q lacks %q", err, want)
			}
		}
	})
	t.Run("a check that hangs is killed with what it started", func(t *testing.T) {
		pidFile := filepath.Join(t.TempDir(), "pid")
		script := `sleep 60 & echo $! > ` + pidFile + `; wait`
		start := time.Now()
		o, err := run(t, 300*time.Millisecond, "/bin/sh", "-c", script)
		if o != TimedOut || err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
			t.Fatalf("outcome %q, %v; want %s", o, err, TimedOut)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v to time out", d)
		}
		data, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if err := syscall.Kill(pid, 0); err == nil {
			if stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); !strings.Contains(string(stat), ") Z") {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("the check's child %d outlived it", pid)
			}
		}
	})
	t.Run("a bad file name", func(t *testing.T) {
		opts, _ := Options{Host: "/bin/sh", Check: []string{"/bin/true"}, CheckFile: "../{plugin}.so"}.withDefaults()
		if o, err := hostCheck(context.Background(), opts, c, "greeter"); o != CheckFailed || err == nil || !strings.Contains(err.Error(), "not a file name") {
			t.Fatalf("outcome %q, %v; want a refused file name", o, err)
		}
	})
}
