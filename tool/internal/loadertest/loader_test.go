package loadertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/plugtest"
)

// folder copies the named fixtures (with their metadata) into a new folder.
func folder(t testing.TB, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := plugtest.CopyPlugin(dir, fixtures[n]); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// host runs the reference host with args and returns its output and exit
// status. It fails the test if the host runs longer than a minute.
func host(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return hostEnv(t, nil, args...)
}

// hostEnv is host with extra environment variables.
func hostEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runHost(t, hostBin, env, args...)
}

// runHost runs the host executable bin (hostBin or keylessHost) as host
// runs the reference host.
func runHost(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("host %v hung: %s", args, e.String())
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// decide runs the reference host with -json on dir and returns its report,
// by version, and its exit status.
func decide(t *testing.T, dir string, args ...string) (*loader.Report, map[string]*loader.Decision, int) {
	t.Helper()
	return decideEnv(t, dir, nil, args...)
}

// decideEnv is decide with extra environment variables for the host.
func decideEnv(t *testing.T, dir string, env []string, args ...string) (*loader.Report, map[string]*loader.Decision, int) {
	t.Helper()
	stdout, stderr, code := hostEnv(t, env, append(append([]string{"-trust", fixtureTrust, "-json", "-plugin", "fx", "-timeout", "2s"}, args...), dir)...)
	var r loader.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("host printed no report (%v):\n%s\n%s", err, stdout, stderr)
	}
	byVersion := map[string]*loader.Decision{}
	for _, d := range r.Candidates {
		byVersion[d.Version] = d
	}
	return &r, byVersion, code
}

func expect(t *testing.T, ds map[string]*loader.Decision, version string, outcome loader.Outcome, reason ...string) {
	t.Helper()
	d := ds[version]
	if d == nil {
		t.Errorf("no decision for version %s", version)
		return
	}
	if d.Outcome != outcome {
		t.Errorf("version %s: outcome %s (%s), want %s", version, d.Outcome, d.Reason, outcome)
	}
	for _, want := range reason {
		if !strings.Contains(d.Reason, want) {
			t.Errorf("version %s: reason %q lacks %q", version, d.Reason, want)
		}
	}
}

// TestDoneWhen is the acceptance scenario: newest first, a plugin
// that panics in init, one that is not acceptable, one built with other
// flags, and a good one. The host picks the good one, says why it skipped
// each other, and keeps running.
func TestDoneWhen(t *testing.T) {
	dir := folder(t, "panicinit", "notacceptable", "notrim", "good")
	r, ds, code := decide(t, dir)
	if code != 0 || r.Chosen == nil || r.Chosen.Version != "1.0.0" {
		t.Fatalf("exit %d, chosen %+v; want 1.0.0", code, r.Chosen)
	}
	expect(t, ds, "9.0.0", loader.Crashed, "panic: fixture panics in init", "plugin.Open")
	expect(t, ds, "6.0.0", loader.NotAcceptable, "IsAcceptable() returned false")
	expect(t, ds, "1.5.0", loader.Incompatible, "setting -trimpath: plugin false, host true", "packages differ", "runtime")
	expect(t, ds, "1.0.0", loader.Chosen)
	if got := []string{r.Candidates[0].Version, r.Candidates[1].Version, r.Candidates[2].Version, r.Candidates[3].Version}; strings.Join(got, " ") != "9.0.0 6.0.0 1.5.0 1.0.0" {
		t.Errorf("tried in order %v, want newest first", got)
	}
	if len(ds["1.5.0"].Differences) < 2 {
		t.Errorf("preflight listed %d differences, want every setting and package: %+v", len(ds["1.5.0"].Differences), ds["1.5.0"].Differences)
	}
	t.Logf("selection took %.1f ms", r.Millis)

	stdout, stderr, code := host(t, "-trust", fixtureTrust, "-plugin", "fx", dir)
	if code != 0 || stdout != "Found newest valid plugin version: \"1.0.0\"\n" {
		t.Errorf("host printed %q (exit %d)", stdout, code)
	}
	for _, want := range []string{"fx_v9.0.0", "crashed", "fx_v6.0.0", "not-acceptable", "fx_v1.5.0", "incompatible"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("host did not say why it skipped (%q missing):\n%s", want, stderr)
		}
	}
}

// TestOtherGoRelease checks the one mismatch the runtime does not survive:
// a plugin from another Go minor release would kill the host in
// plugin.Open, so the preflight must refuse it unopened.
func TestOtherGoRelease(t *testing.T) {
	r, ds, code := decide(t, folder(t, "oldgo", "good"))
	if code != 0 || r.Chosen == nil || r.Chosen.Version != "1.0.0" {
		t.Fatalf("exit %d, chosen %+v; want 1.0.0", code, r.Chosen)
	}
	expect(t, ds, "1.6.0", loader.Incompatible, "go: plugin "+otherGo+", host go1.")
	t.Logf("reason: %s", ds["1.6.0"].Reason)
}

