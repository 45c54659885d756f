package build

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/plugtest"
)

// fleetHelper is the module's package every fleet plugin imports.
const fleetHelper = "lib/fleethelper"

// fleetHelperSource is the helper package, with a comment that tests
// change.
func fleetHelperSource(comment string) string {
	return "// Package fleethelper is shared by the plugins of a generated fleet.\npackage fleethelper\n\n// " + comment + "\n\n// Accept reports whether a plugin's setting is usable.\nfunc Accept(s string) bool { return s != \"\" }\n"
}

// fleetPlugin is the main package of one generated plugin; nonce makes
// its compiled package new to the build cache.
func fleetPlugin(name, nonce string) string {
	return `package main

import (
	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/lib/fleethelper"
)

var version = "dev"

const setting = "` + name + ` ` + nonce + `"

type p struct{}

func (p) Version() string    { return version }
func (p) IsAcceptable() bool { return fleethelper.Accept(setting) }

func Showcase() contract.Plugin { return p{} }

func main() {}
`
}

// fleetFiles returns the files of a generated fleet of n plugin versions
// (slash paths -> content), for plugtest.Module: teams of 10 plugins, each
// plugin at two versions built from two folders (its current source and
// a previous release's), every plugin importing the contract and the
// module's helper package; and the source folders, relative to the
// module root, one per version.
func fleetFiles(n int, nonce string) (map[string]string, []string) {
	files := map[string]string{path.Join(fleetHelper, "helper.go"): fleetHelperSource("generated")}
	var sources []string
	plugins := (n + 1) / 2
	for team := 0; team*10 < plugins; team++ {
		tname := fmt.Sprintf("fleet%02d", team)
		var m strings.Builder
		fmt.Fprintf(&m, "name: %s\nowners: [%s@example.com]\nplugins:\n", tname, tname)
		for i := team * 10; i < min(plugins, team*10+10); i++ {
			pname := fmt.Sprintf("p%03d", i)
			cur := path.Join(tname, pname)
			fmt.Fprintf(&m, "  - name: %s\n    source: %s\n    version: 1.1.0\n", pname, cur)
			files[path.Join("plugin_sources", cur, "main.go")] = fleetPlugin(pname, nonce)
			sources = append(sources, path.Join("plugin_sources", cur))
			if len(sources) < n {
				prev := path.Join(tname, pname, "v1.0")
				fmt.Fprintf(&m, "    previous:\n      - version: 1.0.0\n        source: %s\n", prev)
				files[path.Join("plugin_sources", prev, "main.go")] = fleetPlugin(pname+" 1.0", nonce)
				sources = append(sources, path.Join("plugin_sources", prev))
			}
		}
		files[path.Join("teams", tname, "team.yaml")] = m.String()
	}
	return files, sources
}

// newFleet writes a module with a generated fleet of n plugin versions
// into dir and returns the source folders.
func newFleet(tb testing.TB, dir string, n int, nonce string) []string {
	tb.Helper()
	files, sources := fleetFiles(n, nonce)
	if err := plugtest.Module(root, dir, files); err != nil {
		tb.Fatal(err)
	}
	return sources
}

// appendTo appends text to a file of the module.
func appendTo(tb testing.TB, mod, file, text string) {
	tb.Helper()
	if err := appendFile(filepath.Join(mod, filepath.FromSlash(file)), text); err != nil {
		tb.Fatal(err)
	}
}

func appendFile(file, text string) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
