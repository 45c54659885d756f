package githubtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/plugship/plugship/tool/internal/githubtest"
)

// client is a go-github client for srv, as publish makes one.
func client(t *testing.T, srv *githubtest.Server) *github.Client {
	t.Helper()
	env := srv.Env()
	c, err := github.NewClient(nil).WithAuthToken(srv.Token).WithEnterpriseURLs(env["GITHUB_API_URL"], env["GITHUB_UPLOAD_URL"])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw sends a request and returns the status and the decoded JSON body.
func raw(t *testing.T, srv *githubtest.Server, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func asset(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "asset")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(name)
	f.Seek(0, io.SeekStart)
	t.Cleanup(func() { f.Close() })
	return f
}

// TestImmutableRelease: a release published with the setting on takes no
// upload, no asset deletion and no unpublishing, answered with GitHub's
// status and bodies; its notes stay editable; its tag is never reusable.
func TestImmutableRelease(t *testing.T) {
	srv := githubtest.New("acme", "plugins", "tok")
	defer srv.Close()
	ctx := context.Background()
	gh := client(t, srv)
	api := srv.API.URL + "/api/v3/repos/acme/plugins"

	if code, _ := raw(t, srv, "GET", api+"/immutable-releases", nil); code != http.StatusNotFound {
		t.Errorf("setting off: %d, want 404", code)
	}
	srv.Immutable = true
	if code, body := raw(t, srv, "GET", api+"/immutable-releases", nil); code != http.StatusOK || body["enabled"] != true {
		t.Errorf("setting on: %d %v", code, body)
	}

	rel, _, err := gh.Repositories.CreateRelease(ctx, "acme", "plugins", &github.RepositoryRelease{TagName: github.String("t/p/v1.0.0"), Draft: github.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	// A draft is not immutable: it takes uploads and deletions.
	a, _, err := gh.Repositories.UploadReleaseAsset(ctx, "acme", "plugins", rel.GetID(), &github.UploadOptions{Name: "a"}, asset(t, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := gh.Repositories.UploadReleaseAsset(ctx, "acme", "plugins", rel.GetID(), &github.UploadOptions{Name: "b"}, asset(t, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gh.Repositories.DeleteReleaseAsset(ctx, "acme", "plugins", b.GetID()); err != nil {
		t.Fatal(err)
	}
	code, body := raw(t, srv, "PATCH", api+"/releases/"+jsonID(rel.GetID()), map[string]any{"draft": false})
	if code != http.StatusOK || body["immutable"] != true {
		t.Fatalf("publishing: %d %v", code, body)
	}

	_, _, err = gh.Repositories.UploadReleaseAsset(ctx, "acme", "plugins", rel.GetID(), &github.UploadOptions{Name: "c"}, asset(t, "c"))
	if !isError(err, 422, "Cannot upload assets to an immutable release.", "") {
		t.Errorf("upload to an immutable release: %v", err)
	}
	_, err = gh.Repositories.DeleteReleaseAsset(ctx, "acme", "plugins", a.GetID())
	if !isError(err, 422, "Validation Failed", "Cannot delete asset from an immutable release") {
		t.Errorf("deleting an asset of an immutable release: %v", err)
	}
	_, _, err = gh.Repositories.EditRelease(ctx, "acme", "plugins", rel.GetID(), &github.RepositoryRelease{Draft: github.Bool(true)})
	if !isError(err, 422, "Validation Failed", "state cannot be changed when release is immutable") {
		t.Errorf("unpublishing an immutable release: %v", err)
	}
	_, _, err = gh.Repositories.EditRelease(ctx, "acme", "plugins", rel.GetID(), &github.RepositoryRelease{TagName: github.String("t/p/v1.0.1")})
	if !isError(err, 422, "Validation Failed", "tag_name cannot be changed when release is immutable") {
		t.Errorf("retagging an immutable release: %v", err)
	}
	if _, _, err := gh.Repositories.EditRelease(ctx, "acme", "plugins", rel.GetID(), &github.RepositoryRelease{Body: github.String("notes")}); err != nil {
		t.Errorf("editing the notes of an immutable release: %v", err)
	}
	if got := srv.Touched("t/p/v1.0.0"); len(got) != 5 {
		t.Errorf("Touched: %v, want the upload, the deletion and three edits", got)
	}
	if rs := srv.Releases(); len(rs[0].Assets) != 1 || rs[0].Assets[0].Name != "a" {
		t.Errorf("the immutable release changed: %+v", rs[0])
	}

	// Its tag can never be used again, even after the release is deleted.
	if _, err := gh.Repositories.DeleteRelease(ctx, "acme", "plugins", rel.GetID()); err != nil {
		t.Fatal(err)
	}
	_, _, err = gh.Repositories.CreateRelease(ctx, "acme", "plugins", &github.RepositoryRelease{TagName: github.String("t/p/v1.0.0"), Draft: github.Bool(true)})
	if !isError(err, 422, "Validation Failed", "tag_name was used by an immutable release") {
		t.Errorf("reusing the tag of a deleted immutable release: %v", err)
	}
	// With the setting off, releases published since are mutable.
	srv.Immutable = false
	rel, _, err = gh.Repositories.CreateRelease(ctx, "acme", "plugins", &github.RepositoryRelease{TagName: github.String("t/p/v2.0.0")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Repositories.UploadReleaseAsset(ctx, "acme", "plugins", rel.GetID(), &github.UploadOptions{Name: "a"}, asset(t, "a")); err != nil {
		t.Errorf("upload to a mutable published release: %v", err)
	}
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

// isError says whether err is GitHub's answer status with message, and,
// unless errMsg is "", an error with errMsg.
func isError(err error, status int, message, errMsg string) bool {
	er, ok := err.(*github.ErrorResponse)
	if !ok || er.Response.StatusCode != status || er.Message != message {
		return false
	}
	if errMsg == "" {
		return len(er.Errors) == 0
	}
	for _, e := range er.Errors {
		if e.Message == errMsg && e.Code == "custom" {
			return true
		}
	}
	return false
}

// TestContents: a file on a branch, written with the blob sha it replaces
// and read through the contents API and the raw URL.
func TestContents(t *testing.T) {
	srv := githubtest.New("acme", "plugins", "tok")
	defer srv.Close()
	ctx := context.Background()
	gh := client(t, srv)
	opts := &github.RepositoryContentFileOptions{Message: github.String("m"), Content: []byte("one"), Branch: github.String("idx")}
	if _, resp, err := gh.Repositories.CreateFile(ctx, "acme", "plugins", "f.json", opts); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("writing to a branch that does not exist: %v", err)
	}
	tree, _, err := gh.Git.CreateTree(ctx, "acme", "plugins", "", []*github.TreeEntry{{Path: github.String("README.md"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	commit, _, err := gh.Git.CreateCommit(ctx, "acme", "plugins", &github.Commit{Message: github.String("root"), Tree: tree}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Git.CreateRef(ctx, "acme", "plugins", &github.Reference{Ref: github.String("refs/heads/idx"), Object: &github.GitObject{SHA: commit.SHA}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Git.CreateRef(ctx, "acme", "plugins", &github.Reference{Ref: github.String("refs/heads/idx"), Object: &github.GitObject{SHA: commit.SHA}}); err == nil || !strings.Contains(err.Error(), "Reference already exists") {
		t.Errorf("creating the ref again: %v", err)
	}
	created, _, err := gh.Repositories.CreateFile(ctx, "acme", "plugins", "f.json", opts)
	if err != nil || created.Content.GetSHA() != githubtest.BlobSHA([]byte("one")) {
		t.Fatalf("creating: %v %+v", err, created)
	}
	opts.Content = []byte("two")
	if _, _, err := gh.Repositories.UpdateFile(ctx, "acme", "plugins", "f.json", opts); err == nil || !strings.Contains(err.Error(), `"sha" wasn't supplied`) {
		t.Errorf("updating without sha: %v", err)
	}
	opts.SHA = github.String(githubtest.BlobSHA([]byte("stale")))
	if _, resp, err := gh.Repositories.UpdateFile(ctx, "acme", "plugins", "f.json", opts); err == nil || resp.StatusCode != http.StatusConflict {
		t.Errorf("updating with a stale sha: %v", err)
	}
	opts.SHA = created.Content.SHA
	if _, _, err := gh.Repositories.UpdateFile(ctx, "acme", "plugins", "f.json", opts); err != nil {
		t.Fatal(err)
	}
	file, _, _, err := gh.Repositories.GetContents(ctx, "acme", "plugins", "f.json", &github.RepositoryContentGetOptions{Ref: "idx"})
	if content, _ := file.GetContent(); err != nil || content != "two" {
		t.Errorf("reading: %v %q", err, content)
	}
	resp, err := http.Get(srv.API.URL + "/acme/plugins/raw/idx/f.json")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(data) != "two" {
		t.Errorf("raw: %s %q", resp.Status, data)
	}
	if n := srv.Commits("idx"); n != 3 {
		t.Errorf("%d commits, want 3", n)
	}
}
