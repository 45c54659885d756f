package compat

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/progress"
)

// HostsDir is where built hosts go, relative to dist/.
const HostsDir = "compat/hosts"

// workDir holds staged host builds, relative to dist/.
const workDir = ".work/compat"

// buildHosts builds every configured host into dist/compat/hosts/<name>,
// in parallel. go build relinks nothing that is up to date and the final
// file is replaced only when its bytes change. It returns the hosts with
// their digests, in config order.
func buildHosts(ctx context.Context, opts Options, cfg *Config, out io.Writer) ([]matrix.Host, error) {
	envs := map[string]*profile.Env{}
	for _, h := range cfg.Hosts {
		if envs[h.Profile] != nil {
			continue
		}
		p, _ := profile.Find(cfg.Profiles, h.Profile)
		env, err := profile.Prepare(ctx, opts.Root, opts.Dist, opts.Repo.Sources, p)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		if env.GOOS != runtime.GOOS || env.GOARCH != runtime.GOARCH {
			return nil, fmt.Errorf("host %s: profile %s builds for %s/%s; the matrix runs hosts on this machine (%s/%s) only: run it there", h.Name, p.Name, env.GOOS, env.GOARCH, runtime.GOOS, runtime.GOARCH)
		}
		envs[h.Profile] = env
	}
	hosts := make([]matrix.Host, len(cfg.Hosts))
	var mu sync.Mutex
	// A first build of a host takes minutes (go build of the loader's and
	// the host's packages); the bar says so while nothing else would.
	bar := progress.New(out, "reference hosts built or checked", len(cfg.Hosts))
	bar.Heartbeat()
	defer bar.Finish()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for i, h := range cfg.Hosts {
		g.Go(func() error {
			defer bar.Done(1)
			start := time.Now()
			env := envs[h.Profile]
			build := buildHost
			if env.Host != nil {
				build = binaryHost
				h.Package = env.Host.Given
			}
			sum, abi, probe, built, err := build(ctx, opts, env, h)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bar.Line("  FAILED     host %s\n      %s\n", h.Name, strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "\n      "))
				return fmt.Errorf("host %s: %w", h.Name, err)
			}
			outcome := "up-to-date"
			if built {
				outcome = "built"
			}
			if built || progress.Verbose() {
				bar.Line("%s", hostLine(outcome, h, env, abi, time.Since(start)))
			}
			hosts[i] = matrix.Host{Name: h.Name, Package: h.Package, Flags: h.Flags, SHA256: sum,
				Profile: h.Profile, Toolchain: env.GoVersion, Ref: env.Ref, ABI: abi,
				MustAccept: h.MustAccept, MustReject: h.MustReject, Note: h.Note}
			if env.Host != nil {
				hosts[i].Source = "binary " + env.Host.Given
				if env.Host.Module != "" {
					hosts[i].Source = "module " + env.Host.Module
				}
			}
			if probe != "" {
				hosts[i].Probe, hosts[i].ProbeSHA256 = matrix.StandInProbe, probe
				if len(opts.Repo.Symbols) > 0 {
					hosts[i].Probe = matrix.StandInCheck
				}
			}
			if len(h.Check) > 0 {
				hosts[i].Check, hosts[i].CheckFile = h.Check, cmp.Or(h.File, loader.DefaultCheckFile)
			}
			return nil
		})
	}
	return hosts, g.Wait()
}

// hostLine is the console line of a host built or up to date: its name,
// time and ABI, then what it was built from and with, below it and
// wrapped within progress.Width.
func hostLine(outcome string, h HostConfig, env *profile.Env, abi string, took time.Duration) string {
	from := strings.TrimSpace(h.Package + " " + strings.Join(h.Flags, " "))
	return fmt.Sprintf("  %-10s host %-18s %5.1fs  ABI %s\n", outcome, h.Name, took.Seconds(), abi) +
		progress.Indent(fmt.Sprintf("%s (profile %s: %s)", from, h.Profile, env.Describe()), "      ")
}

