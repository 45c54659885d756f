package targets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/distlock"
	"github.com/plugship/plugship/tool/internal/hostcheck"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/release"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/testenv"
	"github.com/plugship/plugship/tool/internal/verify"
)

// Build compiles plugins into dist/plugins/<team>/<plugin>/<plugin>_v<version>_<goos>_<goarch>_<abi>.so, once per host profile ABI.
type Build mg.Namespace

// All builds and signs every plugin version of every team (also mage build).
// Each version gets its own plugin path; unchanged plugins are not relinked or re-signed.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#buildall
func (Build) All(ctx context.Context) error {
	return buildAndSign(ctx, build.Selection{})
}

// Team builds and signs the plugins of one team: mage build:team payments.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#buildteam
func (Build) Team(ctx context.Context, team string) error {
	return buildAndSign(ctx, build.Selection{Team: team})
}

// Plugin builds and signs every version of one plugin: mage build:plugin payments/fraud.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#buildplugin
func (Build) Plugin(ctx context.Context, plugin string) error {
	sel, err := build.ParseSelection(plugin)
	if err != nil {
		return err
	}
	return buildAndSign(ctx, sel)
}

// Shard builds one slice of the plugin versions, for CI job matrices, without signing: mage build:shard 2/3.
// Versions are dealt round-robin (a version's builds for every profile stay together); gather the shards' dist/plugins
// and dist/.work/build into one dist/, then build:merge.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#buildshard
func (Build) Shard(ctx context.Context, shard string) error {
	s, err := matrix.ParseShard(shard)
	if err != nil {
		return err
	}
	if err := writesDist(ctx); err != nil {
		return err
	}
	return build.Main(ctx, build.Selection{}, build.Options{Shard: s}, os.Stdout)
}

// Merge completes and signs the build that build:shard jobs made, once their outputs are gathered in dist/.
// It builds what no shard built (the action keys find the rest up to date: no go build for them) and signs everything once.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#buildmerge
func (Build) Merge(ctx context.Context) error {
	return buildAndSign(ctx, build.Selection{})
}

// buildAndSign builds what sel selects, then signs whatever was built, even
// when some builds failed.
func buildAndSign(ctx context.Context, sel build.Selection) error {
	if err := writesDist(ctx); err != nil {
		return err
	}
	buildErr := build.Main(ctx, sel, build.Options{}, os.Stdout)
	return errors.Join(buildErr, sign.Main(ctx, sign.Options{}, os.Stdout))
}

// Sign signs every built plugin with its team's key, or keylessly for a team with signing.keyless, and writes dist/trust.json.
// Beside each .so: .sig (cosign sign-blob format; none when keyless), .sigstore.json (bundle), .intoto.json (provenance).
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#sign
func Sign(ctx context.Context) error {
	if err := writesDist(ctx); err != nil {
		return err
	}
	return sign.Main(ctx, sign.Options{}, os.Stdout)
}

// Verify checks every signed plugin against its team's keys or keyless identities and prints a table.
// PLUGSHIP_STRICT=1 refuses development keys.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#verify
func Verify(ctx context.Context) error {
	return verify.Main(ctx, verify.Options{Strict: os.Getenv(verify.StrictEnv) == "1"}, os.Stdout)
}

// All builds and signs every plugin, runs the compatibility matrix and publishes: the main job.
// With no GitHub settings it publishes to the local channel dist/channel/.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#all
func All(ctx context.Context) error {
	if err := buildAndSign(ctx, build.Selection{}); err != nil {
		return err
	}
	if err := compared(ctx, func() error { return compat.Main(ctx, compat.Options{}, os.Stdout) }); err != nil {
		return err
	}
	publishErr := publish.Main(ctx, publish.Options{}, os.Stdout)
	return errors.Join(publishErr, compat.PrintVerdict(compat.Options{}, os.Stdout))
}

