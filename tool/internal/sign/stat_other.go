//go:build !(linux || darwin || freebsd)

package sign

import (
	"errors"
	"io/fs"
	"os"
)

// statFile is the identity of the file at path (see fileStat): size and
// modification time only; {Missing: true} for a file that does not exist.
func statFile(path string) (fileStat, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStat{Missing: true}, nil
	}
	if err != nil {
		return fileStat{}, err
	}
	return fileStat{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}, nil
}
