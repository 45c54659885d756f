package profile

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/plugship/plugship/tool/internal/config"
)

// Cache is one place where builds for the profiles keep data between runs.
type Cache struct {
	What  string // what it holds, for people
	Path  string
	More  []string // other paths that belong to it (a toolchain's download)
	Bytes int64
	// Toolchain marks a profile's downloaded toolchain. It lives in the
	// module cache, which every checkout on the machine shares: only Clean
	// with all removes it.
	Toolchain bool
	// Shared caches are used by every Go build on the machine, not only
	// plugship's: only Clean with all empties them.
	Shared bool
}

// Caches lists where the profiles' data lives and its disk use: the trees
// exported for refs (in dist/), the toolchains the profiles downloaded (in
// the module cache) and the Go build cache, which holds every compiled
// package, plugin builds (-dynlink) included.
func Caches(ctx context.Context, dist string, ps []Profile) []Cache {
	trees := filepath.Join(dist, filepath.FromSlash(TreesDir))
	cs := []Cache{{What: "trees of profiles at a git ref", Path: trees, Bytes: size(trees)}}
	for _, c := range []struct{ what, dir string }{
		{"modfiles of profiles with a host binary or module", ModfilesDir},
		{"hosts of module profiles, and host binaries downloaded", HostBinariesDir},
		{"sources of module profiles' hosts", HostSourcesDir},
		{"git mirrors of module profiles' repositories", HostGitDir},
	} {
		path := filepath.Join(dist, filepath.FromSlash(c.dir))
		if _, err := os.Stat(path); err == nil {
			cs = append(cs, Cache{What: c.what, Path: path, Bytes: size(path)})
		}
	}
	seen := map[string]bool{}
	modcache := goEnv(ctx, "GOMODCACHE")
	for _, p := range ps {
		if p.Go == "" && p.Binary != "" {
			p.Go = binaryGo(dist, p) // the release that built the host, which its plugins build with
		}
		if seen[p.Go] {
			continue
		}
		seen[p.Go] = true
		paths := toolchainPaths(modcache, p)
		if len(paths) == 0 {
			continue
		}
		c := Cache{What: "toolchain " + p.Go + " of profile " + p.Name, Path: paths[0], More: paths[1:], Toolchain: true}
		for _, path := range paths {
			c.Bytes += size(path)
		}
		cs = append(cs, c)
	}
	if gocache := goEnv(ctx, "GOCACHE"); gocache != "" {
		cs = append(cs, Cache{What: "Go build cache (every Go build on this machine)", Path: gocache, Bytes: size(gocache), Shared: true})
	}
	return cs
}

// Clean removes dist/ (builds, reports, exported trees, the hosts and
// modfiles of profiles): what belongs to this repository. With all, it
// also removes the toolchains the profiles downloaded (except the one
// running) and empties the Go build cache (go clean -cache), which every
// checkout on the machine shares, naming each first. It prints what it
// freed and what it kept.
func Clean(ctx context.Context, dist string, ps []Profile, all bool, out io.Writer) error {
	caches := Caches(ctx, dist, ps)
	var freed int64
	distBytes := size(dist)
	if err := removeAll(dist); err != nil {
		return err
	}
	fmt.Fprintf(out, "removed %s (%s), with the exported trees\n", dist, human(distBytes))
	freed += distBytes
	for _, c := range caches {
		switch {
		case c.Toolchain && !all:
			if c.Bytes > 0 {
				fmt.Fprintf(out, "kept %s: %s (%s), shared with every checkout on this machine; clean:all removes it\n", c.What, c.Path, human(c.Bytes))
			}
		case c.Toolchain:
			if c.Bytes == 0 {
				continue
			}
			for _, path := range append([]string{c.Path}, c.More...) {
				if err := removeAll(path); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "removed %s: %s (%s)\n", c.What, c.Path, human(c.Bytes))
			freed += c.Bytes
		case c.Shared && all:
			cmd := exec.CommandContext(ctx, "go", "clean", "-cache")
			if msg, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go clean -cache: %v %s", err, msg)
			}
			fmt.Fprintf(out, "emptied the %s: %s (%s)\n", c.What, c.Path, human(c.Bytes))
			freed += c.Bytes
		case c.Shared:
			fmt.Fprintf(out, "kept the %s: %s (%s); clean:all empties it\n", c.What, c.Path, human(c.Bytes))
		}
	}
	if all {
		if dir := mageCache(); dir != "" {
			if n := size(dir); n > 0 {
				fmt.Fprintf(out, "kept mage's cache: %s (%s), the compiled targets this run is; remove it by hand after it ends to free it\n", dir, human(n))
			}
		}
	}
	fmt.Fprintf(out, "freed %s\n", human(freed))
	return nil
}

