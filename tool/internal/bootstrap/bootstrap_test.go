package bootstrap

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/distlock"
	"github.com/plugship/plugship/tool/internal/plugtest"
)

// checkout is a copy of this repository in a temporary folder, with an
// empty mage cache of its own.
func checkout(t *testing.T) (dir string, env []string) {
	t.Helper()
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := plugtest.GitCopy(root, dir); err != nil {
		t.Fatal(err)
	}
	return dir, append(os.Environ(), "MAGEFILE_CACHE="+t.TempDir())
}

// TestParallelStarts: runs of go run mage.go started at the same instant
// in one checkout, from an empty mage cache, all succeed. Mage alone
// fails here with "error compiling magefiles" (open
// ./mage_output_file.go: no such file or directory): each run writes that
// file beside the magefile and deletes it after its compile, under the
// other's.
func TestParallelStarts(t *testing.T) {
	dir, env := checkout(t)
	// The bootstrap built once, so that the runs start at one instant
	// rather than after their go run compiles of mage.go.
	bootstrap := filepath.Join(t.TempDir(), "mage")
	build := exec.Command("go", "build", "-o", bootstrap, "mage.go")
	build.Dir, build.Env = dir, env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build mage.go: %v\n%s", err, out)
	}
	for round := range 3 {
		const n = 4
		start := make(chan struct{})
		outs := make([]bytes.Buffer, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				cmd := exec.Command(bootstrap, "-l")
				cmd.Dir, cmd.Env = dir, env
				cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
				<-start
				errs[i] = cmd.Run()
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil || !strings.Contains(outs[i].String(), "build:all") {
				t.Errorf("round %d, run %d of %d: %v\n%s", round, i+1, n, errs[i], outs[i].String())
			}
		}
	}
	// Each run ran its own link of the binary and removed it.
	links, _ := filepath.Glob(filepath.Join(env[len(env)-1][len("MAGEFILE_CACHE="):], "checkout-*", "mage.*"))
	if len(links) != 0 {
		t.Errorf("left behind: %q", links)
	}
	// And as adopters run it, through go run, two at once.
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.Command("go", "run", "mage.go", "-l")
			cmd.Dir, cmd.Env = dir, env
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "build:all") {
				t.Errorf("go run mage.go -l, run %d: %v\n%s", i+1, err, out)
			}
		})
	}
	wg.Wait()
}

// TestDistWaits: a target that writes dist/ (sign, which fails at once
// in a checkout where nothing was built) waits while another process holds
// dist/'s lock, names that process, and runs once it lets go.
func TestDistWaits(t *testing.T) {
	dir, env := checkout(t)
	ctx := context.Background()
	held, err := distlock.Acquire(ctx, filepath.Join(dir, "dist"), "mage build", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()

	cmd := exec.Command("go", "run", "mage.go", "sign")
	cmd.Dir, cmd.Env = dir, env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := make(chan string)
	var rest bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
				rest.WriteString(sc.Text() + "\n")
			}
		}
		close(lines)
	}()
	var first string
	select {
	case first = <-lines:
	case <-time.After(2 * time.Minute):
		t.Fatalf("go run mage.go sign said nothing in 2 minutes\n%s", stderr.String())
	}
	want := fmt.Sprintf("%s is being written by pid %d (mage build, since ", filepath.Join(dir, "dist"), os.Getpid())
	if !strings.HasPrefix(first, want) {
		t.Errorf("go run mage.go sign first said %q, want it to start %q", first, want)
	}
	time.Sleep(500 * time.Millisecond)
	if cmd.ProcessState != nil {
		t.Fatalf("go run mage.go sign ended while dist/ was held:\n%s", stderr.String())
	}
	held.Release()
	var after []string
	for l := range lines {
		after = append(after, l)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(stderr.String(), "nothing to sign in ") {
		t.Fatalf("go run mage.go sign: %v, want it to run and find nothing to sign\n%s\n%s", err, strings.Join(after, "\n"), stderr.String())
	}
	if len(after) == 0 || !strings.Contains(after[0], " is free: going on after ") {
		t.Errorf("after the first run let go it said:\n%s", strings.Join(after, "\n"))
	}
}

// TestFirstCompileSaysSo: the first go run mage.go in a checkout, which
// downloads and compiles the targets for a minute or two on a cold
// machine, says so before that silence; later runs say nothing of it.
func TestFirstCompileSaysSo(t *testing.T) {
	dir, env := checkout(t)
	const notice = "compiling the targets: a first run downloads and builds plugship's tool"
	for run, want := range []bool{true, false} {
		cmd := exec.Command("go", "run", "mage.go", "-l")
		cmd.Dir, cmd.Env = dir, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "build:all") {
			t.Fatalf("run %d: %v\n%s\n%s", run+1, err, out, stderr.String())
		}
		if got := strings.Contains(stderr.String(), notice); got != want {
			t.Errorf("run %d: the first-compile notice shown: %v, want %v\n%s", run+1, got, want, stderr.String())
		}
	}
}
