package publish_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sigstoretest"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

// TestIndexStatement publishes to the channel and plays the attacks the
// signed statement stops, each against the real fetch and the showcase
// host: a replayed older index, an expired one, one byte changed in the
// index or its signature, a statement missing; and refresh signing it
// again once half its life has passed.
func TestIndexStatement(t *testing.T) {
	ctx := context.Background()
	d := dist(t)
	noEnv := func(string) string { return "" }
	var out bytes.Buffer
	opts := publish.Options{Root: root, Dist: d, Getenv: noEnv}
	if err := publish.Main(ctx, opts, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "index signed: version 1, expires ") {
		t.Errorf("publish does not say it signed the index:\n%s", out.String())
	}
	channel := filepath.Join(d, "channel")
	index := filepath.Join(channel, artifact.IndexFile)
	statementFile := filepath.Join(channel, artifact.IndexStatementFile)
	read := func(f string) []byte {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, f := range []string{statementFile, filepath.Join(channel, artifact.TrustFile)} {
		read(f)
	}
	policy, err := keyless.Load(filepath.Join(d, "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	if policy.Schema != trust.SchemaV3 || policy.IndexSigner == nil || len(policy.IndexSigner.Keys) != 1 || !policy.IndexSigner.Keys[0].Development {
		t.Fatalf("the sign step's policy names no development index key: %+v", policy.IndexSigner)
	}
	dir := filepath.Join(t.TempDir(), "plugins")
	fetchWith := func(p *trust.Policy, into string) error {
		_, err := fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "fraud", Dir: into, Trust: p, ABI: abi})
		return err
	}
	if err := fetchWith(policy, dir); err != nil {
		t.Fatal(err)
	}
	if read(artifact.FetchedStatementFile(dir, "fraud")) == nil {
		t.Fatal("fetch kept no statement")
	}
	// Publishing again with nothing changed signs nothing.
	out.Reset()
	if err := publish.Main(ctx, opts, &out); err != nil || strings.Contains(out.String(), "index signed") {
		t.Errorf("a no-op publish signed the index: %v\n%s", err, out.String())
	}

	// Version 2: a yank. The host accepts it and remembers it.
	oldIndex, oldStatement := read(index), read(statementFile)
	out.Reset()
	if err := publish.Yank(ctx, opts, "payments/ledger@2.0.1", "broken", false, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "index signed: version 2") {
		t.Errorf("yank does not sign the index again:\n%s", out.String())
	}
	if err := fetchWith(policy, dir); err != nil {
		t.Fatal(err)
	}
	newIndex, newStatement := read(index), read(statementFile)
	put := func(ix, st []byte) {
		t.Helper()
		for f, data := range map[string][]byte{index: ix, statementFile: st} {
			if data == nil {
				os.Remove(f)
			} else if err := os.WriteFile(f, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	damaged, err := plugtest.DamageSignature(newStatement)
	if err != nil {
		t.Fatal(err)
	}
	host := compat.HostPath(built, "showcase")
	hostFetch := func() string {
		b, _ := exec.Command(host, "-trust", filepath.Join(d, "trust.json"), "-plugin", "fraud", "-fetch", index, dir).CombinedOutput()
		return string(b)
	}
	refusals := []struct {
		name     string
		ix, st   []byte
		clock    time.Duration // how far ahead the host's clock is
		is       error
		messages []string
	}{
		{"replayed", oldIndex, oldStatement, 0, trust.ErrIndexRolledBack,
			[]string{"is signed as version 1, older than version 2, which this host accepted before", "someone is serving an old index", "fetch from the publisher's own store", "delete " + artifact.FetchedStatementFile(dir, "fraud")}},
		{"expired", newIndex, newStatement, 8 * 24 * time.Hour, trust.ErrIndexExpired,
			[]string{"index.statement.json of " + index + " (version 2) expired at ", "the publisher has not signed the index again", "go run mage.go refresh"}},
		{"index byte changed", bytes.Replace(newIndex, []byte(`"size": `), []byte(`"size": 1`), 1), newStatement, 0, trust.ErrIndexChanged,
			[]string{"says other files, versions or yanks", "than its signed statement (version 2", "it was changed after it was signed"}},
		{"signature byte changed", newIndex, damaged, 0, trust.ErrIndexSignature,
			[]string{"does not verify under any index key of the trust policy", "the index may have been changed or signed by someone else"}},
		{"no statement", newIndex, nil, 0, trust.ErrIndexUnsigned,
			[]string{"has no index.statement.json", "wants the index signed by its index signer"}},
	}
	for _, r := range refusals {
		put(r.ix, r.st)
		p, _ := keyless.Load(filepath.Join(d, "trust.json"))
		p.Clock = func() time.Time { return time.Now().Add(r.clock) }
		err := fetchWith(p, dir)
		if !errors.Is(err, r.is) {
			t.Errorf("%s: fetch: %v, want %v", r.name, err, r.is)
			continue
		}
		for _, m := range r.messages {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: the refusal does not say %q:\n%v", r.name, m, err)
			}
		}
		if r.clock == 0 {
			if msg := hostFetch(); !strings.Contains(msg, r.messages[0]) {
				t.Errorf("%s: the showcase host does not print the refusal:\n%s", r.name, msg)
			}
		}
		if got := read(artifact.FetchedStatementFile(dir, "fraud")); !bytes.Equal(got, newStatement) {
			t.Errorf("%s: the refused fetch replaced the statement the host accepted", r.name)
		}
	}
	// A host that never fetched has nothing to compare with: the replay is
	// only caught by hosts that saw the newer index (as in TUF, whose
	// clients also start from the metadata they trust).
	put(oldIndex, oldStatement)
	if err := fetchWith(policy, t.TempDir()); err != nil {
		t.Errorf("a new host refused the older, valid index: %v", err)
	}
	put(newIndex, newStatement)

	// refresh: nothing to do while more than half the life is left; 4 of
	// 7 days later it signs version 3, which a host whose clock says so
	// accepts, and the day after version 2 expired too.
	out.Reset()
	if err := publish.Refresh(ctx, opts, &out); err != nil || !strings.Contains(out.String(), "index statement version 2 is valid until ") {
		t.Errorf("refresh of a fresh statement: %v\n%s", err, out.String())
	}
	later := opts
	later.Now = func() time.Time { return time.Now().Add(4 * 24 * time.Hour) }
	out.Reset()
	if err := publish.Refresh(ctx, later, &out); err != nil || !strings.Contains(out.String(), "index signed: version 3") {
		t.Fatalf("refresh after 4 days: %v\n%s", err, out.String())
	}
	p, _ := keyless.Load(filepath.Join(d, "trust.json"))
	p.Clock = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
	if err := fetchWith(p, dir); err != nil {
		t.Errorf("fetch after refresh, 8 days on: %v", err)
	}
	if !bytes.Equal(read(index), newIndex) {
		t.Error("refresh changed index.json")
	}
}

// TestKeylessIndexStatement: in a workflow with an OIDC token, a
// repository whose plugship.yaml names index.identities signs the index
// statement keylessly, against a loopback Fulcio and Rekor; a host whose
// policy enables keyless checks accepts it; a host without keyless
// checks, an index changed after signing, and a statement signed by a
// workflow the policy does not name are refused; refresh signs it again
// keylessly.
func TestKeylessIndexStatement(t *testing.T) {
	ctx := context.Background()
	s := sigstoretest.New(t, sigstoretest.Options{Workflow: ".github/workflows/refresh.yml"})
	other := sigstoretest.New(t, sigstoretest.Options{Workflow: ".github/workflows/ci.yml"})
	mod := t.TempDir()
	identity := `^https://github\.com/acme/plugins/\.github/workflows/(release|refresh)\.yml@refs/heads/main$`
	files := map[string]string{
		"go.mod":                   "module example.com/keylessindex\n\ngo 1.25\n",
		"trust/sigstore-root.json": string(sigstoretest.TrustedRootJSONOf(s, other)),
		"plugship.yaml": "version: 1\nsigstore:\n  fulcio: " + s.FulcioURL() + "\n  rekor: " + s.RekorURL() + "\n  trusted_root: trust/sigstore-root.json\n" +
			"index:\n  identities:\n    - issuer: " + trust.GitHubIssuer + "\n      subject_regexp: " + identity + "\n",
	}
	for name, data := range files {
		if err := plugtest.WriteFile(filepath.Join(mod, name), data); err != nil {
			t.Fatal(err)
		}
	}
	dist := filepath.Join(mod, "dist")
	p, err := keys.Policy(mod, dist, &teams.Registry{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := plugtest.WriteFile(filepath.Join(dist, artifact.TrustFile), string(data)); err != nil {
		t.Fatal(err)
	}
	channel := filepath.Join(t.TempDir(), "channel")
	index := filepath.Join(channel, artifact.IndexFile)
	if err := plugtest.WriteFile(index, `{"schema": "plugship.index/v2", "plugins": []}`+"\n"); err != nil {
		t.Fatal(err)
	}
	opts := publish.Options{Root: mod, Dist: dist, Store: &publish.Channel{Dir: channel}}

	s.Setenv(t)
	var out bytes.Buffer
	if err := publish.Refresh(ctx, opts, &out); err != nil || !strings.Contains(out.String(), "index signed: version 1, expires ") || !strings.Contains(out.String(), "by a keyless certificate from "+s.FulcioURL()) {
		t.Fatalf("refresh in the workflow: %v\n%s", err, out.String())
	}
	statementFile := filepath.Join(channel, artifact.IndexStatementFile)
	statement, err := os.ReadFile(statementFile)
	if err != nil || !trust.IsKeyless(statement) || s.RekorEntries() != 1 {
		t.Fatalf("the statement is not a keyless bundle logged once (%d Rekor entries): %v\n%.300s", s.RekorEntries(), err, statement)
	}
	fetchWith := func(p *trust.Policy) error {
		_, err := fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "fraud", Dir: t.TempDir(), Trust: p})
		return err
	}
	policy, err := keyless.Load(filepath.Join(dist, artifact.TrustFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := fetchWith(policy); err != nil {
		t.Errorf("a host with keyless checks: %v", err)
	}
	keysOnly, err := trust.Load(filepath.Join(dist, artifact.TrustFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := fetchWith(keysOnly); !errors.Is(err, trust.ErrIndexSignature) || !strings.Contains(err.Error(), "keyless.Enable(policy)") {
		t.Errorf("a host without keyless checks: %v", err)
	}

	// Changed after signing: the bundle no longer covers it.
	good, _ := os.ReadFile(index)
	yanked := `{"schema": "plugship.index/v3", "plugins": [], "yanked": [{"team": "payments", "plugin": "fraud", "version": "1.3.0", "reason": "x", "at": "2026-12-03T10:00:00Z"}]}`
	if err := os.WriteFile(index, []byte(yanked), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fetchWith(policy); !errors.Is(err, trust.ErrIndexSignature) || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("an index changed after keyless signing: %v", err)
	}
	os.WriteFile(index, good, 0o644)

	// Signed in a workflow the policy does not name (ci.yml).
	payload, err := trust.ReadIndexStatement(statement)
	if err != nil {
		t.Fatal(err)
	}
	payload.Version++
	body, _ := payload.Marshal()
	if err := os.WriteFile(statementFile, other.SignDSSE(t, trust.InTotoPayloadType, body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fetchWith(policy); !errors.Is(err, trust.ErrIndexSignature) || !strings.Contains(err.Error(), "ci.yml") || !strings.Contains(err.Error(), "does not name") {
		t.Errorf("a statement signed by a workflow the policy does not name: %v", err)
	}
	os.WriteFile(statementFile, statement, 0o644)

	// Four days on, refresh signs version 2, keylessly again.
	later := opts
	later.Now = func() time.Time { return time.Now().Add(4 * 24 * time.Hour) }
	out.Reset()
	if err := publish.Refresh(ctx, later, &out); err != nil || !strings.Contains(out.String(), "index signed: version 2") || s.RekorEntries() != 2 {
		t.Errorf("refresh 4 days on: %v (%d Rekor entries)\n%s", err, s.RekorEntries(), out.String())
	}
}
