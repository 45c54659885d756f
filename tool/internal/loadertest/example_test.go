package loadertest_test

import (
	"context"
	"fmt"

	"github.com/plugship/plugship/contract"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/trust"
)

// A host picks the newest acceptable showcase plugin. The folder holds
// version 0.3.0, the seed's invalid twin (IsAcceptable returns false), and
// version 0.2.0, both built like this program. The test binary is the
// host here; its TestMain calls loader.HandleProbe first thing, as a
// host's main does.
func Example() {
	policy, err := trust.Load(exampleTrust) // dist/trust.json, written by go run mage.go sign
	if err != nil {
		fmt.Println(err)
		return
	}
	p, report, err := loader.Load[contract.Plugin](context.Background(), exampleDir, "showcase", loader.Options{Trust: policy})
	if err != nil {
		fmt.Println(err)
		fmt.Print(report)
		return
	}
	fmt.Printf("Found newest valid plugin version: %q\n", p.Version())
	for _, d := range report.Candidates {
		fmt.Println(d.Version, d.Outcome, d.Reason)
	}
	// Output:
	// Found newest valid plugin version: "0.2.0"
	// 0.3.0 not-acceptable in the probe: IsAcceptable() returned false
	// 0.2.0 chosen
}
