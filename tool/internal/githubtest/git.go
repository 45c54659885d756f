package githubtest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// The git data and contents endpoints plugship uses to keep a file on a
// branch: read a ref, create a tree, a commit and a ref (an orphan
// branch), read a file through the contents API (JSON or raw) and create
// or update it with the blob sha of the version it replaces, and the web's
// raw URL, github.com/<owner>/<repo>/raw/<branch>/<path>. Blob shas are
// git's (sha1 of "blob <size>\x00<content>"), as GitHub's contents API
// reports them.

type gitCommit struct {
	sha, tree, message string
	parents            []string
}

type gitStore struct {
	blobs   map[string][]byte
	trees   map[string]map[string]string // path to blob sha
	commits map[string]*gitCommit
	refs    map[string]string // "refs/heads/x" to commit sha
	seq     int
}

func newGitStore() gitStore {
	return gitStore{blobs: map[string][]byte{}, trees: map[string]map[string]string{}, commits: map[string]*gitCommit{}, refs: map[string]string{}}
}

// BlobSHA is git's object name of a blob holding data.
func BlobSHA(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func (g *gitStore) putBlob(data []byte) string {
	sha := BlobSHA(data)
	g.blobs[sha] = data
	return sha
}

func (g *gitStore) putTree(t map[string]string) string {
	paths := make([]string, 0, len(t))
	for p := range t {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha1.New()
	for _, p := range paths {
		fmt.Fprintf(h, "100644 %s %s\n", p, t[p])
	}
	sha := hex.EncodeToString(h.Sum(nil))
	g.trees[sha] = t
	return sha
}

func (g *gitStore) putCommit(tree, message string, parents []string) *gitCommit {
	g.seq++
	h := sha1.New()
	fmt.Fprintf(h, "tree %s\nparents %v\nseq %d\n\n%s", tree, parents, g.seq, message)
	c := &gitCommit{sha: hex.EncodeToString(h.Sum(nil)), tree: tree, message: message, parents: parents}
	g.commits[c.sha] = c
	return c
}

// file returns the content of path at the head of branch.
func (g *gitStore) file(branch, path string) ([]byte, string, bool) {
	head, ok := g.refs["refs/heads/"+branch]
	if !ok {
		return nil, "", false
	}
	sha, ok := g.trees[g.commits[head].tree][path]
	if !ok {
		return nil, "", false
	}
	return g.blobs[sha], sha, true
}

// File returns the content of path on branch, as a clone would see it.
func (s *Server) File(branch, path string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, _, ok := s.git.file(branch, path)
	return data, ok
}

// Commits returns how many commits branch has (0: no such branch).
func (s *Server) Commits(branch string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for sha, ok := s.git.refs["refs/heads/"+branch]; ok; {
		n++
		c := s.git.commits[sha]
		if len(c.parents) == 0 {
			break
		}
		sha = c.parents[0]
	}
	return n
}

func (s *Server) refJSON(ref, sha string) map[string]any {
	return map[string]any{
		"ref":    ref,
		"url":    fmt.Sprintf("%s/repos/%s/%s/git/%s", s.API.URL, s.Owner, s.Repo, ref),
		"object": map[string]any{"type": "commit", "sha": sha},
	}
}

func (s *Server) commitJSON(c *gitCommit) map[string]any {
	parents := []map[string]any{}
	for _, p := range c.parents {
		parents = append(parents, map[string]any{"sha": p})
	}
	return map[string]any{"sha": c.sha, "message": c.message, "tree": map[string]any{"sha": c.tree}, "parents": parents}
}

// repository answers GET /repos/{owner}/{repo}.
func (s *Server) repository(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "repository", true) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": s.Repo, "full_name": s.Owner + "/" + s.Repo, "private": false, "default_branch": "main",
		"html_url": fmt.Sprintf("%s/%s/%s", s.API.URL, s.Owner, s.Repo),
		"url":      fmt.Sprintf("%s/repos/%s/%s", s.API.URL, s.Owner, s.Repo),
	})
}

