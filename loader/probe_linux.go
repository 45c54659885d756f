package loader

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// containProbe makes cmd start in a session and process group of its own
// (its process ID is both IDs), killed if this process dies first
// (Pdeathsig: it no longer shares a terminal's process group with this
// one), and its Cancel (at the timeout) kill that whole session rather
// than the probe alone. It returns the function that waits for the probe:
// it waits for the probe to exit, kills every process left in its session
// (grandchildren outlive a probe that exited by itself), and only then
// reaps the probe, so that until then its ID, which names the session and
// the group, cannot have been reused.
func containProbe(cmd *exec.Cmd) (wait func() error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	var mu sync.Mutex
	reaped := false
	cmd.Cancel = func() error {
		mu.Lock()
		defer mu.Unlock()
		if !reaped {
			endSession(cmd.Process.Pid)
		}
		return nil
	}
	return func() error {
		waitExited(cmd.Process.Pid)
		mu.Lock()
		endSession(cmd.Process.Pid)
		reaped = true
		mu.Unlock()
		return cmd.Wait()
	}
}

// waitExited blocks until process pid has exited, without reaping it
// (waitid with WNOWAIT).
func waitExited(pid int) {
	const pPID = 1     // P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if e != syscall.EINTR {
			return
		}
	}
}

// endSession kills process group sid and every process of session sid,
// including those that moved to another group of the session, until none
// is left alive (at most about a second: a process in uninterruptible
// sleep dies when it wakes). A process that left the session with
// setsid(2) is out of reach; only a cgroup (a systemd unit) contains that.
func endSession(sid int) {
	syscall.Kill(-sid, syscall.SIGKILL)
	deadline := time.Now().Add(time.Second)
	for {
		alive := sessionMembers(sid)
		for _, pid := range alive {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(alive) == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// sessionMembers returns the live (not zombie) processes whose session or
// process group is sid, read from /proc.
func sessionMembers(sid int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var found []int
	buf := make([]byte, 512)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == sid {
			continue // the leader itself is dead: waitProbe runs after it exited, Cancel killed it
		}
		stat, ok := readStat(name, buf)
		if !ok {
			continue
		}
		// pid (comm) state ppid pgrp session ...; comm may hold anything but
		// ends at the last ')'.
		f := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
		if len(f) < 4 || f[0][0] == 'Z' || f[0][0] == 'X' {
			continue
		}
		pgrp, _ := strconv.Atoi(string(f[2]))
		session, _ := strconv.Atoi(string(f[3]))
		if pgrp == sid || session == sid {
			found = append(found, pid)
		}
	}
	return found
}

func readStat(pid string, buf []byte) ([]byte, bool) {
	fd, err := syscall.Open("/proc/"+pid+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	n, err := syscall.Read(fd, buf)
	if err != nil || n <= 0 || bytes.LastIndexByte(buf[:n], ')') < 0 {
		return nil, false
	}
	return buf[:n], true
}
