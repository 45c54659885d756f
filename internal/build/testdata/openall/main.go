package main

import (
	"fmt"
	"os"
	"plugin"

	"github.com/plugship/plugship/contract"
)

func main() {
	for _, f := range os.Args[1:] {
		p, err := plugin.Open(f)
		if err != nil {
			fmt.Println("open", err)
			continue
		}
		s, err := p.Lookup("Showcase")
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(f, s.(func() contract.Plugin)().Version())
	}
}