func TestSurvivesExitAndHang(t *testing.T) {
	r, ds, code := decide(t, folder(t, "exitinit", "hang", "good"), "-timeout", "1s")
	if code != 0 || r.Chosen == nil || r.Chosen.Version != "1.0.0" {
		t.Fatalf("exit %d, chosen %+v; want 1.0.0", code, r.Chosen)
	}
	expect(t, ds, "8.0.0", loader.Crashed, "exit status 3", "plugin.Open")
	expect(t, ds, "7.0.0", loader.TimedOut, "no answer within 1s", "IsAcceptable")
}

func TestSymbolsAndVersions(t *testing.T) {
	r, ds, code := decide(t, folder(t, "wrongtype", "nosymbol", "versionlie", "goodvar", "good"))
	if code != 0 || r.Chosen == nil || r.Chosen.Version != "2.0.0" {
		t.Fatalf("exit %d, chosen %+v; want 2.0.0, the variable-only plugin", code, r.Chosen)
	}
	expect(t, ds, "5.0.0", loader.BadSymbol, "symbol Showcase has type *int, want func() github.com/plugship/plugship/contract.Plugin")
	expect(t, ds, "4.0.0", loader.BadSymbol, "exports neither Showcase", "nor ShowcaseElement")
	expect(t, ds, "3.0.0", loader.VersionMismatch, `Version() returned "0.0.1", the file name says 3.0.0`)
	expect(t, ds, "1.0.0", loader.NotTried)
}

func TestDamagedFilesAreNeverOpened(t *testing.T) {
	r, ds, code := decide(t, folder(t, "nongo", "random", "truncated", "good"))
	if code != 0 || r.Chosen == nil || r.Chosen.Version != "1.0.0" {
		t.Fatalf("exit %d, chosen %+v; want 1.0.0", code, r.Chosen)
	}
	expect(t, ds, "1.4.0", loader.Incompatible, "no Go build info")
	expect(t, ds, "1.3.0", loader.Incompatible, "not an ELF")
	expect(t, ds, "1.2.0", loader.Incompatible, "fx_v1.2.0")
}

// TestUnverifiedFilesAreNeverOpened gives the loader, newest first, the
// marker plugin (its init creates a file) unsigned, changed after signing,
// and signed by another team, and checks that its code never ran, not even
// in a probe; then signed properly, when it must run.
func TestUnverifiedFilesAreNeverOpened(t *testing.T) {
	marker := filepath.Base(fixtures["marker"])
	for _, tc := range []struct {
		name   string
		spoil  func(dir string)
		reason string
	}{
		{"unsigned", func(dir string) { os.Remove(filepath.Join(dir, marker+".sig")) }, "not signed: no signature " + marker + ".sig"},
		{"flipped byte", func(dir string) { flipByte(t, filepath.Join(dir, marker)) }, "does not match the file under any key of team fixtures"},
		{"signature of another file", func(dir string) { copyFile(t, fixtures["good"]+".sig", filepath.Join(dir, marker+".sig")) }, "does not match the file"},
		{"another team's key", func(dir string) { resignAs(t, dir, marker, "other") }, "of team others, but plugin fx belongs to team fixtures; refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := folder(t, "marker", "good")
			tc.spoil(dir)
			ran := filepath.Join(t.TempDir(), "marker")
			r, ds, code := decideEnv(t, dir, []string{"PLUGSHIP_TEST_MARKER=" + ran})
			if code != 0 || r.Chosen == nil || r.Chosen.Version != "1.0.0" {
				t.Fatalf("exit %d, chosen %+v; want 1.0.0", code, r.Chosen)
			}
			expect(t, ds, "10.0.0", loader.Unverified, tc.reason)
			if _, err := os.Stat(ran); err == nil {
				t.Errorf("the unverified plugin's init ran")
			}
		})
	}
	t.Run("signed", func(t *testing.T) {
		ran := filepath.Join(t.TempDir(), "marker")
		r, _, code := decideEnv(t, folder(t, "marker", "good"), []string{"PLUGSHIP_TEST_MARKER=" + ran})
		if code != 0 || r.Chosen == nil || r.Chosen.Version != "10.0.0" {
			t.Fatalf("exit %d, chosen %+v; want 10.0.0", code, r.Chosen)
		}
		if _, err := os.Stat(ran); err != nil {
			t.Errorf("the signed marker plugin was chosen but its init did not run: %v", err)
		}
	})
}

func TestStrictRefusesDevelopmentKeys(t *testing.T) {
	r, ds, code := decide(t, folder(t, "good"), "-strict")
	if code != 1 || r.Chosen != nil {
		t.Fatalf("exit %d, chosen %+v; want none", code, r.Chosen)
	}
	expect(t, ds, "1.0.0", loader.Unverified, "DEVELOPMENT key", "refused in strict mode")
}

