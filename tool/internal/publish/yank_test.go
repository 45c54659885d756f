package publish_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/install"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/oci"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/registrytest"
)

const yankReason = "CVE-2026-4242: approves every payment over 1000"

// yankStore is one publish target a yank is tested on.
type yankStore struct {
	index  string              // what hosts fetch from
	getenv func(string) string // the publish environment that selects the store
	token  string
}

// yankAndHosts is the release manager's and the hosts' side of a yank,
// the same for every store: a host running showcase 0.2.0 in Watch learns
// of the yank from its next fetch and asks to restart; restarted, offline,
// it chooses 0.1.0; fetch and install skip 0.2.0 and delete nothing;
// unyank gives it back.
func yankAndHosts(t *testing.T, d string, s yankStore) {
	ctx := context.Background()
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "plugins")
	fetchOpts := fetch.Options{Index: s.index, Registry: oci.New(), Token: s.token, Plugin: "showcase", Dir: dir, Trust: policy, ABI: abi}
	if res, err := fetch.Plugins(ctx, fetchOpts); err != nil || len(res) != 2 {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	host := compat.HostPath(built, "showcase")
	trustFile := filepath.Join(d, "trust.json")

	// A host runs 0.2.0 and watches its folder.
	watching := exec.Command(host, "-trust", trustFile, "-watch", dir)
	stdout, err := watching.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	watching.Stderr = &stderr
	if err := watching.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 10)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- watching.Wait()
	}()
	t.Cleanup(func() { watching.Process.Kill(); <-exited })
	if line := <-lines; line != `Found newest valid plugin version: "0.2.0"` {
		t.Fatalf("host printed %q\n%s", line, stderr.String())
	}

	yank := func(ref, reason string, unyank bool) string {
		t.Helper()
		var out bytes.Buffer
		if err := publish.Yank(ctx, publish.Options{Root: root, Dist: d, RetryBase: 10 * time.Millisecond, Getenv: s.getenv}, ref, reason, unyank, &out); err != nil {
			t.Fatalf("yank %s: %v\n%s", ref, err, out.String())
		}
		return out.String()
	}
	out := yank("showcase/showcase@0.2.0", yankReason, false)
	if !strings.HasPrefix(out, "yanked showcase/showcase@0.2.0 (2 files) in ") || !strings.Contains(out, yankReason) {
		t.Errorf("yank printed:\n%s", out)
	}
	if again := yank("showcase/showcase@0.2.0", yankReason, false); !strings.Contains(again, "is yanked already") {
		t.Errorf("yanking again printed:\n%s", again)
	}

	// The host's next fetch (its poll) brings the yank; Watch reports it.
	res, err := fetch.Plugins(ctx, fetchOpts)
	if err != nil {
		t.Fatalf("fetch after the yank: %v", err)
	}
	for _, r := range res {
		if want := map[string]string{"0.1.0": "present", "0.2.0": fetch.Yanked}[r.Version]; r.Outcome != want || r.Outcome == fetch.Yanked && r.Reason != yankReason {
			t.Errorf("fetch after the yank: %+v, want outcome %s", r, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, plugtest.FileName("showcase", "0.2.0", abi))); err != nil {
		t.Errorf("yanking deleted the host's copy: %v", err)
	}
	select {
	case line := <-lines:
		if want := `Running plugin version "0.2.0" is yanked: ` + yankReason + "; restarting to choose another (exit status 75)"; line != want {
			t.Errorf("the watching host printed %q, want %q", line, want)
		}
		err := <-exited
		exited <- err // for the cleanup
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != loader.RestartExitStatus {
			t.Errorf("the watching host: %v, want exit status %d\n%s", err, loader.RestartExitStatus, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the watching host did not learn of the yank in 60s\n%s", stderr.String())
	}

	// Restarted, offline: the index in the folder says 0.2.0 is yanked.
	restart := func() (string, string) {
		t.Helper()
		cmd := exec.Command(host, "-trust", trustFile, dir)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("host: %v\n%s", err, errOut.String())
		}
		return out.String(), errOut.String()
	}
	got, why := restart()
	if got != "Found newest valid plugin version: \"0.1.0\"\n" || !strings.Contains(why, "skipped "+filepath.Join(dir, plugtest.FileName("showcase", "0.2.0", abi))+": yanked: "+yankReason) {
		t.Errorf("restarted host printed %q\n%s", got, why)
	}

	// plugship install skips it too, and replaces it where it installed it.
	folder := filepath.Join(t.TempDir(), "modules")
	inst := install.Options{Host: host, Index: s.index, Registry: oci.New(), Token: s.token, Plugins: []string{"showcase"}, Dir: folder, Trust: policy, Cache: t.TempDir()}
	installed := func() string {
		t.Helper()
		plans, err := install.Install(ctx, inst)
		var b strings.Builder
		install.Report(&b, plans, false)
		if err != nil {
			t.Fatalf("install: %v\n%s", err, b.String())
		}
		return b.String()
	}
	if out := installed(); !strings.HasPrefix(out, "showcase: installed version 0.1.0 as ") || !strings.Contains(out, "yanked           "+plugtest.FileName("showcase", "0.2.0", abi)+": "+yankReason) {
		t.Errorf("install of a yanked version's plugin:\n%s", out)
	}

	out = yank("showcase/showcase@0.2.0", "", true)
	if !strings.HasPrefix(out, "unyanked showcase/showcase@0.2.0") {
		t.Errorf("unyank printed:\n%s", out)
	}
	if _, err := fetch.Plugins(ctx, fetchOpts); err != nil {
		t.Fatal(err)
	}
	if got, why := restart(); got != "Found newest valid plugin version: \"0.2.0\"\n" {
		t.Errorf("after unyank the host printed %q\n%s", got, why)
	}
	if out := installed(); !strings.HasPrefix(out, "showcase: upgraded to version 0.2.0 as ") {
		t.Errorf("install after unyank:\n%s", out)
	}
	// Yanked again: install takes it out of the host's folder, saying why.
	yank("showcase/showcase@0.2.0", yankReason, false)
	if out := installed(); !strings.Contains(out, "showcase: downgraded to version 0.1.0 as ") || !strings.Contains(out, "(was 0.2.0, yanked: "+yankReason+")") {
		t.Errorf("install when the installed version is yanked:\n%s", out)
	}
}

func TestYankOnTheChannel(t *testing.T) {
	d := dist(t)
	none := func(string) string { return "" }
	var out bytes.Buffer
	if err := publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: none}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	index := filepath.Join(d, publish.ChannelDir, publish.IndexFile)
	yankAndHosts(t, d, yankStore{index: index, getenv: none})

	// The yank survives the next publish; the index is v3 while it yanks.
	if err := publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: none}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	data, _ := os.ReadFile(index)
	ix, err := artifact.ParseIndex(data)
	if err != nil || ix.Schema != artifact.IndexSchemaV3 {
		t.Fatalf("index after republishing: %v\n%s", err, data)
	}
	if y, ok := ix.YankOf("showcase", "showcase", "0.2.0"); !ok || y.Reason != yankReason || y.At.IsZero() {
		t.Errorf("republishing lost the yank: %+v", ix.Yanked)
	}

	for _, c := range []struct{ ref, reason, want string }{
		{"showcase/showcase@0.9.0", "x", "the index of local channel " + filepath.Join(d, publish.ChannelDir) + " lists no such version; published: 0.2.0, 0.1.0"},
		{"payments/nothing@1.0.0", "x", "lists no version of payments/nothing"},
		{"showcase/showcase@0.1.0", " ", "give a reason (--reason)"},
	} {
		before, _ := os.ReadFile(index)
		err := publish.Yank(context.Background(), publish.Options{Root: root, Dist: d, Getenv: none}, c.ref, c.reason, false, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("yank %s: %v, want %q", c.ref, err, c.want)
		}
		if after, _ := os.ReadFile(index); !bytes.Equal(before, after) {
			t.Errorf("a refused yank of %s changed the index", c.ref)
		}
	}
}