// Publish publishes the signed, matrix-approved plugins (also mage publish).
type Publish mg.Namespace

// Run publishes to GitHub Releases (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL), else to dist/channel/ (also mage publish).
// Each plugin version is one release tagged team/plugin/vX.Y.Z; index.json lists them all.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#publishrun
func (Publish) Run(ctx context.Context) error {
	if err := writesDist(ctx); err != nil {
		return err
	}
	return publish.Main(ctx, publish.Options{}, os.Stdout)
}

// Dry prints what publish would do, calling nothing.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#publishdry
func (Publish) Dry(ctx context.Context) error {
	return publish.Main(ctx, publish.Options{DryRun: true}, os.Stdout)
}

// Compat runs the compatibility matrix: every built plugin in every reference host.
type Compat mg.Namespace

// Run builds the hosts in compat/hosts.yaml and tries every plugin file in each (also mage compat).
// Reports go to dist/compat/matrix.{json,md,html}, verdict first; a violation or a regression fails the run.
// Changes are reported against $PLUGSHIP_COMPARE_WITH (a matrix.json file or URL), else the matrix of the last publish (beside index.json).
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#compatrun
func (Compat) Run(ctx context.Context) error {
	return compared(ctx, func() error { return compat.Main(ctx, compat.Options{}, os.Stdout) })
}

// compared fetches the matrix of the last publish, to report what changed
// since, then runs the matrix step; a failed fetch is reported, the step
// runs without it, and the target fails.
func compared(ctx context.Context, step func() error) error {
	if err := writesDist(ctx); err != nil {
		return err
	}
	fetchErr := publish.FetchMatrix(ctx, publish.Options{}, os.Stdout)
	if fetchErr != nil {
		fmt.Printf("not comparing with the last publish: %v\n", fetchErr)
	}
	return errors.Join(step(), fetchErr)
}

// Shard runs one slice of the matrix, for CI job matrices: mage compat:shard 2/3.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#compatshard
func (Compat) Shard(ctx context.Context, shard string) error {
	s, err := matrix.ParseShard(shard)
	if err != nil {
		return err
	}
	if err := writesDist(ctx); err != nil {
		return err
	}
	return compat.Shard(ctx, compat.Options{}, s, os.Stdout)
}

// Diff prints what changed between two matrices (files or URLs of matrix.json): mage compat:diff old.json dist/compat/matrix.json.
// New and gone plugin versions and hosts, then every cell whose outcome changed, regressions first; a regression fails it.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#compatdiff
func (Compat) Diff(ctx context.Context, old, new string) error {
	return compat.Diff(ctx, old, new, os.Stdout)
}

// Merge combines the shard results in dist/compat/shards/ into the reports.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#compatmerge
func (Compat) Merge(ctx context.Context) error {
	return compared(ctx, func() error { return compat.Merge(ctx, compat.Options{}, os.Stdout) })
}

// Release builds, signs, checks and publishes the plugin version a tag names: mage release payments/fraud/v1.3.0.
// The release workflow runs it on every tag; PLUGSHIP_RELEASE_KEY may hold the team's key.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#release
func Release(ctx context.Context, tag string) error {
	if err := writesDist(ctx); err != nil {
		return err
	}
	return release.Main(ctx, tag, os.Stdout)
}

// Yank withdraws a published version from hosts: mage yank payments/fraud@1.2.0 "CVE-2026-1234: leaks card numbers".
// Where publish would publish, index.json records it with the reason: fetch, plugship install, Load and Watch skip it; nothing is deleted.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#yank
func Yank(ctx context.Context, version, reason string) error {
	return publish.Yank(ctx, publish.Options{}, version, reason, false, os.Stdout)
}

// Unyank gives a yanked version back to hosts: mage unyank payments/fraud@1.2.0.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#unyank
func Unyank(ctx context.Context, version string) error {
	return publish.Yank(ctx, publish.Options{}, version, "", true, os.Stdout)
}

