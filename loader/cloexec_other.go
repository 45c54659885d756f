//go:build !unix

package loader

import "os"

func closeOnExec(*os.File) {}
