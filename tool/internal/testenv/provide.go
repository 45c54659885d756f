package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/profile"
)

// plugshipModule is plugship's own module, whose tests need more tools.
const plugshipModule = "github.com/plugship/plugship"

// What plugship's own tests fetch through the module proxy besides the
// module graphs of the checkout, so that go run mage.go test fetches it
// before the tests run, saying so, rather than a test in the middle of the
// run. They are plugtest.OtherGo, nakamatest.GoVersion and the modules of
// the Nakama test host (TestTestFetches keeps them equal); the tool that
// runs the tests does not link those test helpers.
var (
	testToolchains = map[string]string{
		"go1.25.5": "plugins of another Go release (plugtest.OtherGo)",
		"go1.26.5": "the Nakama 3.40.0 test host (nakamatest)",
	}
	testModules = []string{
		"github.com/heroiclabs/nakama-common@v1.47.0", // nakamatest: the contract Nakama 3.40.0 links
		"google.golang.org/protobuf@v1.36.11",         // nakamatest: the protobuf it requires
	}
	// testCommands are the stock clients the tests check plugship's
	// output with, built by go install at a version into the user cache
	// folder and put on PATH for the tests.
	testCommands = []GoCommand{
		{Name: "oras", Package: "oras.land/oras/cmd/oras", Version: "v1.3.6", Why: "TestStockClients pulls a published plugin file and lists its referrers with it"},
		{Name: "cosign", Package: "github.com/sigstore/cosign/v2/cmd/cosign", Version: "v2.6.5", Why: "TestStockClients checks the pulled signature with cosign verify-blob"},
	}
)

// GoCommand is a command the tests need that go install builds.
type GoCommand struct {
	Name             string // the command, as the tests look it up on PATH
	Package, Version string // what go install builds: Package@Version
	Why              string // which tests need it
}

// Tool is a command the tests need on PATH.
type Tool struct {
	Command string // looked up on PATH
	Package string // the Debian package that installs it; "" if none is known
	Why     string // which tests need it
}

func (t Tool) String() string {
	s := t.Command
	if t.Package != "" {
		s += " (Debian package " + t.Package + ")"
	}
	return s + ": " + t.Why
}

// Needs is what the tests of a repository need.
type Needs struct {
	Tools      []Tool
	Toolchains map[string]string // Go release, e.g. go1.25.5 -> why
	Modules    []string          // path@version of modules outside the checkout's graphs
	Commands   []GoCommand       // built with go install and put on PATH
}

// goEnv is what Needs reads of go env.
type goEnv struct {
	CC, CGO_ENABLED, GOOS, GOARCH, GOVERSION, GOPROXY string
}

func readGoEnv(ctx context.Context) (goEnv, error) {
	var e goEnv
	out, err := exec.CommandContext(ctx, "go", "env", "-json", "CC", "CGO_ENABLED", "GOOS", "GOARCH", "GOVERSION", "GOPROXY").Output()
	if err != nil {
		return e, fmt.Errorf("go env: %v: is Go installed and on PATH?", err)
	}
	err = json.Unmarshal(out, &e)
	return e, err
}

// Find returns what the tests of the repository at root need.
func Find(ctx context.Context, root string) (*Needs, error) {
	c, err := config.Load(root)
	if err != nil {
		return nil, err
	}
	env, err := readGoEnv(ctx)
	if err != nil {
		return nil, err
	}
	n := &Needs{Toolchains: map[string]string{}}
	cc := strings.Fields(env.CC)
	if len(cc) == 0 {
		cc = []string{"gcc"}
	}
	n.add(Tool{Command: cc[0], Package: "gcc", Why: "the C compiler of cgo (go env CC), which plugins need"})
	profiles, err := profile.Load(c.HostsFile())
	if err != nil {
		return nil, err
	}
	for _, p := range profiles {
		if p.Go != "" && p.Go != env.GOVERSION {
			n.Toolchains[p.Go] = "profile " + p.Name + " in " + c.Hosts
		}
		if p.CC != "" {
			n.add(Tool{Command: p.CC, Package: crossPackage(p.CC), Why: "the C compiler of profile " + p.Name + " in " + c.Hosts})
		}
	}
	if c.Module == plugshipModule {
		for v, why := range testToolchains {
			n.Toolchains[v] = why
		}
		n.Modules = testModules
		n.Commands = testCommands
		n.add(Tool{Command: "gcc", Package: "gcc", Why: "tests build a C library with gcc"})
		n.add(Tool{Command: "chromium", Package: "chromium", Why: "TestHTMLRendersInChromium renders the matrix page in it"})
		switch env.GOARCH {
		case "amd64":
			n.add(Tool{Command: "aarch64-linux-gnu-gcc", Package: "gcc-aarch64-linux-gnu", Why: "TestCrossProfile builds plugins for linux/arm64 with it"})
		case "arm64":
			n.add(Tool{Command: "x86_64-linux-gnu-gcc", Package: "gcc-x86-64-linux-gnu", Why: "TestCrossProfile builds plugins for linux/amd64 with it"})
		default:
			return nil, fmt.Errorf("TestCrossProfile builds for the other of amd64 and arm64; this machine is %s: run the tests on linux/amd64 or linux/arm64", env.GOARCH)
		}
	}
	return n, nil
}

// add adds t unless its command is already listed.
func (n *Needs) add(t Tool) {
	if !slices.ContainsFunc(n.Tools, func(o Tool) bool { return o.Command == t.Command }) {
		n.Tools = append(n.Tools, t)
	}
}

// crossPackage is the Debian package of a GNU cross compiler named
// <triplet>-gcc: gcc-<triplet>, underscores as dashes.
func crossPackage(cc string) string {
	triplet, ok := strings.CutSuffix(filepath.Base(cc), "-gcc")
	if !ok || !strings.Contains(triplet, "-linux-") {
		return ""
	}
	return "gcc-" + strings.ReplaceAll(triplet, "_", "-")
}

