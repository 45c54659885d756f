//go:build darwin || freebsd

package build

import "syscall"

func ctime(s *syscall.Stat_t) int64 { return s.Ctimespec.Nano() }
