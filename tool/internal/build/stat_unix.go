//go:build linux || darwin || freebsd

package build

import (
	"os"
	"syscall"
)

// statFile is the identity of the file at path (see fileStat).
func statFile(path string) (fileStat, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStat{}, err
	}
	fs := fileStat{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		fs.Ino, fs.Dev = uint64(s.Ino), uint64(s.Dev)
		fs.CTime = ctime(s)
	}
	return fs, nil
}
