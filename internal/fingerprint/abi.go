package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/hostmods"
)

// ContractPackage is the import path of this repository's own contract,
// the seed's. Other repositories name theirs in plugship.yaml; ABI takes
// it as an argument.
const ContractPackage = "github.com/plugship/plugship/contract"

// runtimePackage is the other package every Go binary contains; its
// fingerprint changes with the toolchain and with flags such as -trimpath
// and -race.
const runtimePackage = "runtime"

// abiSettings are the build settings that enter the ABI: those that always
// stop a plugin loading when they differ (see certainSettings).
var abiSettings = certainSettings

// ABI returns the binary's ABI tag, go<version>-<8 hex digits>: the
// digits are a SHA-256 over the Go version, the settings that must match
// (CGO_ENABLED, GOOS, GOARCH, -trimpath, -race, -msan, -asan) and the
// package fingerprints of runtime and of contract, the import path of the
// package every plugin and every loader host share: a host built against
// another contract tree can load none of the plugins built against this
// one. A host computes the
// same tag from its own executable as the build computes from each plugin
// it writes, so a host can pick the files built for it by name alone.
// Equal tags are necessary, not sufficient, for loading: the preflight
// still compares every shared package.
func (fp *Fingerprint) ABI(contract string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "plugship.abi/v1\n%s\n", fp.GoVersion)
	for _, k := range abiSettings {
		v := fp.Settings[k]
		if strings.HasPrefix(k, "-") {
			v = normBool(v)
		}
		fmt.Fprintf(h, "%s=%s\n", k, v)
	}
	for _, pkg := range []string{runtimePackage, contract} {
		sum, ok := fp.Packages[pkg]
		if !ok && pkg == contract {
			return "", fmt.Errorf("%s: does not link the contract package %s, whose fingerprint is part of the ABI: a plugin imports it (its accessor returns the contract's type) and a host links it through Load's type argument; if that is not the contract, correct contract.package in plugship.yaml", fp.File, pkg)
		}
		if !ok {
			return "", fmt.Errorf("%s: no fingerprint of package %s: not a Go plugin or a host that imports package plugin", fp.File, pkg)
		}
		fmt.Fprintf(h, "%s=%s\n", pkg, sum)
	}
	return abiTag(fp.GoVersion, hex.EncodeToString(h.Sum(nil))[:8]), nil
}

// HostABI returns the tag a host executable takes plugins by: its ABI
// (see ABI) followed by its module graph (hostmods.Graph of its build
// info). A plugin file serves it when the file's tag equals this one, or
// equals its ABI alone (artifact.MatchABI).
func (fp *Fingerprint) HostABI(contract string) (string, error) {
	abi, err := fp.ABI(contract)
	if err != nil {
		return "", err
	}
	return artifact.WithGraph(abi, hostmods.Graph(hostmods.HostModules(fp.BuildInfo))), nil
}

// abiTag formats an ABI tag from a Go version (go1.26.8, or devel ones)
// and a hex digest: go1.26.8-1a2b3c4d. Only a-z, 0-9 and "." of the
// version are kept, at most 24 of them, so the tag fits in a file name.
func abiTag(goVersion, digest string) string {
	v := strings.Fields(goVersion)
	word := "go"
	for _, f := range v {
		if strings.HasPrefix(f, "go") {
			word = f
			break
		}
	}
	var b strings.Builder
	for _, r := range strings.ToLower(word) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > 24 {
		s = s[:24]
	}
	return s + "-" + digest
}
