package firstrun

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/schema"
)

// maxSilence is the longest a newcomer waits with nothing printed.
const maxSilence = 10 * time.Second

// chunk is some output and when it arrived.
type chunk struct {
	at   time.Time
	text string
}

// TestMainJobConsole runs go run mage.go all on a fresh copy of this
// repository (an empty dist/, the machine's Go caches), once in a log (a
// pipe, as in CI) and once on a terminal of 100 columns (a
// pseudo-terminal, where progress redraws its line), and checks what the
// newcomer sees. The cold run (empty Go caches) is measured by hand, as
// the README's Quick start reports it.
func TestMainJobConsole(t *testing.T) {
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, terminal := range []bool{false, true} {
		name := "log"
		if terminal {
			name = "terminal"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := plugtest.GitCopy(root, dir); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("go", "run", "mage.go", "all")
			cmd.Dir = dir
			cmd.Env = append(environ(), "TERM=xterm")
			start := time.Now()
			chunks, err := run(cmd, terminal)
			end := time.Now()
			text := plain(chunks)
			if err != nil || !strings.Contains(text, "Ready to ship") {
				t.Fatalf("go run mage.go all: %v\n%s", err, text)
			}
			widest := checkWidths(t, text)
			longest, after := checkSilences(t, start, end, chunks)
			t.Logf("%s: %.1fs, %d lines, widest %d columns, longest silence %.1fs (after %s)", name, end.Sub(start).Seconds(), strings.Count(text, "\n"), widest, longest.Seconds(), after)
			// One count of cells: the verdict's, by what each host
			// requires ("8 plugin versions × 4 hosts: 14 passed, ...").
			counts := regexp.MustCompile(`(?m)\b\d+ cells?\b|^\d+ plugin versions? × \d+ hosts?`).FindAllString(text, -1)
			if len(counts) != 1 || !strings.Contains(counts[0], "plugin version") {
				t.Errorf("counts of cells %q, want the verdict's only:\n%s", counts, text)
			}
			if n := strings.Count(text, "strict verification (PLUGSHIP_STRICT=1) and the release refuse them"); n != 1 {
				t.Errorf("the development-key notice appears %d times, want once:\n%s", n, text)
			}
			if !terminal {
				checkOutputs(t, root, dir)
			}
			if terminal && !strings.Contains(chunkText(chunks), "\r") {
				t.Errorf("on a terminal no status line was redrawn: is the pseudo-terminal seen as one?")
			}
			if !terminal && strings.ContainsAny(chunkText(chunks), "\r\x1b") {
				t.Errorf("a log holds carriage returns or escape sequences")
			}
		})
	}
}

// environ is the test's environment without what would change the main
// job's output: a request for verbose lines, strict verification.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != progress.VerboseEnv && k != "PLUGSHIP_STRICT" && k != "TERM" {
			env = append(env, kv)
		}
	}
	return env
}

// run runs cmd with its standard output and error on a pipe, or on a
// pseudo-terminal of 100 columns, and returns what it printed as it came.
func run(cmd *exec.Cmd, terminal bool) ([]chunk, error) {
	var r io.Reader
	if terminal {
		f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: progress.Width})
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	} else {
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = pw, pw
		err = cmd.Start()
		pw.Close()
		if err != nil {
			return nil, err
		}
		defer pr.Close()
		r = pr
	}
	var chunks []chunk
	br := bufio.NewReader(r)
	buf := make([]byte, 4096)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			chunks = append(chunks, chunk{time.Now(), string(buf[:n])})
		}
		if err != nil {
			// A pseudo-terminal reads EIO once the last process holding it ends.
			if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EIO) {
				return chunks, err
			}
			break
		}
	}
	return chunks, cmd.Wait()
}

func chunkText(chunks []chunk) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(c.text)
	}
	return b.String()
}

var escape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// plain is the output as the reader is left with it: escape sequences
// gone, a line redrawn after a carriage return shown as its last drawing,
// CRLF (a terminal's newline) as LF.
func plain(chunks []chunk) string {
	text := escape.ReplaceAllString(strings.ReplaceAll(chunkText(chunks), "\r\n", "\n"), "")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if j := strings.LastIndex(l, "\r"); j >= 0 {
			lines[i] = l[j+1:]
		}
	}
	return strings.Join(lines, "\n")
}

// checkWidths fails for every line wider than progress.Width and
// returns the widest.
func checkWidths(t *testing.T, text string) int {
	t.Helper()
	widest := 0
	for _, line := range strings.Split(text, "\n") {
		n := utf8.RuneCountInString(line)
		if n > progress.Width {
			t.Errorf("a line of %d columns, want at most %d: %q", n, progress.Width, line)
		}
		widest = max(widest, n)
	}
	return widest
}

// checkSilences fails when more than maxSilence passed with nothing
// printed: before the first output, between two, or after the last. It
// returns the longest silence.
func checkSilences(t *testing.T, start, end time.Time, chunks []chunk) (time.Duration, string) {
	t.Helper()
	prev, after, longest, where := start, "the start", time.Duration(0), ""
	for _, c := range append(chunks, chunk{end, "(the end)"}) {
		gap := c.at.Sub(prev)
		if gap > maxSilence {
			t.Errorf("%.1fs with nothing printed after %s, before %q", gap.Seconds(), after, strings.TrimSpace(c.text))
		}
		if gap > longest {
			longest, where = gap, after
		}
		prev, after = c.at, strconv.Quote(lastLine(c.text))
	}
	return longest, where
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	return s[strings.LastIndexAny(s, "\r\n")+1:]
}

// checkOutputs validates the JSON files the main job wrote in dir's dist/
// that other programs read against their committed schemas (those of the
// repository at root).
func checkOutputs(t *testing.T, root, dir string) {
	t.Helper()
	v, err := schema.NewValidator(root)
	if err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(dir, "dist")
	files := map[string]schema.Schema{
		filepath.Join(dist, "compat", "matrix.json"): schema.Matrix,
		filepath.Join(dist, "channel", "index.json"): schema.Index,
		filepath.Join(dist, "trust.json"):            schema.Trust,
	}
	metadata, err := filepath.Glob(filepath.Join(dist, "plugins", "*", "*", "*.so"+artifact.MetadataSuffix))
	if err != nil || len(metadata) == 0 {
		t.Fatalf("no build metadata in %s/plugins: %v", dist, err)
	}
	for _, m := range metadata {
		files[m] = schema.Metadata
	}
	for file, s := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Error(err)
			continue
		}
		if err := v.Validate(s, data); err != nil {
			t.Errorf("%s does not pass %s: %v", file, s.File, err)
		}
	}
}