func TestYankOnGitHub(t *testing.T) {
	srv := fastServer(t)
	d := dist(t)
	if out, err := run(t, context.Background(), d, srv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	env := srv.Env()
	index := srv.API.URL + "/acme/plugins/releases/download/" + publish.IndexTag + "/" + publish.IndexFile
	yankAndHosts(t, d, yankStore{index: index, getenv: func(k string) string { return env[k] }, token: token})

	// The release notes say it (yanked again at the end of yankAndHosts),
	// and keep saying it when publish rewrites them.
	notes := func() string {
		for _, r := range srv.Releases() {
			if r.Tag == "showcase/showcase/v0.2.0" {
				return r.Body
			}
		}
		t.Fatal("no release showcase/showcase/v0.2.0")
		return ""
	}
	if body := notes(); !strings.HasPrefix(body, "<!-- plugship:yanked -->\n> [!CAUTION]\n> **Yanked** on ") || !strings.Contains(body, yankReason) || strings.Count(body, "plugship:yanked") != 2 {
		t.Errorf("notes of the yanked release:\n%s", body)
	}
	if out, err := run(t, context.Background(), d, srv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if body := notes(); !strings.Contains(body, yankReason) {
		t.Errorf("publishing again took the yank out of the notes:\n%s", body)
	}
	var out bytes.Buffer
	if err := publish.Yank(context.Background(), publish.Options{Root: root, Dist: d, Getenv: func(k string) string { return env[k] }}, "showcase/showcase@0.2.0", "", true, &out); err != nil {
		t.Fatal(err)
	}
	if body := notes(); strings.Contains(body, "plugship:yanked") || strings.Contains(body, yankReason) || !strings.Contains(out.String(), "release notes of showcase/showcase/v0.2.0: yank banner removed") {
		t.Errorf("after unyank, the notes:\n%s\noutput:\n%s", body, out.String())
	}
}

func TestYankOnTheRegistry(t *testing.T) {
	reg := registrytest.Start(t)
	d := dist(t)
	if out, err := publishTo(t, d, reg); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	repo := "oci://" + reg.Host + "/acme/plugins"
	yankAndHosts(t, d, yankStore{index: repo, getenv: func(k string) string {
		if k == publish.RegistryEnv {
			return repo
		}
		return ""
	}})

	// A file named by its tag is yanked too (yankAndHosts ends yanked).
	tag, err := oci.Tag("showcase", "showcase", "0.2.0", abi)
	if err != nil {
		t.Fatal(err)
	}
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch.Plugins(context.Background(), fetch.Options{Index: repo + ":" + tag, Registry: oci.New(), Plugin: "showcase", Dir: t.TempDir(), Trust: policy})
	if err != nil || len(res) != 1 || res[0].Outcome != fetch.Yanked || res[0].Reason != yankReason {
		t.Errorf("fetch of the yanked version by its tag %s: %v %+v", tag, err, res)
	}

	// A mirror takes the source's yanks, and its unyanks.
	ch := filepath.Join(t.TempDir(), "mirror")
	if out, err := mirror(t, repo, ch); err != nil {
		t.Fatalf("mirror: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(filepath.Join(ch, publish.IndexFile))
	if ix, err := artifact.ParseIndex(data); err != nil || len(ix.Yanked) != 1 || ix.Yanked[0].Reason != yankReason {
		t.Errorf("the mirror's index: %v\n%s", err, data)
	}
}
