// Package install is plugship install: it puts the right verified file of
// each plugin into the plugin folder of a host that someone else releases
// (a Nakama server), where the host runs, with no repository and no mage.
//
// For a host executable, an index and the plugins named, [Install] fetches
// the published files built for that executable's ABI (read from the
// executable; fetch.Options.Host) into a cache outside the folder, checks
// each one's digest, signature and provenance under the trust policy, and
// tries them newest first with loader.Try: the preflight against the
// executable and, when given, the host's own check command on a folder
// holding only that file. The first that passes is copied into the folder
// under the host's name for it ({plugin}.so), through a temporary file
// and a rename. The file it replaces is kept in .plugship/<plugin>.previous
// for [Rollback], and .plugship/<plugin>.json records what is installed.
// Neither ends in .so: a host that opens every *.so under its folder
// never opens them. When some plugin has no version that fits, nothing is
// changed, and the plans say why for each candidate.
package install
