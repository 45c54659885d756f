// Plugin hwgate is acceptable only on hardware it was written for: the
// seed post's "underlying hardware as the validation criteria".
package main

import (
	"runtime"

	"github.com/plugship/plugship/contract"
)

// version is set by plugship's build (-X) to the manifest version.
var version = "dev"

type hwgate struct{}

func (hwgate) Version() string { return version }

// IsAcceptable requires a 64-bit Linux machine with at least one CPU.
func (hwgate) IsAcceptable() bool {
	return runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") && runtime.NumCPU() >= 1
}

// Showcase is the contract's accessor.
func Showcase() contract.Plugin { return hwgate{} }

func main() {}
