//go:build !unix

package loader

import "os/exec"

// containProbe does nothing here but return cmd.Wait: processes the
// plugin starts may outlive its probe.
func containProbe(cmd *exec.Cmd) (wait func() error) { return cmd.Wait }
