//go:build ignore

// Zero-install bootstrap: `go run mage.go <target>` runs mage's targets
// without a mage binary on PATH.
//
// Runs may start at once. Mage writes mage_output_file.go beside the
// magefile, compiles and deletes it, so one run's delete broke another's
// compile ("error compiling magefiles"). Here each checkout compiles under
// a lock, into a folder of its own in mage's cache, and each run runs its
// own link to the binary, which a later compile replaces but never changes.
//
// The magefiles are a Go module of their own (magefiles/go.mod), so that
// what the targets import never enters this module's graph, the one
// plugins are built in. Mage resolves mage:import packages with go list in
// the directory it runs in, so the compile runs inside magefiles/ and the
// targets run here.
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/magefile/mage/mage"
)

func main() {
	inv, cmd, err := mage.Parse(io.Discard, io.Discard, os.Args[1:])
	if err != nil || cmd != mage.None {
		os.Exit(mage.Main()) // help, -version, -init, -clean, -compile, bad flags
	}
	os.Exit(run(inv, log.New(os.Stderr, "", 0)))
}

// run compiles the magefiles under the checkout's lock, then runs them.
func run(inv mage.Invocation, errlog *log.Logger) int {
	here, err := filepath.Abs(inv.Dir)
	if err != nil {
		errlog.Println("Error:", err)
		return 1
	}
	dir := filepath.Join(inv.CacheDir, fmt.Sprintf("checkout-%x", sha256.Sum256([]byte(here)))[:25])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		errlog.Printf("Error: %v (set MAGEFILE_CACHE to a writable folder)", err)
		return 1
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
	}
	if err != nil {
		errlog.Printf("Error: locking the compile of the magefiles: %v (set MAGEFILE_CACHE to a writable folder)", err)
		return 1
	}
	if inv.WorkDir == "" {
		inv.WorkDir = here
	} else if inv.WorkDir, err = filepath.Abs(inv.WorkDir); err != nil {
		errlog.Println("Error:", err)
		return 1
	}
	if st, err := os.Stat(filepath.Join(here, "magefiles", "go.mod")); err == nil && st.Mode().IsRegular() {
		if err := os.Chdir(filepath.Join(here, "magefiles")); err != nil {
			errlog.Println("Error:", err)
			return 1
		}
		inv.Dir = "."
	}
	inv.Stdin, inv.Stdout, inv.Stderr = os.Stdin, os.Stdout, os.Stderr
	exe, own := filepath.Join(dir, "mage"), filepath.Join(dir, fmt.Sprintf("mage.%d", os.Getpid()))
	done := make(chan struct{})
	if _, err := os.Stat(exe); err != nil {
		// The one long silence of a first run, otherwise: go downloads
		// plugship's tool module and compiles the targets.
		errlog.Println("compiling the targets: a first run downloads and builds plugship's tool (a minute or two) ...")
		go stillCompiling(done)
	}
	inv.CompileOut, inv.Force = exe, true // compile only; go build relinks only what changed
	code := mage.Invoke(inv)
	close(done)
	if code != 0 {
		return code
	}
	_ = os.Remove(own)
	if err := os.Link(exe, own); err != nil {
		errlog.Println("Error:", err)
		return 1
	}
	defer os.Remove(own)
	lock.Close()
	inv.CompileOut = ""
	return mage.RunCompiled(inv, own, errlog)
}

// stillCompiling says every few seconds, until done is closed, how long
// the first compile has taken: on a terminal by redrawing one line, in a
// log by a line each 8s.
func stillCompiling(done <-chan struct{}) {
	fi, err := os.Stderr.Stat()
	terminal := err == nil && fi.Mode()&os.ModeCharDevice != 0
	every := 8 * time.Second
	if terminal {
		every = time.Second
	}
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			if terminal {
				fmt.Fprint(os.Stderr, "\r\x1b[K")
			}
			return
		case <-t.C:
			line := fmt.Sprintf("  still compiling the targets: %s", time.Since(start).Round(time.Second))
			if terminal {
				fmt.Fprint(os.Stderr, "\r"+line+"\x1b[K")
			} else {
				fmt.Fprintln(os.Stderr, line)
			}
		}
	}
}
