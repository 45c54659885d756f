package badinput_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader/fetch"
)

// TestBadIndexes: an index.json that yanks the only version, one of a
// schema this plugship does not read, and one that claims v2 with a
// yanked list; each fed to fetch and, as the copy fetch keeps in the
// plugin folder, to the loader.
func TestBadIndexes(t *testing.T) {
	f := signedFleet(t, "good")
	ctx := context.Background()
	hostBin := showcaseHost(t)
	good := f.files["good"]
	policyFile := filepath.Join(f.dist, "trust.json")
	host := func(args ...string) (string, error) {
		b, err := exec.Command(hostBin, args...).CombinedOutput()
		return strings.TrimSpace(string(b)), err
	}
	// edit rewrites a channel's index.json through replace.
	edit := func(index string, replace func(string) string) {
		data, err := os.ReadFile(index)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(index, []byte(replace(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// 1. The only version is yanked: fetch does not download it, the
	// loader does not choose the copy already in the folder.
	index := f.channel(t, filepath.Join(t.TempDir(), "channel"), good)
	plugins := filepath.Join(t.TempDir(), "plugins")
	if res, err := fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "good", Dir: plugins, Trust: f.policy(t)}); err != nil || len(res) != 1 || res[0].Outcome != "fetched" {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	edit(index, func(s string) string {
		s = strings.Replace(s, artifact.IndexSchemaV2, artifact.IndexSchemaV3, 1)
		return strings.TrimSuffix(strings.TrimSpace(s), "}") + `, "yanked": [{"team": "ok", "plugin": "good", "version": "1.0.0", "reason": "CVE-2026-4242", "at": "2026-12-03T10:00:00Z"}]}`
	})
	signChannel(t, f.mod, f.dist, filepath.Dir(index))
	res, err := fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "good", Dir: plugins, Trust: f.policy(t)})
	if err != nil || len(res) != 1 || res[0].Outcome != fetch.Yanked || res[0].Reason != "CVE-2026-4242" {
		t.Errorf("fetch of a yanked version: %v %+v", err, res)
	} else {
		record(t, "index-yanked", "fetch", Skipped, "outcome "+res[0].Outcome+": "+res[0].Reason+"; a copy already in the folder is left there")
	}
	if _, err := os.Stat(filepath.Join(plugins, filepath.Base(good))); err != nil {
		t.Errorf("fetch deleted the yanked file: %v", err)
	}
	msg, err := host("-trust", policyFile, "-plugin", "good", plugins)
	if err == nil || !strings.Contains(msg, "yanked: CVE-2026-4242") || !strings.Contains(msg, "no acceptable plugin") {
		t.Errorf("host with the only version yanked: %v\n%s", err, msg)
	} else {
		record(t, "index-yanked", "loader", Skipped, "showcase (offline, from the index fetch kept): "+msg)
	}

	// 2. A schema from a later plugship: fetch refuses it; so does the
	// loader when it finds such a copy in the folder.
	edit(index, func(s string) string { return strings.Replace(s, artifact.IndexSchemaV3, "plugship.index/v9", 1) })
	_, err = fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "good", Dir: t.TempDir(), Trust: f.policy(t)})
	if err == nil || !strings.Contains(err.Error(), `schema "plugship.index/v9", want plugship.index/v2 or plugship.index/v3: a newer plugship wrote it`) {
		t.Errorf("fetch of a v9 index: %v", err)
	} else {
		record(t, "index-unknown-schema", "fetch", Refused, err.Error())
	}
	data, _ := os.ReadFile(index)
	if err := os.WriteFile(artifact.FetchedIndexFile(plugins, "good"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	msg, err = host("-trust", policyFile, "-plugin", "good", plugins)
	if err == nil || !strings.Contains(msg, ".plugship-good.index.json, the index fetched last: ") || !strings.Contains(msg, "fetch again (it is rewritten) or delete it") {
		t.Errorf("host with a v9 index in its folder: %v\n%s", err, msg)
	} else {
		record(t, "index-unknown-schema", "loader", Refused, msg)
	}

	// 3. v2 with a yanked list: a v2 reader would ignore the yanks.
	edit(index, func(s string) string { return strings.Replace(s, "plugship.index/v9", artifact.IndexSchemaV2, 1) })
	_, err = fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "good", Dir: t.TempDir(), Trust: f.policy(t)})
	if err == nil || !strings.Contains(err.Error(), "schema plugship.index/v2 has no yanked list") {
		t.Errorf("fetch of a v2 index with yanks: %v", err)
	} else {
		record(t, "index-v2-yanks", "fetch", Refused, err.Error())
	}
}
