package sign_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/tool/internal/attest"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/progress"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/tool/internal/verify"
	"github.com/plugship/plugship/trust"
)

const password = "correct horse battery staple"

func source(msg string) string {
	return `package main

import "github.com/plugship/plugship/contract"

var version = "dev"

type p struct{}

func (p) Version() string    { return version }
func (p) IsAcceptable() bool { return "` + msg + `" != "" }

func Showcase() contract.Plugin { return p{} }

func main() {}
`
}

// module makes a scratch module with two teams: "keyed", whose key is
// generated here with a password, and "keyless", which gets a development
// key; builds their plugins; and returns its root.
func module(t *testing.T) string {
	t.Helper()
	mod := t.TempDir()
	if err := plugtest.Module(filepath.Join("..", "..", ".."), mod, map[string]string{
		"teams/keyed/team.yaml":               "name: keyed\nowners: [\"@k\"]\nplugins:\n  - name: alpha\n    source: keyed/alpha\n    version: 1.0.0\n",
		"teams/keyless/team.yaml":             "name: keyless\nowners: [\"@l\"]\nplugins:\n  - name: beta\n    source: keyless/beta\n    version: 2.0.0\n",
		"plugin_sources/keyed/alpha/main.go":  source("alpha"),
		"plugin_sources/keyless/beta/main.go": source("beta"),
	}); err != nil {
		t.Fatal(err)
	}
	t.Setenv(keys.PasswordEnv, password)
	if _, _, err := keys.Generate(mod, "keyed", []byte(password)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return mod
}

func files(mod string) (alpha, beta string) {
	alpha, _ = plugtest.Find(filepath.Join(mod, "dist/plugins/keyed/alpha"), "alpha", "1.0.0")
	beta, _ = plugtest.Find(filepath.Join(mod, "dist/plugins/keyless/beta"), "beta", "2.0.0")
	return
}

func signAll(t *testing.T, mod string) string {
	t.Helper()
	var out bytes.Buffer
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return out.String()
}

func verifyAll(mod string, strict bool) (string, error) {
	var out bytes.Buffer
	err := verify.Main(context.Background(), verify.Options{Root: mod, Strict: strict}, &out)
	return out.String(), err
}

func TestSignVerifyRoundTrip(t *testing.T) {
	mod := module(t)
	out := signAll(t, mod)
	if !strings.Contains(out, "signed     alpha_v1.0.0_") || !strings.Contains(out, "  key ") ||
		!strings.Contains(out, "signed     beta_v2.0.0_") || !strings.Contains(out, "  DEVELOPMENT key") {
		t.Errorf("sign output:\n%s", out)
	}
	// What development keys mean is said once, not on every file's line.
	if strings.Count(out, "development keys (dist/keys/dev) signed") != 1 || strings.Contains(out, "keys/dev/") ||
		!strings.Contains(out, "signed 1 file of team keyless:\n  fine for trying things here; strict verification (PLUGSHIP_STRICT=1) and the release refuse them.\n  A team's own key: go run mage.go keys:generate <team>\n") {
		t.Errorf("sign output does not say once what development keys mean:\n%s", out)
	}
	alpha, beta := files(mod)
	for _, f := range []string{alpha, beta} {
		for _, suffix := range []string{trust.SignatureSuffix, attest.BundleSuffix, attest.ProvenanceSuffix} {
			if _, err := os.Stat(f + suffix); err != nil {
				t.Errorf("missing %s", filepath.Base(f)+suffix)
			}
		}
	}
	table, err := verifyAll(mod, false)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, table)
	}
	if !strings.Contains(table, "ARTIFACT") || strings.Count(table, "ok (signature, bundle, provenance)") != 2 || !strings.Contains(table, "(dev)") {
		t.Errorf("table:\n%s", table)
	}

	// Strict mode refuses the development key, and only it.
	table, err = verifyAll(mod, true)
	if err == nil || !strings.Contains(table, "DEVELOPMENT key") || strings.Count(table, "ok (") != 1 {
		t.Errorf("strict: %v\n%s", err, table)
	}

	// Signing again changes nothing.
	before := map[string][]byte{}
	for _, f := range []string{alpha, beta} {
		before[f], _ = os.ReadFile(f + trust.SignatureSuffix)
	}
	t.Setenv(progress.VerboseEnv, "")
	if out := signAll(t, mod); !strings.Contains(out, "0 signed, 2 up to date") || strings.Contains(out, "up-to-date") {
		t.Errorf("second sign: want a summary and no line per up-to-date file:\n%s", out)
	}
	t.Setenv(progress.VerboseEnv, "1")
	if out := signAll(t, mod); strings.Count(out, "up-to-date ") != 2 {
		t.Errorf("verbose sign: want a line per up-to-date file:\n%s", out)
	}
	t.Setenv(progress.VerboseEnv, "")
	for f, sig := range before {
		if now, _ := os.ReadFile(f + trust.SignatureSuffix); !bytes.Equal(now, sig) {
			t.Errorf("%s was re-signed with nothing changed", f)
		}
	}

	// The trust policy lists both teams' keys and owners.
	policy, err := keyless.Load(filepath.Join(mod, "dist", sign.TrustFile))
	if err != nil {
		t.Fatal(err)
	}
	if policy.Plugins["alpha"] != "keyed" || policy.Plugins["beta"] != "keyless" || !policy.Teams["keyless"].Keys[0].Development || policy.Teams["keyed"].Keys[0].Development {
		t.Errorf("policy %+v", policy)
	}
}

