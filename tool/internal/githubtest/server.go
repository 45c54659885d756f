package githubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake GitHub with one repository.
type Server struct {
	API     *httptest.Server
	Uploads *httptest.Server
	Owner   string
	Repo    string
	Token   string
	// MaxPerPage caps per_page; GitHub's cap is 100.
	MaxPerPage int
	// Immutable is the repository setting "Enable release immutability":
	// a release published while it is on is immutable (see immutable.go).
	// Turning it on or off never changes a release already published.
	Immutable bool

	api      *http.ServeMux
	mu       sync.Mutex
	releases []*Release
	nextID   int64
	// burnt are the tags of releases published immutable: never reusable.
	burnt map[string]bool
	git   gitStore
	// touched lists, by release tag, the mutating requests that reached a
	// published release (answered or refused).
	touched map[string][]string
	faults  []Fault
	// Requests counts requests by "METHOD kind" (kind: releases, assets, upload, download).
	Requests map[string]int
	// OnUpload, if set, is called before each upload is handled.
	OnUpload func(name string)
}

// Release is a stored release.
type Release struct {
	ID     int64
	Tag    string
	Name   string
	Body   string
	Draft  bool
	Assets []*Asset
	// Immutable is set when the release is published while the
	// repository's Immutable setting is on.
	Immutable bool
	// MakeLatest is the last make_latest a request set ("true", "false",
	// "legacy"), or "".
	MakeLatest string
}

// Asset is a stored release asset.
type Asset struct {
	ID    int64
	Name  string
	State string // "uploaded", or "new" for a half-finished upload
	Data  []byte
	// Created is when the upload finished (created_at, as GitHub gives
	// it: to the second).
	Created time.Time
}

// Fault is an injected failure for the next request that matches.
type Fault struct {
	Match  string // "METHOD kind", e.g. "POST upload", or "*" for any
	Status int    // 502, 429, ...; 0 with Drop
	Retry  int    // Retry-After seconds, for 429
	Drop   bool   // read half the body, then drop the connection
	// Secondary answers 403 as GitHub's secondary rate limit does.
	Secondary bool
}

// New starts a server for owner/repo that accepts token.
func New(owner, repo, token string) *Server {
	s := &Server{Owner: owner, Repo: repo, Token: token, MaxPerPage: 100, nextID: 1, Requests: map[string]int{},
		burnt: map[string]bool{}, touched: map[string][]string{}, git: newGitStore()}
	s.api = s.mux()
	s.API = httptest.NewServer(http.HandlerFunc(s.serveAPI))
	s.Uploads = httptest.NewServer(http.HandlerFunc(s.serveUpload))
	return s
}

// Close stops both hosts.
func (s *Server) Close() {
	s.API.Close()
	s.Uploads.Close()
}

// Env returns the environment GitHub Actions would give a job for this
// repository.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"GITHUB_TOKEN":      s.Token,
		"GITHUB_REPOSITORY": s.Owner + "/" + s.Repo,
		"GITHUB_API_URL":    s.API.URL + "/api/v3",
		"GITHUB_UPLOAD_URL": s.Uploads.URL + "/api/uploads/",
	}
}

// Inject queues faults, used in order as requests match them.
func (s *Server) Inject(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Tamper replaces the bytes of a release's asset, as an attacker with
// write access to the repository could.
func (s *Server) Tamper(tag, name string, data []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.releases {
		for _, a := range r.Assets {
			if r.Tag == tag && a.Name == name {
				a.Data = data
				return true
			}
		}
	}
	return false
}

// Pending returns how many injected faults have not struck yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// Releases returns a copy of the stored releases.
func (s *Server) Releases() []Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Release
	for _, r := range s.releases {
		c := *r
		c.Assets = nil
		for _, a := range r.Assets {
			ac := *a
			c.Assets = append(c.Assets, &ac)
		}
		out = append(out, c)
	}
	return out
}

// AddRelease stores a release directly, as if made by an earlier run.
func (s *Server) AddRelease(r *Release) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.ID = s.id()
	for _, a := range r.Assets {
		a.ID = s.id()
	}
	if r.Immutable && !r.Draft {
		s.burnt[r.Tag] = true
	}
	s.releases = append(s.releases, r)
}

func (s *Server) id() int64 { s.nextID++; return s.nextID }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type apiError struct {
	Resource string `json:"resource,omitempty"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message,omitempty"`
}

