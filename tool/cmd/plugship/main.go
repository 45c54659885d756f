// Command plugship starts a new plugin repository that uses plugship.
//
// Usage:
//
//	plugship init [-dir folder] [-version vX.Y.Z] [-replace checkout] <module path>
//
// For example, in an empty folder:
//
//	go run github.com/plugship/plugship/tool/cmd/plugship@v1.2.3 init example.com/acme
//
// init writes a Go module (contract, one team with one plugin, a reference
// host, compat/hosts.yaml, plugship.yaml, the mage bootstrap, GitHub Actions
// workflows and a README) into the current folder, or -dir, which must be
// empty or not exist, then runs go mod tidy there. The module requires
// plugship at -version, by default the version of this plugship; a plugship
// built from a checkout has none, so then pass -version, or -replace with
// the checkout's path (go.mod then requires v0.0.0 and replaces it with
// that folder: for machines without the module proxy, and for tests).
//
// Mirror copies published plugins to a store that hosts elsewhere reach:
//
//	plugship mirror <from> <to>
//
// <from> is a channel folder, an index's URL, a GitHub repository's URL
// or an OCI registry's repository (oci://<registry>/<repository>); <to>
// is a registry's repository or a channel folder. Every version, with
// its signatures, provenance, metadata and checksums, then the index and
// the matrix, are copied; what <to> has already is not copied again.
// Registries are reached with Docker's credentials (docker login), a
// private GitHub repository with PLUGSHIP_TOKEN or GITHUB_TOKEN.
//
// Yank withdraws a published version from hosts, in the repository's
// publish target (as go run mage.go yank does), and unyank gives it back:
//
//	plugship yank [-dir repository] <team>/<plugin>@<version> -reason "..."
//	plugship unyank [-dir repository] <team>/<plugin>@<version>
//
// Exit status: 0 done, 1 failure (nothing is written when a check fails),
// 2 bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"

	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/scaffold"
)

// The exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `usage: plugship <command> [flags]

commands:
  init [-dir folder] [-version vX.Y.Z] [-replace checkout] <module path>
        write a new plugin repository into an empty or new folder
  init -host nakama -host-binary URL -host-sha256 HEX [flags] <module path>
        the same, for plugins of a host someone else releases
  yank [-dir repository] <team>/<plugin>@<version> -reason "..."
        withdraw a published version: hosts skip it, nothing is deleted
  unyank [-dir repository] <team>/<plugin>@<version>
        give a yanked version back to hosts
  mirror <from> <to>
        copy every published version, with its signatures and the index,
        from a channel, GitHub or a registry into a registry (oci://...)
        or a channel folder, for sites that reach only their own

plugship install, which runs where hosts run, is a module of its own:
  go run github.com/plugship/plugship/cmd/plugship@VERSION install ...

Run plugship <command> -h for its flags.
Exit status: 0 done, 1 failure, 2 bad usage.
Docs: https://github.com/plugship/plugship/blob/main/docs/adopting.md
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
	case "init":
		return runInit(ctx, args[1:], stdout, stderr)
	case "mirror":
		return runMirror(ctx, args[1:], stdout, stderr)
	case "yank", "unyank":
		return runYank(ctx, args[0], args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "plugship: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "the `folder` to write into: it must be empty or not exist")
	version := fs.String("version", "", "the plugship `version` go.mod requires (default: this plugship's version)")
	replace := fs.String("replace", "", "a plugship `checkout` that go.mod's replace directive points at")
	hostKind := fs.String("host", "", "make a repository of plugins for a host someone else releases: `kind` is one of "+strings.Join(scaffold.PresetNames(), ", "))
	hostBinary := fs.String("host-binary", "", "with -host: the host's release executable, by `URL` (or a path in the new repository)")
	hostSHA := fs.String("host-sha256", "", "with -host: the `SHA-256` of the file -host-binary names")
	hostMember := fs.String("host-member", "", "with -host and a release archive (.tar.gz, .tgz, .zip) as -host-binary: the executable's `path` inside it (default: the preset's, nakama)")
	hostRelease := fs.String("host-release", "", "with -host: the host's `release`, for names (default: the preset's)")
	contractMod := fs.String("contract-module", "", "with -host: the host's contract `module@version`, the version its release links (default: the preset's)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: plugship init [-dir folder] [-version vX.Y.Z] [-replace checkout] <module path>\n"+
			"       plugship init -host nakama -host-binary URL -host-sha256 HEX [flags] <module path>\n\n"+
			"Writes a new plugin repository for the module path, e.g. example.com/acme,\n"+
			"into an empty or new folder, then runs go mod tidy there. With -host, the\n"+
			"repository's plugins are for a host someone else releases: its contract is\n"+
			"the host's symbols, and they are built against the host's release binary.\n\n")
		fs.PrintDefaults()
	}
	// Flags may come before and after the module path.
	if err := fs.Parse(args); err != nil {
		return flagStatus(err)
	}
	module := fs.Arg(0)
	if fs.NArg() > 1 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return flagStatus(err)
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "plugship init: one module path, not %q and %q\n", module, fs.Arg(0))
			return exitUsage
		}
	}
	if module == "" {
		fs.Usage()
		return exitUsage
	}
	if *version == "" && *replace == "" {
		v, ok := ownVersion()
		if !ok {
			fmt.Fprintf(stderr, "plugship init: this plugship has no release version (%s): pass -version vX.Y.Z, or -replace <path to a plugship checkout>\n", v)
			return exitUsage
		}
		*version = v
	}
	var host *scaffold.Host
	if *hostKind != "" {
		preset, ok := scaffold.Presets[*hostKind]
		if !ok {
			fmt.Fprintf(stderr, "plugship init: -host %q: want one of %s\n", *hostKind, strings.Join(scaffold.PresetNames(), ", "))
			return exitUsage
		}
		host = &preset
		host.Binary, host.SHA256 = *hostBinary, *hostSHA
		if *hostMember != "" {
			host.Member = *hostMember
		}
		if *hostRelease != "" {
			host.Release = *hostRelease
		}
		if *contractMod != "" {
			m, v, ok := strings.Cut(*contractMod, "@")
			if !ok {
				fmt.Fprintf(stderr, "plugship init: -contract-module %q: want module@version, such as %s@%s\n", *contractMod, preset.ContractModule, preset.ContractVersion)
				return exitUsage
			}
			host.ContractModule, host.ContractVersion = m, v
		}
	} else if *hostBinary != "" || *hostSHA != "" || *hostMember != "" || *hostRelease != "" || *contractMod != "" {
		fmt.Fprintln(stderr, "plugship init: -host-binary, -host-sha256, -host-member, -host-release and -contract-module go with -host")
		return exitUsage
	}
	err := scaffold.Init(ctx, scaffold.Options{Dir: *dir, Module: module, Version: *version, Replace: *replace, Out: stdout, Host: host})
	if err != nil {
		fmt.Fprintln(stderr, "plugship init:", err)
		return exitFailure
	}
	return exitOK
}