func flipByte(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(file, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// resignAs replaces file's signature in dir with one made by the key of
// the team that owns plugin (a real signature of file's bytes).
func resignAs(t *testing.T, dir, file, plugin string) {
	policy, err := keyless.Load(fixtureTrust)
	if err != nil {
		t.Fatal(err)
	}
	dist := filepath.Dir(fixtureTrust)
	if err := plugtest.SignFile(filepath.Dir(dist), dist, policy.Plugins[plugin], filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
}

func TestInProcessMode(t *testing.T) {
	r, ds, code := decide(t, folder(t, "notacceptable", "versionlie", "goodvar"), "-in-process")
	if code != 0 || r.Chosen == nil || r.Chosen.Version != "2.0.0" || r.Mode != "in-process" {
		t.Fatalf("exit %d, mode %s, chosen %+v; want 2.0.0 in-process", code, r.Mode, r.Chosen)
	}
	expect(t, ds, "6.0.0", loader.NotAcceptable)
	expect(t, ds, "3.0.0", loader.VersionMismatch)
}

func TestNothingAcceptable(t *testing.T) {
	dir := folder(t, "notacceptable")
	stdout, stderr, code := host(t, "-trust", fixtureTrust, "-plugin", "fx", dir)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "no acceptable plugin: fx in "+dir) || !strings.Contains(stderr, "not-acceptable") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	_, stderr, code = host(t, "-trust", fixtureTrust, "-plugin", "fx", filepath.Join(dir, "missing"))
	if code != 1 || !strings.Contains(stderr, "plugin folder: open "+filepath.Join(dir, "missing")) {
		t.Errorf("missing folder: exit %d, stderr:\n%s", code, stderr)
	}
	_, _, code = host(t)
	if code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
	_, _, code = host(t, dir)
	if code != 2 {
		t.Errorf("no -trust: exit %d, want 2", code)
	}
}

// TestBundledShowcase runs the reference host on the bundled examples as
// plugship builds them: the seed's line for showcase, the variable-only
// ledger, and a clear failure for the seed's invalid twin.
func TestBundledShowcase(t *testing.T) {
	for _, tc := range []struct {
		plugin, dir, stdout string
		code                int
		stderr              string
	}{
		{"showcase", "showcase/showcase", `Found newest valid plugin version: "0.2.0"` + "\n", 0, ""},
		{"ledger", "payments/ledger", `Found newest valid plugin version: "2.0.1"` + "\n", 0, ""},
		{"showcase-invalid", "showcase/showcase-invalid", "", 1, "not-acceptable: in the probe: IsAcceptable() returned false"},
	} {
		stdout, stderr, code := host(t, "-trust", bundledTrust, "-plugin", tc.plugin, filepath.Join(bundledDist, tc.dir))
		if stdout != tc.stdout || code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%s: exit %d, stdout %q, stderr:\n%s", tc.plugin, code, stdout, stderr)
		}
	}
	// The Example's plugins are built without -trimpath, for the test
	// binary; the reference host, built with it, has another ABI, tries
	// neither and says why.
	stdout, stderr, code := host(t, "-trust", exampleTrust, exampleDir)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "0 candidates") || !strings.Contains(stderr, "not tried: 2 for "+testABI) {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

// TestPreflightInThisProcess loads with the test binary as the host. It
// was built without -trimpath, so its ABI differs from the -trimpath
// builds': it does not consider them. Told to consider their ABI (as if
// they were named for it), the preflight must refuse them, naming the
// setting and the packages, without opening any.
func TestPreflightInThisProcess(t *testing.T) {
	policy, err := keyless.Load(fixtureTrust)
	if err != nil {
		t.Fatal(err)
	}
	dir := folder(t, "panicinit", "good")
	abi, err := plugtest.ABIOf(fixtures["good"])
	if err != nil {
		t.Fatal(err)
	}
	_, r, err := loader.Load[contract.Plugin](context.Background(), dir, "fx", loader.Options{Trust: policy})
	if !errors.Is(err, loader.ErrNoAcceptable) || len(r.Candidates) != 0 || r.ABI != testABI || !strings.Contains(err.Error(), "not tried: 2 for "+abi) {
		t.Errorf("Load with this binary's own ABI: %v; report %+v", err, r)
	}
	p, r, err := loader.Load[contract.Plugin](context.Background(), dir, "fx", loader.Options{Trust: policy, ABI: abi})
	if !errors.Is(err, loader.ErrNoAcceptable) || p != nil {
		t.Fatalf("Load = %v, %v; want ErrNoAcceptable", p, err)
	}
	if s := r.String(); !strings.Contains(s, "no acceptable version of 2 candidates") || !strings.Contains(s, "  incompatible     "+filepath.Base(fixtures["panicinit"])+": built differently") {
		t.Errorf("report for people:\n%s", s)
	}
	for _, d := range r.Candidates {
		if d.Outcome != loader.Incompatible || !strings.Contains(d.Reason, "setting -trimpath: plugin true, host false") ||
			!strings.Contains(d.Reason, "github.com/plugship/plugship/contract") {
			t.Errorf("%s: %s: %s", filepath.Base(d.File), d.Outcome, d.Reason)
		}
	}
}
