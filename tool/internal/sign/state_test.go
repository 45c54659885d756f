package sign_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/sigstoretest"
	"github.com/plugship/plugship/trust"
)

// settle waits out the racy window, so that the next full check records a
// state the run after it can use.
func settle() { time.Sleep(150 * time.Millisecond) }

// signCounted signs mod and returns the output and how many files were
// checked in full.
func signCounted(t *testing.T, mod string) (string, int64, error) {
	t.Helper()
	before := sign.FullChecks()
	var out bytes.Buffer
	err := sign.Main(context.Background(), sign.Options{Root: mod}, &out)
	return out.String(), sign.FullChecks() - before, err
}

// expectSign signs mod and checks the summary and the number of full
// checks.
func expectSign(t *testing.T, mod, what, summary string, full int64) string {
	t.Helper()
	out, n, err := signCounted(t, mod)
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	if !strings.Contains(out, summary) || n != full {
		t.Errorf("%s: %d files checked in full, want %d; want %q in:\n%s", what, n, full, summary, out)
	}
	return out
}

// settled makes the state current again (a full check after the racy
// window) and shows the no-op that follows checks nothing.
func settled(t *testing.T, mod, what string) {
	t.Helper()
	settle()
	signCounted(t, mod)
	expectSign(t, mod, what+", then nothing changed", "0 signed, 2 up to date", 0)
}

// TestSignStateSkipsChecks: with nothing changed, a file whose state holds
// is not checked; every change to one of its files, its key, the contract
// or the state itself brings back the full check, and the re-signing it
// calls for; verify accepts the result each time.
func TestSignStateSkipsChecks(t *testing.T) {
	mod := module(t)
	dist := filepath.Join(mod, "dist")
	alpha, beta := files(mod)
	state := sign.StatePath(dist, alpha)
	if !strings.HasPrefix(state, filepath.Join(dist, ".work", "sign", "plugins")+string(filepath.Separator)) {
		t.Fatalf("state path %s", state)
	}

	expectSign(t, mod, "first sign", "2 signed, 0 up to date", 2)
	// Written just now: racily clean, so checked in full again.
	expectSign(t, mod, "just signed", "0 signed, 2 up to date", 2)
	settled(t, mod, "first state")
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no state: %v", err)
	}
	verified := func(what string) {
		t.Helper()
		if table, err := verifyAll(mod, false); err != nil {
			t.Fatalf("%s: verify: %v\n%s", what, err, table)
		}
	}

	// The plugin file: same size, same modification time, another byte.
	data, _ := os.ReadFile(alpha)
	fi, _ := os.Stat(alpha)
	data[len(data)/2] ^= 0x01
	os.WriteFile(alpha, data, 0o755)
	os.Chtimes(alpha, fi.ModTime(), fi.ModTime())
	out, n, err := signCounted(t, mod)
	if err == nil || n != 1 || !strings.Contains(out, "changed after the build") || strings.Contains(out, "2 up to date") {
		t.Errorf("changed plugin file: %v, %d full checks\n%s", err, n, out)
	}
	data[len(data)/2] ^= 0x01
	os.WriteFile(alpha, data, 0o755)
	expectSign(t, mod, "plugin file restored", "0 signed, 2 up to date", 1)
	settled(t, mod, "plugin file restored")

	// The signature, bundle and provenance: changed, or deleted.
	for _, suffix := range []string{trust.SignatureSuffix, trust.BundleSuffix, trust.ProvenanceSuffix} {
		other, _ := os.ReadFile(beta + suffix) // valid, of another file
		os.WriteFile(alpha+suffix, other, 0o644)
		expectSign(t, mod, suffix+" changed", "1 signed, 1 up to date", 1)
		verified(suffix + " changed")
		settled(t, mod, suffix+" changed")

		os.Remove(alpha + suffix)
		expectSign(t, mod, suffix+" deleted", "1 signed, 1 up to date", 1)
		verified(suffix + " deleted")
		settled(t, mod, suffix+" deleted")
	}

	// The metadata: rewritten as it was (checked, still up to date), then
	// with another digest (checked, refused).
	meta, _ := os.ReadFile(alpha + artifact.MetadataSuffix)
	os.WriteFile(alpha+artifact.MetadataSuffix, meta, 0o644)
	expectSign(t, mod, "metadata rewritten", "0 signed, 2 up to date", 1)
	settled(t, mod, "metadata rewritten")
	m, err := artifact.ReadMetadata(alpha + artifact.MetadataSuffix)
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Replace(string(meta), m.SHA256, strings.Repeat("0", 64), 1)
	os.WriteFile(alpha+artifact.MetadataSuffix, []byte(wrong), 0o644)
	if out, n, err := signCounted(t, mod); err == nil || n != 1 || !strings.Contains(out, "differs from its build metadata") {
		t.Errorf("metadata with another digest: %v, %d full checks\n%s", err, n, out)
	}
	os.WriteFile(alpha+artifact.MetadataSuffix, meta, 0o644)
	expectSign(t, mod, "metadata restored", "0 signed, 2 up to date", 1)
	settled(t, mod, "metadata restored")

	// The state: corrupt, deleted, from another plugship.
	os.WriteFile(state, []byte("{not json"), 0o644)
	expectSign(t, mod, "corrupt state", "0 signed, 2 up to date", 1)
	expectSign(t, mod, "state rewritten", "0 signed, 2 up to date", 0)
	os.Remove(state)
	expectSign(t, mod, "deleted state", "0 signed, 2 up to date", 1)
	expectSign(t, mod, "state rewritten", "0 signed, 2 up to date", 0)
	sdata, _ := os.ReadFile(state)
	os.WriteFile(state, bytes.Replace(sdata, []byte(`"Schema": "plugship-sign-state/1"`), []byte(`"Schema": "plugship-sign-state/0"`), 1), 0o644)
	expectSign(t, mod, "state of another schema", "0 signed, 2 up to date", 1)
	settled(t, mod, "state rewritten")

	// The team's key: a new one. Its files are checked against it, and
	// signed with it.
	os.Remove(keys.PrivatePath(mod, "keyed"))
	os.Remove(keys.PublicPath(filepath.Join(mod, "teams"), "keyed"))
	if _, _, err := keys.Generate(mod, "keyed", []byte(password)); err != nil {
		t.Fatal(err)
	}
	expectSign(t, mod, "new key", "1 signed, 1 up to date", 1)
	verified("new key")
	settled(t, mod, "new key")
	table, err := verifyAll(mod, false)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, table)
	}
}

