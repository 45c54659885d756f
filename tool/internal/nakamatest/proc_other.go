//go:build !unix

package nakamatest

import (
	"os"
	"os/exec"
)

// ownGroup does nothing: process groups are a Unix thing (and so are Go
// plugins).
func ownGroup(cmd *exec.Cmd) {}

// killGroup kills cmd's process.
func killGroup(cmd *exec.Cmd) {
	cmd.Process.Kill()
}

// terminate interrupts cmd's process.
func terminate(cmd *exec.Cmd) error {
	return cmd.Process.Signal(os.Interrupt)
}
