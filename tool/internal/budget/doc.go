// Package budget holds the module budgets of what plugship puts into
// other programs' module graphs, and the tests that keep them.
//
// A Go plugin loads only into a host that links exactly the same version
// of every package both contain, so every module a host links is a
// version pinned for every plugin of that host, and every module in the
// graph plugins are built in can raise a version they share with a host.
// Two lists, committed here, say what plugship may add:
//
//   - loader-host.modules: the modules a minimal host that imports the
//     loader and trust links, besides the standard library and plugship's
//     own light module (at most 5, and at most 5.75 MB over a bare
//     plugin.Open host, see maxLoaderGrowth);
//   - scaffold-plugins.modules: the modules of the graph a repository made
//     with plugship init builds its plugins in.
//
// The tests fail when either grows, naming what was added; a module that
// left the graph is reported too, so that the list is kept exact. The
// keyless host (github.com/plugship/plugship/keyless) is measured beside
// them, with no budget: it is the opt-in that carries sigstore-go.
package budget