// Refresh signs the published index again before hosts would find its statement expired: mage refresh.
// It signs only when half of the statement's life (index.expires, 7 days) has passed or the index changed; the refresh workflow runs it daily.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#refresh
func Refresh(ctx context.Context) error {
	return publish.Refresh(ctx, publish.Options{}, os.Stdout)
}

// Keys manages the teams' signing keys.
type Keys mg.Namespace

// Generate creates a team's key pair: mage keys:generate payments.
// The private key goes to .keys/<team>/cosign.key, encrypted with PLUGSHIP_KEY_PASSWORD; commit teams/<team>/cosign.pub.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#keysgenerate
func (Keys) Generate(team string) error {
	pub, priv, err := keys.Generate(".", team, []byte(keys.Password(team)))
	if err == nil {
		fmt.Printf("wrote %s (commit it) and %s (keep it secret; git ignores it)\n", pub, priv)
	}
	return err
}

// GenerateIndex creates the repository's index key pair, which signs the index statement: mage keys:generateIndex.
// The private key goes to .keys/index.key, encrypted with PLUGSHIP_KEY_PASSWORD_INDEX (or PLUGSHIP_KEY_PASSWORD); commit index.pub.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#keysgenerateindex
func (Keys) GenerateIndex() error {
	pub, priv, err := keys.GenerateIndexKey(".", []byte(keys.Password(keys.IndexPasswordName)))
	if err == nil {
		fmt.Printf("wrote %s (commit it) and %s (keep it secret; git ignores it; in CI, the secret %s)\n", pub, priv, keys.IndexKeyEnv)
	}
	return err
}

// Rotate replaces a team's key, revoking the old one from now: mage keys:rotate payments "the key leaked in a CI log".
// The old public key stays as teams/<team>/retired/<id>.pub; team.yaml gets a signing.revoked entry; then run sign and publish.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#keysrotate
func (Keys) Rotate(team, reason string) error {
	r, err := keys.Rotate(".", team, reason, time.Now(), []byte(keys.Password(team)))
	if err != nil {
		return err
	}
	fmt.Printf("rotated team %s's key: %s revoked from %s (%s)\n  retired %s (keep it: the policy names it when it refuses)\n  new key %s: %s (commit it) and %s (keep it secret)\n  %s: signing.revoked\n",
		team, r.OldID[:12], r.RevokedAt.Format(time.RFC3339), r.Reason, r.Retired, r.NewID[:12], r.Public, r.Private, r.Manifest)
	fmt.Println("next: go run mage.go sign (re-signs every file with the new key, writes the policy that revokes the old one), then publish; hosts refuse the old key's .sig from the revocation on")
	return nil
}

// Bench runs every Go benchmark of the repository 3 times, in every module (go test with -bench and -benchtime 3x, no tests).
// In plugship's own repository those are the benchmarks of BENCHMARKS.md: build, signing, selection and matrix against the plain alternatives.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#bench
func Bench(ctx context.Context) error { return testenv.Bench(ctx, ".", os.Stdout) }

// Clean removes what the targets wrote and downloaded.
type Clean mg.Namespace

// Dist removes dist/ (builds, reports, channel, trees of profiles at a git ref, hosts of profiles): what belongs to this repository (also mage clean).
// The Go toolchains profiles downloaded and the Go build cache, shared with every checkout on the machine, are kept: clean:all removes them too.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#cleandist
func (Clean) Dist(ctx context.Context) error {
	if err := writesDist(ctx); err != nil {
		return err
	}
	return profile.CleanMain(ctx, ".", false, os.Stdout)
}

// All removes what clean:dist removes, the Go toolchains profiles downloaded (from the module cache) and empties the Go build cache (go clean -cache).
// Those are shared with every checkout on the machine; it names each as it removes it.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#cleanall
func (Clean) All(ctx context.Context) error {
	if err := writesDist(ctx); err != nil {
		return err
	}
	return profile.CleanMain(ctx, ".", true, os.Stdout)
}

