package testenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/plugship/plugship/tool/internal/progress"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output and build-fail events
	FailedBuild string
}

// Result is what a go test run found.
type Result struct {
	Passed, Failed, NoTests []string          // packages
	FailedTests             []string          // "package TestName"
	Skipped                 []string          // "package TestName: reason"
	Output                  map[string]string // a failed test's or package's output, by "package TestName" or package
}

// Run runs go test -json with args in every Go module of the checkout at
// dir (the root module and those in folders below it, such as a contract,
// keyless or tool module), printing a line per package as it ends, then the
// summary. Package arguments run in the module that holds them; without
// any, each module runs ./... . It fails if any test failed, or was
// skipped while args hold no -short.
func Run(ctx context.Context, dir string, args []string, out io.Writer) (*Result, error) {
	mods, err := Modules(dir)
	if err != nil {
		return nil, err
	}
	var flags []string
	pkgs := map[string][]string{} // module folder -> its package arguments
	for i := 0; i < len(args); i++ {
		a := args[i]
		if takesValue(a) && i+1 < len(args) {
			flags = append(flags, a, args[i+1]) // -bench . : "." is the flag's
			i++
			continue
		}
		if !isPackageArg(a) {
			flags = append(flags, a)
			continue
		}
		mod, rel := moduleOf(mods, a)
		pkgs[mod] = append(pkgs[mod], rel)
	}
	total := &Result{Output: map[string]string{}}
	var waitErr error
	var stderr strings.Builder
	runs := map[string][]string{} // module folder -> its package arguments
	count := 0
	for _, mod := range mods {
		modArgs := pkgs[mod]
		if len(pkgs) == 0 && mod != magefiles {
			modArgs = []string{"./..."}
		}
		if len(modArgs) > 0 {
			runs[mod] = modArgs
			count += countPackages(ctx, filepath.Join(dir, mod), modArgs)
		}
	}
	// A cold run of plugship's tests takes minutes, some packages more
	// than one: the bar says how far along it is and what runs.
	bar := progress.New(out, "test packages", count)
	bar.Interval = 20 * time.Second
	bar.Heartbeat()
	for _, mod := range mods {
		modArgs := runs[mod]
		if len(modArgs) == 0 {
			continue
		}
		cmdline := append(append([]string{"test", "-json"}, flags...), modArgs...)
		where := ""
		if mod != "." {
			where = " (in " + mod + "/)"
		}
		bar.Line("go %s%s\n", strings.Join(cmdline, " "), where)
		cmd := exec.CommandContext(ctx, "go", cmdline...)
		cmd.Dir = filepath.Join(dir, mod)
		cmd.Stderr = io.MultiWriter(&stderr, os.Stderr)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		total.add(read(stdout, bar))
		if err := cmd.Wait(); err != nil && waitErr == nil {
			waitErr = fmt.Errorf("%s: %w", mod, err)
		}
	}
	bar.Finish()
	r := total
	r.Summary(out)
	short := slices.ContainsFunc(args, func(a string) bool { return a == "-short" || a == "-test.short" || strings.HasPrefix(a, "-short=t") })
	switch {
	case len(r.Failed) > 0 || len(r.FailedTests) > 0:
		return r, fmt.Errorf("tests failed: %s, %s (listed above)", plural(len(r.Failed), "package"), plural(len(r.FailedTests), "test"))
	case waitErr != nil:
		return r, fmt.Errorf("go test: %v\n%s", waitErr, stderr.String())
	case len(r.Skipped) > 0 && !short:
		return r, fmt.Errorf("%s skipped (listed above): a test must not skip because something is missing; make it provide it or fail naming it (skips are allowed only with -short)", plural(len(r.Skipped), "test"))
	}
	return r, nil
}

// add gathers o's findings into r.
func (r *Result) add(o *Result) {
	r.Passed = append(r.Passed, o.Passed...)
	r.Failed = append(r.Failed, o.Failed...)
	r.NoTests = append(r.NoTests, o.NoTests...)
	r.FailedTests = append(r.FailedTests, o.FailedTests...)
	r.Skipped = append(r.Skipped, o.Skipped...)
	for k, v := range o.Output {
		r.Output[k] = v
	}
}

// magefiles is mage's folder, a module of its own whose files all carry
// the mage build tag: go test ./... finds no package there.
const magefiles = "magefiles"

