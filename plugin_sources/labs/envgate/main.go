// Plugin envgate lets operators switch a plugin off without removing it:
// it is not acceptable while PLUGSHIP_ENVGATE_DISABLE is set to a non-empty
// value, so hosts fall back to an older version or another plugin.
package main

import (
	"os"

	"github.com/plugship/plugship/contract"
)

// version is set by plugship's build (-X) to the manifest version.
var version = "dev"

type envgate struct{}

func (envgate) Version() string    { return version }
func (envgate) IsAcceptable() bool { return os.Getenv("PLUGSHIP_ENVGATE_DISABLE") == "" }

// Showcase is the contract's accessor.
func Showcase() contract.Plugin { return envgate{} }

func main() {}
