//go:build unix && !linux

package loader

import (
	"os/exec"
	"syscall"
)

// containProbe makes cmd start in a session and process group of its own,
// and its Cancel (at the timeout) kill that whole group, and returns the
// function that waits for it: it waits for the probe and then kills what
// is left of its group, since grandchildren outlive a probe that exited by
// itself. (On Linux they are killed before the probe is reaped, and those
// of its session in other groups too.)
func containProbe(cmd *exec.Cmd) (wait func() error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return nil
	}
	return func() error {
		err := cmd.Wait()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return err
	}
}
