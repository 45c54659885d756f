package artifact

import (
	"reflect"
	"strings"
	"testing"
)

func TestIndex(t *testing.T) {
	ix, err := ParseIndex(nil)
	if err != nil || len(ix.Entries) != 0 {
		t.Fatalf("empty index: %v %v", ix, err)
	}
	ix.Put(Entry{Team: "payments", Plugin: "fraud", Version: "1.2.0", File: "fraud_v1.2.0_linux_amd64.so"})
	ix.Put(Entry{Team: "payments", Plugin: "fraud", Version: "1.10.0", File: "fraud_v1.10.0_linux_amd64.so"})
	ix.Put(Entry{Team: "labs", Plugin: "uptime", Version: "1.0.0", File: "uptime_v1.0.0_linux_amd64.so"})
	// Team "ab" plugin "c" is not team "a" plugin "bc": the two sort apart.
	ix.Put(Entry{Team: "a", Plugin: "bc", Version: "1.0.0", File: "bc_v1.0.0_linux_amd64.so"})
	ix.Put(Entry{Team: "ab", Plugin: "c", Version: "2.0.0", File: "c_v2.0.0_linux_amd64.so"})
	ix.Put(Entry{Team: "payments", Plugin: "fraud", Version: "1.2.0", File: "fraud_v1.2.0_linux_amd64.so", SHA256: "new"})
	data, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range back.Entries {
		order = append(order, e.File)
	}
	if strings.Join(order, " ") != "bc_v1.0.0_linux_amd64.so c_v2.0.0_linux_amd64.so uptime_v1.0.0_linux_amd64.so fraud_v1.10.0_linux_amd64.so fraud_v1.2.0_linux_amd64.so" || back.Entries[4].SHA256 != "new" {
		t.Errorf("entries %v", back.Entries)
	}
	for _, bad := range []string{`{"schema":"x"}`, `{"schema":"plugship.index/v2","extra":1}`, `[`} {
		if _, err := ParseIndex([]byte(bad)); err == nil {
			t.Errorf("ParseIndex(%s) accepted", bad)
		}
	}
}

// FuzzParseIndex: index.json comes from the network; parsing must not
// panic and accepted input must round-trip.
func FuzzParseIndex(f *testing.F) {
	ix := &Index{Schema: IndexSchema, Entries: []Entry{{Team: "t", Plugin: "p", Version: "1.0.0", File: "p_v1.0.0_linux_amd64.so", Assets: map[string]string{"p_v1.0.0_linux_amd64.so": "t/p/v1.0.0/p_v1.0.0_linux_amd64.so"}}}}
	data, _ := ix.Marshal()
	f.Add(data)
	f.Add([]byte(`{"schema":"plugship.index/v2","plugins":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ParseIndex(data)
		if err != nil {
			return
		}
		out, err := ix.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseIndex(out)
		if err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
		if len(again.Entries) != len(ix.Entries) || len(ix.Entries) > 0 && !reflect.DeepEqual(again.Entries[0].ABI, ix.Entries[0].ABI) {
			t.Fatalf("round trip changed the index")
		}
	})
}

// TestYank: an index that yanks nothing stays v2 (older loaders read it);
// one that yanks is v3, and unyanking the last makes it v2 again.
func TestYank(t *testing.T) {
	ix, _ := ParseIndex(nil)
	ix.Put(Entry{Team: "payments", Plugin: "fraud", Version: "1.2.0", File: "fraud_v1.2.0_linux_amd64.so"})
	data, _ := ix.Marshal()
	if !strings.Contains(string(data), `"plugship.index/v2"`) || strings.Contains(string(data), "yanked") {
		t.Fatalf("an index without yanks:\n%s", data)
	}
	if !ix.Yank(Yank{Team: "payments", Plugin: "fraud", Version: "1.2.0", Reason: "CVE-2026-1"}) || ix.Yank(Yank{Team: "payments", Plugin: "fraud", Version: "1.2.0", Reason: "CVE-2026-1"}) {
		t.Error("Yank reports no change, or a change for the same yank")
	}
	data, _ = ix.Marshal()
	back, err := ParseIndex(data)
	if err != nil || back.Schema != IndexSchemaV3 {
		t.Fatalf("yanked index: %v, schema %s:\n%s", err, back.Schema, data)
	}
	if y, ok := back.YankOf("", "fraud", "1.2.0"); !ok || y.String() != "yanked: CVE-2026-1" {
		t.Errorf("YankOf = %v %v", y, ok)
	}
	if _, ok := back.YankOf("labs", "fraud", "1.2.0"); ok {
		t.Error("another team's plugin of the same name is yanked")
	}
	if !back.Unyank("payments", "fraud", "1.2.0") || back.Unyank("payments", "fraud", "1.2.0") {
		t.Error("Unyank")
	}
	if data, _ = back.Marshal(); !strings.Contains(string(data), `"plugship.index/v2"`) {
		t.Errorf("unyanked index is not v2:\n%s", data)
	}
	for _, bad := range []string{
		`{"schema":"plugship.index/v2","plugins":[],"yanked":[]}`,
		`{"schema":"plugship.index/v4","plugins":[]}`,
	} {
		if _, err := ParseIndex([]byte(bad)); err == nil {
			t.Errorf("ParseIndex(%s) accepted", bad)
		}
	}
}
