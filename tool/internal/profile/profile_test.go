package profile

import (
	"strings"
	"testing"
)

func TestParseDefaultsAndProblems(t *testing.T) {
	ps, err := Parse([]byte("hosts: []\n"))
	if err != nil || len(ps) != 1 || ps[0].Name != DefaultName || strings.Join(ps[0].Flags, " ") != "-trimpath" {
		t.Errorf("no profiles: %+v, %v; want the default profile", ps, err)
	}
	ps, err = Parse([]byte("profiles:\n  - name: old\n    go: go1.25.5\n    ref: hosts/v1\n  - name: bare\n    flags: []\n"))
	if err != nil || ps[0].Go != "go1.25.5" || ps[0].Ref != "hosts/v1" || strings.Join(ps[0].Flags, " ") != "-trimpath" || ps[1].Flags == nil || len(ps[1].Flags) != 0 {
		t.Errorf("profiles %+v, %v", ps, err)
	}
	_, err = Parse([]byte(`profiles:
  - name: Bad_Name
    go: "1.25"
    goos: "Linux!"
    flags: [-o, x, "-ldflags=-s", -race]
    ref: "../../etc"
  - name: ok
  - name: ok
`))
	for _, want := range []string{
		"profiles[0].name:",
		`profiles[0].go: "1.25": want a Go release such as go1.25.5`,
		`profiles[0].goos: "Linux!" is not a GOOS/GOARCH value`,
		"profiles[0].flags: -o is set by plugship",
		`profiles[0].flags: "x" is not a go build flag`,
		"profiles[0].flags: -ldflags=-s is set by plugship or is per host",
		`profiles[0].ref: "../../etc": want a git tag, branch or commit`,
		"profiles[2].name: profile ok is listed twice",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q: %v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "-race") {
		t.Errorf("-race is a profile flag, refused: %v", err)
	}
}

func TestKeySharesWhatBuildsAlike(t *testing.T) {
	a := &Env{Profile: Profile{Name: "a", Flags: []string{"-trimpath"}}, GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64"}
	b := *a
	b.Name = "b"
	if a.Key() != b.Key() {
		t.Errorf("profiles differing only in name have keys %q and %q", a.Key(), b.Key())
	}
	for _, change := range []func(e *Env){
		func(e *Env) { e.GoVersion = "go1.25.5" },
		func(e *Env) { e.Flags = []string{"-trimpath", "-race"} },
		func(e *Env) { e.Tree = "0123456789abcdef0123456789abcdef01234567" },
		func(e *Env) { e.GOARCH = "arm64" },
		func(e *Env) { e.CC = "aarch64-linux-gnu-gcc" },
		func(e *Env) { e.Host = &Host{Digest: "0123"} },
	} {
		c := *a
		change(&c)
		if c.Key() == a.Key() {
			t.Errorf("%q: the key does not see the change", c.Key())
		}
	}
}

// TestParseLines: every problem of the hosts file names its line, the
// field's when it is written, the profile's when it is missing; a
// misspelt field is an error too.
func TestParseLines(t *testing.T) {
	_, err := Parse([]byte(`profiles:
  - name: current
  - name: gateway
    binary: https://example.com/gateway
  - name: gw
    module: example.com/gateway
    version: v1.0.0
    git: -x
hosts: []
`))
	for _, want := range []string{
		"line 3: profiles[1].sha256: profile gateway downloads its host from https://example.com/gateway: add sha256:",
		`line 8: profiles[2].git: "-x": want a git URL`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse: %v\nlacks %q", err, want)
		}
	}
	_, err = Parse([]byte("profiles:\n  - name: gw\n    binray: hosts/gw\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3: field binray not found") {
		t.Errorf("a misspelt field: %v", err)
	}
}
