package plugtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Golden fails t when file does not hold got, what the code generates of
// it; with update it writes got into file instead. rewrite is the command
// that rewrites it, for the failure message.
func Golden(t testing.TB, file, got string, update bool, rewrite string) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want, err := os.ReadFile(file); err != nil || string(want) != got {
		t.Errorf("%s differs from what the code generates (%v); if the change is intended, run %s and commit it", file, err, rewrite)
	}
}
