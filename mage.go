//go:build ignore

// Zero-install bootstrap: `go run mage.go <target>` runs mage's targets
// without a mage binary on PATH.
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
