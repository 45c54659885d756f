package publish_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
)

// files lists a folder's entries, but the index fetch keeps there.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".plugship-") && (strings.HasSuffix(e.Name(), ".index.json") || strings.HasSuffix(e.Name(), ".statement.json")) {
			continue // what fetch keeps of the index
		}
		names = append(names, e.Name())
	}
	return names
}

// TestHostFetchesFromTheChannel is the acceptance: the main job's
// channel, fetched by the showcase host into an empty folder, from which it
// selects a plugin.
func TestHostFetchesFromTheChannel(t *testing.T) {
	d := dist(t)
	var out bytes.Buffer
	if err := publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: func(string) string { return "" }}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	index := filepath.Join(d, publish.ChannelDir, publish.IndexFile)
	host := compat.HostPath(built, "showcase")
	empty := filepath.Join(t.TempDir(), "plugins")
	cmd := exec.Command(host, "-trust", filepath.Join(d, "trust.json"), "-fetch", index, empty)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("host: %v\n%s", err, stderr.String())
	}
	if stdout.String() != "Found newest valid plugin version: \"0.2.0\"\n" {
		t.Errorf("host printed %q\n%s", stdout.String(), stderr.String())
	}
	got := strings.Join(files(t, empty), " ")
	want := strings.Join([]string{plugtest.FileName("showcase", "0.1.0", abi), plugtest.FileName("showcase", "0.1.0", abi) + ".sig", plugtest.FileName("showcase", "0.2.0", abi), plugtest.FileName("showcase", "0.2.0", abi) + ".sig"}, " ")
	if got != want {
		t.Errorf("fetched %s, want %s", got, want)
	}

	// A tampered channel file is refused and nothing of it is written.
	so := filepath.Join(d, publish.ChannelDir, "showcase/showcase/v0.2.0", plugtest.FileName("showcase", "0.2.0", abi))
	data, _ := os.ReadFile(so)
	data[len(data)/2] ^= 1
	os.WriteFile(so, data, 0o644)
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "plugins")
	res, err := fetch.Plugins(context.Background(), fetch.Options{Index: index, Plugin: "showcase", Dir: dir, Trust: policy, ABI: abi})
	if err == nil || !strings.Contains(err.Error(), "1 files refused: "+filepath.Base(so)) {
		t.Errorf("fetching a tampered file: %v %+v", err, res)
	}
	for _, r := range res {
		if r.Version == "0.2.0" && (r.Outcome != "refused" || !strings.Contains(r.Reason, "the index says")) {
			t.Errorf("%+v", r)
		}
	}
	if got := strings.Join(files(t, dir), " "); got != plugtest.FileName("showcase", "0.1.0", abi)+" "+plugtest.FileName("showcase", "0.1.0", abi)+".sig" {
		t.Errorf("folder holds %s", got)
	}
}

func TestFetchFromGitHub(t *testing.T) {
	srv := fastServer(t)
	d := dist(t)
	if out, err := run(t, context.Background(), d, srv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	index := srv.API.URL + "/acme/plugins/releases/download/" + publish.IndexTag + "/" + publish.IndexFile
	dir := filepath.Join(t.TempDir(), "plugins")
	opts := fetch.Options{Index: index, Plugin: "ledger", Dir: dir, Trust: policy, Token: token, ABI: abi}
	res, err := fetch.Plugins(context.Background(), opts)
	if err != nil || len(res) != 1 || res[0].Outcome != "fetched" {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	if res, err := fetch.Plugins(context.Background(), opts); err != nil || res[0].Outcome != "present" {
		t.Errorf("second fetch: %v %+v", err, res)
	}

	// A release asset replaced on the server: right size, wrong bytes.
	name := plugtest.FileName("fraud", "1.3.0", abi)
	data, _ := os.ReadFile(filepath.Join(d, "plugins/payments/fraud", name))
	data[100] ^= 1
	if !srv.Tamper("payments/fraud/v1.3.0", name, data) {
		t.Fatal("no such asset")
	}
	dir = filepath.Join(t.TempDir(), "plugins")
	res, err = fetch.Plugins(context.Background(), fetch.Options{Index: index, Plugin: "fraud", Dir: dir, Trust: policy, ABI: abi})
	if err == nil || len(res) != 1 || res[0].Outcome != "refused" || !strings.Contains(res[0].Reason, "the index says") {
		t.Errorf("tampered asset: %v %+v", err, res)
	}
	if names := files(t, dir); len(names) != 0 {
		t.Errorf("the folder holds %v after a refused fetch", names)
	}
}
