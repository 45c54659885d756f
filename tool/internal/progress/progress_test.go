package progress

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a fake time source the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func (c *clock) set(d time.Duration)     { c.t = time.Unix(0, 0).Add(d) }
func fake(p *Progress, c *clock) *Progress {
	c.t = time.Unix(0, 0)
	p.now, p.start, p.last = c.now, c.t, c.t
	return p
}

func TestPlainLinesEveryInterval(t *testing.T) {
	var out bytes.Buffer
	c := &clock{}
	p := fake(New(&out, "cells", 10), c)
	if p.tty {
		t.Fatal("a bytes.Buffer is taken for a terminal")
	}
	if p.Interval != DefaultInterval {
		t.Errorf("Interval = %v, want %v", p.Interval, DefaultInterval)
	}
	step := func(at time.Duration) { c.set(at); p.Done(1) }
	step(1 * time.Second) // 1/10: too early
	step(2 * time.Second) // 2/10: too early
	if out.Len() != 0 {
		t.Fatalf("a status line before the interval passed: %q", out.String())
	}
	step(6 * time.Second) // 3/10: shown
	p.Line("  FAILED item %d", 4)
	step(7 * time.Second)  // 4/10: too soon after the last one
	step(11 * time.Second) // 5/10: 5s later, shown
	for i := 6; i <= 10; i++ {
		step(60 * time.Second) // the last one prints nothing: a summary follows
	}
	p.Finish()
	want := "  cells: 3/10 (30%) in 6.0s, about 14s left\n" +
		"  FAILED item 4\n" +
		"  cells: 5/10 (50%) in 11s, about 11s left\n" +
		"  cells: 6/10 (60%) in 1m0s, about 40s left\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.ContainsAny(out.String(), "\r\x1b") {
		t.Errorf("a carriage return or an escape outside a terminal: %q", out.String())
	}
}

func TestFileIsNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := New(f, "files", 1); p.tty {
		t.Error("a regular file is taken for a terminal")
	}
}

func TestShortWorkPrintsNoStatus(t *testing.T) {
	var out bytes.Buffer
	p := New(&out, "files", 3)
	for range 3 {
		p.Done(1)
	}
	p.Finish()
	if out.Len() != 0 {
		t.Errorf("work shorter than the interval printed %q", out.String())
	}
}

func TestIntervalIsConfigurable(t *testing.T) {
	var out bytes.Buffer
	c := &clock{}
	p := fake(New(&out, "files", 4), c)
	p.Interval = 100 * time.Millisecond
	c.advance(150 * time.Millisecond)
	p.Done(1)
	c.advance(50 * time.Millisecond)
	p.Done(1)
	if got := strings.Count(out.String(), "\n"); got != 1 || !strings.HasPrefix(out.String(), "  files: 1/4 (25%) in 0.1s, about 0.5s left") {
		t.Errorf("output: %q", out.String())
	}
}

func TestTerminalRedrawsOneLine(t *testing.T) {
	var out bytes.Buffer
	c := &clock{}
	p := fake(New(&out, "cells", 4), c)
	p.tty, p.width = true, 30
	p.Done(1) // first: drawn at once
	c.advance(50 * time.Millisecond)
	p.Done(1) // within 100ms: not drawn
	if got := out.String(); got != "\r  cells: 1/4 (25%) in 0.0s, a\x1b[K" {
		t.Errorf("first draw, cut to the width: %q", got)
	}
	out.Reset()
	p.Line("  CHANGED x")
	if got, want := out.String(), "\r\x1b[K  CHANGED x\n\r  cells: 2/4 (50%) in 0.1s, a\x1b[K"; got != want {
		t.Errorf("a line over the status:\n got %q\nwant %q", got, want)
	}
	out.Reset()
	c.advance(250 * time.Millisecond)
	p.Done(2) // the last: always drawn
	p.Finish()
	if got, want := out.String(), "\r  cells: 4/4 (100%) in 0.3s\x1b[K\r\x1b[K"; got != want {
		t.Errorf("last draw and finish:\n got %q\nwant %q", got, want)
	}
	out.Reset()
	p.Done(1)
	p.Line("after")
	if out.String() != "after\n" {
		t.Errorf("after Finish: %q", out.String())
	}
}

