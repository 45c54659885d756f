package loadertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/trust"
)

// probeFixtureVersions are the fixtures of the probe's containment tests
// (issue 18, items 2 and 3), as versions of plugin fx of their own build.
var probeFixtureVersions = map[string]string{
	"forgereport":    "9.0.0",
	"exit0init":      "8.0.0",
	"exitacceptable": "7.0.0",
	"spawn":          "3.0.0",
	"good":           "1.0.0",
}

// probeFx holds the probe fixtures, built once, on first use, into the
// folder TestMain removes.
var probeFx struct {
	once   sync.Once
	err    error
	files  map[string]string // fixture -> built and signed .so
	trust  string            // their trust policy
	policy *trust.Policy
}

func probeFixtures(t testing.TB) {
	t.Helper()
	probeFx.once.Do(func() { probeFx.err = buildProbeFixtures() })
	if probeFx.err != nil {
		t.Fatalf("building the probe fixtures: %v", probeFx.err)
	}
}

func buildProbeFixtures() error {
	mod := filepath.Join(filepath.Dir(hostBin), "probe-fixtures") // TestMain's folder
	files := map[string]string{}
	manifest := "name: fixtures\nowners: [\"@plugship\"]\nplugins:\n  - name: fx\n    source: fixtures/forgereport\n    version: 9.0.0\n    previous:\n"
	for name, version := range probeFixtureVersions {
		src, err := os.ReadFile(filepath.Join(root, "loader/testdata/fixtures", name, "main.go"))
		if err != nil {
			return err
		}
		files["plugin_sources/fixtures/"+name+"/main.go"] = string(src)
		if name != "forgereport" {
			manifest += fmt.Sprintf("      - version: %s\n        source: fixtures/%s\n", version, name)
		}
	}
	files["teams/fixtures/team.yaml"] = manifest
	if err := plugtest.Module(root, mod, files); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	probeFx.files = map[string]string{}
	for name, version := range probeFixtureVersions {
		f, err := plugtest.Find(filepath.Join(mod, "dist/plugins/fixtures/fx"), "fx", version)
		if err != nil {
			return err
		}
		probeFx.files[name] = f
	}
	probeFx.trust = filepath.Join(mod, "dist", sign.TrustFile)
	var err error
	probeFx.policy, err = keyless.Load(probeFx.trust)
	return err
}

// probeFolder copies the named probe fixtures into a new folder.
func probeFolder(t testing.TB, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := plugtest.CopyPlugin(dir, probeFx.files[n]); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tryOptions are the options with which the tests call loader.Try and
// loader.Watch: the reference host, as the compatibility matrix runs it.
func tryOptions(timeout time.Duration) loader.Options {
	return loader.Options{Trust: probeFx.policy, Host: hostBin, Contract: loader.ContractPackage[contract.Plugin](), ProbeTimeout: timeout}
}

// TestPluginCannotPassItsOwnProbe: a plugin that writes well-formed
// success reports to every descriptor it inherited (keyed with anything it
// could read) and exits 0 from init, one that exits 0 from init writing
// nothing, and one that exits 0 from IsAcceptable all crash their probe;
// Load, in the reference host, chooses the well-behaved plugin below them.
func TestPluginCannotPassItsOwnProbe(t *testing.T) {
	probeFixtures(t)
	dir := probeFolder(t, "forgereport", "exit0init", "exitacceptable", "good")
	snoop := filepath.Join(t.TempDir(), "snoop")
	stdout, stderr, code := hostEnv(t, []string{"PLUGSHIP_TEST_SNOOP=" + snoop}, "-trust", probeFx.trust, "-json", "-plugin", "fx", "-timeout", "10s", dir)
	var r loader.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("host printed no report (%v):\n%s\n%s", err, stdout, stderr)
	}
	ds := map[string]*loader.Decision{}
	for _, d := range r.Candidates {
		ds[d.Version] = d
	}
	if code != 0 || r.Chosen == nil || r.Chosen.Version != "1.0.0" {
		t.Errorf("exit %d, chosen %+v; want 1.0.0\n%s", code, r.Chosen, r.String())
	}
	expect(t, ds, "9.0.0", loader.Crashed, "exit status 0", "plugin.Open (the plugin's init)", "without the loader's final report", "report lines the loader did not write")
	expect(t, ds, "8.0.0", loader.Crashed, "exit status 0", "plugin.Open (the plugin's init)", "without the loader's final report")
	expect(t, ds, "7.0.0", loader.Crashed, "exit status 0", "Version or IsAcceptable", "without the loader's final report")
	for _, v := range []string{"9.0.0", "8.0.0", "7.0.0"} {
		if d := ds[v]; d != nil && d.Cause != loader.CauseExit {
			t.Errorf("version %s: cause %s, want %s", v, d.Cause, loader.CauseExit)
		}
	}
	t.Logf("report:\n%s", r.String())

	// What the forging plugin found open: the probe's own descriptors
	// (standard input, output and error, and the report pipe), and no
	// other pipe, in particular not the one its key came through.
	seen, err := os.ReadFile(snoop)
	if err != nil {
		t.Fatalf("the forging plugin's init did not run: %v", err)
	}
	t.Logf("the forging plugin's view of its descriptors:\n%s", seen)
	for _, line := range strings.Split(strings.TrimSpace(string(seen)), "\n") {
		var fd int
		var target string
		if _, err := fmt.Sscanf(line, "fd %d: %s", &fd, &target); err != nil {
			t.Errorf("snoop line %q: %v", line, err)
			continue
		}
		if fd > 3 && strings.HasPrefix(target, "pipe:") {
			t.Errorf("the plugin's code found a pipe open on descriptor %d besides the report pipe: %s", fd, line)
		}
	}

	// The same files through Try, as the compatibility matrix sees them.
	for name, want := range map[string]loader.Outcome{"forgereport": loader.Crashed, "exit0init": loader.Crashed, "exitacceptable": loader.Crashed, "good": loader.Passed} {
		d := loader.Try(context.Background(), probeFx.files[name], tryOptions(10*time.Second))
		if d.Outcome != want {
			t.Errorf("Try %s: %s (%s), want %s", name, d.Outcome, d.Reason, want)
		}
	}
}

