//go:build !(linux || darwin || freebsd)

package build

import "os"

// statFile is the identity of the file at path (see fileStat): size and
// modification time only.
func statFile(path string) (fileStat, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStat{}, err
	}
	return fileStat{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}, nil
}
