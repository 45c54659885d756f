package artifact

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"fraud", true},
		{"uptime-v1", true},
		{"0day", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"-lead", false},
		{"Upper", false},
		{"dot.ted", false},
		{"under_score", false},
		{"../up", false},
		{"a/b", false},
		{"a\\b", false},
		{"naïve", false},
	} {
		err := CheckName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want string // substring of the error; "" for valid
	}{
		{"1.2.3", ""},
		{"0.0.0", ""},
		{"1.0.0-rc.1", ""},
		{"1.0.0+build.5", ""},
		{"1.0.0-rc.1+build.5", ""},
		{"v1.2.3", `without the leading "v" (1.2.3)`},
		{"1.2", "is not semver"},
		{"1", "is not semver"},
		{"01.2.3", "is not semver"},
		{"1.2.3-", "is not semver"},
		{"1.2.3.4", "is not semver"},
		{"", "is not semver"},
		{"1.2.3-" + strings.Repeat("a", 200), "is not semver"},
	} {
		err := CheckVersion(tc.v)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckVersion(%q) = %v, want nil", tc.v, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckVersion(%q) = %v, want error containing %q", tc.v, err, tc.want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0.0", "0.9.9", 1},
		{"0.10.0", "0.9.0", 1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"1.0.0-rc.2", "1.0.0-rc.10", -1},
		{"1.0.0+a", "1.0.0+b", 0},
		{"2.0.1", "2.0.1", 0},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestMatchABI: a file built from the host's repository (no graph)
// serves every host of its ABI; one built against a host's module graph
// serves only the host of that graph.
func TestMatchABI(t *testing.T) {
	const base, host, other = "go1.26.8-1a2b3c4d", "go1.26.8-1a2b3c4d-5e6f7a8b", "go1.26.8-1a2b3c4d-00000000"
	for _, tc := range []struct {
		file, host string
		want       bool
	}{
		{base, host, true},
		{host, host, true},
		{other, host, false},
		{base, base, true},
		{host, base, false}, // a host that does not say its graph takes no graph's files
		{"go1.26.8-99999999", host, false},
		{"go1.25.5-1a2b3c4d", host, false},
	} {
		if got := MatchABI(tc.file, tc.host); got != tc.want {
			t.Errorf("MatchABI(%s, %s) = %v, want %v", tc.file, tc.host, got, tc.want)
		}
	}
	if BaseABI(host) != base || BaseABI(base) != base {
		t.Errorf("BaseABI(%s) = %s, BaseABI(%s) = %s; want %s", host, BaseABI(host), base, BaseABI(base), base)
	}
	if WithGraph(base, "5e6f7a8b") != host || CheckABI(host) != nil {
		t.Errorf("WithGraph(%s, 5e6f7a8b) = %s (%v)", base, WithGraph(base, "5e6f7a8b"), CheckABI(host))
	}
}

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Name
		err  string
	}{
		{file: "showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so", want: Name{"showcase", "0.2.0", "linux", "amd64", "go1.26.8-1a2b3c4d"}},
		{file: "envgate_v1.0.0-rc.1_linux_arm64_go1.25.5-00ff00ff.so", want: Name{"envgate", "1.0.0-rc.1", "linux", "arm64", "go1.25.5-00ff00ff"}},
		{file: "x_v1.0.0+build.7_darwin_arm64_go1.27rc1-abcdef01.so", want: Name{"x", "1.0.0+build.7", "darwin", "arm64", "go1.27rc1-abcdef01"}},
		{file: ".showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so123", err: "temporary"},
		{file: "showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so.tmp", err: "temporary"},
		{file: "showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so.part", err: "temporary"},
		{file: "showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d", err: "does not end in .so"},
		{file: "showcase_0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so", err: `does not start with "v"`},
		{file: "showcase_v0.2_linux_amd64_go1.26.8-1a2b3c4d.so", err: "is not semver"},
		{file: "show_case_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so", err: "want <plugin>_v<version>_<goos>_<goarch>_<abi>.so"},
		{file: "showcase_v0.2.0_linux_amd64.so", err: "without the ABI comes from a plugship before host profiles: rebuild"},
		{file: "showcase_v0.2.0_linux_amd64_go1.26.8.so", err: "want go<version>-<8 hex digits>"},
		{file: "showcase_v0.2.0_linux_amd64_go1.26.8-1A2B3C4D.so", err: "want go<version>-<8 hex digits>"},
		{file: "uses_v1.0.0_linux_amd64_go1.26.8-1a2b3c4d-5e6f7a8b.so", want: Name{"uses", "1.0.0", "linux", "amd64", "go1.26.8-1a2b3c4d-5e6f7a8b"}},
		{file: "uses_v1.0.0_linux_amd64_go1.26.8-1a2b3c4d-5e6f7a8.so", err: "-<8 hex digits> of a host's module graph"},
		{file: "uses_v1.0.0_linux_amd64_go1.26.8-1a2b3c4d-5e6f7a8b-00000000.so", err: "want go<version>-<8 hex digits>"},
		{file: "showcase_v0.2.0_linux_amd64_gcc-1a2b3c4d.so", err: "want go<version>-<8 hex digits>"},
		{file: "Showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so", err: "plugin name"},
		{file: "showcase_v0.2.0_linux_AMD64_go1.26.8-1a2b3c4d.so", err: "not a GOOS_GOARCH pair"},
		{file: "../showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so", err: "path separator"},
		{file: "dir/showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so", err: "path separator"},
		{file: "showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.json", err: "does not end in .so"},
	} {
		got, err := ParseName(tc.file)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("ParseName(%q) = %v, %v; want error naming the file and containing %q", tc.file, got, err, tc.err)
			}
			if (tc.err == "temporary") != errors.Is(err, ErrTemporary) {
				t.Errorf("ParseName(%q): errors.Is(err, ErrTemporary) = %v", tc.file, errors.Is(err, ErrTemporary))
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseName(%q) = %+v, %v; want %+v", tc.file, got, err, tc.want)
		}
		if got.String() != tc.file {
			t.Errorf("ParseName(%q).String() = %q", tc.file, got.String())
		}
	}
}

// FuzzParseName checks that every accepted name is canonical (String gives
// back the input) and that every rejected name says which file it was.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{
		"showcase_v0.2.0_linux_amd64_go1.26.8-1a2b3c4d.so", "uptime_v1.0.0-rc.1+b_linux_arm64_go1.25.5-00000000.so",
		".x_v1.0.0_linux_amd64_go1-00000000.so", "x_v1.0_linux_amd64_go1.26-12345678.so", "a_b_c_d_e.so", "a_b_c_d_e_f.so", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, file string) {
		n, err := ParseName(file)
		if err != nil {
			if !strings.Contains(err.Error(), Quote(file)) {
				t.Fatalf("error %q does not name the file %q", err, file)
			}
			return
		}
		if n.String() != file {
			t.Fatalf("ParseName(%q).String() = %q", file, n.String())
		}
		if CheckName(n.Plugin) != nil || CheckVersion(n.Version) != nil || CheckABI(n.ABI) != nil {
			t.Fatalf("ParseName(%q) accepted invalid parts %+v", file, n)
		}
	})
}
