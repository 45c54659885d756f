// Plugin ledger exports only the contract's variable, ShowcaseElement, and no
// accessor function. plugin.Lookup returns a variable as a pointer, so hosts
// receive a *contract.Plugin and must dereference it.
package main

import "github.com/plugship/plugship/contract"

// version is set by plugship's build (-X) to the manifest version.
var version = "dev"

type ledger struct{ version string }

func (l *ledger) Version() string    { return l.version }
func (l *ledger) IsAcceptable() bool { return true }

// ShowcaseElement is the contract's variable entry point.
var ShowcaseElement contract.Plugin = &ledger{version}

func main() {}