// Tidy runs go mod tidy -diff in every module of the checkout at dir
// (see Modules), outside any workspace, and fails naming each module whose
// go.mod or go.sum is not what go mod tidy would write, with the diff.
func Tidy(ctx context.Context, dir string, out io.Writer) error {
	mods, err := Modules(dir)
	if err != nil {
		return err
	}
	var untidy []string
	for _, mod := range mods {
		cmd := exec.CommandContext(ctx, "go", "mod", "tidy", "-diff")
		cmd.Dir = filepath.Join(dir, mod)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		diff, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			fmt.Fprintf(out, "tidy  %s\n", mod)
		case errors.As(err, &exit) && exit.ExitCode() == 1 && len(diff) > 0:
			fmt.Fprintf(out, "NOT TIDY  %s (run go mod tidy in %s)\n%s", mod, mod, diff)
			untidy = append(untidy, mod)
		default:
			return fmt.Errorf("go mod tidy -diff in %s: %v\n%s", mod, err, bytes.TrimSpace(diff))
		}
	}
	if len(untidy) > 0 {
		return fmt.Errorf("%s not tidy (diffs above): run go mod tidy in %s", plural(len(untidy), "module"), strings.Join(untidy, ", "))
	}
	return nil
}

// Modules lists the folders, relative to dir and slash-separated, of the
// Go modules in the checkout at dir: "." first, then every folder below
// with a go.mod, leaving out dist/, testdata, vendor and hidden folders.
func Modules(dir string) ([]string, error) {
	mods := []string{"."}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || path == dir {
			return nil
		}
		switch name := d.Name(); {
		case name == "dist" && filepath.Dir(path) == dir, name == "testdata", name == "vendor", strings.HasPrefix(name, "."), strings.HasPrefix(name, "_"):
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			mods = append(mods, filepath.ToSlash(rel))
		}
		return nil
	})
	return mods, err
}

// moduleOf returns the module of mods that holds the package argument a
// (such as ./tool/internal/build/...), and a relative to that module.
func moduleOf(mods []string, a string) (mod, rel string) {
	clean := strings.TrimPrefix(filepath.ToSlash(a), "./")
	mod, rel = ".", a
	for _, m := range mods {
		if m != "." && (clean == m || strings.HasPrefix(clean, m+"/")) && len(m) > len(mod) {
			mod, rel = m, "./"+strings.TrimPrefix(strings.TrimPrefix(clean, m), "/")
		}
	}
	if rel == "./" {
		rel = "."
	}
	return mod, rel
}

// takesValue says whether a is a go test flag whose value is the next
// argument (-run TestX, -bench ., -count 2).
func takesValue(a string) bool {
	switch strings.TrimLeft(a, "-") {
	case "run", "skip", "bench", "benchtime", "count", "cpu", "parallel", "timeout", "fuzz", "fuzztime", "tags", "coverprofile", "coverpkg", "covermode", "o", "exec", "shuffle", "list", "test.run", "test.bench", "test.count", "test.timeout":
		return strings.HasPrefix(a, "-") && !strings.Contains(a, "=")
	}
	return false
}

// Bench runs every Go benchmark of every module of the checkout at dir
// (see Modules; magefiles/ has none) three times and no test, printing go
// test's output as it comes.
func Bench(ctx context.Context, dir string, out io.Writer) error {
	mods, err := Modules(dir)
	if err != nil {
		return err
	}
	for _, mod := range mods {
		if mod == magefiles {
			continue
		}
		args := []string{"test", "-run", "^$", "-bench", ".", "-benchtime", "3x", "./..."}
		fmt.Fprintf(out, "go %s (in %s)\n", strings.Join(args, " "), mod)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = filepath.Join(dir, mod)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("benchmarks of %s: %w", mod, err)
		}
	}
	return nil
}

// isPackageArg says whether a go test argument names packages.
func isPackageArg(a string) bool {
	return !strings.HasPrefix(a, "-") && (strings.HasPrefix(a, ".") || strings.Contains(a, "/"))
}

