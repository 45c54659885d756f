package fingerprint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func host() *Fingerprint {
	return &Fingerprint{
		GoVersion: "go1.26.8",
		Settings:  map[string]string{"-buildmode": "exe", "-trimpath": "true", "CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v1"},
		Modules:   map[string]string{"example.com/app": "(devel)", "github.com/google/uuid": "v1.6.0 h1:a", "golang.org/x/text": "v0.1.0 h1:b"},
		Packages:  map[string]string{"runtime": "01", "example.com/app/contract": "02", "github.com/google/uuid": "03", "golang.org/x/text/unicode": "04"},
	}
}

func plugin() *Fingerprint {
	p := host()
	p.Settings = map[string]string{"-buildmode": "plugin", "-trimpath": "true", "CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v1"}
	p.Packages = map[string]string{"runtime": "01", "example.com/app/contract": "02", "github.com/google/uuid": "03", "example.com/app/plugins/x": "05"}
	return p
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h, p *Fingerprint)
		want   []string
	}{
		{"same", func(h, p *Fingerprint) {}, nil},
		{"patch release only", func(h, p *Fingerprint) { p.GoVersion = "go1.26.7" }, nil},
		{"GOAMD64 and ldflags do not matter", func(h, p *Fingerprint) { p.Settings["GOAMD64"] = "v3"; p.Settings["-ldflags"] = "-X a=b" }, nil},
		{"trimpath absent equals false", func(h, p *Fingerprint) { h.Settings["-trimpath"] = "false"; delete(p.Settings, "-trimpath") }, nil},
		{"another minor release", func(h, p *Fingerprint) { p.GoVersion = "go1.25.5" }, []string{"go: plugin go1.25.5, host go1.26.8"}},
		{"not a plugin", func(h, p *Fingerprint) { p.Settings["-buildmode"] = "exe" }, []string{"setting -buildmode: plugin exe, host plugin"}},
		{"trimpath on one side", func(h, p *Fingerprint) { delete(h.Settings, "-trimpath") }, []string{"setting -trimpath: plugin true, host false"}},
		{"race", func(h, p *Fingerprint) { p.Settings["-race"] = "true" }, []string{"setting -race: plugin true, host false"}},
		{"every package listed", func(h, p *Fingerprint) { p.Packages["runtime"] = "ff"; p.Packages["example.com/app/contract"] = "fe" }, []string{
			"package example.com/app/contract: plugin fe, host 02", "package runtime: plugin ff, host 01"}},
		{"module of a shared package", func(h, p *Fingerprint) { p.Modules["github.com/google/uuid"] = "v1.5.0 h1:c" }, []string{
			"module github.com/google/uuid: plugin v1.5.0 h1:c, host v1.6.0 h1:a"}},
		{"module of no shared package", func(h, p *Fingerprint) { p.Modules["golang.org/x/text"] = "v0.2.0 h1:d" }, nil},
		{"package only in the plugin", func(h, p *Fingerprint) { p.Packages["example.com/app/plugins/x/internal/y"] = "09" }, nil},
	} {
		h, p := host(), plugin()
		tc.change(h, p)
		var got []string
		for _, d := range Compare(h, p) {
			got = append(got, d.String())
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestMinor(t *testing.T) {
	for v, want := range map[string]string{"go1.26.8": "go1.26", "go1.26": "go1.26", "go1.27rc1": "go1.27", "devel go1.27-abc": "devel go1.27-abc"} {
		if got := minor(v); got != want {
			t.Errorf("minor(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestReadRefusesWhatIsNotAPluginOrHost(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.so")
	os.WriteFile(text, []byte("not a shared object"), 0o644)
	empty := filepath.Join(dir, "empty.so")
	os.WriteFile(empty, nil, 0o644)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		text:                          "not an ELF",
		empty:                         "not an ELF",
		dir:                           "not a regular file",
		filepath.Join(dir, "missing"): "no such file",
		// This test binary is Go but does not import plugin.
		self: "no package fingerprints",
	} {
		_, err := Read(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("Read(%s) = %v, want an error naming the file and containing %q", path, err, want)
		}
	}
}

// A host built with -mod=vendor records module versions without sums; the
// same version is the same module, while two different sums are not.
func TestSameModule(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"v1.47.0 h1:abc=", "v1.47.0", true},
		{"v1.47.0", "v1.47.0 h1:abc=", true},
		{"v1.47.0 h1:abc=", "v1.47.0 h1:abc=", true},
		{"v1.47.0 h1:abc=", "v1.47.0 h1:xyz=", false},
		{"v1.47.0", "v1.48.0", false},
		{"v1.47.0 h1:abc=", "v1.48.0", false},
	} {
		if got := sameModule(c.a, c.b); got != c.want {
			t.Errorf("sameModule(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
