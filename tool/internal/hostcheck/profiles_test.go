package hostcheck

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/plugtest"
)

// TestCheckProfiles: check and align take an external profile of
// compat/hosts.yaml by name, and CheckProfiles checks every one: one report
// per host, verdict first, and the way out names the profile.
func TestCheckProfiles(t *testing.T) {
	f := getFixture(t)
	repo := copyRepo(t, f.repo)
	if err := plugtest.WriteFile(filepath.Join(repo, "compat", "hosts.yaml"), "profiles:\n  - name: current\n  - name: old\n    binary: "+f.host11+"\n  - name: new\n    binary: "+f.host12+"\n"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out bytes.Buffer
	err := CheckProfiles(ctx, Options{Root: repo}, &out)
	t.Logf("output:\n%s", out.String())
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "1 of 2 external host profiles differ from the plugins or could not be checked: old") {
		t.Errorf("CheckProfiles = %v, want old to differ", err)
	}
	for _, want := range []string{
		"host profile old (" + f.host11 + ") (go1.",
		"  lab/uses: module example.com/shared: plugins build with v1.2.0, the host links v1.1.0 — the plugin needs a newer version than the host has: lower the requirement (go run mage.go check:align old) or wait for a host release\n",
		"host profile new (" + f.host12 + ") (go1.",
		"): every plugin's modules, Go release and flags match\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}

	if _, _, err := runCheck(t, repo, "nope"); err == nil || !strings.Contains(err.Error(), "host nope: no such file, and compat/hosts.yaml has no profile nope with binary or module (it has old, new)") {
		t.Errorf("Check of an unknown profile = %v", err)
	}

	out.Reset()
	if err := Align(ctx, Options{Root: repo, Host: "old"}, &out); err != nil {
		t.Fatalf("Align old = %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "go.mod: example.com/shared v1.2.0 -> v1.1.0\n") {
		t.Errorf("Align output:\n%s", out.String())
	}
	out.Reset()
	err = CheckProfiles(ctx, Options{Root: repo}, &out)
	t.Logf("after aligning with old:\n%s", out.String())
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "differ from the plugins or could not be checked: new:") {
		t.Errorf("CheckProfiles after aligning = %v, want new to differ now", err)
	}
	if want := "go run mage.go check:align new raises it; the build for profile new already uses the host's version\n"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q", want)
	}
}
