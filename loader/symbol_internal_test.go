package loader

import (
	"reflect"
	"testing"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/trust"
)

func TestTypeString(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{func() contract.Plugin { return nil }, "func() github.com/plugship/plugship/contract.Plugin"},
		{new(contract.Plugin), "*github.com/plugship/plugship/contract.Plugin"},
		{new(int), "*int"},
		{func(string, ...int) (int, error) { return 0, nil }, "func(string, ...int) (int, error)"},
		{map[string][]*trust.Policy{}, "map[string][]*github.com/plugship/plugship/trust.Policy"},
		{func(func()) {}, "func(func())"},
	} {
		if got := typeString(reflect.TypeOf(c.v)); got != c.want {
			t.Errorf("typeString(%T) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestContractPackage(t *testing.T) {
	if got := ContractPackage[contract.Plugin](); got != "github.com/plugship/plugship/contract" {
		t.Errorf("ContractPackage[contract.Plugin] = %q", got)
	}
	if got := ContractPackage[interface {
		Version() string
		IsAcceptable() bool
	}](); got != "" {
		t.Errorf("ContractPackage of an interface literal = %q, want empty", got)
	}
	if got := TypeName[contract.Plugin](); got != "github.com/plugship/plugship/contract.Plugin" {
		t.Errorf("TypeName[contract.Plugin] = %q", got)
	}
}