// getRef answers GET /repos/{owner}/{repo}/git/ref/{ref} (ref: heads/x).
func (s *Server) getRef(w http.ResponseWriter, r *http.Request, ref string) {
	if !s.begin(w, r, "git", true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.git.refs["refs/"+ref]
	if !ok {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.refJSON("refs/"+ref, sha))
}

func (s *Server) createTree(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "git", true) {
		return
	}
	var req struct {
		BaseTree string `json:"base_tree"`
		Tree     []struct {
			Path    string  `json:"path"`
			Mode    string  `json:"mode"`
			Type    string  `json:"type"`
			SHA     *string `json:"sha"`
			Content *string `json:"content"`
		} `json:"tree"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := map[string]string{}
	if req.BaseTree != "" {
		base, ok := s.git.trees[req.BaseTree]
		if !ok {
			fail(w, http.StatusUnprocessableEntity, "base_tree is not a valid tree oid")
			return
		}
		for p, sha := range base {
			t[p] = sha
		}
	}
	for _, e := range req.Tree {
		if e.Type != "blob" || e.Mode != "100644" || e.Path == "" {
			fail(w, http.StatusUnprocessableEntity, "Invalid tree info")
			return
		}
		switch {
		case e.Content != nil:
			t[e.Path] = s.git.putBlob([]byte(*e.Content))
		case e.SHA == nil:
			delete(t, e.Path)
		default:
			if _, ok := s.git.blobs[*e.SHA]; !ok {
				fail(w, http.StatusUnprocessableEntity, "Invalid tree info")
				return
			}
			t[e.Path] = *e.SHA
		}
	}
	sha := s.git.putTree(t)
	writeJSON(w, http.StatusCreated, map[string]any{"sha": sha, "truncated": false})
}

func (s *Server) createCommit(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "git", true) {
		return
	}
	var req struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.git.trees[req.Tree]; !ok || req.Message == "" {
		fail(w, http.StatusUnprocessableEntity, "Tree SHA does not exist")
		return
	}
	for _, p := range req.Parents {
		if s.git.commits[p] == nil {
			fail(w, http.StatusUnprocessableEntity, "Parent SHA does not exist or is not a commit object")
			return
		}
	}
	writeJSON(w, http.StatusCreated, s.commitJSON(s.git.putCommit(req.Tree, req.Message, req.Parents)))
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "git", true) {
		return
	}
	var req struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.HasPrefix(req.Ref, "refs/") || strings.Count(req.Ref, "/") < 2 {
		fail(w, http.StatusUnprocessableEntity, "Reference name must start with 'refs/' and have at least two slashes.")
		return
	}
	if _, ok := s.git.refs[req.Ref]; ok {
		fail(w, http.StatusUnprocessableEntity, "Reference already exists")
		return
	}
	if s.git.commits[req.SHA] == nil {
		fail(w, http.StatusUnprocessableEntity, "Object does not exist")
		return
	}
	s.git.refs[req.Ref] = req.SHA
	writeJSON(w, http.StatusCreated, s.refJSON(req.Ref, req.SHA))
}

func (s *Server) contentJSON(branch, path, sha string, data []byte) map[string]any {
	name := path[strings.LastIndex(path, "/")+1:]
	return map[string]any{
		"type": "file", "name": name, "path": path, "sha": sha, "size": len(data),
		"url":          fmt.Sprintf("%s/repos/%s/%s/contents/%s?ref=%s", s.API.URL, s.Owner, s.Repo, path, branch),
		"download_url": fmt.Sprintf("%s/%s/%s/raw/%s/%s", s.API.URL, s.Owner, s.Repo, branch, path),
	}
}

// getContents answers GET /repos/{owner}/{repo}/contents/{path}?ref=: the
// file's JSON with its content in base64, or its bytes for the raw media
// type (Accept: application/vnd.github.raw).
func (s *Server) getContents(w http.ResponseWriter, r *http.Request, path string) {
	if !s.begin(w, r, "contents", true) {
		return
	}
	branch := r.URL.Query().Get("ref")
	if branch == "" {
		branch = "main"
	}
	branch = strings.TrimPrefix(branch, "refs/heads/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.git.refs["refs/heads/"+branch]; !ok {
		fail(w, http.StatusNotFound, "No commit found for the ref "+branch)
		return
	}
	data, sha, ok := s.git.file(branch, path)
	if !ok {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "raw") {
		w.Header().Set("Content-Type", "application/vnd.github.raw")
		w.Write(data)
		return
	}
	body := s.contentJSON(branch, path, sha, data)
	body["encoding"] = "base64"
	body["content"] = base64.StdEncoding.EncodeToString(data)
	writeJSON(w, http.StatusOK, body)
}

// putContents answers PUT /repos/{owner}/{repo}/contents/{path}: create a
// file (no sha), or update it (sha: the blob it replaces; 409 if it is not
// the current one), in a new commit on branch.
func (s *Server) putContents(w http.ResponseWriter, r *http.Request, path string) {
	if !s.begin(w, r, "contents", true) {
		return
	}
	var req struct {
		Message string `json:"message"`
		Content []byte `json:"content"` // base64 in JSON
		SHA     string `json:"sha"`
		Branch  string `json:"branch"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if req.Message == "" {
		fail(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"message\" wasn't supplied.")
		return
	}
	if req.Branch == "" {
		req.Branch = "main"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.git.refs["refs/heads/"+req.Branch]
	if !ok {
		fail(w, http.StatusNotFound, "Branch "+req.Branch+" not found")
		return
	}
	_, current, exists := s.git.file(req.Branch, path)
	switch {
	case exists && req.SHA == "":
		fail(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"sha\" wasn't supplied.")
		return
	case exists && req.SHA != current, !exists && req.SHA != "":
		fail(w, http.StatusConflict, fmt.Sprintf("%s does not match %s", path, req.SHA))
		return
	}
	t := map[string]string{}
	for p, sha := range s.git.trees[s.git.commits[head].tree] {
		t[p] = sha
	}
	t[path] = s.git.putBlob(req.Content)
	c := s.git.putCommit(s.git.putTree(t), req.Message, []string{head})
	s.git.refs["refs/heads/"+req.Branch] = c.sha
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"content": s.contentJSON(req.Branch, path, t[path], req.Content), "commit": s.commitJSON(c)})
}

// raw serves github.com/<owner>/<repo>/raw/<branch>/<path> (GitHub
// redirects it to raw.githubusercontent.com, which caches for up to five
// minutes; here it is served at once). It needs no token.
func (s *Server) raw(w http.ResponseWriter, r *http.Request, rest string) {
	if !s.begin(w, r, "download", false) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The branch is the longest prefix of rest that names one.
	for i := len(rest) - 1; i > 0; i-- {
		if rest[i] != '/' {
			continue
		}
		if data, _, ok := s.git.file(rest[:i], rest[i+1:]); ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "max-age=300")
			w.Write(data)
			return
		}
	}
	http.NotFound(w, r)
}
