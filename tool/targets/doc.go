// Package targets is plugship's mage targets, for a repository's
// magefile.go to import. A repository that ships Go plugins with plugship
// needs only this magefile (and mage.go, the zero-install bootstrap):
//
//	//go:build mage
//
//	// Our plugins: go run mage.go -l lists the targets.
//	package main
//
//	import (
//		//mage:import
//		"github.com/plugship/plugship/tool/targets"
//	)
//
//	// Default runs when mage is called without a target: the main job.
//	var Default = targets.All
//
//	// Aliases: mage build is build:all, mage compat is compat:run, mage publish is publish:run, mage clean is clean:dist.
//	var Aliases = map[string]interface{}{"build": targets.Build.All, "compat": targets.Compat.Run, "publish": targets.Publish.Run, "clean": targets.Clean.Dist}
//
// Mage reads Default and Aliases from the importing magefile only, which is
// why they are spelled out there.
//
// Every target works on the repository it is run in (the current folder,
// which holds go.mod) as its plugship.yaml describes it: the contract
// package and the symbols hosts look up, and the folders of teams, plugin
// sources, host profiles and output (see `go run mage.go config`; every
// field has a default, so the file is optional).
//
// Each target is a one-liner over one step package; the steps meet in the
// files they write to dist/, so any target can run alone, on another
// machine, from a previous target's output. Exported functions and
// namespaces of this package are targets: a helper here must be unexported.
package targets