// Caches lists where builds keep data between runs (trees, toolchains, build cache) and their disk use.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#caches
func Caches(ctx context.Context) error { return profile.CachesMain(ctx, ".", os.Stdout) }

// Config prints this repository's plugship configuration: every field of plugship.yaml, its value and its default.
// The file sits at the module root and every field is optional; docs/reference/plugship.yaml.md lists them.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#config
func Config() error { return config.Print(".", os.Stdout) }

// Check compares this repository's plugins with a host executable built elsewhere, and aligns go.mod with it.
type Check mg.Namespace

// Host checks every plugin against a host executable: mage check:host path/to/host, or the name of a profile with binary or module.
// It reads the host's build info (no code runs) and prints, verdict first, every module a plugin shares with the host at another version,
// which side is newer, and whether the Go release and the flags that must match (-trimpath, -race, -msan, -asan, CGO_ENABLED, GOOS, GOARCH) agree.
// Any difference fails it.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#checkhost
func (Check) Host(ctx context.Context, host string) error {
	if err := writesDist(ctx); err != nil { // a profile's host is prepared under dist/.cache
		return err
	}
	_, err := hostcheck.Check(ctx, hostcheck.Options{Host: host}, os.Stdout)
	return err
}

// Hosts checks every plugin against the host of every profile with binary or module in compat/hosts.yaml, as check:host does for one.
// A module profile's host is built (or taken from dist/.cache/hostbin/) and a binary URL downloaded first. Any difference fails it.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#checkhosts
func (Check) Hosts(ctx context.Context) error {
	if err := writesDist(ctx); err != nil {
		return err
	}
	return hostcheck.CheckProfiles(ctx, hostcheck.Options{}, os.Stdout)
}

// Align writes a host executable's versions of the modules it shares with the plugins into go.mod: mage check:align path/to/host (or profile).
// One go get of every differing module at the host's version, then go mod tidy; it prints what changed in go.mod.
// A module plugship itself needs at a newer version than the host links is left as it is, with the reason.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#checkalign
func (Check) Align(ctx context.Context, host string) error {
	if err := writesDist(ctx); err != nil {
		return err
	}
	return hostcheck.Align(ctx, hostcheck.Options{Host: host}, os.Stdout)
}

// Test provides what the tests need, checks that every module of the checkout is tidy, then runs the tests of every module; a skipped test fails it.
// It installs the missing Debian packages (C compilers, chromium in plugship's repository) as root or through sudo -n,
// else stops with the command to run; the Go toolchains and modules the tests need come through the module proxy first, each said.
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#test
func Test(ctx context.Context) error { return testenv.Main(ctx, ".", nil, os.Stdout) }

// TestWith runs test with go test arguments: mage testWith "-run TestCrossProfile ./tool/internal/build" (-short allows skips).
// Docs: https://github.com/plugship/plugship/blob/main/docs/reference/targets.md#testwith
func TestWith(ctx context.Context, args string) error {
	return testenv.Main(ctx, ".", strings.Fields(args), os.Stdout)
}

// dist is this run's lock of the output folder.
var dist struct {
	sync.Mutex
	lock *distlock.Lock
}

// writesDist is called first by every target that writes the output folder
// (dist/): it waits while another run writes it, saying which, and then
// keeps other runs out until this one ends.
func writesDist(ctx context.Context) error {
	dist.Lock()
	defer dist.Unlock()
	if dist.lock != nil {
		return nil
	}
	folder := config.DefaultDist
	if c, err := config.Load("."); err == nil {
		folder = c.DistDir()
	}
	l, err := distlock.Acquire(ctx, folder, strings.Join(append([]string{"mage"}, os.Args[1:]...), " "), os.Stdout)
	dist.lock = l
	return err
}
