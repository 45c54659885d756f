// Package scaffold creates a new plugin repository that uses plugship: what
// plugship init writes (see cmd/plugship).
//
// [Init] writes, into an empty or new folder, a Go module with a contract
// package, one team with one plugin, a reference host, compat/hosts.yaml,
// plugship.yaml, the mage bootstrap and magefile, GitHub Actions workflows
// and a README, then runs go mod tidy so that go.sum exists. The module
// requires github.com/plugship/plugship at [Options.Version], or at v0.0.0
// replaced by a local checkout ([Options.Replace]).
//
// With [Options.Host] (plugship init -host nakama, see [Presets]), the
// repository is one of plugins for a host someone else releases: no
// contract or reference host of its own, a go.mod that requires the
// host's contract module at the host's version and nothing of plugship's,
// the contract made of the host's symbols, a binary profile of the host's
// executable (or release archive) with its sha256, the host's check
// command, and a Dockerfile that runs plugship install. Those templates
// are in template-host/, beside the ones of template/ they share.
//
// The files come from text/template templates embedded from template/ (each
// named after the file it makes, plus ".tmpl", so Go tooling does not
// compile them); go.mod is written with golang.org/x/mod/modfile.
//
// # Warnings
//
//   - Init refuses a folder that holds anything, and writes nothing then. It
//     writes each file atomically (a temporary file renamed), but not the set:
//     if a write fails, it removes the files it already wrote.
//   - go mod tidy needs the module proxy (or a module cache holding
//     plugship's dependencies); when it fails, the files stay written and
//     the error says to run it again.
//   - Nothing generated imports plugship's internal packages or its own
//     contract package: an adopter's repository depends only on plugship's
//     public packages (loader, trust, targets).
package scaffold