func TestConcurrentUse(t *testing.T) {
	var out bytes.Buffer
	p := New(&out, "items", 400)
	p.Interval = 0 // a status line at every Done
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%10 == 0 {
				p.Line("  FAILED item %d", i)
			}
			p.Done(1)
		}()
	}
	wg.Wait()
	p.Finish()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	failed := 0
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "  FAILED item "):
			failed++
		case strings.HasPrefix(l, "  items: ") && strings.Contains(l, "/400 ("):
		default:
			t.Errorf("garbled line %q", l)
		}
	}
	if failed != 40 || len(lines) != 40+399 {
		t.Errorf("%d FAILED lines of %d, want 40 of 439", failed, len(lines))
	}
}

func TestVerbose(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "": false, "0": false, "yes": false} {
		t.Setenv(VerboseEnv, v)
		if Verbose() != want {
			t.Errorf("%s=%q: Verbose() = %v", VerboseEnv, v, !want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "0.0s",
		1234 * time.Millisecond:  "1.2s",
		9949 * time.Millisecond:  "9.9s",
		12600 * time.Millisecond: "13s",
		74 * time.Second:         "1m14s",
		2 * time.Hour:            "2h0m0s",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
}

// Lines for what failed, and a summary: work shorter than the interval
// shows no status at all.
func Example() {
	files := []string{"a.so", "b.so", "c.so"}
	p := New(os.Stdout, "files", len(files))
	failed := 0
	for _, f := range files {
		if f == "b.so" {
			failed++
			p.Line("  FAILED     %s: disk full", f)
		}
		p.Done(1)
	}
	p.Finish()
	fmt.Printf("%d signed, %d failed, of %d files\n", len(files)-failed, failed, len(files))
	// Output:
	//   FAILED     b.so: disk full
	// 2 signed, 1 failed, of 3 files
}

// A heartbeat shows the status while no item is done yet (a first host
// build takes minutes), and stops at Finish.
func TestHeartbeat(t *testing.T) {
	var out syncBuffer
	p := New(&out, "reference hosts", 2)
	p.Interval = 20 * time.Millisecond
	p.Heartbeat()
	time.Sleep(150 * time.Millisecond)
	p.Finish()
	got := out.String()
	if n := strings.Count(got, "reference hosts: 0/2"); n < 2 {
		t.Errorf("%d status lines while nothing was done, want several:\n%s", n, got)
	}
	time.Sleep(60 * time.Millisecond)
	if after := out.String(); after != got {
		t.Errorf("status lines after Finish:\n%s", after[len(got):])
	}
}

// syncBuffer is a bytes.Buffer safe for the heartbeat's goroutine and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFit(t *testing.T) {
	short := Fit("  built      acme/good v1.0.0", "ABI go1.26.8-166835a9")
	if short != "  built      acme/good v1.0.0  ABI go1.26.8-166835a9\n" {
		t.Errorf("Fit of a short line = %q", short)
	}
	tail := strings.Repeat("word ", 40)
	long := Fit("  built      host contract-v2", tail)
	lines := strings.Split(strings.TrimSuffix(long, "\n"), "\n")
	if len(lines) < 3 || lines[0] != "  built      host contract-v2" {
		t.Fatalf("Fit of a long tail = %q, want the head alone and the tail below it", long)
	}
	for _, l := range lines {
		if len(l) > Width {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "      word") {
			t.Errorf("tail line not indented by six: %q", l)
		}
	}
	if got := Wrap("a-word-longer-than-the-width b", 5); len(got) != 2 || got[0] != "a-word-longer-than-the-width" {
		t.Errorf("Wrap kept a long word = %q", got)
	}
}

func TestParagraphKeepsLines(t *testing.T) {
	got := Paragraph("first reason\nsecond reason", "  ", "    ")
	if got != "  first reason\n    second reason\n" {
		t.Errorf("Paragraph = %q", got)
	}
}

func TestDoing(t *testing.T) {
	var out bytes.Buffer
	c := &clock{}
	p := fake(New(&out, "test packages", 3), c)
	p.Doing("running build, sign")
	c.advance(6 * time.Second)
	p.Done(1)
	if !strings.Contains(out.String(), "test packages: 1/3 (33%) in 6.0s, about 12s left; running build, sign") {
		t.Errorf("status = %q", out.String())
	}
}

func TestWrapped(t *testing.T) {
	if got := Wrapped("  target current      go1.26.8", "      "); got != "  target current      go1.26.8\n" {
		t.Errorf("a line that fits lost its spaces: %q", got)
	}
	long := Wrapped(strings.Repeat("word ", 30), "      ")
	if lines := strings.Split(strings.TrimSuffix(long, "\n"), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "      word") {
		t.Errorf("a long line = %q", long)
	}
}
