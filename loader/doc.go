// Package loader is what host programs import to load plugins safely: it
// finds the version-named plugin files in a folder, checks them newest
// first, and opens the newest that passes every check, surviving the ones
// that crash, hang or do not fit.
//
// A host names its own contract, an interface declared in the package its
// plugins import (see [Contract]), and gets plugins back as that type:
//
//	var symbols = loader.Symbols{Accessor: "Greeter", Element: "GreeterElement"} // as in plugship.yaml
//
//	func main() {
//		loader.HandleProbe[contract.Greeter](symbols) // first thing: lets the loader probe plugins in a child
//		policy, err := trust.Load("trust.json")         // or trust.Parse of an embedded copy
//		...
//		g, report, err := loader.Load[contract.Greeter](ctx, "plugins/hello", "hello",
//			loader.Options{Trust: policy, Symbols: symbols})
//		log.Print(report)
//		if err != nil { ... }
//		fmt.Println(g.Greet("team"))
//	}
//
// The candidates are the files named for this platform and for the host's
// own ABI (see [OwnABI]): a host computes the ABI tag of its executable
// (Go release, the settings that must match, the fingerprints of runtime
// and the contract) exactly as the build computes it for each plugin file,
// so with several host profiles in a fleet each host picks the builds made
// for it; files of other ABIs are named in the error when nothing passed.
// A host's own tag also carries its module graph (a hash of every module
// it links and its version): files built against a host executable from
// another repository (a binary or module profile) carry it too, so two
// hosts that differ only in a shared module's version each take their own
// file, while files built from the host's own repository carry none and
// serve every host of their ABI.
//
// For each candidate, newest version first, Load:
//
//  1. verifies the file's signature before anything reads it as code: it
//     must be signed by a key of the team that owns the plugin
//     ([Options].Trust, package trust). An unsigned or foreign-signed file
//     is never opened, not even in a probe;
//  2. compares it statically with the running host: Go release, build
//     settings, module versions and the fingerprint of every package both
//     contain (package internal/fingerprint), and the file's own ABI with
//     the one its name claims. A difference is certain
//     failure, and another Go minor release would kill the host in
//     plugin.Open, so such a file is never opened; the report lists every
//     difference, not just the first as the runtime does;
//  3. probes it in a child process: the host's own executable, re-executed,
//     opens the file, looks up the contract's symbol (an accessor func() T,
//     or a variable of type T, where T is the host's contract; a symbol of
//     another type is refused with both types named, see [Resolve]), checks
//     that Version() matches the file name and calls IsAcceptable(), with
//     a timeout. A plugin that panics or calls os.Exit in init, or hangs,
//     costs only the child;
//  4. opens the winner in this process and repeats the symbol, version and
//     IsAcceptable checks there.
//
// Any failure moves on to the next older version. The [Report] lists every
// candidate with one [Outcome] and a reason, for logs (String) or tools
// (WriteJSON).
//
// # The probe
//
// A probe is the host binary started again with [ProbeEnv] set.
// [HandleProbe] at the top of main turns such a process into a probe before
// the host does anything else. Without it, the probe still works once the
// child's main reaches Load, but it first runs whatever main does before
// that (parsing flags, opening ports). A probe costs one process start,
// about 5-10 ms. Options.InProcess skips it, at the risk documented there.
//
// A probe runs in a session and process group of its own. When it ends,
// passed, crashed or timed out, every process left in that session (what
// the plugin's init or IsAcceptable started) is killed, on Linux before the
// probe is reaped; only a process that leaves the session itself
// (setsid) escapes, which a cgroup (a systemd unit) contains. The loader
// counts only report lines signed with a key made for that one probe,
// which the probe reads through a pipe of its own and closes before
// plugin.Open: the key is never in the environment, the arguments or an
// open descriptor of the plugin's code. A plugin that writes reports of
// its own, or exits with any status in init, Version or IsAcceptable,
// crashes its probe. This keeps a plugin from passing its probe by
// accident or by forging reports; it is no sandbox: plugin code that
// searches its process's memory for the key can find it, which is why
// only signed files are ever probed.
//
// # A host's own check
//
// A host that someone else releases (a Nakama server) does not call
// HandleProbe, and re-executing it would start it. For such a host,
// Options.Check names the host's own command for trying plugins, such as
// {host} check --runtime.path {dir}: [Try] runs it on a fresh folder that
// holds only a copy of the candidate, named as the host expects
// (Options.CheckFile), with the probe's containment and timeout, and its
// exit status decides (outcome CheckFailed, its last lines of output the
// reason). Options.PreflightOnly stops Try after verification and the
// preflight, for a host that can be neither probed nor checked. The
// compatibility matrix and plugship install use both.
//
// # Warnings
//
// Plugins cannot be unloaded. A file is opened in the host only after it
// passed the probe, but its code then stays for the life of the process;
// to take a new version, restart the process.
//
// The preflight reads ELF files only (Linux, FreeBSD). Hosts must be built
// like plugins: CGO_ENABLED=1, -trimpath, the same Go release and the same
// module versions; go build -trimpath from this module does that.
//
// The file is verified, then read again to be opened; someone who can
// write to the plugin folder between the two can swap it. Keep plugin
// folders writable only by whoever installs plugins.
package loader