func runMirror(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mirror", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: plugship mirror <from> <to>\n\n"+
			"Copies every plugin version <from>'s index lists, with its signatures,\n"+
			"provenance and metadata, then the index and the matrix, into <to>.\n"+
			"<from>: a channel folder, an index's URL, a GitHub repository's URL, or\n"+
			"oci://<registry>/<repository>. <to>: oci://<registry>/<repository> or a\n"+
			"channel folder. What <to> holds already is not copied again.\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagStatus(err)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return exitUsage
	}
	token := os.Getenv("PLUGSHIP_TOKEN")
	if token == "" {
		token = os.Getenv("GITHUB_TOKEN")
	}
	if err := publish.Mirror(ctx, publish.MirrorOptions{From: fs.Arg(0), To: fs.Arg(1), Token: token}, stdout); err != nil {
		fmt.Fprintln(stderr, "plugship mirror:", err)
		return exitFailure
	}
	return exitOK
}

func runYank(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "the plugin repository (its plugship.yaml says where it publishes)")
	reason := ""
	if cmd == "yank" {
		fs.StringVar(&reason, "reason", "", "why, for the people who run hosts: every host that skips the version prints it (required)")
	}
	fs.Usage = func() {
		if cmd == "yank" {
			fmt.Fprint(fs.Output(), "usage: plugship yank [-dir repository] <team>/<plugin>@<version> -reason \"...\"\n\n"+
				"Withdraws a published version where the repository publishes (the registry\n"+
				"of PLUGSHIP_REGISTRY or plugship.yaml, GitHub with GITHUB_TOKEN and\n"+
				"GITHUB_REPOSITORY, else dist/channel): index.json records it, and fetch,\n"+
				"plugship install, Load and Watch skip it. Nothing is deleted.\n")
		} else {
			fmt.Fprint(fs.Output(), "usage: plugship unyank [-dir repository] <team>/<plugin>@<version>\n\n"+
				"Gives a yanked version back to hosts.\n")
		}
		fs.PrintDefaults()
	}
	// The version may come before the flags: plugship yank a/b@1.0.0 -reason x.
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return flagStatus(err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	if err := publish.Yank(ctx, publish.Options{Root: *dir}, pos[0], reason, cmd == "unyank", stdout); err != nil {
		fmt.Fprintf(stderr, "plugship %s: %v\n", cmd, err)
		return exitFailure
	}
	return exitOK
}

// flagStatus is the exit status after a flag parsing error: -h is no error.
func flagStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// ownVersion is the version of the running plugship's module, as go run
// pkg@version or go install records it. A build in a checkout has none
// ("(devel)") or one with a +dirty suffix; ok is false then.
func ownVersion() (v string, ok bool) {
	info, found := debug.ReadBuildInfo()
	if !found || info.Main.Version == "" {
		return "no build information", false
	}
	v = info.Main.Version
	if v == "(devel)" {
		return "built from a checkout: (devel)", false
	}
	if err := scaffold.CheckVersion(v); err != nil {
		return "built as " + v, false
	}
	return v, true
}
