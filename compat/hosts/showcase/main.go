// Command showcase is the reference host of the seed blog post: it picks the
// newest acceptable version of a plugin from a folder and says which.
//
//	showcase -trust dist/trust.json [-fetch index.json] [-watch] [-strict] [-plugin showcase] [-json] [-timeout 10s] [-in-process] <plugin folder>
//	showcase -quarantine [-clear] [-plugin showcase] <plugin folder>
//
// On success it prints the seed's line,
//
//	Found newest valid plugin version: "0.2.0"
//
// to standard output, and one line per other candidate, saying why it was
// skipped, to standard error. With -json it prints the loader's decision
// report instead. It exits 1 when no version is acceptable and 2 on bad
// usage.
//
// With -watch it keeps running after choosing, watching the folder; when a
// newer version arrives and passes the loader's checks it exits with
// loader.RestartExitStatus (75) so that its supervisor restarts it. If it
// dies within -healthy-after of choosing a version, its next start
// quarantines that version and rolls back; -quarantine lists the
// quarantined files and -clear empties the list.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/trust"
)

// The symbols this host looks up. Empty means the contract's; a build can
// set them with -ldflags=-X to make a host of another contract version (see
// compat/hosts.yaml).
var accessor, element string

func main() {
	symbols := loader.Symbols{Accessor: cmp.Or(accessor, contract.AccessorSymbol), Element: cmp.Or(element, contract.ElementSymbol)}
	loader.HandleProbe[contract.Plugin](symbols) // answer the loader's probe when started as one

	trustFile := flag.String("trust", "", "the trust policy `file` (plugship's sign step writes dist/trust.json); required")
	strict := flag.Bool("strict", false, "refuse plugins signed with development keys")
	name := flag.String("plugin", "showcase", "the plugin's `name`, as in its file names")
	watch := flag.Bool("watch", false, "keep running; exit with status 75 (restart) when a newer version passes the checks")
	healthyAfter := flag.Duration("healthy-after", 0, "with -watch: a version the host dies with sooner than this after choosing it is quarantined (e.g. 30s; 0: no quarantine)")
	listQuarantine := flag.Bool("quarantine", false, "list the quarantined versions in the folder and exit")
	clear := flag.Bool("clear", false, "with -quarantine: clear the quarantine")
	index := flag.String("fetch", "", "first fetch the plugin's published versions into the folder from this `index` (a channel's index.json, or its URL)")
	jsonOut := flag.Bool("json", false, "print the loader's decision report as JSON")
	timeout := flag.Duration("timeout", loader.DefaultProbeTimeout, "how long one probe may take")
	inProcess := flag.Bool("in-process", false, "open candidates in this process instead of probing them in a child (unsafe)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: showcase [flags] <plugin folder>\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 1 && *listQuarantine {
		os.Exit(quarantine(flag.Arg(0), *name, *clear))
	}
	if flag.NArg() != 1 || *trustFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	policy, err := trust.Load(*trustFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "showcase:", err)
		os.Exit(1)
	}
	policy.Strict = *strict
	if *index != "" {
		abi, err := loader.OwnABI[contract.Plugin]("")
		if err != nil {
			fmt.Fprintln(os.Stderr, "showcase:", err)
			os.Exit(1)
		}
		fetched, err := fetch.Plugins(context.Background(), fetch.Options{
			Index: *index, Plugin: *name, Dir: flag.Arg(0), Trust: policy, Token: os.Getenv("GITHUB_TOKEN"), ABI: abi})
		for _, f := range fetched {
			fmt.Fprintf(os.Stderr, "%s %s %s\n", f.Outcome, f.File, f.Reason)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "showcase: fetching:", err)
		}
	}
	// Watch checks candidates as Try does: it ignores InProcess and
	// HealthyAfter, so the same options serve both.
	opts := loader.Options{Trust: policy, Symbols: symbols, ProbeTimeout: *timeout, InProcess: *inProcess, HealthyAfter: *healthyAfter}
	p, report, err := loader.Load[contract.Plugin](context.Background(), flag.Arg(0), *name, opts)
	if *jsonOut {
		if werr := report.WriteJSON(os.Stdout); werr != nil {
			fmt.Fprintln(os.Stderr, "showcase:", werr)
			os.Exit(1)
		}
	} else {
		for _, d := range report.Candidates {
			if d.Outcome != loader.Chosen && d.Outcome != loader.NotTried {
				fmt.Fprintf(os.Stderr, "skipped %s: %s: %s\n", d.File, d.Outcome, d.Reason)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "showcase:", err)
		os.Exit(1)
	}
	if !*jsonOut {
		fmt.Printf("Found newest valid plugin version: %q\n", p.Version())
	}
	if *watch {
		watchAndRestart(flag.Arg(0), *name, p.Version(), opts)
	}
}

// watchAndRestart waits for a newer version that passes the checks, or
// for the running one to be yanked, then exits for a restart.
func watchAndRestart(dir, name, current string, opts loader.Options) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := loader.Watch[contract.Plugin](ctx, loader.WatchOptions{Options: opts, Dir: dir, Plugin: name, Current: current,
		OnIgnored: func(d *loader.Decision) {
			fmt.Fprintf(os.Stderr, "ignored %s: %s: %s\n", d.File, d.Cause, d.Reason)
		}})
	if err != nil {
		if ctx.Err() != nil {
			loader.MarkHealthy(dir, name) // asked to stop: a planned exit
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "showcase: watch:", err)
		os.Exit(1)
	}
	if d.Outcome == loader.Yanked {
		fmt.Printf("Running plugin version %q is yanked: %s; restarting to choose another (exit status %d)\n", d.Version, d.Reason, loader.RestartExitStatus)
	} else {
		fmt.Printf("Newer plugin version %q passed the checks; restarting (exit status %d)\n", d.Version, loader.RestartExitStatus)
	}
	if err := loader.MarkHealthy(dir, name); err != nil {
		fmt.Fprintln(os.Stderr, "showcase:", err)
	}
	os.Exit(loader.RestartExitStatus)
}

// quarantine lists, and with clear empties, the folder's quarantine.
func quarantine(dir, name string, clear bool) int {
	s, err := loader.ReadState(dir, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "showcase:", err)
		return 1
	}
	for _, q := range s.Quarantine {
		fmt.Printf("%s  %s  %s\n", q.File, q.At.Format(time.RFC3339), q.Reason)
	}
	if len(s.Quarantine) == 0 {
		fmt.Println("nothing is quarantined")
	}
	if clear {
		if _, err := loader.ClearQuarantine(dir, name); err != nil {
			fmt.Fprintln(os.Stderr, "showcase:", err)
			return 1
		}
		fmt.Printf("cleared %d\n", len(s.Quarantine))
	}
	return 0
}
