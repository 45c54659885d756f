package loader

import (
	"errors"
	"fmt"
	"plugin"

	"github.com/plugship/plugship/contract"
)

// Resolve finds the contract's entry point in an opened plugin: the
// accessor contract.AccessorSymbol (a func() contract.Plugin) if the plugin
// exports it, else the variable contract.ElementSymbol (which
// plugin.Lookup returns as a *contract.Plugin). A symbol of another type is
// an error naming the symbol, the type found and the type expected.
func Resolve(p *plugin.Plugin) (contract.Plugin, error) {
	if s, err := p.Lookup(contract.AccessorSymbol); err == nil {
		f, ok := s.(func() contract.Plugin)
		if !ok {
			return nil, fmt.Errorf("symbol %s has type %T, want func() contract.Plugin", contract.AccessorSymbol, s)
		}
		v := f()
		if v == nil {
			return nil, fmt.Errorf("%s() returned nil", contract.AccessorSymbol)
		}
		return v, nil
	}
	s, err := p.Lookup(contract.ElementSymbol)
	if err != nil {
		return nil, errors.New("exports neither " + contract.AccessorSymbol + " (func() contract.Plugin) nor " + contract.ElementSymbol + " (var contract.Plugin)")
	}
	ptr, ok := s.(*contract.Plugin)
	if !ok {
		return nil, fmt.Errorf("symbol %s has type %T, want *contract.Plugin (a variable of type contract.Plugin)", contract.ElementSymbol, s)
	}
	if *ptr == nil {
		return nil, fmt.Errorf("variable %s is nil", contract.ElementSymbol)
	}
	return *ptr, nil
}
