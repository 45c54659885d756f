package profile

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestExtractLeavesOutTheSourcesFolder: the tree of a profile at a git ref
// lacks the configured sources folder, and only it.
func TestExtractLeavesOutTheSourcesFolder(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"src/", "src/acme/good/main.go", "srcx/keep.go", "plugin_sources/acme/x.go", "contract/contract.go", "go.mod"} {
		h := &tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg}
		if name[len(name)-1] == '/' {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	for sources, want := range map[string][]string{
		"src":            {"srcx/keep.go", "plugin_sources/acme/x.go", "contract/contract.go", "go.mod"},
		"plugin_sources": {"src/acme/good/main.go", "srcx/keep.go", "contract/contract.go", "go.mod"},
	} {
		dir := t.TempDir()
		if err := extract(tar.NewReader(bytes.NewReader(buf.Bytes())), dir, sources); err != nil {
			t.Fatal(err)
		}
		for _, f := range want {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("sources %s: %s missing: %v", sources, f, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, sources)); err == nil {
			t.Errorf("sources %s: extracted", sources)
		}
	}
}
