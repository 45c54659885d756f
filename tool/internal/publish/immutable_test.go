package publish_test

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/tool/internal/githubtest"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
)

// hideOtherABI moves the builds for the other bundled profile out of d,
// as if that profile did not exist yet; it returns their ABI tag and a
// function that brings them back (the profile is added).
func hideOtherABI(t *testing.T, d string) (string, func()) {
	t.Helper()
	hidden := t.TempDir()
	var other string
	sos, _ := filepath.Glob(filepath.Join(d, "plugins/*/*/*.so"))
	for _, f := range sos {
		if strings.HasSuffix(f, "_"+abi+".so") {
			continue
		}
		n, err := artifact.ParseName(filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		other = n.ABI
		side, _ := filepath.Glob(f + "*")
		for _, s := range side {
			rel, _ := filepath.Rel(d, s)
			os.MkdirAll(filepath.Dir(filepath.Join(hidden, rel)), 0o755)
			if err := os.Rename(s, filepath.Join(hidden, rel)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if other == "" {
		t.Fatal("no build for another ABI")
	}
	return other, func() {
		filepath.WalkDir(hidden, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				rel, _ := filepath.Rel(hidden, p)
				if err := os.Rename(p, filepath.Join(d, rel)); err != nil {
					t.Fatal(err)
				}
			}
			return err
		})
	}
}

// immutableServer is a fake GitHub whose repository has immutable releases.
func immutableServer(t *testing.T) *githubtest.Server {
	srv := fastServer(t)
	srv.Immutable = true
	return srv
}

// writes counts the requests that change the repository.
func writes(srv *githubtest.Server) int {
	n := 0
	for k, c := range srv.Requests {
		if !strings.HasPrefix(k, "GET ") {
			n += c
		}
	}
	return n
}

// branchIndex returns the index on the branch plugship-index.
func branchIndex(t *testing.T, srv *githubtest.Server) *artifact.Index {
	t.Helper()
	data, ok := srv.File(publish.IndexBranch, publish.IndexFile)
	if !ok {
		t.Fatalf("no %s on branch %s", publish.IndexFile, publish.IndexBranch)
	}
	ix, err := artifact.ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// checkImmutable asserts the end state on an immutable repository: every
// release published, immutable, with one uploaded copy of each asset; a
// version's release holds the builds of the ABIs it was first published
// with (abis), each follow-up one build of another; no release was
// touched after it was published; the index on the branch lists every
// build where it is.
func checkImmutable(t *testing.T, srv *githubtest.Server, abis []string, followUps []string) {
	t.Helper()
	byTag := map[string]githubtest.Release{}
	for _, r := range srv.Releases() {
		byTag[r.Tag] = r
		if r.Draft || !r.Immutable {
			t.Errorf("release %s: draft %v, immutable %v; want published and immutable", r.Tag, r.Draft, r.Immutable)
		}
		if touched := srv.Touched(r.Tag); len(touched) > 0 {
			t.Errorf("release %s was asked to change after it was published: %v", r.Tag, touched)
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
		want := 1 + 6*len(abis)
		if strings.Contains(r.Tag, "+") {
			want = 7
		}
		if len(names) != want || names[matrix.JSONFile] != 1 {
			t.Errorf("%s: %d assets %v, want %d", r.Tag, len(names), names, want)
		}
	}
	if _, ok := byTag[publish.IndexTag]; ok {
		t.Errorf("an index release was made on a repository with immutable releases")
	}
	ix := branchIndex(t, srv)
	if len(ix.Entries) != 8*(len(abis)+len(followUps)) {
		t.Errorf("the index lists %d files, want %d", len(ix.Entries), 8*(len(abis)+len(followUps)))
	}
	for _, e := range ix.Entries {
		r, ok := byTag[e.Tag]
		if !ok {
			t.Errorf("%s: the index names release %s, which does not exist", e.File, e.Tag)
			continue
		}
		wantTag := e.Team + "/" + e.Plugin + "/v" + e.Version
		for _, f := range followUps {
			if e.ABI.Tag == f {
				wantTag += "+" + f
			}
		}
		if e.Tag != wantTag {
			t.Errorf("%s is in release %s, want %s", e.File, e.Tag, wantTag)
		}
		for name, loc := range e.Assets {
			if !strings.Contains(loc, "/releases/download/"+r.Tag+"/"+name) {
				t.Errorf("%s: asset %s at %s, not in release %s", e.File, name, loc, r.Tag)
			}
		}
	}
	if n := srv.Commits(publish.IndexBranch); n < 2 {
		t.Errorf("branch %s has %d commits", publish.IndexBranch, n)
	}
}

// TestImmutableReleases: on a repository with immutable releases, every
// version's release is published once, complete; builds of a profile
// added later get follow-up releases and the published ones are never
// asked to change; the index lives on a branch, where Fetch finds it and
// through it the follow-ups; an identical re-run changes nothing.
func TestImmutableReleases(t *testing.T) {
	srv := immutableServer(t)
	d := dist(t)
	ctx := context.Background()
	other, addProfile := hideOtherABI(t, d)

	out, err := run(t, ctx, d, srv)
	if err != nil || !strings.Contains(out, "8 published, 0 unchanged, 0 refused, 0 failed") {
		t.Fatalf("first publish: %v\n%s", err, out)
	}
	web := srv.API.URL + "/acme/plugins"
	if want := "index index.json on branch plugship-index, " + web + "/raw/plugship-index/index.json"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if n := srv.Requests["PATCH releases"]; n != 8 {
		t.Errorf("%d release edits, want 8: one publish per release", n)
	}
	checkImmutable(t, srv, []string{abi}, nil)
	fraud := releaseOf(srv, "payments/fraud/v1.3.0")

	// The other profile is added: its builds get follow-up releases.
	addProfile()
	out, err = run(t, ctx, d, srv)
	if err != nil || !strings.Contains(out, "8 published, 8 unchanged, 0 refused, 0 failed") {
		t.Fatalf("publishing the added profile's builds: %v\n%s", err, out)
	}
	line := fmt.Sprintf("  published  payments/fraud@1.3.0 %s  payments/fraud/v1.3.0+%s (follow-up: release payments/fraud/v1.3.0 is immutable)", other, other)
	if !strings.Contains(out, line) {
		t.Errorf("output lacks %q:\n%s", line, out)
	}
	if after := releaseOf(srv, "payments/fraud/v1.3.0"); !maps.Equal(after, fraud) {
		t.Errorf("the published release changed")
	}
	checkImmutable(t, srv, []string{abi}, []string{other})
	for _, r := range srv.Releases() {
		if strings.Contains(r.Tag, "+") && (r.MakeLatest != "false" || !strings.Contains(r.Body, "added after release `"+strings.Split(r.Tag, "+")[0]+"` was published") || !strings.Contains(r.Body, "### Compatibility matrix")) {
			t.Errorf("follow-up %s: make_latest %q, notes:\n%s", r.Tag, r.MakeLatest, r.Body)
		}
	}

	// A host fetches by the repository's URL: the new ABI's file comes
	// from its follow-up release, verified; the other from the release.
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{other, abi} {
		dir := filepath.Join(t.TempDir(), "plugins")
		res, err := fetch.Plugins(ctx, fetch.Options{Index: web, Plugin: "fraud", Dir: dir, Trust: policy, ABI: a})
		if err != nil || len(res) != 1 || res[0].Outcome != "fetched" {
			t.Fatalf("fetching fraud for %s: %v %+v", a, err, res)
		}
		if _, err := policy.Check(filepath.Join(dir, plugtest.FileName("fraud", "1.3.0", a))); err != nil {
			t.Errorf("the fetched file: %v", err)
		}
	}
	// ... or by the index's URL, as the publish printed it.
	dir := filepath.Join(t.TempDir(), "plugins")
	if res, err := fetch.Plugins(ctx, fetch.Options{Index: web + "/raw/plugship-index/index.json", Plugin: "ledger", Dir: dir, Trust: policy}); err != nil || len(res) != 2 {
		t.Errorf("fetching ledger by the raw URL: %v %+v", err, res)
	}

	// An identical re-run changes nothing.
	before := writes(srv)
	out, err = run(t, ctx, d, srv)
	if err != nil || !strings.Contains(out, "0 published, 16 unchanged") {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	if after := writes(srv); after != before {
		t.Errorf("the re-run made %d writes", after-before)
	}
	checkImmutable(t, srv, []string{abi}, []string{other})

	// A follow-up deleted by hand: its tag can never be used again, and
	// publish says what to do.
	tag := "payments/fraud/v1.3.0+" + other
	if !srv.DeleteRelease(tag) {
		t.Fatal("no follow-up")
	}
	out, err = run(t, ctx, d, srv)
	for _, want := range []string{"FAILED     payments/fraud@1.3.0 " + other, "the tag " + tag + " was used by an immutable release that has since been deleted", "publish this build as a new version", "tag_name was used by an immutable release"} {
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("publishing after the follow-up was deleted: output lacks %q: %v\n%s", want, err, out)
		}
	}
}

// TestImmutableResumes: publishes to an immutable repository interrupted
// at any point, and hit by faults, are completed by the next run, drafts
// included, and no published release is ever asked to change.
func TestImmutableResumes(t *testing.T) {
	srv := immutableServer(t)
	d := dist(t)
	other, addProfile := hideOtherABI(t, d)
	interrupt := func(stops ...int) {
		for _, stopAt := range stops {
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
	}
	interrupt(3, 10)
	if out, err := run(t, context.Background(), d, srv); err != nil {
		t.Fatalf("resuming: %v\n%s", err, out)
	}
	checkImmutable(t, srv, []string{abi}, nil)

	addProfile()
	interrupt(2, 9, 20)
	srv.Inject(
		githubtest.Fault{Match: "GET releases", Status: 502},
		githubtest.Fault{Match: "POST releases", Status: 502},
		githubtest.Fault{Match: "POST upload", Drop: true},
		githubtest.Fault{Match: "POST upload", Status: 429, Retry: 1},
		githubtest.Fault{Match: "GET assets", Status: 503},
		githubtest.Fault{Match: "PATCH releases", Status: 500},
		githubtest.Fault{Match: "PUT contents", Status: 502},
		githubtest.Fault{Match: "GET contents", Secondary: true, Retry: 1},
	)
	if out, err := run(t, context.Background(), d, srv); err != nil {
		t.Fatalf("resuming: %v\n%s", err, out)
	}
	if n := srv.Pending(); n != 0 {
		t.Errorf("%d injected faults never struck", n)
	}
	checkImmutable(t, srv, []string{abi}, []string{other})
}

// TestImmutableCompleteAtOnce: with every profile there from the start,
// each version's release gets every ABI's build as a draft and is
// published once, complete; there are no follow-ups.
func TestImmutableCompleteAtOnce(t *testing.T) {
	srv := immutableServer(t)
	out, err := run(t, context.Background(), dist(t), srv)
	if err != nil || !strings.Contains(out, "16 published, 0 unchanged") {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := srv.Requests["PATCH releases"]; n != 8 {
		t.Errorf("%d release edits, want 8", n)
	}
	checkImmutable(t, srv, []string{abi, "other"}, nil)
}

// TestImmutableIndexMigrates: an index release made before (immutable, so
// never updatable) is read once, and its entries carried to the branch.
func TestImmutableIndexMigrates(t *testing.T) {
	srv := immutableServer(t)
	old := artifact.Index{Schema: artifact.IndexSchema, Entries: []artifact.Entry{{
		Team: "payments", Plugin: "fraud", Version: "0.9.0", Tag: "payments/fraud/v0.9.0", File: plugtest.FileName("fraud", "0.9.0", abi),
		SHA256: strings.Repeat("0", 64), Size: 1, ABI: artifact.ABI{Tag: abi}, Assets: map[string]string{},
	}}}
	data, err := old.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRelease(&githubtest.Release{Tag: publish.IndexTag, Immutable: true, Assets: []*githubtest.Asset{{Name: publish.IndexFile, State: "uploaded", Data: data}}})
	out, err := run(t, context.Background(), dist(t), srv)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ix := branchIndex(t, srv)
	var carried bool
	for _, e := range ix.Entries {
		carried = carried || e.Version == "0.9.0"
	}
	if !carried || len(ix.Entries) != 17 {
		t.Errorf("the branch's index has %d entries (the old one: %v), want the old one and 16", len(ix.Entries), carried)
	}
	if touched := srv.Touched(publish.IndexTag); len(touched) > 0 {
		t.Errorf("the old index release was asked to change: %v", touched)
	}
}

// TestFetchByRepository: a host given a repository's URL finds the index
// in the index release when there is no index branch (a repository
// without immutable releases, or published by an earlier plugship).
func TestFetchByRepository(t *testing.T) {
	srv := fastServer(t)
	d := dist(t)
	if out, err := run(t, context.Background(), d, srv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch.Plugins(context.Background(), fetch.Options{Index: srv.API.URL + "/acme/plugins/", Plugin: "fraud", Dir: t.TempDir(), Trust: policy, ABI: abi})
	if err != nil || len(res) != 1 || res[0].Outcome != "fetched" {
		t.Errorf("fetch: %v %+v", err, res)
	}
	_, err = fetch.Plugins(context.Background(), fetch.Options{Index: srv.API.URL + "/acme/empty", Plugin: "fraud", Dir: t.TempDir(), Trust: policy})
	if err == nil || !strings.Contains(err.Error(), "no plugship index in repository") {
		t.Errorf("fetching from a repository without an index: %v", err)
	}
}