// mageCache is where mage keeps compiled targets: MAGEFILE_CACHE, else
// ~/.magefile.
func mageCache() string {
	if dir := os.Getenv("MAGEFILE_CACHE"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".magefile")
}

// binaryGo is the Go release that built a binary profile's host, if its
// executable is here (a path, or a URL already downloaded); "" if not.
func binaryGo(dist string, p Profile) string {
	file := p.Binary
	if IsURL(file) {
		found, _ := filepath.Glob(filepath.Join(dist, filepath.FromSlash(HostBinariesDir), p.Name, "*"))
		if len(found) == 0 {
			return ""
		}
		file = found[0]
	}
	bi, err := buildinfo.ReadFile(file)
	if err != nil || !goRE.MatchString(bi.GoVersion) {
		return ""
	}
	return bi.GoVersion
}

// toolchainPaths are where the go command keeps a profile's toolchain in
// the module cache: the unpacked module and its download. None for the go
// on PATH, or for the release that is running.
func toolchainPaths(modcache string, p Profile) []string {
	if p.Go == "" || p.Go == runtime.Version() || modcache == "" {
		return nil
	}
	mod := "v0.0.1-" + p.Go + "." + runtime.GOOS + "-" + runtime.GOARCH
	paths := []string{filepath.Join(modcache, "golang.org", "toolchain@"+mod)}
	downloads, _ := filepath.Glob(filepath.Join(modcache, "cache", "download", "golang.org", "toolchain", "@v", mod+".*"))
	return append(paths, downloads...)
}

func goEnv(ctx context.Context, key string) string {
	out, err := exec.CommandContext(ctx, "go", "env", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// size is the disk use of the files under path; 0 if it does not exist.
func size(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// removeAll removes path, making read-only folders (the module cache's)
// writable first.
func removeAll(path string) error {
	filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(path)
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// CleanMain is what mage clean runs in the module root: Clean of the dist
// folder with the profiles of the hosts file (compat/hosts.yaml; both
// configurable in plugship.yaml), none if it cannot be read. A
// plugship.yaml with problems cleans nothing.
func CleanMain(ctx context.Context, root string, all bool, out io.Writer) error {
	repo, err := config.Load(root)
	if err != nil {
		return err
	}
	ps, err := Load(repo.HostsFile())
	if err != nil {
		fmt.Fprintf(out, "reading the profiles (their toolchains are kept): %v\n", err)
		ps = nil
	}
	return Clean(ctx, repo.DistDir(), ps, all, out)
}

// CachesMain is what mage caches runs: a line per cache with its disk use,
// for the dist folder and hosts file of plugship.yaml.
func CachesMain(ctx context.Context, root string, out io.Writer) error {
	repo, err := config.Load(root)
	if err != nil {
		return err
	}
	ps, err := Load(repo.HostsFile())
	if err != nil {
		return err
	}
	for _, c := range Caches(ctx, repo.DistDir(), ps) {
		shared := ""
		if c.Shared {
			shared = "  (shared; emptied by clean:all only)"
		}
		fmt.Fprintf(out, "%9s  %-48s %s%s\n", human(c.Bytes), c.What, c.Path, shared)
	}
	return nil
}
