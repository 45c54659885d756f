package artifact

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleMetadata() *Metadata {
	return &Metadata{
		Schema: MetadataSchema, Team: "payments", Plugin: "fraud", Version: "1.3.0",
		File:   "fraud_v1.3.0_linux_amd64_go1.26.8-1a2b3c4d.so",
		SHA256: strings.Repeat("ab", 32), Size: 42,
		GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64", ABI: "go1.26.8-1a2b3c4d",
		PluginPath: "github.com/plugship/plugship/plugin_sources/payments/fraud/_plugship/v1.3.0",
		Settings:   map[string]string{"-buildmode": "plugin", "-trimpath": "true"},
		Module:     Module{Path: "github.com/plugship/plugship", Version: "(devel)"},
		Source:     "plugin_sources/payments/fraud",
	}
}

func TestMetadataValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Metadata)
		err    string
	}{
		{"valid", func(*Metadata) {}, ""},
		{"schema", func(m *Metadata) { m.Schema = "plugship.build/v0" }, "schema"},
		{"team", func(m *Metadata) { m.Team = "../x" }, "team"},
		{"file name", func(m *Metadata) { m.File = "fraud.so" }, "file"},
		{"file disagrees", func(m *Metadata) { m.Version = "1.3.1" }, "does not match"},
		{"platform disagrees", func(m *Metadata) { m.GOARCH = "arm64" }, "does not match"},
		{"sha256", func(m *Metadata) { m.SHA256 = "abc" }, "sha256"},
		{"size", func(m *Metadata) { m.Size = -1 }, "size"},
	} {
		m := sampleMetadata()
		tc.change(m)
		err := m.Validate()
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: Validate() = %v, want error containing %q", tc.name, err, tc.err)
		}
	}
}

func TestParseMetadata(t *testing.T) {
	data, err := sampleMetadata().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, sampleMetadata()) {
		t.Errorf("round trip changed metadata: %+v", m)
	}
	for _, tc := range []struct{ data, err string }{
		{`{"schema":"plugship.build/v2","colour":"red"}`, `unknown field "colour"`},
		{`{"schema":`, "not valid JSON"},
		{string(data) + `{}`, "after the JSON object"},
		{`{"schema":"plugship.build/v2"}`, "team"},
		{strings.Repeat(" ", MaxMetadataSize+1), "larger than"},
	} {
		if _, err := ParseMetadata([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseMetadata(%.40q...) = %v, want error containing %q", tc.data, err, tc.err)
		}
	}
}

func TestReadMetadataNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(path, []byte(`{"schema":"other"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMetadata(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "schema") {
		t.Errorf("ReadMetadata = %v, want an error naming %s and the schema", err, path)
	}
}

func TestCheckDetectsChangedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fraud_v1.3.0_linux_amd64_go1.26.8-1a2b3c4d.so")
	if err := os.WriteFile(path, []byte("plugin bytes"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := sampleMetadata()
	var err error
	if m.SHA256, m.Size, err = HashFile(path); err != nil {
		t.Fatal(err)
	}
	if err := m.Check(path); err != nil {
		t.Fatalf("Check of the described file: %v", err)
	}
	if err := os.WriteFile(path, []byte("plugin bytez"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Check(path); err == nil || !strings.Contains(err.Error(), "differs from its metadata") {
		t.Errorf("Check of a changed file = %v", err)
	}
}

func TestAtomicWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "meta.json")
	for i, want := range []bool{true, false} {
		wrote, err := WriteFileIfChanged(path, []byte("one"), 0o644)
		if err != nil || wrote != want {
			t.Fatalf("write %d: wrote=%v err=%v, want wrote=%v", i, wrote, err, want)
		}
	}
	st1, _ := os.Stat(path)
	if wrote, err := WriteFileIfChanged(path, []byte("two"), 0o644); err != nil || !wrote {
		t.Fatalf("changed content: wrote=%v err=%v", wrote, err)
	}
	st2, _ := os.Stat(path)
	if os.SameFile(st1, st2) {
		t.Errorf("file was rewritten in place, want a new file renamed over it")
	}

	src := filepath.Join(dir, "staged.so")
	os.WriteFile(src, []byte("so bytes"), 0o644)
	dst := filepath.Join(dir, "out", "final.so")
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := CopyFileAtomic(dst, src, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != "so bytes" {
		t.Fatalf("copied %q, %v", got, err)
	}
	if st, _ := os.Stat(dst); st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(dst))
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the output: %v", entries)
	}
	if err := CopyFileAtomic(filepath.Join(dir, "missing", "x.so"), src, 0o755); err == nil {
		t.Errorf("copy into a missing folder succeeded")
	}
}

// FuzzParseMetadata checks that accepted metadata survives a round trip
// through Marshal unchanged.
func FuzzParseMetadata(f *testing.F) {
	data, _ := sampleMetadata().Marshal()
	f.Add(data)
	f.Add([]byte(`{"schema":"plugship.build/v2"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata(data)
		if err != nil {
			return
		}
		again, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseMetadata(again)
		if err != nil {
			t.Fatalf("re-parsing marshalled metadata: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed %+v to %+v", m, m2)
		}
	})
}
