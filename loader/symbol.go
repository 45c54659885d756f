package loader

import (
	"errors"
	"fmt"
	"plugin"
	"reflect"
	"strings"
)

// Contract is what every plugin contract has: a host's contract is an
// interface with these two methods and whatever else its plugins provide,
// for example
//
//	type Greeter interface {
//		Version() string    // must equal the version in the file name
//		IsAcceptable() bool // false: fit to load, not to run here
//		Greet(name string) string
//	}
//
// The host passes it as the type argument of [Load], [HandleProbe],
// [Watch] and [OwnABI]. It must be a named interface type declared in the
// contract package that hosts and plugins share: that package's import path
// is part of the ABI.
type Contract interface {
	Version() string
	IsAcceptable() bool
}

// Symbols are the names a host looks up in a plugin, as in plugship.yaml
// (contract.accessor and contract.element).
type Symbols struct {
	Accessor string // a func() T; default DefaultSymbols.Accessor
	Element  string // a var of type T; default DefaultSymbols.Element
}

// DefaultSymbols are the names plugship.yaml defaults to (those of the seed
// contract, github.com/plugship/plugship/contract).
var DefaultSymbols = Symbols{Accessor: "Showcase", Element: "ShowcaseElement"}

func (s Symbols) withDefaults() Symbols {
	if s.Accessor == "" {
		s.Accessor = DefaultSymbols.Accessor
	}
	if s.Element == "" {
		s.Element = DefaultSymbols.Element
	}
	return s
}

// ErrMissingSymbol marks a plugin that exports neither symbol.
var ErrMissingSymbol = errors.New("missing symbol")

// ErrWrongType marks a symbol of the wrong type.
var ErrWrongType = errors.New("wrong type")

// Resolve finds the contract's entry point in an opened plugin: the
// accessor names.Accessor (a func() T) if the plugin exports it, else the
// variable names.Element (which plugin.Lookup returns as a *T). A symbol of
// another type is an error wrapping ErrWrongType that names the symbol, the
// type found and the type expected, with full package paths:
//
//	wrong type: symbol Greeter has type func() github.com/plugship/plugship/contract.Plugin, want func() example.com/acme/contract.Greeter
func Resolve[T Contract](p *plugin.Plugin, names Symbols) (T, error) {
	var zero T
	names = names.withDefaults()
	want := TypeName[T]()
	if s, err := p.Lookup(names.Accessor); err == nil {
		f, ok := s.(func() T)
		if !ok {
			return zero, fmt.Errorf("%w: symbol %s has type %s, want func() %s", ErrWrongType, names.Accessor, typeString(reflect.TypeOf(s)), want)
		}
		v := f()
		if any(v) == nil {
			return zero, fmt.Errorf("%s() returned nil", names.Accessor)
		}
		return v, nil
	}
	s, err := p.Lookup(names.Element)
	if err != nil {
		return zero, fmt.Errorf("%w: exports neither %s (func() %s) nor %s (var %s)", ErrMissingSymbol, names.Accessor, want, names.Element, want)
	}
	ptr, ok := s.(*T)
	if !ok {
		return zero, fmt.Errorf("%w: symbol %s has type %s, want *%s (a variable of type %s)", ErrWrongType, names.Element, typeString(reflect.TypeOf(s)), want, want)
	}
	if any(*ptr) == nil {
		return zero, fmt.Errorf("variable %s is nil", names.Element)
	}
	return *ptr, nil
}

// TypeName is the contract type's name with its package's import path,
// such as example.com/acme/contract.Greeter.
func TypeName[T Contract]() string { return typeString(reflect.TypeFor[T]()) }

// ContractPackage is the import path of the package that declares T: the
// package whose fingerprint is part of the ABI. It is empty when T is not
// a named type.
func ContractPackage[T Contract]() string { return reflect.TypeFor[T]().PkgPath() }

// typeString writes t as Go source would, but with every named type
// qualified by its full import path, so that two packages both called
// contract can be told apart.
func typeString(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	if t.Name() != "" {
		if t.PkgPath() != "" {
			return t.PkgPath() + "." + t.Name()
		}
		return t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeString(t.Elem())
	case reflect.Slice:
		return "[]" + typeString(t.Elem())
	case reflect.Map:
		return "map[" + typeString(t.Key()) + "]" + typeString(t.Elem())
	case reflect.Func:
		var in, out []string
		for i := range t.NumIn() {
			s := typeString(t.In(i))
			if t.IsVariadic() && i == t.NumIn()-1 {
				s = "..." + strings.TrimPrefix(s, "[]")
			}
			in = append(in, s)
		}
		for i := range t.NumOut() {
			out = append(out, typeString(t.Out(i)))
		}
		s := "func(" + strings.Join(in, ", ") + ")"
		switch len(out) {
		case 0:
		case 1:
			s += " " + out[0]
		default:
			s += " (" + strings.Join(out, ", ") + ")"
		}
		return s
	}
	return t.String()
}