// Missing returns the tools not on PATH.
func (n *Needs) Missing() []Tool {
	var missing []Tool
	for _, t := range n.Tools {
		if _, err := exec.LookPath(t.Command); err != nil {
			missing = append(missing, t)
		}
	}
	return missing
}

// Installer installs Debian packages: Prefix is nil as root, [sudo -n]
// with password-less sudo; CanInstall is false when neither works or there
// is no apt-get.
type Installer struct {
	CanInstall bool
	Prefix     []string
}

// DetectInstaller finds how this process can install Debian packages.
func DetectInstaller(ctx context.Context) Installer {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return Installer{}
	}
	if os.Geteuid() == 0 {
		return Installer{CanInstall: true}
	}
	if exec.CommandContext(ctx, "sudo", "-n", "true").Run() == nil {
		return Installer{CanInstall: true, Prefix: []string{"sudo", "-n"}}
	}
	return Installer{}
}

// Command is the shell command that installs pkgs, for a person to run.
func Command(pkgs []string) string {
	sudo := "sudo "
	if os.Geteuid() == 0 {
		sudo = ""
	}
	return fmt.Sprintf("%sapt-get update && %sapt-get install -y --no-install-recommends %s", sudo, sudo, strings.Join(pkgs, " "))
}

// AptCommands are the commands Install runs for pkgs, in order: the
// package lists, a simulation that says what would change, and the
// install itself, of the packages and what they depend on only (no
// recommended packages: a daemon, a print server), upgrading no package
// that is already installed unless a dependency needs it.
func AptCommands(pkgs []string) (update, simulate, install []string) {
	update = []string{"apt-get", "update", "-qq"}
	simulate = append([]string{"apt-get", "install", "--simulate", "--no-install-recommends", "--no-upgrade"}, pkgs...)
	install = append([]string{"apt-get", "install", "-y", "-qq", "--no-install-recommends", "--no-upgrade"}, pkgs...)
	return update, simulate, install
}

// aptPlan reads a simulation's "Inst" lines: the packages apt would
// install, and those it would upgrade ("Inst name [old] (new ...)").
func aptPlan(simulation string) (install, upgrade []string) {
	for _, line := range strings.Split(simulation, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "Inst" {
			continue
		}
		if len(f) > 2 && strings.HasPrefix(f[2], "[") {
			upgrade = append(upgrade, f[1])
		} else {
			install = append(install, f[1])
		}
	}
	return install, upgrade
}

// packages returns the Debian packages of tools, and the tools without one.
func packages(tools []Tool) (pkgs []string, unknown []Tool) {
	for _, t := range tools {
		if t.Package == "" {
			unknown = append(unknown, t)
		} else if !slices.Contains(pkgs, t.Package) {
			pkgs = append(pkgs, t.Package)
		}
	}
	return pkgs, unknown
}

// Stop is the error for tools that are missing and cannot be installed
// here: it lists them and says what to run.
func Stop(missing []Tool, inst Installer) error {
	var b strings.Builder
	b.WriteString("the tests need what this machine lacks:\n")
	for _, t := range missing {
		fmt.Fprintf(&b, "  %s\n", t)
	}
	pkgs, unknown := packages(missing)
	if len(unknown) > 0 {
		b.WriteString("Put on PATH the commands without a Debian package above.\n")
	}
	if len(pkgs) > 0 {
		if _, err := exec.LookPath("apt-get"); err != nil {
			fmt.Fprintf(&b, "Install the packages with your system's package manager (Debian and Ubuntu name them %s).\n", strings.Join(pkgs, " "))
		} else if !inst.CanInstall {
			fmt.Fprintf(&b, "Installing needs root (this process is not root, and sudo -n cannot run apt-get without a password). Run:\n  %s\n", Command(pkgs))
		} else {
			fmt.Fprintf(&b, "Install the packages with:\n  %s\n", Command(pkgs))
		}
	}
	b.WriteString("then run go run mage.go test again")
	return errors.New(b.String())
}

// Install installs the Debian packages of the missing tools, then checks
// they are on PATH.
func (n *Needs) Install(ctx context.Context, inst Installer, out io.Writer) error {
	missing := n.Missing()
	if len(missing) == 0 {
		return nil
	}
	pkgs, unknown := packages(missing)
	if !inst.CanInstall || len(unknown) > 0 {
		return Stop(missing, inst)
	}
	fmt.Fprintf(out, "installing %s for the tests (%s)\n", strings.Join(pkgs, " "), Command(pkgs))
	update, simulate, install := AptCommands(pkgs)
	for i, args := range [][]string{update, simulate, install} {
		args = append(append(slices.Clip(inst.Prefix), "env", "DEBIAN_FRONTEND=noninteractive"), args...)
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		var output bytes.Buffer
		cmd.Stdout, cmd.Stderr = &output, &output
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %v\n%s\ninstall them yourself (%s), then run go run mage.go test again", strings.Join(args, " "), err, strings.TrimSpace(output.String()), Command(pkgs))
		}
		if i == 1 {
			adds, ups := aptPlan(output.String())
			fmt.Fprintf(out, "  apt-get installs %d packages: %s\n", len(adds), strings.Join(adds, " "))
			if len(ups) > 0 {
				fmt.Fprintf(out, "  and upgrades %d installed ones their dependencies need: %s\n", len(ups), strings.Join(ups, " "))
			}
		}
	}
	if still := n.Missing(); len(still) > 0 {
		return fmt.Errorf("still missing after installing %s: %s", strings.Join(pkgs, " "), still[0])
	}
	return nil
}
