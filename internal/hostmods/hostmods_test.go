package hostmods

import "testing"

// TestEffective: a module builds from its own version, a replacement's,
// or, replaced by a folder, its required version, which is what -trimpath
// records (build info gives a folder replacement the version "(devel)",
// go list none).
func TestEffective(t *testing.T) {
	for _, tc := range []struct{ version, rpath, rversion, want string }{
		{"v1.0.0", "", "", "v1.0.0"},
		{"v1.0.0", "a.com/x", "v1.0.1", "v1.0.1"},
		{"v1.0.0", "fork.com/x", "v1.0.1", "v1.0.1 (fork.com/x)"},
		{"v0.1.0", "./contract", "", "v0.1.0"},
		{"v0.1.0", "/src/acme/contract", "(devel)", "v0.1.0"},
	} {
		if got := Effective("a.com/x", tc.version, tc.rpath, tc.rversion); got != tc.want {
			t.Errorf("Effective(%q, %q, %q) = %q, want %q", tc.version, tc.rpath, tc.rversion, got, tc.want)
		}
	}
}
