package compat

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/matrix"
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
	hosts := make([]matrix.Host, len(cfg.Hosts))
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for i, h := range cfg.Hosts {
		g.Go(func() error {
			start := time.Now()
			sum, built, err := buildHost(ctx, opts, h)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fmt.Fprintf(out, "  FAILED     host %s\n      %s\n", h.Name, strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "\n      "))
				return fmt.Errorf("host %s: %w", h.Name, err)
			}
			outcome := "up-to-date"
			if built {
				outcome = "built"
			}
			fmt.Fprintf(out, "  %-10s host %-14s %5.1fs  %s %s\n", outcome, h.Name, time.Since(start).Seconds(), h.Package, strings.Join(h.Flags, " "))
			hosts[i] = matrix.Host{Name: h.Name, Package: h.Package, Flags: h.Flags, SHA256: sum, MustAccept: h.MustAccept, MustReject: h.MustReject}
			return nil
		})
	}
	return hosts, g.Wait()
}

// HostPath is where a host's binary goes.
func HostPath(dist, name string) string {
	return filepath.Join(dist, filepath.FromSlash(HostsDir), name)
}

func buildHost(ctx context.Context, opts Options, h HostConfig) (sum string, built bool, err error) {
	staging := filepath.Join(opts.Dist, filepath.FromSlash(workDir), h.Name)
	final := HostPath(opts.Dist, h.Name)
	for _, d := range []string{filepath.Dir(staging), filepath.Dir(final)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", false, err
		}
	}
	args := append([]string{"build", "-buildvcs=false"}, h.Flags...)
	args = append(args, "-o", staging, h.Package)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = opts.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", false, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, output.String())
	}
	sum, _, err = artifact.HashFile(staging)
	if err != nil {
		return "", false, err
	}
	if old, _, err := artifact.HashFile(final); err == nil && old == sum {
		return sum, false, nil
	}
	if err := artifact.CopyFileAtomic(final, staging, 0o755); err != nil {
		return "", false, err
	}
	return sum, true, nil
}
