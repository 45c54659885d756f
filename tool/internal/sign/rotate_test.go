package sign_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/trust"
)

// TestRotateKey: a team's key leaks. keys:rotate retires it (its public
// key kept, revoked from now in team.yaml, comments and all), makes a new
// one, and the sign step re-signs the team's files with the new key and
// writes a policy (plugship.trust/v2) that still names the old key,
// revoked. A copy signed with the old key, as hosts have it, is refused
// from the revocation on, naming the key and the reason; before it, it
// still verifies.
func TestRotateKey(t *testing.T) {
	mod := module(t)
	signAll(t, mod)
	alpha, _ := files(mod)
	deployed := filepath.Join(t.TempDir(), filepath.Base(alpha)) // as a host has it
	for _, suffix := range []string{"", trust.SignatureSuffix} {
		data, err := os.ReadFile(alpha + suffix)
		if err == nil {
			err = os.WriteFile(deployed+suffix, data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	manifest := filepath.Join(mod, "teams/keyed/team.yaml")
	data, _ := os.ReadFile(manifest)
	os.WriteFile(manifest, append([]byte("# team keyed: alpha's owners\n"), data...), 0o644)

	at := time.Now()
	r, err := keys.Rotate(mod, "keyed", "the key leaked in a CI log", at, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(manifest)
	if want := "signing:\n  revoked:\n    - key: " + r.OldID[:12] + "\n      at: " + r.RevokedAt.Format(time.RFC3339) + "\n      reason: the key leaked in a CI log\n"; !strings.Contains(string(data), want) || !strings.HasPrefix(string(data), "# team keyed: alpha's owners\n") {
		t.Errorf("team.yaml after rotate:\n%s\nwant it to hold:\n%s", data, want)
	}
	if _, err := os.Stat(filepath.Join(mod, "teams/keyed/retired", r.OldID[:12]+".pub")); err != nil || r.NewID == r.OldID {
		t.Errorf("the old public key is not retired (%v), or the new key is the old one", err)
	}
	if _, err := keys.Rotate(mod, "keyed", "", at, []byte(password)); err == nil || !strings.Contains(err.Error(), "give a reason") {
		t.Errorf("rotate without a reason: %v", err)
	}

	out := signAll(t, mod)
	if !strings.Contains(out, "signed     "+filepath.Base(alpha)) || !strings.Contains(out, "key "+r.NewID[:12]) {
		t.Errorf("sign after rotate does not re-sign alpha with the new key:\n%s", out)
	}
	policyFile := filepath.Join(mod, "dist/trust.json")
	data, _ = os.ReadFile(policyFile)
	if !strings.Contains(string(data), `"schema": "plugship.trust/v3"`) || !strings.Contains(string(data), `"reason": "the key leaked in a CI log"`) {
		t.Errorf("the policy after rotate:\n%s", data)
	}
	policy, err := trust.Load(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Check(alpha); err != nil {
		t.Errorf("re-signed with the new key: %v", err)
	}
	_, err = policy.Check(deployed)
	if want := "signed with team keyed's key " + r.OldID[:12] + ", revoked since " + r.RevokedAt.UTC().Format(time.RFC3339) + " (the key leaked in a CI log)"; !errors.Is(err, trust.ErrRevoked) || !strings.Contains(err.Error(), want) {
		t.Errorf("the copy signed with the old key: %v, want %q", err, want)
	}
	policy.Clock = func() time.Time { return r.RevokedAt.Add(-time.Minute) }
	if _, err := policy.Check(deployed); err != nil {
		t.Errorf("before the revocation, the old key's signature: %v", err)
	}
	if table, err := verifyAll(mod, false); err != nil {
		t.Errorf("verify after rotate: %v\n%s", err, table)
	}
}
