package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What install says about a command line that cannot run: each names the
// flag to give, with the exit status of bad usage or failure.
func TestInstallUsage(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "host")
	if err := os.WriteFile(host, []byte("not a host"), 0o755); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "trust.json")
	if err := os.WriteFile(policy, []byte(`{"schema":"plugship.trust/v1","teams":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "usage: plugship <command>"},
		{[]string{"deploy"}, exitUsage, `unknown command "deploy"`},
		{[]string{"init", "example.com/acme"}, exitUsage, "go run github.com/plugship/plugship/tool/cmd/plugship@latest init example.com/acme"},
		{[]string{"install", "-host", host, "-index", "x", "-dir", dir, "hello"}, exitUsage, "no trust policy: pass -trust"},
		{[]string{"install", "-trust", policy, "-index", "x", "-dir", dir, "hello"}, exitFailure, "no host executable: name it (-host)"},
		{[]string{"install", "-trust", policy, "-host", host, "-index", "x", "hello"}, exitFailure, "no plugin folder"},
		{[]string{"install", "-trust", policy, "-host", host, "-dir", dir, "hello"}, exitFailure, "no index"},
		{[]string{"install", "-trust", policy, "-host", host, "-index", "x", "-dir", dir}, exitFailure, "no plugin named"},
		{[]string{"install", "-trust", policy, "-host", host, "-index", "x", "-dir", dir, "Hello World"}, exitFailure, `plugin "Hello World"`},
		{[]string{"install", "-rollback", "-dir", dir, "hello"}, exitFailure, "plugin hello: nothing installed by plugship install to roll back"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stdout.String()+stderr.String(), c.want) {
			t.Errorf("plugship %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", strings.Join(c.args, " "), code, c.code, c.want, stdout.String(), stderr.String())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the refused command lines changed the folder: %v", entries)
	}
}
