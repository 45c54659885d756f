// Package githubtest is a GitHub REST API server for tests, on loopback:
// the release endpoints plugship uses, with GitHub's behaviour where
// plugship depends on it. Only tests import it.
//
//   - a separate upload host (uploads go to Uploads.URL, as to
//     uploads.github.com), paths under /api/v3 and /api/uploads as GitHub
//     Enterprise serves them;
//   - token authentication (401 "Bad credentials");
//   - drafts listed to authenticated callers but not found by tag;
//   - 422 "Validation Failed" with code already_exists for a second release
//     with one tag or a second asset with one name;
//   - pagination with Link headers, capped at MaxPerPage;
//   - asset downloads that redirect (302) to a download URL;
//   - half-finished uploads left behind as assets in state "new";
//   - immutable releases (Server.Immutable, see immutable.go): uploads,
//     asset deletions and unpublishing edits refused with GitHub's 422
//     bodies, tags never reusable, "immutable" in the release JSON;
//   - a file on a branch: git refs, trees and commits, the contents API
//     (read raw or as JSON, written with the blob sha it replaces) and the
//     web's raw URL (see git.go).
//
// Faults can be injected: 502s, 429s with Retry-After, and connections
// dropped in the middle of an upload.
package githubtest
