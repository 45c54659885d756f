// Plugin uptime lives in a source folder with a dot in its name
// (uptime.v1), the case that broke symbol lookup in the seed post's Go 1.8
// days. plugship builds every plugin under its own import path, so the
// folder name does not reach the symbol table.
package main

import (
	"time"

	"github.com/plugship/plugship/contract"
)

// version is set by plugship's build (-X) to the manifest version.
var version = "dev"

var loadedAt = time.Now()

type uptime struct{}

func (uptime) Version() string { return version }

// IsAcceptable is true once the clock is sane: time moves forward since load.
func (uptime) IsAcceptable() bool { return !time.Now().Before(loadedAt) }

// Showcase is the contract's accessor.
func Showcase() contract.Plugin { return uptime{} }

func main() {}