// TestSignStateKeyless: a keyless team's file is not checked again while
// nothing changed; a change to the team's identities in team.yaml brings
// back the full check, and a keyless signature again when the file no
// longer satisfies them.
func TestSignStateKeyless(t *testing.T) {
	s := sigstoretest.New(t, sigstoretest.Options{Repository: "acme/plugins", Ref: "refs/tags/keyless/gamma/v3.0.0", Workflow: ".github/workflows/release.yml"})
	mod := t.TempDir()
	identity := `^https://github\.com/acme/plugins/\.github/workflows/release\.yml@refs/tags/keyless/.*$`
	manifest := func(identity string) string {
		return "name: keyless\nowners: [\"@l\"]\nsigning:\n  keyless: true\n  identities:\n    - issuer: " + trust.GitHubIssuer +
			"\n      subject_regexp: " + identity + "\n      repository: https://github.com/acme/plugins\n" +
			"plugins:\n  - name: gamma\n    source: keyless/gamma\n    version: 3.0.0\n"
	}
	if err := plugtest.Module(filepath.Join("..", "..", ".."), mod, map[string]string{
		"plugship.yaml":                        "version: 1\nsigstore:\n  fulcio: " + s.FulcioURL() + "\n  rekor: " + s.RekorURL() + "\n  trusted_root: trust/sigstore-root.json\n",
		"trust/sigstore-root.json":             string(s.TrustedRootJSON()),
		"teams/keyless/team.yaml":              manifest(identity),
		"plugin_sources/keyless/gamma/main.go": source("gamma"),
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s.Setenv(t)
	expectSign(t, mod, "first sign", "1 signed, 0 up to date", 1)
	settle()
	expectSign(t, mod, "after the racy window", "0 signed, 1 up to date", 1)
	expectSign(t, mod, "nothing changed", "0 signed, 1 up to date", 0)
	entries := s.RekorEntries()

	// Another identity the file still satisfies: checked, up to date.
	os.WriteFile(filepath.Join(mod, "teams/keyless/team.yaml"), []byte(manifest(`^https://github\.com/acme/plugins/\.github/workflows/release\.yml@refs/tags/.*$`)), 0o644)
	expectSign(t, mod, "identity widened", "0 signed, 1 up to date", 1)
	expectSign(t, mod, "identity widened, nothing changed", "0 signed, 1 up to date", 0)

	// One it does not: checked, and signed keylessly again.
	os.WriteFile(filepath.Join(mod, "teams/keyless/team.yaml"), []byte(manifest(`^https://github\.com/acme/plugins/\.github/workflows/release\.yml@refs/tags/keyless/gamma/v3\.0\.0$`)), 0o644)
	expectSign(t, mod, "identity narrowed", "0 signed, 1 up to date", 1)
	os.WriteFile(filepath.Join(mod, "teams/keyless/team.yaml"), []byte(manifest(`^https://github\.com/acme/other/.*$`)), 0o644)
	expectSign(t, mod, "identity changed", "1 signed, 0 up to date", 1)
	if s.RekorEntries() == entries {
		t.Errorf("a file no longer signed by the team's identity was not signed again")
	}
}
