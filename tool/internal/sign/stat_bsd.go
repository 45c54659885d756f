//go:build darwin || freebsd

package sign

import "syscall"

func ctime(s *syscall.Stat_t) int64 { return s.Ctimespec.Nano() }
