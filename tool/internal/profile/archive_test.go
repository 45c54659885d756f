package profile

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A release archive's executable is extracted once into the cache, under
// a name of the archive's digest; a member that is not there is refused,
// naming the archive's files.
func TestExtractMember(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"nakama-3.40.0/nakama": "the server", "nakama-3.40.0/README.md": "read me"}
	tgz := filepath.Join(dir, "nakama-3.40.0-linux-amd64.tar.gz")
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "nakama-3.40.0/", Typeflag: tar.TypeDir, Mode: 0o755})
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))})
		tw.Write([]byte(data))
	}
	tw.Close()
	gz.Close()
	if err := os.WriteFile(tgz, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	zipFile := filepath.Join(dir, "gateway.zip")
	b.Reset()
	zw := zip.NewWriter(&b)
	for name, data := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(data))
	}
	zw.Close()
	if err := os.WriteFile(zipFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(dir, "dist")
	for _, archive := range []string{tgz, zipFile} {
		p := Profile{Name: "nakama-3-40-0", Binary: archive, Member: "./nakama-3.40.0/nakama"}
		out, err := extractMember(dist, p, archive)
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		if data, _ := os.ReadFile(out); string(data) != "the server" || !strings.HasPrefix(out, filepath.Join(dist, HostBinariesDir)) {
			t.Errorf("%s: extracted %s holding %q", archive, out, data)
		}
		if st, err := os.Stat(out); err != nil || st.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: %s is not executable: %v", archive, out, err)
		}
		again, err := extractMember(dist, p, archive)
		if err != nil || again != out {
			t.Errorf("%s: the second extraction gave %s, %v", archive, again, err)
		}
		p.Member = "nakama"
		if _, err := extractMember(dist, p, archive); err == nil || !strings.Contains(err.Error(), `holds no file "nakama" (member); its files: `) || !strings.Contains(err.Error(), "nakama-3.40.0/nakama") {
			t.Errorf("%s: a missing member: %v", archive, err)
		}
	}
	for _, c := range []struct{ yaml, want string }{
		{"profiles:\n  - name: n\n    binary: https://example.com/n.tar.gz\n    sha256: " + strings.Repeat("a", 64) + "\n", "profiles[0].member: profile n's binary https://example.com/n.tar.gz is an archive: add member"},
		{"profiles:\n  - name: n\n    binary: hosts/n\n    member: n\n", "profiles[0].member: profile n's binary hosts/n is not an archive"},
		{"profiles:\n  - name: n\n    member: n\n", "profiles[0].member: only a profile with binary (an archive) has a member"},
	} {
		if _, err := Parse([]byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q", c.yaml, err, c.want)
		}
	}
	if ps, err := Parse([]byte("profiles:\n  - name: n\n    binary: https://example.com/n.TGZ?x=1\n    member: bin/n\n    sha256: " + strings.Repeat("a", 64) + "\n")); err != nil || ps[0].Member != "bin/n" {
		t.Errorf("an archive by URL with a member: %+v, %v", ps, err)
	}
}
