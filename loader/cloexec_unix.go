//go:build unix

package loader

import (
	"os"
	"syscall"
)

func closeOnExec(f *os.File) { syscall.CloseOnExec(int(f.Fd())) }