// spawned is a folder for the spawn fixture (see its source) and the
// processes it started.
type spawned struct {
	t   *testing.T
	dir string
}

// spawnFolder points the spawn fixture of every probe this test starts at
// a new folder, and ends, when the test ends, any process that a failing
// run left behind.
func spawnFolder(t *testing.T) *spawned {
	s := &spawned{t: t, dir: t.TempDir()}
	t.Setenv("PLUGSHIP_TEST_SPAWN", s.dir)
	t.Cleanup(func() {
		for _, p := range s.leftovers() {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
	})
	return s
}

func (s *spawned) mode(m string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "mode"), []byte(m), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// probes returns the process IDs of the probes whose plugin code ran, and
// the number of processes their plugin code started.
func (s *spawned) probes() (map[int]bool, int) {
	entries, _ := os.ReadDir(s.dir)
	probes, started := map[int]bool{}, 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		probes[pid] = true
		data, _ := os.ReadFile(filepath.Join(s.dir, e.Name()))
		started += strings.Count(string(data), "\n")
	}
	return probes, started
}

type proc struct {
	pid, pgrp, sid int
	state, comm    string
}

func (p proc) String() string {
	return fmt.Sprintf("pid %d (%s, state %s, group %d, session %d)", p.pid, p.comm, p.state, p.pgrp, p.sid)
}

// leftovers returns the processes, other than this one, that carry the
// test's folder in their environment (everything a probe started inherits
// it) or whose process group or session is one of a probe's.
func (s *spawned) leftovers() []proc {
	probes, _ := s.probes()
	token := []byte("\x00PLUGSHIP_TEST_SPAWN=" + s.dir + "\x00")
	entries, _ := os.ReadDir("/proc")
	var found []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		open, close := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[close+1:]))
		if open < 0 || len(f) < 4 {
			continue
		}
		p := proc{pid: pid, comm: string(stat[open+1 : close]), state: f[0]}
		p.pgrp, _ = strconv.Atoi(f[2])
		p.sid, _ = strconv.Atoi(f[3])
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if probes[p.pgrp] || probes[p.sid] || bytes.Contains(append([]byte{0}, env...), token) {
			found = append(found, p)
		}
	}
	return found
}

// settle waits up to 5 seconds for the probes' processes to be gone, and
// returns those that remain.
func (s *spawned) settle() []proc {
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := s.leftovers()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openFDs returns this process's open descriptors and what they are.
func openFDs(t testing.TB) map[string]string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[string]string{}
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			fds[e.Name()] = target
		}
	}
	return fds
}

// compareFDs fails the test if this process holds descriptors it did not
// hold before.
func compareFDs(t *testing.T, before map[string]string) {
	t.Helper()
	after := openFDs(t)
	var extra []string
	for fd, target := range after {
		if before[fd] != target {
			extra = append(extra, fd+" -> "+target)
		}
	}
	slices.Sort(extra)
	t.Logf("open descriptors: %d before, %d after", len(before), len(after))
	if len(extra) > 0 {
		t.Errorf("%d descriptors more after the probes than before: %s", len(extra), strings.Join(extra, ", "))
	}
}

