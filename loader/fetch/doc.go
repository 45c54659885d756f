// Package fetch copies published plugin files into a host's plugin
// folder: it reads a published index.json (a local channel, a GitHub
// release index, or any URL), downloads every version of one plugin for
// the host's platform and ABI, and gives each file its final name only
// once its size, sha256 and signature check out, so that loader.Load then
// chooses among them.
//
// When the trust policy names an index signer (trust.Policy.IndexSigner,
// which plugship's sign step writes), the index must come with its
// signed statement, index.statement.json beside it: signed by that
// signer, naming this index's content, not expired, and not older than
// the statement the folder accepted last, which Plugins keeps there
// (artifact.FetchedStatementFile). Otherwise nothing is fetched and the
// error says which it was (trust.ErrIndexRolledBack and its siblings).
//
//	policy, err := trust.Load("trust.json")
//	...
//	results, err := fetch.Plugins(ctx, fetch.Options{Index: "https://github.com/acme/plugins", Plugin: "fraud", Dir: dir, Trust: policy, ABI: abi})
//	p, report, err := loader.Load[contract.Plugin](ctx, dir, "fraud", loader.Options{Trust: policy})
//
// It is a package of its own, apart from package loader, because it
// links net/http and crypto/tls (about 5 MB of a host's executable, see
// BENCHMARKS.md): a host whose plugins arrive by other means (a package
// manager, plugship install, a volume) does not carry them.
//
// # Warnings
//
// A file is verified before it gets its final name, never opened: opening
// is loader.Load's, which verifies it again. Keep the plugin folder
// writable only by whoever installs plugins.
package fetch
