package publish

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-github/v60/github"
)

// Where the GitHub store keeps index.json and matrix.json.
//
// On a repository whose releases are not immutable they are assets of the
// release tagged plugship-index, replaced on every publish, as they always
// were. A repository with immutable releases cannot replace a published
// release's assets, so there they are files on the branch plugship-index,
// an orphan branch holding only them and a README, written through the
// contents API (each write names the blob it replaces, so two publishes
// racing cannot lose an update) and served at
// <repository>/raw/plugship-index/index.json.
//
// The branch is used when it exists, when the index release is immutable,
// or, with neither, when the repository has immutable releases: a release
// the API listed or returned in this run said "immutable": true, the
// repository's setting said so (GET /repos/{o}/{r}/immutable-releases,
// which needs admin read access and is only a hint), or an upload to a
// new index release was refused as immutable. Reading falls back to the
// index release for a file the branch does not hold yet, so the first
// publish to the branch starts from the old index.
type indexPlace struct {
	branch       bool              // write to the branch
	branchExists bool              // the branch exists
	release      *release          // the index release, or nil
	sha          map[string]string // blob sha of each file read from the branch
	web          string            // the repository's web URL
}

// place finds where the index is, once per run.
func (g *GitHub) place(ctx context.Context) (*indexPlace, error) {
	if g.index != nil {
		return g.index, nil
	}
	p := &indexPlace{sha: map[string]string{}}
	err := g.call(ctx, "reading branch "+IndexBranch, func() (*github.Response, error) {
		_, resp, err := g.Client.Git.GetRef(ctx, g.Owner, g.Repo, "heads/"+IndexBranch)
		if notFound(err) {
			return resp, nil
		}
		p.branchExists = err == nil
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	if p.release, err = g.findRelease(ctx, IndexTag); err != nil {
		return nil, err
	}
	switch {
	case p.branchExists:
		p.branch = true
	case p.release != nil:
		p.branch = p.release.Immutable
	default:
		p.branch = g.sawImmutable || g.immutableSetting(ctx)
	}
	g.index = p
	return p, nil
}

// immutableSetting asks the repository's setting; false when it cannot
// tell (a token without admin read access gets 403 or 404).
func (g *GitHub) immutableSetting(ctx context.Context) bool {
	var out struct {
		Enabled bool `json:"enabled"`
	}
	req, err := g.Client.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/immutable-releases", g.Owner, g.Repo), nil)
	if err != nil {
		return false
	}
	_, err = g.Client.Do(ctx, req, &out)
	return err == nil && out.Enabled
}

// IndexLocation says where hosts fetch index.json from, for output:
// its URL, and whether it is on the branch or in the index release.
func (g *GitHub) IndexLocation(ctx context.Context) string {
	p, err := g.place(ctx)
	if err != nil {
		return IndexFile
	}
	g.webURL(ctx, p)
	if p.branch {
		return fmt.Sprintf("%s on branch %s, %s/raw/%s/%s", IndexFile, IndexBranch, p.web, IndexBranch, IndexFile)
	}
	return fmt.Sprintf("%s in release %s, %s/releases/download/%s/%s", IndexFile, IndexTag, p.web, IndexTag, IndexFile)
}

// ReadIndex returns a file of the index (index.json, matrix.json), or nil:
// the branch's, else the index release's.
func (g *GitHub) ReadIndex(ctx context.Context, name string) ([]byte, error) {
	p, err := g.place(ctx)
	if err != nil {
		return nil, err
	}
	if p.branchExists {
		data, err := g.readBranch(ctx, name)
		if err != nil || data != nil {
			return data, err
		}
	}
	return g.readRelease(ctx, p.release, name)
}

// WriteIndex replaces a file of the index. Main calls it only when data
// differs from what ReadIndex returned.
func (g *GitHub) WriteIndex(ctx context.Context, name string, data []byte) error {
	p, err := g.place(ctx)
	if err != nil {
		return err
	}
	if !p.branch && g.sawImmutable && p.release == nil {
		p.branch = true // a release published in this run was immutable
	}
	if !p.branch {
		err := g.writeRelease(ctx, p, name, data)
		if !isImmutable(err) {
			return err
		}
		// The new index release is immutable: the repository has
		// immutable releases, though nothing said so before.
		p.branch = true
	}
	return g.writeBranch(ctx, p, name, data)
}

// blobSHA is git's name of a blob holding data, as the contents API
// reports it.
func blobSHA(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// readBranch reads a file of the branch through the contents API (raw
// media type: files up to 100 MB), or nil if it has none.
func (g *GitHub) readBranch(ctx context.Context, name string) ([]byte, error) {
	var buf bytes.Buffer
	err := g.call(ctx, "reading "+name+" on branch "+IndexBranch, func() (*github.Response, error) {
		buf.Reset()
		req, err := g.Client.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/contents/%s?ref=%s", g.Owner, g.Repo, name, url.QueryEscape(IndexBranch)), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/vnd.github.raw")
		resp, err := g.Client.Do(ctx, req, &buf)
		if notFound(err) {
			buf.Reset()
			return resp, nil
		}
		return resp, err
	})
	if err != nil || buf.Len() == 0 {
		return nil, err
	}
	data := buf.Bytes()
	g.index.sha[name] = blobSHA(data)
	return data, nil
}

// writeBranch creates or updates a file of the branch, creating the
// branch first if needed.
func (g *GitHub) writeBranch(ctx context.Context, p *indexPlace, name string, data []byte) error {
	if !p.branchExists {
		if err := g.createBranch(ctx); err != nil {
			return err
		}
		p.branchExists = true
	}
	first := true
	err := g.call(ctx, "writing "+name+" on branch "+IndexBranch, func() (*github.Response, error) {
		if !first {
			// A lost answer may hide a finished write.
			if now, err := g.readBranch(ctx, name); err == nil && bytes.Equal(now, data) {
				return nil, nil
			}
		}
		first = false
		opts := &github.RepositoryContentFileOptions{
			Message: github.String(fmt.Sprintf("plugship publish: %s", name)),
			Content: data, Branch: github.String(IndexBranch),
		}
		if sha := p.sha[name]; sha != "" {
			opts.SHA = github.String(sha)
		}
		out, resp, err := g.Client.Repositories.UpdateFile(ctx, g.Owner, g.Repo, name, opts)
		if err == nil && out.Content != nil {
			p.sha[name] = out.Content.GetSHA()
		}
		return resp, err
	})
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusConflict {
		return fmt.Errorf("%w: %s on branch %s changed since this run read it (another publish?): run publish again", err, name, IndexBranch)
	}
	if err != nil {
		return fmt.Errorf("%w (publish keeps %s on branch %s, as this repository's releases are immutable: the token needs contents: write and the branch must not be protected against it)", err, name, IndexBranch)
	}
	return nil
}

// branchReadme is the branch's README.
const branchReadme = `# plugship index

This branch holds the catalogue of the plugins published in this
repository's releases, kept by plugship's publish step: index.json, and
matrix.json, the compatibility matrix that approved the last publish.
Hosts fetch index.json from <repository>/raw/plugship-index/index.json.
Do not edit it by hand.
`

// createBranch creates the branch as an orphan holding the README: a
// tree, a commit without parents, a ref.
func (g *GitHub) createBranch(ctx context.Context) error {
	var tree *github.Tree
	err := g.call(ctx, "creating branch "+IndexBranch, func() (*github.Response, error) {
		var resp *github.Response
		var err error
		tree, resp, err = g.Client.Git.CreateTree(ctx, g.Owner, g.Repo, "", []*github.TreeEntry{
			{Path: github.String("README.md"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String(branchReadme)}})
		return resp, err
	})
	if err != nil {
		return err
	}
	var commit *github.Commit
	err = g.call(ctx, "creating branch "+IndexBranch, func() (*github.Response, error) {
		var resp *github.Response
		var err error
		commit, resp, err = g.Client.Git.CreateCommit(ctx, g.Owner, g.Repo, &github.Commit{
			Message: github.String("plugship index"), Tree: &github.Tree{SHA: tree.SHA}}, nil)
		return resp, err
	})
	if err != nil {
		return err
	}
	return g.call(ctx, "creating branch "+IndexBranch, func() (*github.Response, error) {
		_, resp, err := g.Client.Git.CreateRef(ctx, g.Owner, g.Repo, &github.Reference{
			Ref: github.String("refs/heads/" + IndexBranch), Object: &github.GitObject{SHA: commit.SHA}})
		if err != nil && resp != nil && resp.StatusCode == http.StatusUnprocessableEntity {
			// Created by an attempt whose answer was lost, or by another
			// publish: the branch is there.
			if _, _, gerr := g.Client.Git.GetRef(ctx, g.Owner, g.Repo, "heads/"+IndexBranch); gerr == nil {
				return resp, nil
			}
		}
		return resp, err
	})
}

// readRelease downloads a file of the index release, or nil.
func (g *GitHub) readRelease(ctx context.Context, rel *release, name string) ([]byte, error) {
	if rel == nil {
		return nil, nil
	}
	assets, err := g.listAssets(ctx, rel.GetID())
	if err != nil {
		return nil, err
	}
	for _, a := range assets {
		if a.GetName() != name || a.GetState() != "uploaded" {
			continue
		}
		var data []byte
		err := g.call(ctx, "downloading "+name, func() (*github.Response, error) {
			rc, _, err := g.Client.Repositories.DownloadReleaseAsset(ctx, g.Owner, g.Repo, a.GetID(), g.HTTP)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			data, err = io.ReadAll(io.LimitReader(rc, 64<<20))
			return nil, err
		})
		return data, err
	}
	return nil, nil
}

// writeRelease replaces a file of the index release, creating that release
// (published, not a draft) if needed; the file there is deleted without
// comparing it first.
func (g *GitHub) writeRelease(ctx context.Context, p *indexPlace, name string, data []byte) error {
	if p.release == nil {
		rel, err := g.createRelease(ctx, "creating the index release", &github.RepositoryRelease{
			TagName: github.String(IndexTag), Name: github.String("plugship index"),
			Body: github.String("The catalogue of published plugins (index.json), kept by plugship's publish step."),
		})
		if err != nil {
			return err
		}
		p.release = rel
	}
	assets, err := g.listAssets(ctx, p.release.GetID())
	if err != nil {
		return err
	}
	for _, a := range assets {
		if a.GetName() != name {
			continue
		}
		if err := g.deleteAsset(ctx, name, a.GetID()); err != nil {
			return err
		}
	}
	_, err = g.upload(ctx, p.release.GetID(), dataAsset(name, data))
	return err
}

func notFound(err error) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}

// webURL fills in p.web, the repository's web URL, once per run; it
// stays empty when the API does not answer.
func (g *GitHub) webURL(ctx context.Context, p *indexPlace) error {
	if p.web != "" {
		return nil
	}
	var repo *github.Repository
	err := g.call(ctx, "reading the repository", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		repo, resp, err = g.Client.Repositories.Get(ctx, g.Owner, g.Repo)
		return resp, err
	})
	if err == nil {
		p.web = repo.GetHTMLURL()
	}
	return err
}
