package loader

import (
	"errors"
	"fmt"
	"plugin"

	"github.com/plugship/plugship/contract"
)

// Symbols are the names a host looks up in a plugin.
type Symbols struct {
	Accessor string // a func() contract.Plugin; default contract.AccessorSymbol
	Element  string // a var of type contract.Plugin; default contract.ElementSymbol
}

// DefaultSymbols are this contract's.
var DefaultSymbols = Symbols{Accessor: contract.AccessorSymbol, Element: contract.ElementSymbol}

func (s Symbols) withDefaults() Symbols {
	if s.Accessor == "" {
		s.Accessor = contract.AccessorSymbol
	}
	if s.Element == "" {
		s.Element = contract.ElementSymbol
	}
	return s
}

// ErrMissingSymbol marks a plugin that exports neither symbol.
var ErrMissingSymbol = errors.New("missing symbol")

// ErrWrongType marks a symbol of the wrong type.
var ErrWrongType = errors.New("wrong type")

// Resolve finds the contract's entry point in an opened plugin: the
// accessor contract.AccessorSymbol (a func() contract.Plugin) if the plugin
// exports it, else the variable contract.ElementSymbol (which
// plugin.Lookup returns as a *contract.Plugin). A symbol of another type is
// an error naming the symbol, the type found and the type expected.
func Resolve(p *plugin.Plugin) (contract.Plugin, error) { return ResolveSymbols(p, DefaultSymbols) }

// ResolveSymbols is Resolve with other symbol names, for hosts of another
// contract version.
func ResolveSymbols(p *plugin.Plugin, names Symbols) (contract.Plugin, error) {
	names = names.withDefaults()
	if s, err := p.Lookup(names.Accessor); err == nil {
		f, ok := s.(func() contract.Plugin)
		if !ok {
			return nil, fmt.Errorf("%w: symbol %s has type %T, want func() contract.Plugin", ErrWrongType, names.Accessor, s)
		}
		v := f()
		if v == nil {
			return nil, fmt.Errorf("%s() returned nil", names.Accessor)
		}
		return v, nil
	}
	s, err := p.Lookup(names.Element)
	if err != nil {
		return nil, fmt.Errorf("%w: exports neither %s (func() contract.Plugin) nor %s (var contract.Plugin)", ErrMissingSymbol, names.Accessor, names.Element)
	}
	ptr, ok := s.(*contract.Plugin)
	if !ok {
		return nil, fmt.Errorf("%w: symbol %s has type %T, want *contract.Plugin (a variable of type contract.Plugin)", ErrWrongType, names.Element, s)
	}
	if *ptr == nil {
		return nil, fmt.Errorf("variable %s is nil", names.Element)
	}
	return *ptr, nil
}