func (s *spawned) checkNothingLeft(what string) {
	s.t.Helper()
	probes, started := s.probes()
	left := s.settle()
	s.t.Logf("%s: %d probes ran plugin code, which started %d processes; %d processes left behind", what, len(probes), started, len(left))
	if started == 0 {
		s.t.Errorf("the spawn fixture started no process: the test proves nothing")
	}
	if len(left) > 0 {
		var list []string
		for _, p := range left[:min(len(left), 10)] {
			list = append(list, p.String())
		}
		s.t.Errorf("%d processes outlived their probe, such as: %s", len(left), strings.Join(list, "; "))
	}
}

// TestProbeLeavesNothingBehind: 100 probes through loader.Try (what the
// compatibility matrix runs per cell), two at a time as the matrix runs
// them on this machine's 2 cores, of a plugin whose init and IsAcceptable
// start processes: two thirds pass (the probe exits by itself while its
// grandchildren run on), a third hang in IsAcceptable and are killed at
// their timeout. No process of theirs, and no descriptor of this
// process, is left.
func TestProbeLeavesNothingBehind(t *testing.T) {
	probeFixtures(t)
	s := spawnFolder(t)
	file := probeFx.files["spawn"]
	ctx := context.Background()
	s.mode("accept")
	if d := loader.Try(ctx, file, tryOptions(10*time.Second)); d.Outcome != loader.Passed { // warm up: whatever the first probe opens for good
		t.Errorf("the spawn fixture did not pass: %s (%s)", d.Outcome, d.Reason)
	}
	before := openFDs(t)
	start := time.Now()
	run := func(n int, mode string, timeout time.Duration, want loader.Outcome) {
		s.mode(mode)
		var wg sync.WaitGroup
		jobs := make(chan int)
		for range 2 {
			wg.Go(func() {
				for range jobs {
					if d := loader.Try(ctx, file, tryOptions(timeout)); d.Outcome != want {
						t.Errorf("%s: %s (%s), want %s", mode, d.Outcome, d.Reason, want)
					}
				}
			})
		}
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
	}
	run(67, "accept", 10*time.Second, loader.Passed)
	passed := time.Since(start)
	run(33, "hang", 300*time.Millisecond, loader.TimedOut)
	t.Logf("100 probes (after one to warm up) in %v: 67 passing in %v, 33 timing out after 300ms in %v", time.Since(start).Round(time.Millisecond), passed.Round(time.Millisecond), (time.Since(start) - passed).Round(time.Millisecond))
	s.checkNothingLeft("Try")
	compareFDs(t, before)
}

// TestWatchLeavesNothingBehind: a watching host (loader.Watch) probes the
// spawn fixture 100 times, as it is touched after each probe; 99 times it
// is not acceptable and ignored, the 100th it passes and Watch returns. No
// process of those probes, and no descriptor of this process, is left.
func TestWatchLeavesNothingBehind(t *testing.T) {
	probeFixtures(t)
	s := spawnFolder(t)
	dir := probeFolder(t, "spawn")
	file := filepath.Join(dir, filepath.Base(probeFx.files["spawn"]))
	s.mode("reject")
	before := openFDs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := time.Now().Add(-time.Hour)
	ignored := 0
	start := time.Now()
	d, err := loader.Watch[contract.Plugin](ctx, loader.WatchOptions{
		Options: tryOptions(10 * time.Second), Dir: dir, Plugin: "fx", Debounce: 5 * time.Millisecond,
		OnIgnored: func(d *loader.Decision) {
			ignored++
			if d.Outcome != loader.NotAcceptable {
				t.Errorf("probe %d: %s (%s), want %s", ignored, d.Outcome, d.Reason, loader.NotAcceptable)
			}
			if ignored == 99 {
				s.mode("accept")
			}
			// A new modification time is new content to the watch: it
			// probes the file again.
			if err := os.Chtimes(file, time.Now(), base.Add(time.Duration(ignored)*time.Second)); err != nil {
				t.Error(err)
			}
		},
	})
	if err != nil || d.Outcome != loader.Passed || ignored != 99 {
		t.Fatalf("Watch: %v, %+v after %d ignored; want it passed after 99", err, d, ignored)
	}
	t.Logf("100 probes through Watch in %v", time.Since(start).Round(time.Millisecond))
	s.checkNothingLeft("Watch")
	compareFDs(t, before)
}
