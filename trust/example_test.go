package trust_test

import (
	_ "embed"
	"fmt"

	"github.com/plugship/plugship/trust"
)

// A host embeds the policy at build time (here a copy written by
// go run mage.go sign), so that nobody who can write to its plugin folder
// can change whom it trusts.
//
//go:embed testdata/trust.json
var embeddedPolicy []byte

func ExampleParse() {
	policy, err := trust.Parse(embeddedPolicy)
	if err != nil {
		fmt.Println(err)
		return
	}
	policy.Strict = true // refuse development keys
	fmt.Println("fraud is signed by team", policy.Plugins["fraud"], "with", len(policy.Teams["payments"].Keys), "key")
	// A file without a signature is refused before anything reads it.
	fmt.Println(policy.Verify("testdata/fraud_v1.3.0_linux_amd64_go1.26.8-1a2b3c4d.so"))
	// Output:
	// fraud is signed by team payments with 1 key
	// not signed: no signature fraud_v1.3.0_linux_amd64_go1.26.8-1a2b3c4d.so.sig; sign it with go run mage.go sign
}
