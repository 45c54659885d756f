package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/plugship/plugship/internal/artifact"
)

// GitHub publishes to a repository's releases.
type GitHub struct {
	Client      *github.Client
	Owner, Repo string
	// HTTP follows asset download redirects; it must not carry the token.
	HTTP *http.Client
	// RetryBase is the first backoff; it doubles up to 30s. Default 1s.
	RetryBase time.Duration
	// Attempts bounds tries per call; default 6.
	Attempts int
	token    string

	// sawImmutable: a release of the repository said "immutable": true.
	sawImmutable bool
	// index is where index.json is kept, once known (see index.go).
	index *indexPlace
}

// GitHubFromEnv configures a GitHub store from GITHUB_TOKEN,
// GITHUB_REPOSITORY and GITHUB_API_URL (GITHUB_UPLOAD_URL when the upload
// host is not <api>/uploads). It returns nil when GITHUB_REPOSITORY is not
// set.
func GitHubFromEnv(getenv func(string) string) (*GitHub, error) {
	repo := getenv("GITHUB_REPOSITORY")
	if repo == "" {
		return nil, nil
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("GITHUB_REPOSITORY %s: want owner/name", artifact.Quote(repo))
	}
	token := getenv("GITHUB_TOKEN")
	if token == "" {
		return nil, fmt.Errorf("GITHUB_REPOSITORY is set but GITHUB_TOKEN is not: publishing needs a token with contents: write")
	}
	client := github.NewClient(&http.Client{Timeout: 10 * time.Minute}).WithAuthToken(token)
	if api := getenv("GITHUB_API_URL"); api != "" && api != "https://api.github.com" {
		upload := getenv("GITHUB_UPLOAD_URL")
		if upload == "" {
			upload = strings.TrimSuffix(api, "/") + "/uploads/"
		}
		var err error
		if client, err = client.WithEnterpriseURLs(api, upload); err != nil {
			return nil, fmt.Errorf("GITHUB_API_URL: %v", err)
		}
	}
	// Asset downloads follow GitHub's redirect to storage without the token.
	return &GitHub{Client: client, Owner: owner, Repo: name, token: token, HTTP: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// Describe names the repository.
func (g *GitHub) Describe() string {
	return fmt.Sprintf("GitHub releases of %s/%s (%s)", g.Owner, g.Repo, g.Client.BaseURL.Host)
}

// redact removes the token from an error's text.
func (g *GitHub) redact(err error) error {
	if err == nil || g.token == "" || !strings.Contains(err.Error(), g.token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), g.token, "[token]"))
}

// call runs f until it succeeds, fails for good, or runs out of attempts,
// sleeping between attempts as retryAfter says.
func (g *GitHub) call(ctx context.Context, what string, f func() (*github.Response, error)) error {
	attempts := g.Attempts
	if attempts <= 0 {
		attempts = 6
	}
	base := g.RetryBase
	if base <= 0 {
		base = time.Second
	}
	for i := 0; ; i++ {
		_, err := f()
		if err == nil {
			return nil
		}
		wait, retry := retryAfter(ctx, err)
		if !retry || i+1 >= attempts {
			return fmt.Errorf("%s: %w", what, g.redact(err))
		}
		if wait == 0 {
			wait = min(base<<i, 30*time.Second)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// retryAfter says whether err is transient and how long to wait (0: back
// off exponentially).
func retryAfter(ctx context.Context, err error) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	var abuse *github.AbuseRateLimitError
	var rate *github.RateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &abuse):
		return abuse.GetRetryAfter(), true
	case errors.As(err, &rate):
		return min(time.Until(rate.Rate.Reset.Time)+time.Second, 5*time.Minute), true
	case errors.As(err, &er) && er.Response != nil:
		code := er.Response.StatusCode
		if code == http.StatusTooManyRequests || code >= 500 {
			if s, err := strconv.Atoi(er.Response.Header.Get("Retry-After")); err == nil && s >= 0 {
				return time.Duration(s) * time.Second, true
			}
			return 0, true
		}
		return 0, false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset") {
		return 0, true
	}
	return 0, false
}

// release is a release as the API returns it, with the "immutable" field
// go-github v60 does not know.
type release struct {
	github.RepositoryRelease
	// Immutable: published on a repository with immutable releases; its
	// assets and tag can never change.
	Immutable bool `json:"immutable"`
}

