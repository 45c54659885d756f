package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/sign"
)

// TestMatrixProbesLeaveNothingBehind runs the matrix over ten versions of
// the spawn fixture (loader/testdata/fixtures/spawn: its init and
// IsAcceptable start processes) in two hosts, once to build the hosts and
// warm up, then five times more without the cell cache: 100 probes, 60 of
// which pass and 40 of which hang in IsAcceptable and time out. No process
// any of them started is left, and this process holds no more descriptors
// than after the first run.
func TestMatrixProbesLeaveNothingBehind(t *testing.T) {
	t.Setenv(progress.VerboseEnv, "")
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures/spawn/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	files := map[string]string{}
	manifest := "name: fixtures\nowners: [\"@plugship\"]\nplugins:\n  - name: fx\n    source: fixtures/spawn10\n    version: 10.0.0\n    previous:\n"
	for v := 1; v <= 10; v++ {
		files[fmt.Sprintf("plugin_sources/fixtures/spawn%d/main.go", v)] = string(src) // a folder per version
		if v < 10 {
			manifest += fmt.Sprintf("      - version: %d.0.0\n        source: fixtures/spawn%d\n", v, v)
		}
	}
	files["teams/fixtures/team.yaml"] = manifest
	if err := plugtest.Module(root, mod, files); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	config := filepath.Join(mod, "hosts.yaml")
	opts := compat.Options{Root: root, Dist: filepath.Join(mod, "dist"), Config: config}

	spawn := t.TempDir()
	t.Setenv("PLUGSHIP_TEST_SPAWN", spawn)
	t.Cleanup(func() {
		for _, pid := range leftovers(spawn) {
			syscall.Kill(pid, syscall.SIGKILL) // what a failing run left
		}
	})
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	runs := []struct {
		mode, timeout, outcome string
	}{
		{"accept", "10s", matrix.OK}, // builds the hosts, and warms up: not counted
		{"accept", "10s", matrix.OK},
		{"accept", "10s", matrix.OK},
		{"accept", "10s", matrix.OK},
		{"hang", "300ms", "timeout"},
		{"hang", "300ms", "timeout"},
	}
	var before int
	start := time.Now()
	for i, r := range runs {
		if i == 1 {
			before, start = fds(), time.Now()
		}
		if err := os.WriteFile(filepath.Join(spawn, "mode"), []byte(r.mode), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(config, []byte("timeout: "+r.timeout+"\nhosts:\n  - name: showcase\n    package: ./compat/hosts/showcase\n    flags: [-trimpath]\n  - name: again\n    package: ./compat/hosts/showcase\n    flags: [-trimpath]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(opts.Dist, filepath.FromSlash(compat.CacheFile))) // probe every cell again
		out.Reset()
		if err := compat.Main(context.Background(), opts, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out.String())
		}
		m, err := matrix.Read(filepath.Join(opts.Dist, matrix.Dir, matrix.JSONFile))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Cells) != 20 {
			t.Fatalf("run %d: %d cells, want 20", i, len(m.Cells))
		}
		n, started := spawned(spawn)
		t.Logf("run %d (%s, timeout %s): %d probes so far ran plugin code, which started %d processes", i, r.mode, r.timeout, n, started)
		for _, c := range m.Cells {
			if c.Outcome != r.outcome || c.Cached {
				t.Errorf("run %d (%s): %s in %s: %s (cached %v): %s; want %s", i, r.mode, c.Plugin, c.Host, c.Outcome, c.Cached, c.Detail, r.outcome)
			}
		}
	}
	elapsed := time.Since(start)
	probes, started := spawned(spawn)
	var left []int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if left = leftovers(spawn); len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	after := fds()
	t.Logf("%d probes ran plugin code (100 after the first run, in %v), which started %d processes; %d processes left; %d descriptors open before, %d after",
		probes, elapsed.Round(time.Millisecond), started, len(left), before, after)
	if started == 0 {
		t.Errorf("the spawn fixture started no process: the test proves nothing")
	}
	if len(left) > 0 {
		t.Errorf("%d processes outlived their probe: %v", len(left), left)
	}
	if after != before {
		t.Errorf("%d descriptors open after 100 probes, %d before", after, before)
	}
}

// spawned returns how many probes ran the spawn fixture's code with dir as
// its folder, and how many processes it started.
func spawned(dir string) (probes, started int) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		probes++
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		started += strings.Count(string(data), "\n")
	}
	return probes, started
}

// leftovers returns the processes, other than this one, that carry
// PLUGSHIP_TEST_SPAWN=dir in their environment (everything a probe started
// inherits it), or whose session or process group is that of a probe.
func leftovers(dir string) []int {
	probes := map[string]bool{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		probes[e.Name()] = true
	}
	token := []byte("\x00PLUGSHIP_TEST_SPAWN=" + dir + "\x00")
	procs, _ := os.ReadDir("/proc")
	var found []int
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if len(f) >= 4 && (probes[f[2]] || probes[f[3]]) || bytes.Contains(append([]byte{0}, env...), token) {
			found = append(found, pid)
		}
	}
	return found
}
