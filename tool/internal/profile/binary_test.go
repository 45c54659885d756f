package profile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseBinaryProblems(t *testing.T) {
	ps, err := Parse([]byte("profiles:\n  - name: prod\n    binary: hosts/gateway\n    sha256: " + strings.Repeat("ab", 32) + "\n"))
	if err != nil || ps[0].Binary != "hosts/gateway" || ps[0].Flags != nil {
		t.Errorf("binary profile: %+v, %v; want flags left to the binary", ps, err)
	}
	_, err = Parse([]byte(`profiles:
  - name: prod
    binary: hosts/gateway
    go: go1.25.5
    goos: linux
    goarch: amd64
    flags: []
    ref: v1
    sha256: ABC
  - name: other
    sha256: ` + strings.Repeat("ab", 32) + `
`))
	for _, want := range []string{
		"profiles[0].go: profile prod builds for the host binary hosts/gateway, whose build info gives its go: remove go (or remove binary)",
		"profiles[0].goos: profile prod builds for the host binary hosts/gateway, whose build info gives its goos",
		"profiles[0].goarch: ",
		"profiles[0].flags: ",
		"profiles[0].ref: ",
		`profiles[0].sha256: "ABC": want the binary's SHA-256, 64 lowercase hex digits (sha256sum <binary>)`,
		"profiles[1].sha256: only a profile with binary has a digest: add binary: <path of the host executable>, or remove sha256",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q: %v", want, err)
		}
	}
}

// TestPrepareBinaryRefusals: a binary profile's executable is checked
// before anything is built for it.
func TestPrepareBinaryRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs with the go command")
	}
	dir := t.TempDir()
	for name, data := range map[string]string{"go.mod": "module example.com/prog\n\ngo 1.22\n", "main.go": "package main\n\nfunc main() {}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, cgo := range []string{"0", "1"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", "prog-cgo"+cgo, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo, "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		p    Profile
		want string
	}{
		{Profile{Name: "nocgo", Binary: "prog-cgo0"}, "profile nocgo: host binary prog-cgo0: built with CGO_ENABLED=0: the host cannot load plugins (plugin.Open needs cgo); build it with CGO_ENABLED=1"},
		{Profile{Name: "noplugin", Binary: "prog-cgo1"}, "profile noplugin: host binary prog-cgo1: cannot load plugins: it does not import package plugin"},
		{Profile{Name: "tampered", Binary: filepath.Join(dir, "prog-cgo1"), SHA256: strings.Repeat("0", 64)}, "profile tampered: host binary " + filepath.Join(dir, "prog-cgo1") + ": SHA-256 "},
		{Profile{Name: "missing", Binary: "nothere"}, "profile missing: host binary nothere: stat " + filepath.Join(dir, "nothere") + ": no such file or directory (binary: is relative to the module root"},
		{Profile{Name: "notgo", Binary: "go.mod"}, "profile notgo: host binary go.mod: no Go build info"},
	} {
		_, err := Prepare(ctx, dir, filepath.Join(dir, "dist"), "", tc.p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v\nwant %q", tc.p.Name, err, tc.want)
		}
		if tc.p.SHA256 != "" && (err == nil || !strings.Contains(err.Error(), "but the profile's sha256 is "+tc.p.SHA256)) {
			t.Errorf("%s: %v; want both digests", tc.p.Name, err)
		}
	}
}
