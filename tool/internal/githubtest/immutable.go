package githubtest

import (
	"encoding/json"
	"net/http"
)

// Immutable releases, as GitHub enforces them (generally available since
// October 2025; docs.github.com, "Immutable releases"). With the
// repository setting on, a release becomes immutable when it is published
// (a draft never is), and stays so if the setting is turned off:
//
//   - an upload to it is refused: 422 {"message": "Cannot upload assets to
//     an immutable release."};
//   - deleting one of its assets is refused: 422 "Validation Failed", error
//     {"resource": "ReleaseAsset", "code": "custom", "message": "Cannot
//     delete asset from an immutable release"};
//   - an edit that would unpublish it, retag it or move its target is
//     refused: 422 "Validation Failed", error code "custom", message
//     "state cannot be changed when release is immutable" (or tag_name,
//     target_commitish); its title, notes, prerelease flag and make_latest
//     can still be edited, as on GitHub;
//   - its tag can never be used by another release, even after the
//     release is deleted: 422 "Validation Failed", error {"resource":
//     "Release", "code": "custom", "field": "tag_name", "message":
//     "tag_name was used by an immutable release"}.
//
// The release JSON carries "immutable": true, and GET
// /repos/{owner}/{repo}/immutable-releases answers {"enabled": true,
// "enforced_by_owner": false} while the setting is on, 404 while it is off.

var errTagUsed = apiError{Resource: "Release", Code: "custom", Field: "tag_name", Message: "tag_name was used by an immutable release"}

// publish marks rel immutable if it has just been published with the
// setting on, burning its tag.
func (s *Server) publish(rel *Release) {
	if !rel.Draft && !rel.Immutable && s.Immutable {
		rel.Immutable = true
		s.burnt[rel.Tag] = true
	}
}

// touch records a mutating request that reached a published release.
func (s *Server) touch(rel *Release, what string) {
	if !rel.Draft {
		s.touched[rel.Tag] = append(s.touched[rel.Tag], what)
	}
}

// Touched returns the mutating requests (uploads, asset deletions, edits,
// deletion) that reached the release tagged tag after it was published,
// whether they were answered or refused.
func (s *Server) Touched(tag string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.touched[tag]...)
}

// immutableEdit returns the errors GitHub gives for an edit of an
// immutable release that changes what immutability locks.
func (s *Server) immutableEdit(rel *Release, req map[string]json.RawMessage) []apiError {
	if !rel.Immutable {
		return nil
	}
	var errs []apiError
	if v, ok := req["draft"]; ok {
		var draft bool
		if json.Unmarshal(v, &draft) == nil && draft {
			errs = append(errs, apiError{Resource: "Release", Code: "custom", Field: "draft", Message: "state cannot be changed when release is immutable"})
		}
	}
	if v, ok := req["tag_name"]; ok {
		var tag string
		if json.Unmarshal(v, &tag) == nil && tag != rel.Tag {
			errs = append(errs, apiError{Resource: "Release", Code: "custom", Field: "tag_name", Message: "tag_name cannot be changed when release is immutable"})
		}
	}
	if _, ok := req["target_commitish"]; ok {
		errs = append(errs, apiError{Resource: "Release", Code: "custom", Field: "target_commitish", Message: "target_commitish cannot be changed when release is immutable"})
	}
	return errs
}

// deleteRelease deletes a release. An immutable release can be deleted;
// its tag stays burnt.
func (s *Server) deleteRelease(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "releases", true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.release(r.PathValue("id"))
	if rel == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	s.touch(rel, "DELETE release")
	for i, x := range s.releases {
		if x == rel {
			s.releases = append(s.releases[:i], s.releases[i+1:]...)
			break
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// DeleteRelease deletes the release tagged tag, as a maintainer could on
// the web; it reports whether there was one.
func (s *Server) DeleteRelease(tag string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rel := range s.releases {
		if rel.Tag == tag {
			s.releases = append(s.releases[:i], s.releases[i+1:]...)
			return true
		}
	}
	return false
}

// immutableSetting answers "Check if immutable releases are enabled for a
// repository".
func (s *Server) immutableSetting(w http.ResponseWriter, r *http.Request) {
	if !s.begin(w, r, "repository", true) {
		return
	}
	s.mu.Lock()
	on := s.Immutable
	s.mu.Unlock()
	if !on {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"enabled": true, "enforced_by_owner": false})
}
