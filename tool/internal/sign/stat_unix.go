//go:build linux || darwin || freebsd

package sign

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// statFile is the identity of the file at path (see fileStat); a file
// that does not exist has the identity {Missing: true}.
func statFile(path string) (fileStat, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStat{Missing: true}, nil
	}
	if err != nil {
		return fileStat{}, err
	}
	st := fileStat{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.Ino, st.Dev = uint64(s.Ino), uint64(s.Dev)
		st.CTime = ctime(s)
	}
	return st, nil
}