// HostPath is where a host's binary goes.
func HostPath(dist, name string) string {
	return filepath.Join(dist, filepath.FromSlash(HostsDir), name)
}

// loaderPackage is the package whose HandleProbe a host calls to answer
// the loader's probe.
const loaderPackage = "github.com/plugship/plugship/loader"

// binaryHost copies the executable of a binary profile into place as the
// host (a copy: the matrix's digests and cache are of what it ran), and
// returns its digest and the ABI it computes for itself. A host that does
// not link the loader cannot answer the loader's probe: the cells' probes
// then run in a stand-in built from its module graph (buildStandIn), whose
// digest is probe; the preflight still compares against the host itself.
func binaryHost(ctx context.Context, opts Options, env *profile.Env, h HostConfig) (sum, abi, probe string, built bool, err error) {
	fp, err := fingerprint.Read(env.Host.File)
	if err != nil {
		return "", "", "", false, err
	}
	if abi, err = fp.HostABI(opts.Repo.Contract); err != nil {
		return "", "", "", false, err
	}
	if _, ok := fp.Packages[loaderPackage]; needsStandIn(opts, h) || !ok && len(h.Check) == 0 {
		if probe, built, err = buildStandIn(ctx, opts, env, h); err != nil {
			return "", "", "", false, err
		}
	} else {
		os.Remove(StandInPath(opts.Dist, h.Name))
	}
	if sum, _, err = artifact.HashFile(env.Host.File); err != nil {
		return "", "", "", false, err
	}
	final := HostPath(opts.Dist, h.Name)
	if old, _, err := artifact.HashFile(final); err == nil && old == sum {
		return sum, abi, probe, built, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", "", "", false, err
	}
	if err := artifact.CopyFileAtomic(final, env.Host.File, 0o755); err != nil {
		return "", "", "", false, err
	}
	return sum, abi, probe, true, nil
}

// needsStandIn says whether a host's cells are tried in a stand-in, of
// any host: one with a contract made of symbols and no check command of
// its own (no host can answer the loader's probe for such a contract).
func needsStandIn(opts Options, h HostConfig) bool {
	return len(opts.Repo.Symbols) > 0 && len(h.Check) == 0
}

// buildHost builds one host with its profile's toolchain in its profile's
// tree, and returns its digest and the ABI it computes for itself.
func buildHost(ctx context.Context, opts Options, env *profile.Env, h HostConfig) (sum, abi, probe string, built bool, err error) {
	staging, err := filepath.Abs(filepath.Join(opts.Dist, filepath.FromSlash(workDir), h.Name))
	if err != nil {
		return "", "", "", false, err
	}
	final := HostPath(opts.Dist, h.Name)
	for _, d := range []string{filepath.Dir(staging), filepath.Dir(final)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", "", false, err
		}
	}
	args := append([]string{"build", "-buildvcs=false"}, h.Flags...)
	args = append(args, "-o", staging, h.Package)
	cmd := env.Command(ctx, args...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", "", "", false, fmt.Errorf("go %s (%s): %v\n%s", strings.Join(args, " "), env.Describe(), err, output.String())
	}
	fp, err := fingerprint.Read(staging)
	if err != nil {
		return "", "", "", false, err
	}
	if abi, err = fp.HostABI(opts.Repo.Contract); err != nil {
		return "", "", "", false, err
	}
	if needsStandIn(opts, h) {
		if probe, built, err = buildStandIn(ctx, opts, env, h); err != nil {
			return "", "", "", false, err
		}
	}
	sum, _, err = artifact.HashFile(staging)
	if err != nil {
		return "", "", "", false, err
	}
	if old, _, err := artifact.HashFile(final); err == nil && old == sum {
		return sum, abi, probe, built, nil
	}
	if err := artifact.CopyFileAtomic(final, staging, 0o755); err != nil {
		return "", "", "", false, err
	}
	return sum, abi, probe, true, nil
}
