// Command plugship-supervise keeps a host running where there is no
// systemd: it runs the command it is given and
//
//   - restarts it at once when it exits with loader.RestartExitStatus (75):
//     a newer plugin is ready;
//   - restarts it after -backoff when it crashes (any other failure), unless
//     it crashed more than -max-crashes times within -crash-window, in which
//     case it gives up with the host's status;
//   - exits 0 when the host exits 0, and passes SIGINT and SIGTERM on to it.
//
// Usage:
//
//	plugship-supervise [-backoff 1s] [-max-crashes 5] [-crash-window 1m] -- host [args...]
//
// The equivalent systemd unit has Restart=on-failure and
// RestartForceExitStatus=75 (see the README).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/plugship/plugship/loader"
)

func main() {
	backoff := flag.Duration("backoff", time.Second, "wait before restarting a crashed host")
	maxCrashes := flag.Int("max-crashes", 5, "give up after this many crashes within -crash-window")
	window := flag.Duration("crash-window", time.Minute, "the window -max-crashes counts in")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: plugship-supervise [flags] -- host [args...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	var crashes []time.Time
	for {
		cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "supervise:", err)
			os.Exit(1)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		stopping := false
	wait:
		for {
			select {
			case s := <-signals:
				stopping = true
				cmd.Process.Signal(s)
			case err = <-done:
				break wait
			}
		}
		status := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
		} else if err != nil {
			status = 1
		}
		switch {
		case stopping || status == 0:
			os.Exit(status)
		case status == loader.RestartExitStatus:
			fmt.Fprintln(os.Stderr, "supervise: the host asked for a restart")
			continue
		}
		now := time.Now()
		crashes = append(crashes, now)
		for len(crashes) > 0 && now.Sub(crashes[0]) > *window {
			crashes = crashes[1:]
		}
		if len(crashes) > *maxCrashes {
			fmt.Fprintf(os.Stderr, "supervise: the host crashed %d times within %v; giving up\n", len(crashes), *window)
			os.Exit(max(status, 1))
		}
		fmt.Fprintf(os.Stderr, "supervise: the host exited with %v; restarting in %v\n", err, *backoff)
		time.Sleep(*backoff)
	}
}
