// Package symbols is the contract made of symbols: for hosts that someone
// else releases (a Nakama server, eKuiper, Tyk), which look a plugin's
// symbols up by name and assert their exact types, rather than calling an
// accessor of plugship's seed contract. plugship.yaml lists them:
//
//	contract:
//	  package: github.com/heroiclabs/nakama-common/runtime
//	  symbols:
//	    - InitModule func(context.Context, runtime.Logger, *sql.DB, runtime.NakamaModule, runtime.Initializer) error
//	  imports: [database/sql]
//
// Each symbol is its name and, written as Go source, the type of the value
// plugin.Lookup returns for it, which is the type the host asserts: a
// function's own type for a function, *T for a variable of type T. The
// qualifiers in a type are package names: the contract package's (the
// last element of its path), those of contract.imports ("path" or "name
// path"), and a few standard library packages known by name (see [Std]).
//
// The build checks every symbol at compile time with a file that exists
// only in its overlay ([Contract.CheckSource]): the compiler decides type
// identity, exactly as the host's type assertion will. The compatibility
// matrix's stand-in for a host that has no check command of its own opens
// each plugin and asserts the same types ([Contract.StandInSource]).
package symbols
