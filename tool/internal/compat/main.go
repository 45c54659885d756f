package compat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/matrix"
)

// Options say where to work.
type Options struct {
	Root string // module root, where hosts are built; default "."
	Dist string // default <Root>/dist (folders.dist of plugship.yaml)
	// Config is the hosts' configuration; default <Root>/compat/hosts.yaml
	// (folders.hosts of plugship.yaml).
	Config string
	Jobs   int // cells (and host builds) at once; default runtime.NumCPU()
	// Repo is the repository configuration; default read from
	// <Root>/plugship.yaml.
	Repo *config.Config
	// Base is the matrix to report changes against: a matrix.json file or
	// an http(s) URL of one. Default: $PLUGSHIP_COMPARE_WITH, else the
	// matrix of the last publish if the publish step fetched it
	// (<Dist>/compat/published.json, see publish.FetchMatrix), else none.
	Base string
}

// BaseEnv names the previous matrix to compare with (see Options.Base).
const BaseEnv = "PLUGSHIP_COMPARE_WITH"

// withDefaults fills in the defaults, reading plugship.yaml unless Repo is
// set; a configuration with problems is an error listing them.
func (o Options) withDefaults() (Options, error) {
	var err error
	if o.Repo, o.Root, o.Dist, err = config.Resolve(o.Repo, o.Root, o.Dist); err != nil {
		return o, err
	}
	if o.Config == "" {
		o.Config = o.Repo.HostsFile()
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.Base == "" {
		o.Base = os.Getenv(BaseEnv)
	}
	if o.Base == "" {
		if f := publishedFile(o.Dist); fileExists(f) {
			o.Base = f
		}
	}
	return o, nil
}

func fileExists(f string) bool { _, err := os.Stat(f); return err == nil }

// publishedFile is the copy of the last publish's matrix that
// publish.FetchMatrix leaves for the matrix step.
func publishedFile(dist string) string {
	return filepath.Join(dist, filepath.FromSlash(artifact.PublishedMatrixFile))
}

// Main builds the hosts, runs every cell, writes the three reports and
// prints the grid. The error names every required cell that failed.
func Main(ctx context.Context, opts Options, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	m, err := run(ctx, opts, nil, out)
	if err != nil {
		return err
	}
	return finish(ctx, opts, m, out)
}

// Shard runs the cells of one shard and writes its partial result to
// dist/compat/shards/<i>-of-<n>.json.
func Shard(ctx context.Context, opts Options, shard matrix.Shard, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	m, err := run(ctx, opts, &shard, out)
	if err != nil {
		return err
	}
	m.Shard = &shard
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	file := ShardFile(opts.Dist, shard)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	if _, err := artifact.WriteFileIfChanged(file, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "shard %d/%d: %d of the cells, written to %s; merge with go run mage.go compat:merge\n", shard.Index, shard.Count, len(m.Cells), file)
	return nil
}

// ShardFile is where a shard's partial result goes.
func ShardFile(dist string, s matrix.Shard) string {
	return filepath.Join(dist, matrix.Dir, matrix.ShardsDir, fmt.Sprintf("%d-of-%d.json", s.Index, s.Count))
}

// Merge combines every partial result in dist/compat/shards/ into the
// reports, as Main would have written them.
func Merge(ctx context.Context, opts Options, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(opts.Dist, matrix.Dir, matrix.ShardsDir, "*-of-*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no shard results in %s: run go run mage.go compat:shard i/n first", filepath.Join(opts.Dist, matrix.Dir, matrix.ShardsDir))
	}
	var parts []*matrix.Matrix
	for _, f := range files {
		m, err := matrix.Read(f)
		if err != nil {
			return err
		}
		parts = append(parts, m)
	}
	m, err := matrix.Merge(parts)
	if err != nil {
		return fmt.Errorf("merging %d shard results: %w", len(parts), err)
	}
	fmt.Fprintf(out, "merged %d shard results\n", len(parts))
	return finish(ctx, opts, m, out)
}

// run builds the hosts and runs the cells of shard (all if nil); opts has
// its defaults.
func run(ctx context.Context, opts Options, shard *matrix.Shard, out io.Writer) (*matrix.Matrix, error) {
	cfg, err := LoadConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	ps, err := plugins(opts)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("no plugin files for %s/%s in %s: run go run mage.go build first", runtime.GOOS, runtime.GOARCH, filepath.Join(opts.Dist, artifact.PluginsDir))
	}
	fmt.Fprintf(out, "compatibility matrix: %d plugin files × %d hosts\n", len(ps), len(cfg.Hosts))
	hosts, err := buildHosts(ctx, opts, cfg, out)
	if err != nil {
		return nil, err
	}
	m := &matrix.Matrix{Schema: matrix.Schema, Platform: runtime.GOOS + "/" + runtime.GOARCH, Hosts: hosts, Plugins: ps}
	m.Sort()
	// runCells fills the cells in m's canonical order, row by row, so they
	// need no sorting.
	if err := runCells(ctx, opts, cfg, m, shard, out); err != nil {
		return nil, err
	}
	m.Check()
	return m, nil
}

