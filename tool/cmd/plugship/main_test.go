package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir() // a repository with nothing published
	if err := os.WriteFile(filepath.Join(empty, "go.mod"), []byte("module example.com/empty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"PLUGSHIP_REGISTRY", "GITHUB_TOKEN", "GITHUB_REPOSITORY"} {
		t.Setenv(env, "")
	}
	for _, c := range []struct {
		args []string
		code int
		want string // in stdout or stderr
	}{
		{nil, exitUsage, "usage: plugship <command>"},
		{[]string{"-h"}, exitOK, "usage: plugship <command>"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"init", "-h"}, exitOK, "-replace checkout"},
		{[]string{"init"}, exitUsage, "usage: plugship init"},
		{[]string{"init", "-nope", "example.com/acme"}, exitUsage, "flag provided but not defined: -nope"},
		{[]string{"init", "example.com/acme", "example.com/other"}, exitUsage, "one module path"},
		{[]string{"init", "-version", "v1.2.3", "acme"}, exitFailure, `malformed module path "acme"`},
		// Flags after the module path count too.
		{[]string{"init", "example.com/acme", "-dir", full, "-version", "1.2"}, exitFailure, `plugship version "1.2"`},
		{[]string{"init", "-dir", full, "-version", "v1.2.3", "example.com/acme"}, exitFailure, "notes.txt"},
		{[]string{"yank", "-h"}, exitOK, "-reason string"},
		{[]string{"unyank", "-h"}, exitOK, "usage: plugship unyank"},
		{[]string{"yank"}, exitUsage, "usage: plugship yank"},
		{[]string{"yank", "payments/fraud", "-reason", "x"}, exitFailure, `"payments/fraud": not <team>/<plugin>@<version>`},
		{[]string{"yank", "payments/fraud@1.2.0"}, exitFailure, "give a reason (--reason)"},
		{[]string{"yank", "payments/fraud@1.2", "-reason", "x"}, exitFailure, `version: "1.2" is not semver`},
		{[]string{"yank", "-dir", empty, "payments/fraud@1.2.0", "-reason", "CVE"}, exitFailure, "lists no version of payments/fraud"},
		{[]string{"unyank", "-dir", empty, "payments/fraud@v1.2.0"}, exitFailure, "lists no version of payments/fraud"},
		{[]string{"mirror", "-h"}, exitOK, "usage: plugship mirror <from> <to>"},
		{[]string{"mirror", full}, exitUsage, "usage: plugship mirror <from> <to>"},
		{[]string{"mirror", full, "https://example.com/x"}, exitFailure, "destination https://example.com/x: want oci://<registry>/<repository> or a channel folder"},
		{[]string{"mirror", filepath.Join(full, "nowhere"), full}, exitFailure, "plugship mirror: reading the index " + filepath.Join(full, "nowhere")},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stdout.String()+stderr.String(), c.want) {
			t.Errorf("plugship %s: exit status %d, want %d saying %q\nstdout:\n%s\nstderr:\n%s",
				strings.Join(c.args, " "), code, c.code, c.want, stdout.String(), stderr.String())
		}
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		t.Errorf("init wrote into a folder that was not empty: %v", entries)
	}
}
