//go:build mage

// plugship builds, signs, checks and ships Go plugins.
// Run go run mage.go <target> (or mage <target>); go run mage.go -h <target> explains one; docs/reference/targets.md lists them all.
package main

// This file is exactly what a repository that adopts plugship writes: the
// targets come from package targets (Default and Aliases must be spelled
// out here: mage reads them from this file only).

import (
	//mage:import
	"github.com/plugship/plugship/tool/targets"
)

// Default runs when mage is called without a target: the main job.
var Default = targets.All

// Aliases: mage build is build:all, mage compat is compat:run, mage publish is publish:run, mage clean is clean:dist.
var Aliases = map[string]interface{}{"build": targets.Build.All, "compat": targets.Compat.Run, "publish": targets.Publish.Run, "clean": targets.Clean.Dist}