func TestProvenanceAndBundleDescribeTheFile(t *testing.T) {
	mod := module(t)
	signAll(t, mod)
	alpha, _ := files(mod)
	m, err := artifact.ReadMetadata(alpha + artifact.MetadataSuffix)
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := os.ReadFile(alpha + attest.BundleSuffix)
	digest, sig, hint, err := attest.ParseBundle(bundle)
	if err != nil || fmt.Sprintf("%x", digest) != m.SHA256 || len(sig) == 0 || len(hint) != 64 {
		t.Errorf("bundle: digest %x sig %d bytes hint %q err %v", digest, len(sig), hint, err)
	}
	var env struct {
		PayloadType string                 `json:"payloadType"`
		Payload     string                 `json:"payload"`
		Signatures  []struct{ Sig string } `json:"signatures"`
	}
	data, _ := os.ReadFile(alpha + attest.ProvenanceSuffix)
	if err := json.Unmarshal(data, &env); err != nil || env.PayloadType != attest.InTotoPayloadType || len(env.Signatures) != 1 {
		t.Fatalf("envelope %s: %v", data, err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	var st struct {
		Type    string `json:"_type"`
		Subject []struct {
			Name   string
			Digest map[string]string
		}
		PredicateType string
		Predicate     struct {
			BuildDefinition struct {
				BuildType            string
				ExternalParameters   map[string]any
				InternalParameters   map[string]any
				ResolvedDependencies []struct {
					URI string `json:"uri"`
				}
			}
			RunDetails struct {
				Builder struct {
					ID string `json:"id"`
				}
			}
		}
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != "https://in-toto.io/Statement/v1" || st.PredicateType != "https://slsa.dev/provenance/v1" ||
		st.Subject[0].Name != m.File || st.Subject[0].Digest["sha256"] != m.SHA256 {
		t.Errorf("statement: %s", payload)
	}
	bd := st.Predicate.BuildDefinition
	if bd.ExternalParameters["team"] != "keyed" || bd.ExternalParameters["version"] != "1.0.0" ||
		bd.InternalParameters["goVersion"] != m.GoVersion || st.Predicate.RunDetails.Builder.ID != attest.BuilderID {
		t.Errorf("predicate: %s", payload)
	}
	var uris []string
	for _, d := range bd.ResolvedDependencies {
		uris = append(uris, d.URI)
	}
	if !strings.Contains(strings.Join(uris, " "), "pkg:golang/toolchain@"+m.GoVersion) {
		t.Errorf("dependencies %v lack the toolchain", uris)
	}
}

func TestTamperedAndForeignSignaturesAreRefused(t *testing.T) {
	mod := module(t)
	signAll(t, mod)
	alpha, beta := files(mod)
	policy, err := keyless.Load(filepath.Join(mod, "dist", sign.TrustFile))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name, want string) {
		t.Helper()
		table, err := verifyAll(mod, false)
		if err == nil || !strings.Contains(table, want) {
			t.Errorf("%s: verify = %v, want a failure containing %q:\n%s", name, err, want, table)
		}
		if _, err := policy.Check(alpha); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: trust.Check = %v, want %q", name, err, want)
		}
	}
	restore := func() {
		t.Helper()
		signAll(t, mod)
		if table, err := verifyAll(mod, false); err != nil {
			t.Fatalf("restoring: %v\n%s", err, table)
		}
	}

	// One flipped byte.
	data, _ := os.ReadFile(alpha)
	data[len(data)/3] ^= 0x40
	os.WriteFile(alpha, data, 0o755)
	check("flipped byte", "does not match the file under any key of team keyed")
	var out bytes.Buffer
	if err := sign.Main(context.Background(), sign.Options{Root: mod}, &out); err == nil || !strings.Contains(out.String(), "changed after the build") {
		t.Errorf("signing a changed file: %v\n%s", err, out.String())
	}
	data[len(data)/3] ^= 0x40
	os.WriteFile(alpha, data, 0o755)
	restore()

	// The signature of another file.
	orig, _ := os.ReadFile(alpha + trust.SignatureSuffix)
	other, _ := os.ReadFile(beta + trust.SignatureSuffix)
	os.WriteFile(alpha+trust.SignatureSuffix, other, 0o644)
	check("another file's signature", "does not match the file")
	os.WriteFile(alpha+trust.SignatureSuffix, orig, 0o644)

	// A valid signature by the other team's key.
	s, err := keys.SignerFor(context.Background(), mod, filepath.Join(mod, "teams"), filepath.Join(mod, "dist"), "keyless")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(alpha)
	sig, err := s.SignMessage(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(alpha+trust.SignatureSuffix, []byte(base64.StdEncoding.EncodeToString(sig)), 0o644)
	check("another team's key", "of team keyless, but plugin alpha belongs to team keyed; refused")

	// No signature at all.
	os.Remove(alpha + trust.SignatureSuffix)
	check("unsigned", "not signed: no signature")
}

func TestKeyProblemsAreExplained(t *testing.T) {
	mod := module(t)
	dist := filepath.Join(mod, "dist")
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{keys.PasswordEnv: "wrong"}, "cannot decrypt " + keys.PrivatePath(mod, "keyed") + ": wrong password in PLUGSHIP_KEY_PASSWORD_KEYED/PLUGSHIP_KEY_PASSWORD"},
		{map[string]string{keys.PasswordEnv: ""}, "is encrypted: set PLUGSHIP_KEY_PASSWORD_KEYED (or PLUGSHIP_KEY_PASSWORD) to its password"},
		{map[string]string{"PLUGSHIP_KEY_KEYED": "nosuchkms://key/1"}, "KMS key nosuchkms://key/1 (from PLUGSHIP_KEY_KEYED)"},
		{map[string]string{"PLUGSHIP_KEY_KEYED": filepath.Join(mod, "missing.key")}, "missing.key: no such file"},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		_, err := keys.SignerFor(context.Background(), mod, filepath.Join(mod, "teams"), dist, "keyed")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
		t.Setenv(keys.PasswordEnv, password)
		os.Unsetenv("PLUGSHIP_KEY_KEYED")
	}

	// The key itself in the variable, as a CI secret gives it.
	pemData, err := os.ReadFile(keys.PrivatePath(mod, "keyed"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PLUGSHIP_KEY_KEYED", string(pemData))
	if s, err := keys.SignerFor(context.Background(), mod, filepath.Join(mod, "teams"), dist, "keyed"); err != nil || s.Source != "PLUGSHIP_KEY_KEYED (PEM)" {
		t.Errorf("PEM in the environment: %v", err)
	}

	// A key that is not the committed one is refused.
	other := filepath.Join(t.TempDir(), "other")
	os.MkdirAll(filepath.Join(other, "teams", "keyed"), 0o755)
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644)
	if _, _, err := keys.Generate(other, "keyed", []byte(password)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PLUGSHIP_KEY_KEYED", keys.PrivatePath(other, "keyed"))
	if _, err := keys.SignerFor(context.Background(), mod, filepath.Join(mod, "teams"), dist, "keyed"); err == nil || !strings.Contains(err.Error(), "is not the one committed in") {
		t.Errorf("foreign private key: %v", err)
	}

	// Generate never replaces a key, and needs a password.
	if _, _, err := keys.Generate(mod, "keyed", []byte(password)); err == nil || !strings.Contains(err.Error(), "exists; remove it first") {
		t.Errorf("regenerate: %v", err)
	}
	if _, _, err := keys.Generate(mod, "keyless", nil); err == nil || !strings.Contains(err.Error(), "no password: set PLUGSHIP_KEY_PASSWORD_KEYLESS") {
		t.Errorf("no password: %v", err)
	}
}

func TestKeyFiles(t *testing.T) {
	mod := module(t)
	priv, err := os.ReadFile(keys.PrivatePath(mod, "keyed"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(priv, []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")) {
		t.Errorf("private key is not an encrypted sigstore PEM:\n%.60s", priv)
	}
	if st, _ := os.Stat(keys.PrivatePath(mod, "keyed")); st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", st.Mode().Perm())
	}
	if pub, _ := os.ReadFile(keys.PublicPath(filepath.Join(mod, "teams"), "keyed")); !bytes.HasPrefix(pub, []byte("-----BEGIN PUBLIC KEY-----")) {
		t.Errorf("public key:\n%s", pub)
	}
	signAll(t, mod)
	// No private key (nor its contents) lands in the output, except the
	// development key, which is labelled as such.
	filepath.Walk(filepath.Join(mod, "dist"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		if bytes.Contains(data, priv) || bytes.Contains(data, []byte("PRIVATE KEY")) && !strings.Contains(path, filepath.FromSlash(keys.DevDir)) {
			t.Errorf("%s holds a private key", path)
		}
		return nil
	})
	// And git ignores private keys wherever they are.
	root, _ := filepath.Abs(filepath.Join("..", "..", ".."))
	for _, f := range []string{".keys/payments/cosign.key", "teams/payments/cosign.key", "elsewhere/x.key"} {
		cmd := exec.Command("git", "-C", root, "check-ignore", "-q", "--no-index", f)
		if err := cmd.Run(); err != nil {
			t.Errorf("git does not ignore %s: %v", f, err)
		}
	}
}
