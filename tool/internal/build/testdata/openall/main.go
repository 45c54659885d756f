// Command openall is a test host: it opens every plugin file named on its
// command line in this one process, looks up the contract's symbol (the
// accessor function, else the variable) and prints, per file:
//
//	<file> <Version()> <IsAcceptable()>
//
// A file that fails prints "<file> ERROR <reason>" and the exit status is 1.
package main

import (
	"fmt"
	"os"
	"plugin"

	"github.com/plugship/plugship/contract"
)

func main() {
	status := 0
	for _, f := range os.Args[1:] {
		p, err := open(f)
		if err != nil {
			fmt.Printf("%s ERROR %v\n", f, err)
			status = 1
			continue
		}
		fmt.Printf("%s %s %v\n", f, p.Version(), p.IsAcceptable())
	}
	os.Exit(status)
}

func open(file string) (contract.Plugin, error) {
	p, err := plugin.Open(file)
	if err != nil {
		return nil, err
	}
	if s, err := p.Lookup(contract.AccessorSymbol); err == nil {
		f, ok := s.(func() contract.Plugin)
		if !ok {
			return nil, fmt.Errorf("%s is %T", contract.AccessorSymbol, s)
		}
		return f(), nil
	}
	s, err := p.Lookup(contract.ElementSymbol)
	if err != nil {
		return nil, err
	}
	v, ok := s.(*contract.Plugin)
	if !ok {
		return nil, fmt.Errorf("%s is %T", contract.ElementSymbol, s)
	}
	return *v, nil
}
