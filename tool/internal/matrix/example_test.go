package matrix_test

import (
	"fmt"
	"os"

	"github.com/plugship/plugship/tool/internal/matrix"
)

// A release is compared with the previous one, then judged: a cell that
// passed and fails now is a regression, and the verdict says so first.
func ExampleCompare() {
	host := matrix.Host{Name: "showcase", ABI: "go1.26.8-aaaaaaaa", MustAccept: []string{"payments"}}
	fraud := func(version string) matrix.Plugin {
		return matrix.Plugin{Team: "payments", Plugin: "fraud", Version: version, ABI: host.ABI}
	}
	previous := &matrix.Matrix{Schema: matrix.Schema, Hosts: []matrix.Host{host}, Plugins: []matrix.Plugin{fraud("1.0.0")},
		Cells: []matrix.Cell{{Plugin: fraud("1.0.0").ID(), Host: "showcase", Outcome: matrix.OK}}}
	current := &matrix.Matrix{Schema: matrix.Schema, Hosts: []matrix.Host{host}, Plugins: []matrix.Plugin{fraud("1.1.0"), fraud("1.0.0")},
		Cells: []matrix.Cell{
			{Plugin: fraud("1.1.0").ID(), Host: "showcase", Outcome: matrix.OK},
			{Plugin: fraud("1.0.0").ID(), Host: "showcase", Outcome: "missing-symbol", Detail: "exports neither Plugin nor NewPlugin"},
		}}
	current.Changes = matrix.Compare(previous, current, "dist/previous/matrix.json")
	current.Judge()
	fmt.Println(current.Verdict.Line)
	current.Changes.Text(os.Stdout)
	// Output:
	// NOT ready: 1 regression
	// 1 change, 1 regression; 1 new version, 0 gone; 0 new hosts
	// compared with dist/previous/matrix.json
	//   regression  payments/fraud@1.0.0 in showcase: ok -> missing symbol: exports neither Plugin nor NewPlugin
	//   new version payments/fraud@1.1.0
}
