package distlock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// File is the lock file's name inside the output folder.
const File = ".lock"

// poll is how often a waiting run tries the lock again.
const poll = 100 * time.Millisecond

// Lock is a held lock of an output folder.
type Lock struct{ f *os.File }

// Holder is what a lock file says about the run holding it.
type Holder struct {
	PID   int
	What  string // what it runs, e.g. "mage build"
	Since time.Time
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "another process"
	}
	s := fmt.Sprintf("pid %d", h.PID)
	if h.What != "" {
		s += " (" + h.What
		if !h.Since.IsZero() {
			s += fmt.Sprintf(", since %s, %s ago", h.Since.Format("15:04:05"), time.Since(h.Since).Round(time.Second))
		}
		s += ")"
	}
	return s
}

// Acquire takes the lock of the output folder dist, creating the folder.
// While another process holds it, it says once on out which one and waits
// until that process lets go or ctx ends. what says what this run does,
// for the runs that wait for it.
func Acquire(ctx context.Context, dist, what string, out io.Writer) (*Lock, error) {
	path := filepath.Join(dist, File)
	var waitedFor *Holder
	start := time.Now()
	for {
		l, err := try(path)
		if err != nil {
			return nil, err
		}
		if l != nil {
			if err := l.write(what); err != nil {
				l.Release()
				return nil, err
			}
			if waitedFor != nil {
				fmt.Fprintf(out, "%s is free: going on after %s\n", dist, time.Since(start).Round(time.Second))
			}
			return l, nil
		}
		// The holder writes who it is just after locking: give it a moment.
		if h := Read(path); waitedFor == nil && (h.PID != 0 || time.Since(start) > time.Second) {
			waitedFor = &h
			fmt.Fprintf(out, "%s is being written by %s: waiting for it to finish (%s holds the lock)\n", dist, h, path)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("gave up waiting for %s, held by %s: %w", dist, Read(path), context.Cause(ctx))
		case <-time.After(poll):
		}
	}
}

// try takes the lock without waiting: nil, nil if another process holds it.
func try(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("locking the output folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking the output folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// A run that removed the folder (clean) while holding the lock leaves
	// this lock on a file no longer at path: take the one at path.
	held, err1 := f.Stat()
	now, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		f.Close()
		return try(path)
	}
	return &Lock{f: f}, nil
}

// write records this process in the lock file.
func (l *Lock) write(what string) error {
	text := fmt.Sprintf("pid %d\nwhat %s\nsince %s\n", os.Getpid(), strings.ReplaceAll(what, "\n", " "), time.Now().Format(time.RFC3339))
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("writing %s: %w", l.f.Name(), err)
	}
	if _, err := l.f.WriteAt([]byte(text), 0); err != nil {
		return fmt.Errorf("writing %s: %w", l.f.Name(), err)
	}
	return nil
}

// Release lets go of the lock. The file stays: removing it would let a
// waiting run and a new one lock two different files.
func (l *Lock) Release() error { return l.f.Close() }

// Read returns what the lock file at path says about its holder; a field
// it cannot read is zero.
func Read(path string) Holder {
	var h Holder
	data, _ := os.ReadFile(path)
	for line := range strings.Lines(string(data)) {
		key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch key {
		case "pid":
			h.PID, _ = strconv.Atoi(value)
		case "what":
			h.What = value
		case "since":
			h.Since, _ = time.Parse(time.RFC3339, value)
		}
	}
	return h
}
