package loader_test

import (
	"context"
	"fmt"
	"log"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/trust"
)

// A host picks the newest acceptable showcase plugin from its plugin
// folder: verified with its teams' keys, checked against the host
// statically, probed in a child, then opened. The runnable version of
// this example, with real signed plugins, is in plugship's tool module
// (tool/internal/loadertest).
func ExampleLoad() {
	loader.HandleProbe[contract.Plugin](loader.Symbols{}) // first thing in main
	policy, err := trust.Load("/etc/myhost/trust.json")   // dist/trust.json, written by go run mage.go sign
	if err != nil {
		log.Fatal(err)
	}
	p, report, err := loader.Load[contract.Plugin](context.Background(), "/var/lib/myhost/plugins/showcase", "showcase", loader.Options{Trust: policy})
	log.Print(report)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Found newest valid plugin version: %q\n", p.Version())
}
