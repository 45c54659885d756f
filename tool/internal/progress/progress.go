package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// VerboseEnv is the environment variable that asks for a line per item:
// PLUGSHIP_VERBOSE=1.
const VerboseEnv = "PLUGSHIP_VERBOSE"

// Verbose reports whether the user asked for a line per item
// (PLUGSHIP_VERBOSE=1).
func Verbose() bool { return os.Getenv(VerboseEnv) == "1" }

// Default intervals between two status lines.
const (
	DefaultInterval  = 5 * time.Second        // not a terminal: a new line each time
	TerminalInterval = 100 * time.Millisecond // a terminal: the line is redrawn
)

// Progress reports how far some work through a known number of items is.
// Make one with New; the zero value is not usable.
type Progress struct {
	// Interval is the least time between two status lines when the
	// output is not a terminal; New sets DefaultInterval. Change it before
	// the first Done.
	Interval time.Duration

	mu       sync.Mutex
	out      io.Writer
	what     string
	total    int
	done     int
	start    time.Time
	last     time.Time // when the status was last shown (start before that)
	tty      bool
	width    int  // terminal columns; 0 if unknown
	shown    bool // a status line is drawn on the terminal
	finished bool
	now      func() time.Time
	stop     chan struct{} // closed by Finish when a Heartbeat runs
	doing    string        // what is under way, after the counts; see Doing
}

// Doing sets what is under way now ("running scaffold, nakamatest"),
// shown after the counts of the next status line; "" shows nothing.
func (p *Progress) Doing(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doing = s
}

// New starts reporting on total items of what ("plugin builds", "cells")
// to out. Nothing is printed until the first Done.
func New(out io.Writer, what string, total int) *Progress {
	p := &Progress{Interval: DefaultInterval, out: out, what: what, total: total, now: time.Now}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			p.width = w
		}
	}
	p.start = p.now()
	p.last = p.start
	return p
}

// Done records that n more items are done and shows the status if it is
// time to.
func (p *Progress) Done(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.finished {
		return
	}
	now := p.now()
	if p.tty {
		if !p.shown || p.done >= p.total || now.Sub(p.last) >= TerminalInterval {
			p.draw(now)
		}
		return
	}
	// The summary that follows the work says the rest.
	if p.done < p.total && now.Sub(p.last) >= p.Interval {
		p.last = now
		fmt.Fprintf(p.out, "  %s\n", p.status(now))
	}
}

// Line prints one line (a newline is added if format lacks one) about an
// item that failed or changed. On a terminal it replaces the status line,
// which is drawn again below it.
func (p *Progress) Line(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty || !p.shown {
		io.WriteString(p.out, s)
		return
	}
	io.WriteString(p.out, "\r\x1b[K"+s)
	p.draw(p.now())
}

// Finish ends the report: on a terminal it clears the status line, so
// that the caller's summary takes its place. Done and Line may still be
// called, but show no status any more.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.shown {
		io.WriteString(p.out, "\r\x1b[K")
	}
	if p.stop != nil && !p.finished {
		close(p.stop)
	}
	p.shown, p.finished = false, true
}

// Heartbeat shows the status every Interval (redrawn on a terminal) until
// Finish, even while no item is done: for work of few items that each take
// long (a first build of a host), which would otherwise be silent.
func (p *Progress) Heartbeat() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil || p.finished {
		return
	}
	p.stop = make(chan struct{})
	// Ticks a fifth of Interval apart, so that a status line is at most
	// that late: a tick exactly Interval after the last line can come a
	// hair too early and wait for the next.
	every := max(p.Interval/5, time.Millisecond)
	if p.tty {
		every = time.Second
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			p.mu.Lock()
			if now := p.now(); !p.finished && p.done < p.total {
				if p.tty {
					p.draw(now)
				} else if now.Sub(p.last) >= p.Interval {
					p.last = now
					fmt.Fprintf(p.out, "  %s\n", p.status(now))
				}
			}
			p.mu.Unlock()
		}
	}()
}

// Elapsed is the time since New.
func (p *Progress) Elapsed() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now().Sub(p.start)
}

// draw redraws the status line on the terminal; p.mu is held.
func (p *Progress) draw(now time.Time) {
	s := "  " + p.status(now)
	if p.width > 1 && len(s) >= p.width {
		s = s[:p.width-1] // a wrapped line cannot be redrawn
	}
	io.WriteString(p.out, "\r"+s+"\x1b[K")
	p.shown, p.last = true, now
}

// status is "what: done/total (pct%) in elapsed, about left left"; p.mu
// is held.
func (p *Progress) status(now time.Time) string {
	elapsed := now.Sub(p.start)
	pct := 100
	if p.total > 0 {
		pct = p.done * 100 / p.total
	}
	s := fmt.Sprintf("%s: %d/%d (%d%%) in %s", p.what, p.done, p.total, pct, duration(elapsed))
	if p.done > 0 && p.done < p.total {
		left := time.Duration(float64(elapsed) / float64(p.done) * float64(p.total-p.done))
		s += ", about " + duration(left) + " left"
	}
	if p.doing != "" {
		s += "; " + p.doing
	}
	return s
}

// duration is d to a tenth of a second under 10s, to the second above.
func duration(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