// releaseCall sends a request about a release (create, edit, list) and
// decodes the answer into out.
func (g *GitHub) releaseCall(ctx context.Context, method, url string, body, out any) (*github.Response, error) {
	req, err := g.Client.NewRequest(method, url, body)
	if err != nil {
		return nil, err
	}
	return g.Client.Do(ctx, req, out)
}

// seen notes the immutability of releases the API returned.
func (g *GitHub) seen(rs ...*release) {
	for _, r := range rs {
		if r != nil && r.Immutable {
			g.sawImmutable = true
		}
	}
}

// findRelease lists the releases (drafts included) and returns the one
// tagged tag, or nil.
func (g *GitHub) findRelease(ctx context.Context, tag string) (*release, error) {
	page := 1
	for {
		var rels []*release
		var resp *github.Response
		err := g.call(ctx, "listing releases", func() (*github.Response, error) {
			var err error
			resp, err = g.releaseCall(ctx, http.MethodGet, fmt.Sprintf("repos/%s/%s/releases?per_page=100&page=%d", g.Owner, g.Repo, page), nil, &rels)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		g.seen(rels...)
		for _, r := range rels {
			if r.GetTagName() == tag {
				return r, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		page = resp.NextPage
	}
}

func (g *GitHub) listAssets(ctx context.Context, id int64) ([]*github.ReleaseAsset, error) {
	var all []*github.ReleaseAsset
	opts := &github.ListOptions{PerPage: 100}
	for {
		var page []*github.ReleaseAsset
		var resp *github.Response
		err := g.call(ctx, "listing release assets", func() (*github.Response, error) {
			var err error
			page, resp, err = g.Client.Repositories.ListReleaseAssets(ctx, g.Owner, g.Repo, id, opts)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// assetData downloads an asset of at most limit bytes.
func (g *GitHub) assetData(ctx context.Context, a *github.ReleaseAsset, limit int64) ([]byte, error) {
	var data []byte
	err := g.call(ctx, "downloading asset "+a.GetName(), func() (*github.Response, error) {
		rc, _, err := g.Client.Repositories.DownloadReleaseAsset(ctx, g.Owner, g.Repo, a.GetID(), g.HTTP)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		data, err = io.ReadAll(io.LimitReader(rc, limit))
		return nil, err
	})
	return data, err
}

// assetSum downloads an asset and returns its sha256.
func (g *GitHub) assetSum(ctx context.Context, a *github.ReleaseAsset) (string, error) {
	var sum string
	err := g.call(ctx, "downloading asset "+a.GetName(), func() (*github.Response, error) {
		rc, _, err := g.Client.Repositories.DownloadReleaseAsset(ctx, g.Owner, g.Repo, a.GetID(), g.HTTP)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		sum, _, err = artifact.HashReader(rc)
		return nil, err
	})
	return sum, err
}

// holds says whether e is a, completely uploaded. A download that fails
// counts as no.
func (g *GitHub) holds(ctx context.Context, e *github.ReleaseAsset, a Asset) bool {
	if e.GetState() != "uploaded" || int64(e.GetSize()) != a.Size {
		return false
	}
	sum, err := g.assetSum(ctx, e)
	return err == nil && sum == a.SHA256
}

// deleteAsset deletes the release asset id, named name.
func (g *GitHub) deleteAsset(ctx context.Context, name string, id int64) error {
	return g.call(ctx, "deleting asset "+name, func() (*github.Response, error) {
		return g.Client.Repositories.DeleteReleaseAsset(ctx, g.Owner, g.Repo, id)
	})
}

// createRelease creates the release want. If its tag has one already (an
// earlier attempt created it and its answer was lost), it returns that one.
func (g *GitHub) createRelease(ctx context.Context, what string, want *github.RepositoryRelease) (*release, error) {
	var rel *release
	err := g.call(ctx, what, func() (*github.Response, error) {
		rel = nil
		resp, err := g.releaseCall(ctx, http.MethodPost, fmt.Sprintf("repos/%s/%s/releases", g.Owner, g.Repo), want, &rel)
		if alreadyExists(err) {
			if found, ferr := g.findRelease(ctx, want.GetTagName()); ferr == nil && found != nil {
				rel = found
				return resp, nil
			}
		}
		return resp, err
	})
	if err != nil {
		if tagBurnt(err) {
			return nil, fmt.Errorf("%s: the tag %s was used by an immutable release that has since been deleted, and GitHub never lets such a tag be used again: publish this build as a new version (%w)", what, want.GetTagName(), err)
		}
		return nil, err
	}
	g.seen(rel)
	return rel, nil
}

// editRelease edits a release (publishes a draft, sets notes).
func (g *GitHub) editRelease(ctx context.Context, what string, id int64, edit *github.RepositoryRelease) (*release, error) {
	var rel *release
	err := g.call(ctx, what, func() (*github.Response, error) {
		return g.releaseCall(ctx, http.MethodPatch, fmt.Sprintf("repos/%s/%s/releases/%d", g.Owner, g.Repo, id), edit, &rel)
	})
	g.seen(rel)
	return rel, err
}

// Release puts v's assets into the release tagged v.Tag. A release not
// there yet is created as a draft; a draft is completed, and published only
// for v.Final (the last build of the tag in this run), so that on a
// repository with immutable releases it is published once, complete. A
// published release must hold this build's .so, if it holds it at all,
// with the same bytes (else ErrChanged). A build it lacks, for a new ABI
// (a profile added since), is added to it with addAssets and its notes are
// updated, unless the release is immutable: then the build gets a
// follow-up release of its own, FollowUpTag(v), and the published release
// is not touched. Nothing published is replaced.
func (g *GitHub) Release(ctx context.Context, v *Version) (map[string]string, bool, error) {
	v.Release = ""
	return g.release(ctx, v, v.Tag, false)
}

// release puts v's build into the release tagged tag: v.Tag, or its
// follow-up (followUp set).
func (g *GitHub) release(ctx context.Context, v *Version, tag string, followUp bool) (map[string]string, bool, error) {
	rel, err := g.findRelease(ctx, tag)
	if err != nil {
		return nil, false, err
	}
	so := v.Assets[0]
	changed := false
	final, name, notes, latest := v.Final, v.ID(), v.Notes, (*string)(nil)
	if followUp {
		// A follow-up holds one build and is published at once; it never
		// becomes the repository's "Latest" release.
		final, notes, latest = true, followUpNotes(v), github.String("false")
	}
	if rel == nil {
		rel, err = g.createRelease(ctx, "creating draft release "+tag, &github.RepositoryRelease{
			TagName: github.String(tag), Name: github.String(name), Body: github.String(notes), Draft: github.Bool(true), MakeLatest: latest,
		})
		if err != nil {
			return nil, false, err
		}
		changed = true
	}
	if followUp {
		v.Release = tag
	}
	assets, err := g.listAssets(ctx, rel.GetID())
	if err != nil {
		return nil, false, err
	}
	byName := map[string]*github.ReleaseAsset{}
	for _, a := range assets {
		byName[a.GetName()] = a
	}
	if !rel.GetDraft() {
		// Published. Identical .so is success; other bytes are an error
		// naming the asset. A .so the release lacks is a build for another
		// ABI (a profile added since).
		existing := byName[so.Name]
		if existing == nil || existing.GetState() != "uploaded" {
			if rel.Immutable && !followUp {
				next := FollowUpTag(v)
				if !validRef(next) {
					return nil, false, fmt.Errorf("%s: release %s is immutable and lacks this build, and %s is not a valid tag for a follow-up release", v.ID(), tag, artifact.Quote(next))
				}
				return g.release(ctx, v, next, true)
			}
			if rel.Immutable {
				return nil, false, fmt.Errorf("%s: the follow-up release %s was published without %s and is immutable: publish this build as a new version", v.ID(), tag, so.Name)
			}
			locs, changed, err := g.addAssets(ctx, v, rel.GetID(), byName)
			if isImmutable(err) && !followUp {
				// Immutable, though its JSON did not say so (a server
				// without the field): the build gets a follow-up.
				g.sawImmutable = true
				return g.release(ctx, v, FollowUpTag(v), true)
			}
			if err == nil && !followUp {
				err = g.updateNotes(ctx, v, rel)
			}
			return locs, changed, err
		}
		sum, err := g.assetSum(ctx, existing)
		if err != nil {
			return nil, false, err
		}
		if sum != so.SHA256 {
			return nil, false, changedErr(v, so, sum)
		}
		locs, resigned, err := g.resign(ctx, v, tag, rel.GetID(), byName, rel.Immutable || followUp)
		if err != nil || rel.Immutable || followUp {
			return locs, resigned, err
		}
		return locs, resigned, g.updateNotes(ctx, v, rel)
	}
	// Half uploaded, or other bytes: the draft is not public yet, so they
	// are replaced.
	replaced, err := g.replaceAssets(ctx, rel.GetID(), v.Assets, byName)
	changed = changed || replaced
	if err != nil {
		return nil, changed, err
	}
	if !final {
		// Other builds of this tag follow in this run; the last publishes.
		return locations(byName), changed, nil
	}
	if _, err := g.editRelease(ctx, "publishing release "+tag, rel.GetID(), &github.RepositoryRelease{
		Name: github.String(name), Body: github.String(notes), Draft: github.Bool(false), MakeLatest: latest}); err != nil {
		return nil, changed, err
	}
	return locations(byName), true, nil
}

// followUpNotes are the notes of v's follow-up release.
func followUpNotes(v *Version) string {
	return fmt.Sprintf("A build of %s %s added after release `%s` was published: that release is immutable, so this build for ABI %s has a release of its own. Hosts find it through plugship's index.json.\n\n%s",
		v.Meta.Plugin, v.Meta.Version, v.Tag, v.Meta.ABI, v.BuildNotes)
}

// addAssets uploads into a published release the assets of v it does not
// have yet, the .so last, so that a release listing the .so holds its
// signature too. The caller updates the notes (updateNotes).
func (g *GitHub) addAssets(ctx context.Context, v *Version, releaseID int64, byName map[string]*github.ReleaseAsset) (map[string]string, bool, error) {
	changed := false
	for _, a := range v.soLast() {
		if existing := byName[a.Name]; existing != nil {
			if existing.GetState() == "uploaded" {
				continue
			}
			// Half uploaded by an interrupted earlier run: never public.
			if err := g.deleteAsset(ctx, a.Name, existing.GetID()); err != nil {
				return nil, changed, err
			}
		}
		up, err := g.upload(ctx, releaseID, a)
		if err != nil {
			return nil, changed, err
		}
		byName[a.Name] = up
		changed = true
	}
	return locations(byName), changed, nil
}

// updateNotes sets a published release's notes to those of every build of
// its tag, after the last build of the tag, if they differ: a build for a
// new ABI was added.
func (g *GitHub) updateNotes(ctx context.Context, v *Version, rel *release) error {
	notes := currentYank(rel.GetBody()) + v.Notes // a yanked version stays marked
	if !v.Final || rel.GetBody() == notes {
		return nil
	}
	_, err := g.editRelease(ctx, "updating the notes of release "+v.Tag, rel.GetID(), &github.RepositoryRelease{Body: github.String(notes)})
	return err
}

// upload uploads one asset. After a failed attempt it lists the assets
// first: a lost answer may hide a finished upload, a dropped connection may
// leave a half-uploaded one that blocks the name.
func (g *GitHub) upload(ctx context.Context, releaseID int64, a Asset) (*github.ReleaseAsset, error) {
	var out *github.ReleaseAsset
	first := true
	err := g.call(ctx, "uploading asset "+a.Name, func() (*github.Response, error) {
		if !first {
			assets, err := g.listAssets(ctx, releaseID)
			if err != nil {
				return nil, err
			}
			for _, e := range assets {
				if e.GetName() != a.Name {
					continue
				}
				if g.holds(ctx, e, a) {
					out = e
					return nil, nil
				}
				// Not wrapped in deleteAsset: this runs inside call's retries.
				if _, err := g.Client.Repositories.DeleteReleaseAsset(ctx, g.Owner, g.Repo, e.GetID()); err != nil {
					return nil, err
				}
			}
		}
		first = false
		f, err := assetFile(a)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		up, resp, err := g.Client.Repositories.UploadReleaseAsset(ctx, g.Owner, g.Repo, releaseID, &github.UploadOptions{Name: a.Name}, f)
		out = up
		return resp, err
	})
	return out, err
}

// assetFile returns a's content as an open file, as go-github uploads
// from *os.File.
func assetFile(a Asset) (*os.File, error) {
	if a.Path != "" {
		return os.Open(a.Path)
	}
	f, err := os.CreateTemp("", "plugship-asset-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if _, err := f.Write(a.Data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// isImmutable says whether err is GitHub refusing to change an immutable
// release (an upload to it, or an asset deletion).
func isImmutable(err error) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	if strings.Contains(er.Message, "immutable release") {
		return true
	}
	for _, e := range er.Errors {
		if strings.Contains(e.Message, "immutable release") {
			return true
		}
	}
	return false
}

// tagBurnt says whether err is GitHub refusing a release for a tag an
// immutable release used.
func tagBurnt(err error) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if e.Field == "tag_name" && strings.Contains(e.Message, "used by an immutable release") {
			return true
		}
	}
	return false
}

func alreadyExists(err error) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if e.Code == "already_exists" {
			return true
		}
	}
	return false
}

func locations(assets map[string]*github.ReleaseAsset) map[string]string {
	out := map[string]string{}
	for name, a := range assets {
		out[name] = a.GetBrowserDownloadURL()
	}
	return out
}

// The yank banner at the top of a yanked version's release notes.
const (
	yankStart = "<!-- plugship:yanked -->"
	yankEnd   = "<!-- /plugship:yanked -->"
)

// yankBanner is the banner for y.
func yankBanner(y *artifact.Yank) string {
	ref := YankRef{Team: y.Team, Plugin: y.Plugin, Version: y.Version}
	return fmt.Sprintf("%s\n> [!CAUTION]\n> **Yanked** on %s: %s\n>\n> Hosts that fetch from the plugship index skip this version; the files stay here, for deployments pinned to them. `go run mage.go unyank %s` restores it.\n%s\n\n",
		yankStart, y.At.Format("2006-01-02 15:04 MST"), y.Reason, ref, yankEnd)
}

// splitYank returns the yank banner of body ("" if none), as yankBanner
// writes it, and the rest of body.
func splitYank(body string) (banner, rest string) {
	i := strings.Index(body, yankStart)
	if i < 0 {
		return "", body
	}
	j := strings.Index(body[i:], yankEnd)
	if j < 0 {
		return "", body
	}
	end := i + j + len(yankEnd)
	return body[i:end] + "\n\n", body[:i] + strings.TrimLeft(body[end:], "\n")
}

// withYank returns body with the banner for y at the top, or without any
// banner for y nil.
func withYank(body string, y *artifact.Yank) string {
	_, rest := splitYank(body)
	if y == nil {
		return rest
	}
	return yankBanner(y) + rest
}

// currentYank returns the banner of body, "" if none: publish keeps it
// when it rewrites the notes.
func currentYank(body string) string {
	banner, _ := splitYank(body)
	return banner
}

// NoteYank puts the yank banner at the top of the notes of each release
// of tags (the version's, and its follow-ups'), or takes it out for y nil.
// Notes stay editable on an immutable release: immutability locks assets
// and the tag only.
func (g *GitHub) NoteYank(ctx context.Context, tags []string, y *artifact.Yank) ([]string, error) {
	var done []string
	for _, tag := range tags {
		rel, err := g.findRelease(ctx, tag)
		if err != nil {
			return done, err
		}
		if rel == nil {
			return done, fmt.Errorf("the index names release %s, which %s does not have", tag, g.Describe())
		}
		body := withYank(rel.GetBody(), y)
		if body == rel.GetBody() {
			continue
		}
		if _, err := g.editRelease(ctx, "marking the notes of release "+tag, rel.GetID(), &github.RepositoryRelease{Body: github.String(body)}); err != nil {
			return done, err
		}
		if y == nil {
			done = append(done, "release notes of "+tag+": yank banner removed")
		} else {
			done = append(done, "release notes of "+tag+": marked yanked")
		}
	}
	return done, nil
}

// ResignedDir is where, on the branch plugship-index, publish keeps the
// signatures of a version published in an immutable release and signed
// again since (its team's key was rotated): resigned/<tag>/<asset>. The
// index names them as the version's asset locations, so hosts find them
// there without knowing about them.
const ResignedDir = "resigned"

// resign replaces the signatures of a published build whose release
// holds other ones than v's (its team's key changed and the sign step
// signed it again): a mutable release's assets are replaced, each of
// .sig, .sigstore.json, .intoto.json, SHA256SUMS-<abi> and matrix.json;
// an immutable release's are kept, and v's go on the branch plugship-index
// (ResignedDir), where the index's locations point. It returns the
// locations of v's assets and whether it changed anything.
func (g *GitHub) resign(ctx context.Context, v *Version, tag string, releaseID int64, byName map[string]*github.ReleaseAsset, immutable bool) (map[string]string, bool, error) {
	locs := locations(byName)
	sig := signatureAsset(v)
	if sig == nil || byName[sig.Name] == nil {
		return locs, false, nil
	}
	// Where an immutable release's re-signed files go, and are found.
	var p *indexPlace
	branchFile := func(name string) string { return ResignedDir + "/" + tag + "/" + name }
	rawURL := func(name string) string { return fmt.Sprintf("%s/raw/%s/%s", p.web, IndexBranch, branchFile(name)) }
	var replace []Asset // the signature last: its presence says the others are there
	for _, a := range v.Assets {
		if !v.isPluginFile(a) && a.Name != sig.Name {
			replace = append(replace, a) // the .so and its metadata never change
		}
	}
	replace = append(replace, *sig)
	if immutable {
		var err error
		if p, err = g.place(ctx); err == nil {
			err = g.webURL(ctx, p)
		}
		if err != nil {
			return nil, false, err
		}
		// Re-signed by an earlier run: its signature is on the branch.
		data, err := g.readBranch(ctx, branchFile(sig.Name))
		if err != nil {
			return nil, false, err
		}
		if sum := sha256.Sum256(data); data != nil && hex.EncodeToString(sum[:]) == sig.SHA256 {
			for _, a := range replace {
				locs[a.Name] = rawURL(a.Name)
			}
			return locs, false, nil
		}
	}
	// Only a build signed since its release's signature was uploaded can
	// have a signature the release lacks: the common case costs no
	// request (GitHub gives created_at to the second, so a signature made
	// in the second of its upload is checked).
	if st, err := os.Stat(sig.Path); sig.Path != "" && err == nil && st.ModTime().Before(byName[sig.Name].GetCreatedAt().Time) {
		return locs, false, nil
	}
	published, err := g.assetData(ctx, byName[sig.Name], 1<<20)
	if err != nil {
		return nil, false, err
	}
	if sum := sha256.Sum256(published); hex.EncodeToString(sum[:]) == sig.SHA256 || !v.Outlived(sig.Name, published) {
		return locs, false, nil // this build's, or one that still verifies
	}
	if !immutable {
		changed, err := g.replaceAssets(ctx, releaseID, replace, byName)
		if err != nil {
			return nil, changed, err
		}
		v.Resigned = changed
		return locations(byName), changed, nil
	}
	changed := false
	for _, a := range replace {
		data, err := contentOf(a)
		if err != nil {
			return nil, changed, err
		}
		if have, err := g.readBranch(ctx, branchFile(a.Name)); err != nil {
			return nil, changed, err
		} else if !bytes.Equal(have, data) {
			if err := g.writeBranch(ctx, p, branchFile(a.Name), data); err != nil {
				return nil, changed, err
			}
			changed = true
		}
		locs[a.Name] = rawURL(a.Name)
	}
	v.Resigned = changed
	return locs, changed, nil
}

// replaceAssets uploads each of assets into the release releaseID unless
// it holds it already, deleting first an asset of the same name with
// other bytes (or half uploaded); byName is updated. It reports whether
// it uploaded anything.
func (g *GitHub) replaceAssets(ctx context.Context, releaseID int64, assets []Asset, byName map[string]*github.ReleaseAsset) (bool, error) {
	changed := false
	for _, a := range assets {
		if existing := byName[a.Name]; existing != nil {
			if g.holds(ctx, existing, a) {
				continue
			}
			if err := g.deleteAsset(ctx, a.Name, existing.GetID()); err != nil {
				return changed, err
			}
		}
		up, err := g.upload(ctx, releaseID, a)
		if err != nil {
			return changed, err
		}
		byName[a.Name] = up
		changed = true
	}
	return changed, nil
}

// contentOf is an asset's content.
func contentOf(a Asset) ([]byte, error) {
	if a.Path == "" {
		return a.Data, nil
	}
	return os.ReadFile(a.Path)
}