func fail(w http.ResponseWriter, status int, msg string, errs ...apiError) {
	body := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}

// fault returns the first queued fault matching the request, removing it.
func (s *Server) fault(kind string) *Fault {
	for i, f := range s.faults {
		if f.Match == "*" || f.Match == kind {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return &f
		}
	}
	return nil
}

// begin counts the request, applies auth and faults; false means answered.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, kind string, auth bool) bool {
	key := r.Method + " " + kind
	s.mu.Lock()
	s.Requests[key]++
	f := s.fault(key)
	s.mu.Unlock()
	if auth {
		h := r.Header.Get("Authorization")
		if h != "Bearer "+s.Token && h != "token "+s.Token {
			fail(w, http.StatusUnauthorized, "Bad credentials")
			return false
		}
	}
	if f == nil {
		return true
	}
	if f.Drop {
		io.CopyN(io.Discard, r.Body, max(r.ContentLength/2, 1))
		if kind == "upload" {
			s.mu.Lock()
			if rel := s.release(r.PathValue("id")); rel != nil && !rel.Immutable {
				rel.Assets = append(rel.Assets, &Asset{ID: s.id(), Name: r.URL.Query().Get("name"), State: "new"})
			}
			s.mu.Unlock()
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return false
	}
	if f.Retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.Retry))
	}
	if f.Secondary {
		writeJSON(w, http.StatusForbidden, map[string]any{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
		return false
	}
	fail(w, f.Status, http.StatusText(f.Status))
	return false
}

func (s *Server) release(id string) *Release {
	n, _ := strconv.ParseInt(id, 10, 64)
	for _, r := range s.releases {
		if r.ID == n {
			return r
		}
	}
	return nil
}

func (s *Server) mux() *http.ServeMux {
	m := http.NewServeMux()
	repo := "/repos/{owner}/{repo}"
	m.HandleFunc("GET "+repo+"/releases", s.listReleases)
	m.HandleFunc("POST "+repo+"/releases", s.createRelease)
	m.HandleFunc("PATCH "+repo+"/releases/{id}", s.editRelease)
	m.HandleFunc("DELETE "+repo+"/releases/{id}", s.deleteRelease)
	m.HandleFunc("GET "+repo+"/immutable-releases", s.immutableSetting)
	m.HandleFunc("GET "+repo, s.repository)
	m.HandleFunc("POST "+repo+"/git/trees", s.createTree)
	m.HandleFunc("POST "+repo+"/git/commits", s.createCommit)
	m.HandleFunc("POST "+repo+"/git/refs", s.createRef)
	m.HandleFunc("GET "+repo+"/releases/{id}/assets", s.listAssets)
	m.HandleFunc("GET /download/{id}", s.download)
	m.HandleFunc("GET /{owner}/{repo}/releases/download/{path...}", s.browserDownload)
	return m
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	r.URL.Path = strings.TrimPrefix(r.URL.Path, "/api/v3")
	if (strings.HasPrefix(r.URL.Path, "/repos/") || r.URL.Path == "/") && !strings.HasPrefix(r.URL.Path+"/", "/repos/"+s.Owner+"/"+s.Repo+"/") {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	// Routes whose literal segments ServeMux cannot tell from {id}.
	if tag, ok := strings.CutPrefix(r.URL.Path, "/repos/"+s.Owner+"/"+s.Repo+"/releases/tags/"); ok && r.Method == http.MethodGet {
		s.releaseByTag(w, r, tag)
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/repos/"+s.Owner+"/"+s.Repo+"/releases/assets/"); ok {
		if r.Method == http.MethodGet || r.Method == http.MethodDelete {
			s.asset(w, r, id)
		} else {
			fail(w, http.StatusNotFound, "Not Found")
		}
		return
	}
	if ref, ok := strings.CutPrefix(r.URL.Path, "/repos/"+s.Owner+"/"+s.Repo+"/git/ref/"); ok && r.Method == http.MethodGet {
		s.getRef(w, r, ref)
		return
	}
	if path, ok := strings.CutPrefix(r.URL.Path, "/repos/"+s.Owner+"/"+s.Repo+"/contents/"); ok {
		switch r.Method {
		case http.MethodGet:
			s.getContents(w, r, path)
		case http.MethodPut:
			s.putContents(w, r, path)
		default:
			fail(w, http.StatusNotFound, "Not Found")
		}
		return
	}
	if path, ok := strings.CutPrefix(r.URL.Path, "/"+s.Owner+"/"+s.Repo+"/raw/"); ok && r.Method == http.MethodGet {
		s.raw(w, r, path)
		return
	}
	s.api.ServeHTTP(w, r)
}

func (s *Server) releaseJSON(r *Release) map[string]any {
	return map[string]any{
		"id": r.ID, "tag_name": r.Tag, "name": r.Name, "body": r.Body, "draft": r.Draft, "prerelease": false, "immutable": r.Immutable,
		"url":        fmt.Sprintf("%s/repos/%s/%s/releases/%d", s.API.URL, s.Owner, s.Repo, r.ID),
		"upload_url": fmt.Sprintf("%s/repos/%s/%s/releases/%d/assets{?name,label}", s.Uploads.URL, s.Owner, s.Repo, r.ID),
		"created_at": time.Now().UTC().Format(time.RFC3339),
	}
}

func (s *Server) assetJSON(rel *Release, a *Asset) map[string]any {
	return map[string]any{
		"id": a.ID, "name": a.Name, "state": a.State, "size": len(a.Data), "content_type": "application/octet-stream",
		"created_at": a.Created.Format(time.RFC3339), "updated_at": a.Created.Format(time.RFC3339),
		"url":                  fmt.Sprintf("%s/repos/%s/%s/releases/assets/%d", s.API.URL, s.Owner, s.Repo, a.ID),
		"browser_download_url": fmt.Sprintf("%s/%s/%s/releases/download/%s/%s", s.API.URL, s.Owner, s.Repo, rel.Tag, a.Name),
	}
}

// page slices items as GitHub paginates, setting the Link header.
func (s *Server) page(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, s.MaxPerPage)
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if p <= 0 {
		p = 1
	}
	lo, hi = min((p-1)*per, n), min(p*per, n)
	last := max((n+per-1)/per, 1)
	link := func(page int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		q := u.Query()
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if p < last {
		links = append(links, link(p+1, "next"), link(last, "last"))
	}
	if p > 1 {
		links = append(links, link(1, "first"), link(p-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return lo, hi
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "releases", true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sorted := append([]*Release{}, s.releases...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID > sorted[j].ID }) // newest first
	lo, hi := s.page(w, r, len(sorted))
	out := []map[string]any{}
	for _, rel := range sorted[lo:hi] {
		out = append(out, s.releaseJSON(rel))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) releaseByTag(w http.ResponseWriter, r *http.Request, tag string) {
	if !s.begin(w, r, "releases", true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rel := range s.releases {
		if rel.Tag == tag && !rel.Draft { // GitHub does not find drafts by tag
			writeJSON(w, http.StatusOK, s.releaseJSON(rel))
			return
		}
	}
	fail(w, http.StatusNotFound, "Not Found")
}

func (s *Server) createRelease(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "releases", true) {
		return
	}
	var req struct {
		TagName string `json:"tag_name"`
		Name    string `json:"name"`
		Body    string `json:"body"`
		Draft   bool   `json:"draft"`
		// MakeLatest: "true", "false" or "legacy".
		MakeLatest string `json:"make_latest"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.TagName == "" {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed", apiError{Resource: "Release", Code: "missing_field", Field: "tag_name"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rel := range s.releases {
		if rel.Tag == req.TagName {
			fail(w, http.StatusUnprocessableEntity, "Validation Failed", apiError{Resource: "Release", Code: "already_exists", Field: "tag_name"})
			return
		}
	}
	if s.burnt[req.TagName] {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed", errTagUsed)
		return
	}
	rel := &Release{ID: s.id(), Tag: req.TagName, Name: req.Name, Body: req.Body, Draft: req.Draft, MakeLatest: req.MakeLatest}
	s.publish(rel)
	s.releases = append(s.releases, rel)
	writeJSON(w, http.StatusCreated, s.releaseJSON(rel))
}

func (s *Server) editRelease(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "releases", true) {
		return
	}
	var req map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.release(r.PathValue("id"))
	if rel == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	s.touch(rel, "PATCH release")
	if errs := s.immutableEdit(rel, req); len(errs) > 0 {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed", errs...)
		return
	}
	if v, ok := req["draft"]; ok {
		json.Unmarshal(v, &rel.Draft)
	}
	if v, ok := req["make_latest"]; ok {
		json.Unmarshal(v, &rel.MakeLatest)
	}
	if v, ok := req["body"]; ok {
		json.Unmarshal(v, &rel.Body)
	}
	if v, ok := req["name"]; ok {
		json.Unmarshal(v, &rel.Name)
	}
	s.publish(rel)
	writeJSON(w, http.StatusOK, s.releaseJSON(rel))
}

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "assets", true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.release(r.PathValue("id"))
	if rel == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	lo, hi := s.page(w, r, len(rel.Assets))
	out := []map[string]any{}
	for _, a := range rel.Assets[lo:hi] {
		out = append(out, s.assetJSON(rel, a))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) findAsset(id string) (*Release, *Asset) {
	n, _ := strconv.ParseInt(id, 10, 64)
	for _, rel := range s.releases {
		for _, a := range rel.Assets {
			if a.ID == n {
				return rel, a
			}
		}
	}
	return nil, nil
}

// asset gets (GET) or deletes (DELETE) the asset id.
func (s *Server) asset(w http.ResponseWriter, r *http.Request, id string) {
	if !s.begin(w, r, "assets", true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rel, a := s.findAsset(id)
	if a == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	switch {
	case r.Method == http.MethodDelete:
		s.touch(rel, "DELETE asset "+a.Name)
		if rel.Immutable {
			fail(w, http.StatusUnprocessableEntity, "Validation Failed", apiError{Resource: "ReleaseAsset", Code: "custom", Message: "Cannot delete asset from an immutable release"})
			return
		}
		rel.Assets = slices.DeleteFunc(rel.Assets, func(x *Asset) bool { return x == a })
		w.WriteHeader(http.StatusNoContent)
	case r.Header.Get("Accept") == "application/octet-stream":
		http.Redirect(w, r, fmt.Sprintf("%s/download/%d", s.API.URL, a.ID), http.StatusFound)
	default:
		writeJSON(w, http.StatusOK, s.assetJSON(rel, a))
	}
}

// download serves an asset's bytes, as GitHub's storage does after the
// redirect; it needs no token.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "download", false) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, a := s.findAsset(r.PathValue("id"))
	if a == nil || a.State != "uploaded" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(a.Data)
}

// browserDownload serves github.com/<owner>/<repo>/releases/download/<tag>/<name>
// of published releases.
func (s *Server) browserDownload(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "download", false) {
		return
	}
	p := r.PathValue("path")
	i := strings.LastIndex(p, "/")
	if i < 0 || r.PathValue("owner") != s.Owner || r.PathValue("repo") != s.Repo {
		http.NotFound(w, r)
		return
	}
	tag, name := p[:i], p[i+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rel := range s.releases {
		if rel.Tag != tag || rel.Draft {
			continue
		}
		for _, a := range rel.Assets {
			if a.Name == name && a.State == "uploaded" {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Write(a.Data)
				return
			}
		}
	}
	http.NotFound(w, r)
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	r.URL.Path = strings.TrimPrefix(r.URL.Path, "/api/uploads")
	m := http.NewServeMux()
	m.HandleFunc("POST /repos/{owner}/{repo}/releases/{id}/assets", s.upload)
	m.ServeHTTP(w, r)
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if s.OnUpload != nil {
		s.OnUpload(name)
	}
	if !s.begin(w, r, "upload", true) {
		return
	}
	if r.ContentLength < 0 {
		fail(w, http.StatusLengthRequired, "Length Required")
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.release(r.PathValue("id"))
	if rel == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	s.touch(rel, "POST upload "+name)
	if rel.Immutable {
		fail(w, http.StatusUnprocessableEntity, "Cannot upload assets to an immutable release.")
		return
	}
	if name == "" {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed", apiError{Resource: "ReleaseAsset", Code: "missing_field", Field: "name"})
		return
	}
	for _, a := range rel.Assets {
		if a.Name == name {
			fail(w, http.StatusUnprocessableEntity, "Validation Failed", apiError{Resource: "ReleaseAsset", Code: "already_exists", Field: "name"})
			return
		}
	}
	a := &Asset{ID: s.id(), Name: name, State: "uploaded", Data: data, Created: time.Now().UTC().Truncate(time.Second)}
	rel.Assets = append(rel.Assets, a)
	writeJSON(w, http.StatusCreated, s.assetJSON(rel, a))
}
