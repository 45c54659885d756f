package matrix

import (
	"bytes"
	"testing"
)

// FuzzParse feeds matrix.json parsing arbitrary input: it must not panic,
// and an accepted matrix must survive rendering and a round trip.
func FuzzParse(f *testing.F) {
	data, _ := sample().Marshal()
	f.Add(data)
	f.Add([]byte(`{"schema":"` + Schema + `","platform":"linux/amd64",` +
		`"hosts":[{"name":"y","abi":"a","must_accept":["*"]}],` +
		`"plugins":[{"team":"t","plugin":"x","version":"1.0.0","abi":"a"}],` +
		`"cells":[{"plugin":"t/x@1.0.0 a","host":"y","outcome":"panic"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		m.Sort()
		m.Check()
		m.Markdown()
		m.Grid(&bytes.Buffer{})
		if _, err := m.HTML(); err != nil {
			t.Fatal(err)
		}
		again, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(again); err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
	})
}