// finish compares the matrix with the base, judges it, writes the
// reports, prints the verdict and the grid, and fails unless the release
// can ship (no violation, no regression). A base that cannot be read is an
// error too, after the reports are written without "what changed".
func finish(ctx context.Context, opts Options, m *matrix.Matrix, out io.Writer) error {
	var baseErr error
	if opts.Base != "" {
		base, err := readMatrix(ctx, opts.Base)
		if err != nil {
			baseErr = fmt.Errorf("the matrix to compare with (%s or %s): %w", opts.Base, BaseEnv, err)
		} else {
			label := rel(opts.Root, opts.Base)
			if opts.Base == publishedFile(opts.Dist) {
				label = "the last publish"
			}
			m.Changes = matrix.Compare(base, m, label)
		}
	}
	m.Judge()
	dir := filepath.Join(opts.Dist, matrix.Dir)
	if err := m.WriteReports(dir); err != nil {
		return fmt.Errorf("writing the reports: %w", err)
	}
	fmt.Fprintln(out)
	m.Grid(out)
	printReports(out, opts.Root, dir)
	if summary := os.Getenv("GITHUB_STEP_SUMMARY"); summary != "" {
		if f, err := os.OpenFile(summary, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644); err == nil {
			f.WriteString(m.Markdown())
			f.Close()
		}
	}
	if v := m.Verdict; !v.Ready {
		var b strings.Builder
		b.WriteString(v.Line)
		for _, f := range append(slices.Clone(v.Regressions), v.Violations...) {
			fmt.Fprintf(&b, "\n  %s in host %s: %s: %s", f.Version, f.Host, f.Outcome, f.Reason)
		}
		return errors.Join(errors.New(b.String()), baseErr)
	}
	return baseErr
}

// PrintVerdict prints the verdict of the last matrix written to
// dist/compat/matrix.json and where the reports are: the main job ends
// with it, after publishing, so its last lines say whether the release can
// ship.
func PrintVerdict(opts Options, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	dir := filepath.Join(opts.Dist, matrix.Dir)
	m, err := matrix.Read(filepath.Join(dir, matrix.JSONFile))
	if err != nil {
		return err
	}
	if m.Verdict == nil {
		m.Judge()
	}
	fmt.Fprintf(out, "\ncompatibility matrix: %s\n", m.Verdict.Line)
	printReports(out, opts.Root, dir)
	return nil
}

// printReports says where the reports in dir are, relative to root.
func printReports(out io.Writer, root, dir string) {
	fmt.Fprintf(out, "reports: %s, %s, %s\n", rel(root, filepath.Join(dir, matrix.JSONFile)), rel(root, filepath.Join(dir, matrix.MarkdownFile)), rel(root, filepath.Join(dir, matrix.HTMLFile)))
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// Diff prints what changed from the matrix old to the matrix new (files or
// http(s) URLs of matrix.json): new and gone plugin versions and hosts,
// and every cell whose outcome changed, regressions first. It fails when
// there is a regression.
func Diff(ctx context.Context, old, new string, out io.Writer) error {
	a, err := readMatrix(ctx, old)
	if err != nil {
		return err
	}
	b, err := readMatrix(ctx, new)
	if err != nil {
		return err
	}
	d := matrix.Compare(a, b, old)
	d.Text(out)
	if n := d.Regressions(); n > 0 {
		return fmt.Errorf("%d regressions from %s to %s", n, old, new)
	}
	return nil
}

// maxMatrixSize bounds a matrix read from a URL.
const maxMatrixSize = 256 << 20

// readMatrix reads a matrix.json from a file or an http(s) URL. A URL of
// api.github.com or of $GITHUB_API_URL's host (an asset's "url") is
// fetched with $GITHUB_TOKEN, asking for the asset's bytes; the token goes
// to no other host.
func readMatrix(ctx context.Context, loc string) (*matrix.Matrix, error) {
	if !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
		return matrix.Read(loc)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/octet-stream")
	if tok := os.Getenv("GITHUB_TOKEN"); tok != "" && isGitHubAPI(req.URL.Host) {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the matrix %s: %w", loc, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the matrix %s: %s", loc, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMatrixSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetching the matrix %s: %w", loc, err)
	}
	if len(data) > maxMatrixSize {
		return nil, fmt.Errorf("the matrix %s is larger than %d MiB", loc, maxMatrixSize>>20)
	}
	m, err := matrix.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", loc, err)
	}
	return m, nil
}

// isGitHubAPI reports whether host is GitHub's API: api.github.com, or the
// host of $GITHUB_API_URL (GitHub Enterprise).
func isGitHubAPI(host string) bool {
	if host == "api.github.com" {
		return true
	}
	u, err := url.Parse(os.Getenv("GITHUB_API_URL"))
	return err == nil && u.Host != "" && u.Host == host
}