// read reads go test -json events from r, printing a line per package as
// it ends through bar, which counts it done and says what still runs.
func read(r io.Reader, bar *progress.Progress) *Result {
	var running []string // packages started and not ended, by short name
	short := func(pkg string) string { return pkg[strings.LastIndex(pkg, "/")+1:] }
	ended := func(pkg string) {
		running = slices.DeleteFunc(running, func(p string) bool { return p == short(pkg) })
		bar.Doing(doing(running))
		bar.Done(1)
	}
	res := &Result{Output: map[string]string{}}
	outputs := map[string]*strings.Builder{} // by "package TestName", package, or build import path
	key := func(pkg, test string) string {
		if test == "" {
			return pkg
		}
		return pkg + " " + test
	}
	text := func(k string) string {
		if b := outputs[k]; b != nil {
			return b.String()
		}
		return ""
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			bar.Line("%s", sc.Text()) // not an event: pass it on
			continue
		}
		switch e.Action {
		case "start":
			running = append(running, short(e.Package))
			bar.Doing(doing(running))
		case "output", "build-output":
			k := key(e.Package, e.Test)
			if e.Action == "build-output" {
				k = e.ImportPath
			}
			if outputs[k] == nil {
				outputs[k] = &strings.Builder{}
			}
			outputs[k].WriteString(e.Output)
		case "pass", "fail", "skip":
			k := key(e.Package, e.Test)
			if e.Test == "" {
				switch {
				case e.Action == "pass":
					res.Passed = append(res.Passed, e.Package)
					// go test's own "ok  pkg (cached)": the result came
					// from its test cache, nothing ran.
					if strings.Contains(text(key(e.Package, "")), "(cached)") {
						bar.Line("ok    %s (cached)\n", e.Package)
					} else {
						bar.Line("ok    %s %.1fs\n", e.Package, e.Elapsed)
					}
				case e.Action == "skip":
					res.NoTests = append(res.NoTests, e.Package)
				default:
					res.Failed = append(res.Failed, e.Package)
					bar.Line("FAIL  %s %.1fs\n", e.Package, e.Elapsed)
					// The build's output, then that of tests that never
					// ended (a panic, a timeout), then the package's.
					var all strings.Builder
					if e.FailedBuild != "" {
						all.WriteString(text(e.FailedBuild))
					}
					var unended []string
					for o := range outputs {
						if strings.HasPrefix(o, e.Package+" ") {
							unended = append(unended, o)
						}
					}
					sort.Strings(unended)
					for _, o := range unended {
						all.WriteString(text(o))
						delete(outputs, o)
					}
					all.WriteString(text(k))
					res.Output[e.Package] = all.String()
				}
				delete(outputs, k)
				ended(e.Package)
				continue
			}
			switch e.Action {
			case "fail":
				res.FailedTests = append(res.FailedTests, k)
				res.Output[k] = text(k)
			case "skip":
				res.Skipped = append(res.Skipped, k+": "+skipReason(text(k)))
			}
			delete(outputs, k)
		}
	}
	return res
}

// doing is what the test bar says runs: "running a, b", at most three
// named.
func doing(running []string) string {
	switch {
	case len(running) == 0:
		return ""
	case len(running) > 3:
		return fmt.Sprintf("running %s and %d more", strings.Join(running[:3], ", "), len(running)-3)
	}
	return "running " + strings.Join(running, ", ")
}

// countPackages is how many packages go test reports on for args in the
// module at dir (0 if go list fails: go test then says why).
func countPackages(ctx context.Context, dir string, args []string) int {
	cmd := exec.CommandContext(ctx, "go", append([]string{"list", "-e", "-f", "{{.ImportPath}}"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return 0
	}
	return len(strings.Fields(string(out)))
}

// skipReason is the message of a skipped test's output.
func skipReason(output string) string {
	var lines []string
	for line := range strings.Lines(output) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "=== ") || strings.HasPrefix(line, "--- SKIP") {
			continue
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "no reason given"
	}
	return strings.Join(lines, " / ")
}

// Summary prints the packages that passed and failed, the skipped tests
// and the output of every failure.
func (r *Result) Summary(out io.Writer) {
	fmt.Fprintf(out, "\n== %d packages ok, %d failed, %d without tests; %d tests failed, %d skipped\n",
		len(r.Passed), len(r.Failed), len(r.NoTests), len(r.FailedTests), len(r.Skipped))
	for _, p := range r.Failed {
		fmt.Fprintf(out, "FAIL  %s\n", p)
	}
	for _, t := range r.FailedTests {
		fmt.Fprintf(out, "--- FAIL %s\n", t)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(out, "--- SKIP %s\n", s)
	}
	var shown []string
	for _, t := range r.FailedTests {
		// A test whose subtests failed is shown by them.
		if !slices.ContainsFunc(r.FailedTests, func(s string) bool { return strings.HasPrefix(s, t+"/") }) {
			shown = append(shown, t)
		}
	}
	for _, p := range r.Failed {
		// A failed package whose tests failed is shown by its tests.
		if !slices.ContainsFunc(r.FailedTests, func(t string) bool { return strings.HasPrefix(t, p+" ") }) {
			shown = append(shown, p)
		}
	}
	for _, k := range shown {
		if text := strings.TrimRight(r.Output[k], "\n"); text != "" {
			fmt.Fprintf(out, "\n== output of %s\n%s\n", k, text)
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
