package badinput_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/verify"
	"github.com/plugship/plugship/trust"
)

// editPolicy rewrites dist/trust.json through edit, as a hand edit would.
func editPolicy(t *testing.T, dist string, edit func(p map[string]any)) string {
	t.Helper()
	file := filepath.Join(dist, sign.TrustFile)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	edit(p)
	data, _ = json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestUnknownPluginInTrustPolicy, both ways: a trust.json that lists a
// plugin no team in it owns, or lacks a registered plugin; and a signed
// file of a plugin no team lists (so not in the policy).
func TestUnknownPluginInTrustPolicy(t *testing.T) {
	f := signedFleet(t, "good", "ghost")
	ctx := context.Background()
	hostBin := showcaseHost(t)
	good, ghost := f.files["good"], f.files["ghost"]
	// The channel as it was when both were published.
	index := f.channel(t, filepath.Join(t.TempDir(), "channel"), good, ghost)
	cfg := f.hostsConfig(t)
	var out bytes.Buffer
	runMatrix := func() error {
		out.Reset()
		return compat.Main(ctx, compat.Options{Root: f.root, Dist: f.dist, Config: cfg}, &out)
	}
	host := func(args ...string) string {
		b, _ := exec.Command(hostBin, args...).CombinedOutput()
		return strings.TrimSpace(string(b))
	}

	// 1. trust.json lists plugin "phantom" of team "phantoms", which has
	// no keys in it: no team owns it. Every reader of the file refuses it.
	policyFile := editPolicy(t, f.dist, func(p map[string]any) { p["plugins"].(map[string]any)["phantom"] = "phantoms" })
	if err := runMatrix(); err == nil || !strings.Contains(err.Error(), "plugin phantom belongs to team phantoms, which has no keys in the policy") {
		t.Errorf("matrix: %v\n%s", err, out.String())
	} else {
		record(t, "policy-ownerless-plugin", "matrix", Refused, err.Error())
	}
	msg := host("-trust", policyFile, "-plugin", "good", "-fetch", index, t.TempDir())
	if !strings.Contains(msg, "which has no keys in the policy") {
		t.Errorf("host -fetch: %s", msg)
	}
	record(t, "policy-ownerless-plugin", "fetch", Refused, "showcase -fetch: "+msg)
	plugins := t.TempDir()
	if err := copyPlugin(plugins, good); err != nil {
		t.Fatal(err)
	}
	msg = host("-trust", policyFile, "-plugin", "good", plugins)
	if !strings.Contains(msg, "which has no keys in the policy") {
		t.Errorf("host: %s", msg)
	}
	record(t, "policy-ownerless-plugin", "loader", Refused, "showcase: "+msg)
	// verify and publish build their policy from teams/ and the keys.
	out.Reset()
	if err := verify.Main(ctx, verify.Options{Root: f.mod}, &out); err != nil {
		t.Errorf("verify: %v\n%s", err, out.String())
	}
	for _, kind := range []string{"policy-ownerless-plugin", "policy-missing-plugin"} {
		record(t, kind, "verify", NotApplied, "does not read dist/trust.json: it checks against the policy of teams/ and the keys (all verified)")
		record(t, kind, "publish", NotApplied, "does not read dist/trust.json: it checks against the policy of teams/ and the keys")
	}
	// The sign step writes trust.json anew from teams/.
	out.Reset()
	sign.Main(ctx, sign.Options{Root: f.mod}, &out)
	if p := f.policy(t); p.Plugins["phantom"] != "" {
		t.Errorf("sign left phantom in trust.json")
	}
	record(t, "policy-ownerless-plugin", "sign", Replaced, "trust.json written anew from teams/ and the keys: phantom is gone")

	// 2. trust.json without the registered plugin good (a hand edit, or
	// one written before good was added).
	editPolicy(t, f.dist, func(p map[string]any) { delete(p["plugins"].(map[string]any), "good") })
	policy := f.policy(t)
	if err := runMatrix(); err != nil {
		t.Errorf("matrix: %v\n%s", err, out.String())
	}
	mx, err := matrix.Read(filepath.Join(f.dist, matrix.Dir, matrix.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range mx.Cells {
		if strings.HasPrefix(c.Plugin, "ok/good@1.0.0 ") {
			if c.Outcome == matrix.OK {
				t.Errorf("matrix: good passed without being in the policy")
			}
			record(t, "policy-missing-plugin", "matrix", Refused, fmt.Sprintf("cell %s: %s: %s", c.Host, c.Outcome, c.Detail))
		}
	}
	d := f.try(t, good, policy)
	if d.Outcome == loader.Passed || !strings.Contains(d.Reason, "plugin good is not in the trust policy") {
		t.Errorf("loader: %+v", d)
	}
	record(t, "policy-missing-plugin", "loader", Refused, fmt.Sprintf("loader.Try: %s %s: %s", d.Outcome, d.Cause, d.Reason))
	res, err := fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "good", Dir: t.TempDir(), Trust: policy})
	if err == nil || len(res) != 1 || res[0].Outcome != "refused" {
		t.Errorf("fetch: %v %+v", err, res)
	} else {
		record(t, "policy-missing-plugin", "fetch", Refused, res[0].Reason)
	}
	out.Reset()
	sign.Main(ctx, sign.Options{Root: f.mod}, &out)
	if f.policy(t).Plugins["good"] != "ok" {
		t.Errorf("sign did not put good back in trust.json")
	}
	record(t, "policy-missing-plugin", "sign", Replaced, "trust.json written anew from teams/ and the keys: good is back")

	// 3. Team ok drops plugin ghost from its manifest; ghost's signed
	// file stays in dist/ (and in the channel).
	if err := os.WriteFile(filepath.Join(f.mod, "teams/ok/team.yaml"), []byte(f.manifest("good")), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = sign.Main(ctx, sign.Options{Root: f.mod}, &out)
	if err != nil || f.policy(t).Plugins["ghost"] != "" {
		t.Errorf("sign: %v, ghost in the policy: %q\n%s", err, f.policy(t).Plugins["ghost"], out.String())
	}
	record(t, "unregistered-plugin", "sign", Skipped, linesWith(out.String(), "ghost")+"; trust.json no longer lists ghost")
	policy = f.policy(t)
	out.Reset()
	err = verify.Main(ctx, verify.Options{Root: f.mod}, &out)
	record(t, "unregistered-plugin", "verify", Skipped, linesWith(out.String(), "ghost"))
	if err != nil {
		t.Errorf("verify: %v\n%s", err, out.String())
	}
	if err := runMatrix(); err != nil {
		t.Errorf("matrix: %v\n%s", err, out.String())
	}
	mx, err = matrix.Read(filepath.Join(f.dist, matrix.Dir, matrix.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	// The matrix runs in the hosts' module (f.root) over this dist folder,
	// which that module's registry does not describe: it tries every file,
	// and the loader's check refuses ghost's.
	seen := false
	for _, c := range mx.Cells {
		if strings.HasPrefix(c.Plugin, "ok/ghost@") {
			seen = true
			if c.Outcome == matrix.OK {
				t.Errorf("the matrix passed ghost: %+v", c)
			}
			record(t, "unregistered-plugin", "matrix", Refused, fmt.Sprintf("cell %s: %s: %s", c.Host, c.Outcome, c.Detail))
		}
	}
	if !seen {
		record(t, "unregistered-plugin", "matrix", Skipped, "no cell for ghost; "+linesWith(out.String(), "ghost"))
	}
	out.Reset()
	err = publish.Main(ctx, publish.Options{Root: f.mod, Dist: f.dist, Getenv: func(string) string { return "" }}, &out)
	if err != nil || strings.Contains(out.String(), "published  ok/ghost") {
		t.Errorf("publish: %v\n%s", err, out.String())
	}
	record(t, "unregistered-plugin", "publish", Skipped, "not in its plan, which lists the files teams/ claims "+linesWith(out.String(), "ghost"))
	res, err = fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "ghost", Dir: t.TempDir(), Trust: policy})
	if err == nil || len(res) != 1 || !strings.Contains(res[0].Reason, "plugin ghost is not in the trust policy") {
		t.Errorf("fetch: %v %+v", err, res)
	} else {
		record(t, "unregistered-plugin", "fetch", Refused, res[0].Reason)
	}
	d = f.try(t, ghost, policy)
	if d.Outcome == loader.Passed || !strings.Contains(d.Reason, "plugin ghost is not in the trust policy") {
		t.Errorf("loader: %+v", d)
	}
	record(t, "unregistered-plugin", "loader", Refused, fmt.Sprintf("loader.Try: %s %s: %s", d.Outcome, d.Cause, d.Reason))
	// The build, last: ghost's files are stale.
	out.Reset()
	err = build.Main(ctx, build.Selection{}, build.Options{Root: f.mod}, &out)
	if err != nil {
		t.Errorf("build: %v\n%s", err, out.String())
	}
	record(t, "unregistered-plugin", "build", Skipped, linesWith(out.String(), "ghost"))
	if _, err := os.Stat(ghost); err == nil {
		t.Logf("build left %s in place", ghost)
	}
	_ = artifact.PluginExt
	_ = trust.SignatureSuffix
}

// copyPlugin copies a plugin file and its signature into dir.
func copyPlugin(dir, file string) error {
	for _, suffix := range []string{"", trust.SignatureSuffix} {
		data, err := os.ReadFile(file + suffix)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(file)+suffix), data, 0o755); err != nil {
			return err
		}
	}
	return nil
}
