// Command plugship is the part of plugship that runs where hosts run: in a
// Dockerfile's RUN step or on a server, with no repository and no mage.
//
// Usage:
//
//	plugship install -host EXE -index INDEX -trust trust.json -dir FOLDER [flags] plugin...
//	plugship install -rollback -dir FOLDER plugin...
//
// For example, for a Nakama server:
//
//	go run github.com/plugship/plugship/cmd/plugship@v1.2.3 install \
//	    -host /nakama/nakama -index https://github.com/acme/nakama-plugins \
//	    -trust /nakama/trust.json -dir /nakama/data/modules \
//	    -check '{host} check --runtime.path {dir}' greeter
//
// install takes, for each plugin, the newest published version that is
// signed by its team under the trust policy, built for the host
// executable's ABI (read from the executable), passes the preflight
// against it and, with -check, the host's own check command run on a
// folder that holds only that file; it writes that version into the
// folder as {plugin}.so (-name), atomically, and keeps the file it
// replaced for -rollback. When some plugin has no version that fits, it
// changes nothing, says why for each candidate and exits 1. -dry-run
// prints the decision and changes nothing.
//
// INDEX is a channel folder or its index.json, its URL, a GitHub
// repository's URL, or an OCI registry's repository,
// oci://<registry>/<repository> (one file of it with :<tag> or
// @sha256:<digest>), read with Docker's credentials (docker login). Files
// signed with a team's key and files signed keylessly (Sigstore) are both
// verified.
//
// It is a module of its own, github.com/plugship/plugship/cmd/plugship,
// which links the keyless and oci modules: nothing of theirs enters the
// module graph of hosts that import github.com/plugship/plugship.
//
// The commands that make and build plugin repositories (plugship init)
// are in the tool module: go run github.com/plugship/plugship/tool/cmd/plugship.
//
// Exit status: 0 done, 1 failure, 2 bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"time"

	"github.com/plugship/plugship/internal/install"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/oci"
)

// The exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `usage: plugship <command> [flags]

commands:
  install -host EXE -index INDEX -trust FILE -dir FOLDER [flags] plugin...
        install the newest verified version of each plugin that fits the
        host executable into its plugin folder
  install -rollback -dir FOLDER plugin...
        put back the files the last install replaced

plugship init, which makes a plugin repository, is in the tool module:
  go run github.com/plugship/plugship/tool/cmd/plugship@VERSION init ...

Run plugship <command> -h for its flags.
Exit status: 0 done, 1 failure, 2 bad usage.
Docs: https://github.com/plugship/plugship/blob/main/docs/hosts-you-dont-control.md
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "install":
		return runInstall(ctx, args[1:], stdout, stderr)
	case "init":
		fmt.Fprintf(stderr, "plugship: init is in the tool module, with what building needs:\n  go run github.com/plugship/plugship/tool/cmd/plugship@%s init %s\n", version(), strings.Join(args[1:], " "))
		return exitUsage
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "plugship: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

// version is this plugship's module version, "latest" when built from a
// checkout.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.Main.Version, "v") {
		return bi.Main.Version
	}
	return "latest"
}

func runInstall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o install.Options
	var trustFile, check string
	var rollback, asJSON bool
	fs.StringVar(&o.Host, "host", "", "the host executable: its ABI and build decide which files fit (required)")
	fs.StringVar(&o.Index, "index", "", "the published index (required): a channel folder or its index.json, its URL, a GitHub repository's URL, or an OCI registry's repository oci://<registry>/<repository> (or one file of it, :<tag> or @sha256:<digest>)")
	fs.StringVar(&trustFile, "trust", "", "the trust policy, trust.json (required): only files its teams signed are installed")
	fs.StringVar(&o.Dir, "dir", "", "the host's plugin folder (required)")
	fs.StringVar(&o.Name, "name", install.DefaultName, "the file name a plugin takes in the folder; may hold {plugin} and {version}")
	fs.StringVar(&check, "check", "", "the host's own check command, split at spaces, e.g. '{host} check --runtime.path {dir}': {host} is -host, {dir} a folder holding only the candidate as -name, {file} its path")
	fs.StringVar(&o.Contract, "contract", "", "the contract package, for indexes that name none (default: the index's)")
	fs.StringVar(&o.Cache, "cache", "", "where files are downloaded (default: the user cache folder's plugship/install)")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "bounds each run of the check command")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the decision for every candidate and change nothing")
	fs.BoolVar(&rollback, "rollback", false, "put back the files the last install replaced")
	fs.BoolVar(&asJSON, "json", false, "print the decisions as JSON")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: plugship install -host EXE -index INDEX -trust FILE -dir FOLDER [flags] plugin...\n       plugship install -rollback -dir FOLDER plugin...\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	o.Plugins = fs.Args()
	o.Token = os.Getenv("PLUGSHIP_TOKEN")
	if o.Token == "" {
		o.Token = os.Getenv("GITHUB_TOKEN")
	}
	if rollback {
		done, err := install.Rollback(o)
		for _, d := range done {
			fmt.Fprintf(stdout, "rolled back %s\n", d)
		}
		if err != nil {
			fmt.Fprintf(stderr, "plugship install -rollback: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	if check != "" {
		o.Check = strings.Fields(check)
	}
	if trustFile == "" {
		fmt.Fprintln(stderr, "plugship install: no trust policy: pass -trust trust.json (the policy the plugins' repository publishes, dist/trust.json): nothing unverified is installed")
		return exitUsage
	}
	policy, err := keyless.Load(trustFile) // key signatures and keyless ones
	if err != nil {
		fmt.Fprintf(stderr, "plugship install: the trust policy: %v\n", err)
		return exitFailure
	}
	o.Trust = policy
	o.Registry = oci.New()
	plans, err := install.Install(ctx, o)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(plans)
	} else {
		install.Report(stdout, plans, o.DryRun)
	}
	if err != nil {
		fmt.Fprintf(stderr, "plugship install: %v\n", err)
		return exitFailure
	}
	return exitOK
}
