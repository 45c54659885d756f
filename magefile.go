//go:build mage

// plugship builds, signs, checks and ships Go plugins.
// Run go run mage.go <target> (or mage <target>); go run mage.go -h <target> explains one.
package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/plugship/plugship/internal/build"
)

// Build compiles plugins into dist/plugins/<team>/<plugin>/<plugin>_v<version>_<goos>_<goarch>.so.
type Build mg.Namespace

// All builds every plugin version of every team (also mage build).
// Each version gets its own plugin path; unchanged plugins are not relinked.
func (Build) All(ctx context.Context) error {
	return build.Main(ctx, build.Selection{}, build.Options{}, os.Stdout)
}

// Team builds the plugins of one team: mage build:team payments.
func (Build) Team(ctx context.Context, team string) error {
	return build.Main(ctx, build.Selection{Team: team}, build.Options{}, os.Stdout)
}

// Plugin builds every version of one plugin: mage build:plugin payments/fraud.
func (Build) Plugin(ctx context.Context, plugin string) error {
	sel, err := build.ParseSelection(plugin)
	if err != nil {
		return err
	}
	return build.Main(ctx, sel, build.Options{}, os.Stdout)
}

// Bench runs the benchmarks: plugship's build against a plain go build loop, on the examples.
// Each benchmark runs 3 times on a warm build cache and reports times and ratios.
func Bench() error {
	return sh.RunV("go", "test", "-run", "^$", "-bench", ".", "-benchtime", "3x", "./...")
}

// Clean removes dist/, everything the targets wrote.
func Clean() error { return os.RemoveAll("dist") }

// Aliases: mage build is build:all.
var Aliases = map[string]interface{}{"build": Build.All}

// Default runs when mage is called without a target.
var Default = Build.All
