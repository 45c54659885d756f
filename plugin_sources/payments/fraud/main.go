// Plugin fraud scores payments for fraud. Its scoring rules live in a
// plugin-private helper package, internal/score, which only this plugin
// imports.
//
// Two versions of a plugin whose private helper differs cannot be opened in
// one process ("plugin was built with a different version of package
// .../internal/score"); hosts open one version at a time.
package main

import (
	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/plugin_sources/payments/fraud/internal/score"
)

// version is set by plugship's build (-X) to the manifest version.
var version = "dev"

type fraud struct{}

func (fraud) Version() string { return version }

// IsAcceptable is true when the scoring rules load and rate a known-good
// sample payment below the review threshold.
func (fraud) IsAcceptable() bool {
	rules, err := score.DefaultRules()
	if err != nil {
		return false
	}
	return rules.Score(score.Payment{AmountCents: 1999, Country: "DE", CardCountry: "DE"}) < rules.ReviewAt
}

// Showcase is the contract's accessor.
func Showcase() contract.Plugin { return fraud{} }

func main() {}
