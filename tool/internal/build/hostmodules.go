package build

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/plugship/plugship/internal/hostmods"
)

// checkHostModules refuses to build a plugin for a binary profile when it
// links a module that the host also links but that the profile's module
// graph selects at another version: the plugin repository needs a newer
// one than the host has (or replaces it), and the file could never load
// into the host. It runs go list only when the graph has such a module
// and [Keys] did not list the action's modules.
func (a *Action) checkHostModules(ctx context.Context) error {
	h := a.Target.Env.Host
	if h == nil || len(h.Selected) == 0 {
		return nil
	}
	modules := a.modules
	if modules == nil {
		args := []string{"list", "-modfile=" + h.Modfile, "-overlay=" + a.OverlayFile, "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", a.Package}
		cmd := a.Target.Env.Command(ctx, args...)
		cmd.Env = append(cmd.Env, a.Env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("go list -deps (%s): %v\n%s", a.Target.Env.Describe(), err, strings.TrimSpace(stderr.String()))
		}
		modules = strings.Fields(string(out))
	}
	linked := map[string]string{}
	for _, m := range modules {
		if v, ok := h.Selected[m]; ok {
			linked[m] = v
		}
	}
	ds := hostmods.Compare(a.Team+"/"+a.Plugin+" v"+a.Version, linked, h.Modules)
	if len(ds) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cannot build for profile %s: the host %s links %s at another version:", strings.Join(a.Target.Profiles, ", "), h.Given, plural(len(ds), "module"))
	for _, d := range ds {
		// check:align takes the profile by name, whatever form its host has.
		fmt.Fprintf(&b, "\n  %s", hostmods.Line(d, a.Target.Profiles[0]))
	}
	return fmt.Errorf("%s", b.String())
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
