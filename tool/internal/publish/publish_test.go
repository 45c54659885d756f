package publish_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/githubtest"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sign"
)

// The bundled examples, built, signed and run through the matrix once by
// TestMain into this dist/; tests publish from copies of it.
var (
	root  string
	built string
	abi   string // the ABI tag of the files built by the go on PATH
)

const token = "ghs_s3cr3tT0k3nValue"

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "plugship-publish-test-")
	if err != nil {
		panic(err)
	}
	code := 1
	if err := setUp(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "setting up:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

func setUp(tmp string) error {
	var err error
	if root, err = plugtest.Root(); err != nil {
		return err
	}
	built = filepath.Join(tmp, "dist")
	ctx := context.Background()
	var out bytes.Buffer
	if err := build.Main(ctx, build.Selection{}, build.Options{Root: root, Dist: built}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	if err := sign.Main(ctx, sign.Options{Root: root, Dist: built}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	if err := compat.Main(ctx, compat.Options{Root: root, Dist: built}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	// The bundled profiles build every version twice; abi is the tag of
	// the files for the go on PATH.
	fraud, err := filepath.Glob(filepath.Join(built, "plugins/payments/fraud/fraud_v1.3.0_*.so"))
	if err != nil || len(fraud) != 2 {
		return fmt.Errorf("fraud 1.3.0: %q %v, want one file per bundled profile", fraud, err)
	}
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return err
	}
	for _, f := range fraud {
		if a, err := plugtest.ABIOf(f); err == nil && strings.HasPrefix(a, strings.TrimSpace(string(goVersion))+"-") {
			abi = a
		}
	}
	if abi == "" {
		return fmt.Errorf("no fraud file built by %s", goVersion)
	}
	return nil
}

// dist copies the built dist/ (without hosts and scratch files) for one test.
func dist(t testing.TB) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "dist")
	err := filepath.WalkDir(built, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(built, path)
		if d.IsDir() && (rel == ".work" || rel == filepath.Join("compat", "hosts")) {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func run(t *testing.T, ctx context.Context, d string, srv *githubtest.Server) (string, error) {
	t.Helper()
	env := srv.Env()
	var out bytes.Buffer
	err := publish.Main(ctx, publish.Options{Root: root, Dist: d, RetryBase: 10 * time.Millisecond, Getenv: func(k string) string { return env[k] }}, &out)
	t.Logf("publish: %v\n%s", err, out.String())
	if strings.Contains(out.String(), token) || err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("the token appears in output or errors:\n%s\n%v", out.String(), err)
	}
	return out.String(), err
}

// fastServer starts a fake GitHub with the repository acme/plugins that
// accepts token, closed when the test ends. (run is what makes the
// clients back off for milliseconds.)
func fastServer(t *testing.T) *githubtest.Server {
	t.Helper()
	srv := githubtest.New("acme", "plugins", token)
	t.Cleanup(srv.Close)
	return srv
}

// checkPublished asserts the server's end state: one published release per
// plugin version with exactly one uploaded copy of each asset, and the index.
func checkPublished(t *testing.T, srv *githubtest.Server) {
	t.Helper()
	releases := srv.Releases()
	var versions int
	for _, r := range releases {
		if r.Draft {
			t.Errorf("release %s is still a draft", r.Tag)
		}
		names := map[string]int{}
		for _, a := range r.Assets {
			names[a.Name]++
			if a.State != "uploaded" {
				t.Errorf("%s: asset %s is %s", r.Tag, a.Name, a.State)
			}
		}
		for n, c := range names {
			if c != 1 {
				t.Errorf("%s: %d copies of %s", r.Tag, c, n)
			}
		}
		if r.Tag == publish.IndexTag {
			if names[publish.IndexFile] != 1 || names[matrix.JSONFile] != 1 {
				t.Errorf("the index release holds %v, want %s and the approving %s", names, publish.IndexFile, matrix.JSONFile)
			}
			continue
		}
		versions++
		var sos, sums int
		for n := range names {
			if strings.HasSuffix(n, ".so") {
				sos++
			}
			if strings.HasPrefix(n, "SHA256SUMS-go") {
				sums++
			}
		}
		if len(names) != 13 || sos != 2 || sums != 2 || names["matrix.json"] != 1 {
			t.Errorf("%s: assets %v, want for each of the 2 ABIs the .so, .sig, .sigstore.json, .intoto.json, .so.json and SHA256SUMS-<abi>, and matrix.json", r.Tag, names)
		}
		if strings.Count(r.Body, "### Compatibility matrix") != 2 || !strings.Contains(r.Body, "| showcase |") || !strings.Contains(r.Body, "| showcase-go1-25 |") {
			t.Errorf("%s: release notes lack the matrix:\n%s", r.Tag, r.Body)
		}
		if !strings.Contains(r.Body, "Accepted by ") {
			t.Errorf("%s: release notes do not say which hosts accept it:\n%s", r.Tag, r.Body)
		}
	}
	if versions != 8 {
		t.Errorf("%d plugin releases, want 8", versions)
	}
}

func TestPublishToGitHub(t *testing.T) {
	srv := fastServer(t)
	srv.MaxPerPage = 3 // releases and assets span pages
	d := dist(t)
	ctx := context.Background()
	out, err := run(t, ctx, d, srv)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "16 published, 0 unchanged, 0 refused, 0 failed") {
		t.Errorf("output:\n%s", out)
	}
	checkPublished(t, srv)
	// The next matrix run compares with the matrix.json of the index
	// release, fetched through the API.
	env := srv.Env()
	var fetched bytes.Buffer
	if err := publish.FetchMatrix(ctx, publish.Options{Root: root, Dist: d, Getenv: func(k string) string { return env[k] }}, &fetched); err != nil {
		t.Fatalf("FetchMatrix: %v\n%s", err, fetched.String())
	}
	approved, _ := os.ReadFile(filepath.Join(d, matrix.Dir, matrix.JSONFile))
	if got, err := os.ReadFile(filepath.Join(d, filepath.FromSlash(artifact.PublishedMatrixFile))); err != nil || !bytes.Equal(got, approved) {
		t.Errorf("FetchMatrix from GitHub: %v; want the approving matrix", err)
	}
	var tags []string
	for _, r := range srv.Releases() {
		tags = append(tags, r.Tag)
	}
	if !strings.Contains(strings.Join(tags, " "), "payments/fraud/v1.3.0") {
		t.Errorf("tags %v", tags)
	}

	// A second run changes nothing.
	writes := func() int {
		return srv.Requests["POST upload"] + srv.Requests["POST releases"] + srv.Requests["PATCH releases"] + srv.Requests["DELETE assets"]
	}
	before := writes()
	out, err = run(t, ctx, d, srv)
	if err != nil || !strings.Contains(out, "0 published, 16 unchanged") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if after := writes(); after != before {
		t.Errorf("the second run changed something: %d writes before, %d after", before, after)
	}
	checkPublished(t, srv)
}

func TestPublishSurvivesFaults(t *testing.T) {
	srv := fastServer(t)
	srv.Inject(
		githubtest.Fault{Match: "GET releases", Status: 502},
		githubtest.Fault{Match: "POST releases", Status: 502},
		githubtest.Fault{Match: "POST upload", Drop: true},
		githubtest.Fault{Match: "POST upload", Status: 429, Retry: 1},
		githubtest.Fault{Match: "GET assets", Status: 503},
		githubtest.Fault{Match: "POST upload", Drop: true},
		githubtest.Fault{Match: "PATCH releases", Status: 500},
		githubtest.Fault{Match: "GET assets", Secondary: true, Retry: 1},
	)
	start := time.Now()
	out, err := run(t, context.Background(), dist(t), srv)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if time.Since(start) < time.Second {
		t.Errorf("the 429's Retry-After: 1 was not honoured")
	}
	if n := srv.Pending(); n != 0 {
		t.Errorf("%d injected faults never struck", n)
	}
	checkPublished(t, srv)
}

func TestPublishResumesAfterInterruption(t *testing.T) {
	srv := fastServer(t)
	d := dist(t)
	for _, stopAt := range []int{3, 10, 25} {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		srv.OnUpload = func(string) {
			if n++; n == stopAt {
				cancel()
			}
		}
		if _, err := run(t, ctx, d, srv); err == nil {
			t.Errorf("interrupted run at upload %d succeeded", stopAt)
		}
		cancel()
	}
	srv.OnUpload = nil
	out, err := run(t, context.Background(), d, srv)
	if err != nil {
		t.Fatalf("resuming: %v\n%s", err, out)
	}
	checkPublished(t, srv)
}

func TestPublishCompletesAnEarlierDraft(t *testing.T) {
	srv := fastServer(t)
	// A draft an earlier run left, with a half-uploaded asset and a wrong one.
	srv.AddRelease(&githubtest.Release{Tag: "payments/fraud/v1.3.0", Draft: true, Assets: []*githubtest.Asset{
		{Name: plugtest.FileName("fraud", "1.3.0", abi), State: "new"},
		{Name: publish.SumsFile + "-" + abi, State: "uploaded", Data: []byte("stale\n")},
	}})
	out, err := run(t, context.Background(), dist(t), srv)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	checkPublished(t, srv)
}

func TestPublishRefuses(t *testing.T) {
	srv := fastServer(t)
	d := dist(t)
	if out, err := run(t, context.Background(), d, srv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	fraud := filepath.Join(d, "plugins/payments/fraud", plugtest.FileName("fraud", "1.3.0", abi))
	ledger := filepath.Join(d, "plugins/payments/ledger", plugtest.FileName("ledger", "2.0.1", abi))
	uptime := filepath.Join(d, "plugins/labs/uptime", plugtest.FileName("uptime", "1.0.0", abi))

	// fraud 1.3.0 rebuilt with other bytes (and signed and tested): the
	// published release must not change. uptime: rebuilt and signed, but
	// not the bytes the matrix tested. ledger: unsigned.
	data, _ := os.ReadFile(fraud)
	os.WriteFile(fraud, append(data, 0), 0o755)
	plugtest.WriteMetadata(fraud, "payments")
	u, _ := os.ReadFile(uptime)
	os.WriteFile(uptime, append(u, 0), 0o755)
	plugtest.WriteMetadata(uptime, "labs")
	var buf bytes.Buffer
	if err := sign.Main(context.Background(), sign.Options{Root: root, Dist: d}, &buf); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	retested(t, d, "payments/fraud@1.3.0 "+abi, fraud)
	os.Remove(ledger + ".sig")

	fraudBefore := releaseOf(srv, "payments/fraud/v1.3.0")
	out, err := run(t, context.Background(), d, srv)
	if err == nil {
		t.Fatalf("publishing changed content succeeded:\n%s", out)
	}
	for _, want := range []string{
		"payments/fraud/v1.3.0: already published with other content: asset " + filepath.Base(fraud) + " has sha256",
		"REFUSED    payments/ledger@2.0.1",
		"not signed by team payments (a key or a keyless identity of its policy): not signed: no signature",
		"REFUSED    labs/uptime@1.0.0",
		"the matrix tested sha256",
	} {
		if !strings.Contains(out+err.Error(), want) {
			t.Errorf("output lacks %q:\n%s\n%v", want, out, err)
		}
	}
	if after := releaseOf(srv, "payments/fraud/v1.3.0"); !maps.Equal(after, fraudBefore) {
		t.Errorf("the published release changed")
	}
}

// retested records in the matrix that file (plugin id) was tested again.
func retested(t *testing.T, d, id, file string) {
	t.Helper()
	path := filepath.Join(d, matrix.Dir, matrix.JSONFile)
	m, err := matrix.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := artifact.HashFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Plugins {
		if m.Plugins[i].ID() == id {
			m.Plugins[i].SHA256 = sum
		}
	}
	for i := range m.Cells {
		if m.Cells[i].Plugin == id {
			m.Cells[i].PluginSHA256 = sum
		}
	}
	data, _ := m.Marshal()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// releaseOf returns the assets of the release tagged tag: name to asset
// id and content in hex.
func releaseOf(srv *githubtest.Server, tag string) map[string]string {
	for _, r := range srv.Releases() {
		if r.Tag == tag {
			out := map[string]string{}
			for _, a := range r.Assets {
				out[a.Name] = fmt.Sprintf("id %d: %x", a.ID, a.Data) // a re-upload gets a new id
			}
			return out
		}
	}
	return nil
}

func TestBadTokenIsNeverShown(t *testing.T) {
	srv := fastServer(t)
	env := srv.Env()
	srv.Token = "the-server-expects-another-token"
	var out bytes.Buffer
	err := publish.Main(context.Background(), publish.Options{Root: root, Dist: dist(t), Getenv: func(k string) string { return env[k] }}, &out)
	if err == nil || !strings.Contains(out.String(), "401 Bad credentials") {
		t.Errorf("publishing with a bad token: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String()+err.Error(), token) {
		t.Errorf("the token appears:\n%s\n%v", out.String(), err)
	}
}

func TestDryRunCallsNothing(t *testing.T) {
	srv := fastServer(t)
	env := srv.Env()
	var out bytes.Buffer
	if err := publish.Main(context.Background(), publish.Options{Root: root, Dist: dist(t), DryRun: true, Getenv: func(k string) string { return env[k] }}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "would      payments/fraud@1.3.0 "+abi+"  tag payments/fraud/v1.3.0") {
		t.Errorf("dry run output:\n%s", out.String())
	}
	for k, n := range srv.Requests {
		if n > 0 {
			t.Errorf("dry run made %d %s requests", n, k)
		}
	}
}

func TestChannel(t *testing.T) {
	d := dist(t)
	var out bytes.Buffer
	opts := publish.Options{Root: root, Dist: d, Getenv: func(string) string { return "" }}
	if err := publish.Main(context.Background(), opts, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	ch := filepath.Join(d, publish.ChannelDir)
	data, err := os.ReadFile(filepath.Join(ch, publish.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := artifact.ParseIndex(data)
	if err != nil || len(ix.Entries) != 16 {
		t.Fatalf("index: %v, %d entries", err, len(ix.Entries))
	}
	// The approving matrix beside the index: the next matrix run's base.
	published, err := os.ReadFile(filepath.Join(ch, matrix.JSONFile))
	if approved, _ := os.ReadFile(filepath.Join(d, matrix.Dir, matrix.JSONFile)); err != nil || !bytes.Equal(published, approved) {
		t.Errorf("%s in the channel: %v; want the approving %s", matrix.JSONFile, err, filepath.Join(matrix.Dir, matrix.JSONFile))
	}
	// FetchMatrix hands it to the next matrix run, and removes the copy
	// when nothing was published.
	copied := filepath.Join(d, filepath.FromSlash(artifact.PublishedMatrixFile))
	if err := publish.FetchMatrix(context.Background(), opts, &out); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(copied); err != nil || !bytes.Equal(data, published) {
		t.Errorf("FetchMatrix: %s: %v, want the published matrix", copied, err)
	}
	os.Remove(filepath.Join(ch, matrix.JSONFile))
	out.Reset()
	if err := publish.FetchMatrix(context.Background(), opts, &out); err != nil || !strings.Contains(out.String(), "no matrix published yet") {
		t.Errorf("FetchMatrix with nothing published: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(copied); err == nil {
		t.Errorf("FetchMatrix left %s with nothing published", copied)
	}
	for _, e := range ix.Entries {
		if e.ABI.GoVersion == "" || !e.ABI.Trimpath || e.SHA256 == "" {
			t.Errorf("entry %+v", e)
		}
		for name, loc := range e.Assets {
			if _, err := os.Stat(filepath.Join(ch, filepath.FromSlash(loc))); err != nil {
				t.Errorf("%s: asset %s at %s: %v", e.File, name, loc, err)
			}
		}
	}
	out.Reset()
	if err := publish.Main(context.Background(), opts, &out); err != nil || !strings.Contains(out.String(), "0 published, 16 unchanged") {
		t.Errorf("second run: %v\n%s", err, out.String())
	}
	// A channel release whose .so differs is refused, and left alone.
	so := filepath.Join(ch, "payments/fraud/v1.3.0", plugtest.FileName("fraud", "1.3.0", abi))
	os.WriteFile(so, []byte("tampered"), 0o644)
	out.Reset()
	err = publish.Main(context.Background(), opts, &out)
	if err == nil || !strings.Contains(out.String(), "already published with other content: asset "+filepath.Base(so)) {
		t.Errorf("tampered channel: %v\n%s", err, out.String())
	}
	if got, _ := os.ReadFile(so); string(got) != "tampered" {
		t.Errorf("the published file was overwritten")
	}
}

// TestNewABIJoinsPublishedRelease: versions published when only one
// profile existed get the builds of a profile added later into the same,
// already published, release; nothing published is replaced.
func TestNewABIJoinsPublishedRelease(t *testing.T) {
	srv := fastServer(t)
	d := dist(t)
	// Hide the other ABI's builds: as if its profile did not exist yet.
	hidden := t.TempDir()
	others, _ := filepath.Glob(filepath.Join(d, "plugins/*/*/*.so"))
	for _, f := range others {
		if strings.HasSuffix(f, "_"+abi+".so") {
			continue
		}
		side, _ := filepath.Glob(f + "*")
		for _, s := range side {
			rel, _ := filepath.Rel(d, s)
			os.MkdirAll(filepath.Dir(filepath.Join(hidden, rel)), 0o755)
			if err := os.Rename(s, filepath.Join(hidden, rel)); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, err := run(t, context.Background(), d, srv)
	if err != nil || !strings.Contains(out, "8 published, 0 unchanged") {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	before := releaseOf(srv, "payments/fraud/v1.3.0")
	if len(before) != 7 {
		t.Fatalf("fraud's release holds %d assets, want 7", len(before))
	}
	// The new profile's builds appear.
	filepath.WalkDir(hidden, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(hidden, p)
			os.Rename(p, filepath.Join(d, rel))
		}
		return err
	})
	out, err = run(t, context.Background(), d, srv)
	if err != nil || !strings.Contains(out, "8 published, 8 unchanged") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	after := releaseOf(srv, "payments/fraud/v1.3.0")
	for name, data := range before {
		if after[name] != data {
			t.Errorf("published asset %s changed", name)
		}
	}
	checkPublished(t, srv)
}

// A file that no reference host of its ABI loads, or that every one must
// reject, is not published (issue 24: refused everywhere, published
// anyway); the others are. A file that loads but is not acceptable to a
// host's environment (IsAcceptable) still is: acceptability is the host's
// call at run time.
func TestPublishOnlyWhatSomeHostLoads(t *testing.T) {
	d := dist(t)
	path := filepath.Join(d, matrix.Dir, matrix.JSONFile)
	m, err := matrix.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	ledger, uptime, fraud := "payments/ledger@2.0.1 "+abi, "labs/uptime@1.0.0 "+abi, "payments/fraud@1.3.0 "+abi
	for i := range m.Cells {
		c := &m.Cells[i]
		switch c.Plugin {
		case ledger:
			if c.Outcome == matrix.OK {
				c.Outcome, c.Detail, c.Required = "wrong-type", "Showcase is a func() int", ""
			}
		case uptime:
			c.Required = "reject"
			if c.Outcome == matrix.OK {
				c.Outcome, c.Detail = "not-acceptable", "IsAcceptable() returned false"
			}
		case fraud:
			if c.Outcome == matrix.OK {
				c.Outcome, c.Detail = "not-acceptable", "IsAcceptable() returned false"
			}
		}
	}
	data, _ := m.Marshal()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = publish.Main(context.Background(), publish.Options{Root: root, Dist: d, Getenv: func(string) string { return "" }}, &out)
	if err == nil {
		t.Fatalf("publishing succeeded:\n%s", out.String())
	}
	for _, want := range []string{
		"REFUSED    payments/ledger@2.0.1 " + abi,
		"no reference host of its ABI loads it (contract-v2: missing symbol; showcase: wrong type): not published",
		"REFUSED    labs/uptime@1.0.0 " + abi,
		"every reference host of its ABI must reject it (must_reject in contract-v2, showcase): not published",
		"published  payments/fraud@1.3.0 " + abi,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("publish output lacks %q:\n%s", want, out.String())
		}
	}
}
