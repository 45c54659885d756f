package schema

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/profile"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

var update = flag.Bool("update", false, "rewrite the committed schemas from the code")

// TestCommitted fails when a schema in schemas/ differs from what the
// code generates; -update rewrites them.
func TestCommitted(t *testing.T) {
	root := repoRoot(t)
	for _, s := range All {
		got, err := Generate(root, s)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, root, Dir+"/"+s.File, got)
	}
}

// golden fails when the file rel (a slash path from root) differs from
// got, what the code makes of it; -update writes got there instead.
func golden(t *testing.T, root, rel, got string) {
	t.Helper()
	plugtest.Golden(t, filepath.Join(root, filepath.FromSlash(rel)), got, *update, "go test ./internal/schema -args -update in tool/")
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// The files of this repository in each YAML format, and their schemas.
var repositoryFiles = map[string]Schema{
	"compat/hosts.yaml":        Hosts,
	"teams/labs/team.yaml":     Team,
	"teams/payments/team.yaml": Team,
	"teams/showcase/team.yaml": Team,
}

// TestRepositoryFiles: every YAML file of this repository starts with the
// line that gives editors its schema, and passes it. The workflows name
// SchemaStore's schema of GitHub workflows.
func TestRepositoryFiles(t *testing.T) {
	root := repoRoot(t)
	v, err := NewValidator(root)
	if err != nil {
		t.Fatal(err)
	}
	for file, s := range repositoryFiles {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := filepath.Rel(filepath.Dir(filepath.Join(root, file)), filepath.Join(root, Dir, s.File))
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(string(data), "\n"); first != Header(filepath.ToSlash(ref)) {
			t.Errorf("%s starts with %q, want %q", file, first, Header(filepath.ToSlash(ref)))
		}
		if err := v.Validate(s, data); err != nil {
			t.Errorf("%s does not pass %s: %v", file, s.File, err)
		}
	}
	// Every YAML file tracked is one of those, or a workflow, or a
	// template of the scaffold (whose test checks them).
	out, err := exec.Command("git", "-C", root, "ls-files", "*.yaml", "*.yml").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range strings.Fields(string(out)) {
		if _, ok := repositoryFiles[file]; ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(data), "\n")
		switch {
		case strings.HasPrefix(file, ".github/workflows/"):
			if first != Header(WorkflowSchema) {
				t.Errorf("%s starts with %q, want %q", file, first, Header(WorkflowSchema))
			}
		default:
			t.Errorf("%s is a YAML file of no known format: list it in repositoryFiles with its schema", file)
		}
	}
}

// TestIdentifiers: each JSON schema allows exactly the format identifier
// its parser accepts.
func TestIdentifiers(t *testing.T) {
	for _, c := range []struct {
		s    Schema
		want []string
	}{
		{Metadata, []string{artifact.MetadataSchema}},
		{Index, []string{artifact.IndexSchemaV2, artifact.IndexSchemaV3}},
		{Trust, []string{trust.SchemaV1, trust.SchemaV2, trust.SchemaV3}},
		{Matrix, []string{matrix.Schema, matrix.SchemaV2}},
	} {
		s, want := c.s, c.want
		got, err := Generate(repoRoot(t), s)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Properties struct {
				Schema struct{ Enum []string }
			}
		}
		if err := json.Unmarshal([]byte(got), &doc); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(doc.Properties.Schema.Enum, want) {
			t.Errorf("%s allows schema %q, its parser %q: change the field's jsonschema tag", s.File, doc.Properties.Schema.Enum, want)
		}
	}
}

// TestBadFiles: the validator and plugship's own parser each reject every
// one of these files.
func TestBadFiles(t *testing.T) {
	root := repoRoot(t)
	v, err := NewValidator(root)
	if err != nil {
		t.Fatal(err)
	}
	parse := map[string]func([]byte) error{
		Plugship.File: func(b []byte) error {
			if _, problems := config.Parse("plugship.yaml", b, "example.com/acme"); len(problems) > 0 {
				return problems
			}
			return nil
		},
		Team.File: func(b []byte) error {
			if _, problems := teams.Parse("teams/acme/team.yaml", b); len(problems) > 0 {
				return problems
			}
			return nil
		},
		Hosts.File: func(b []byte) error {
			if _, err := profile.Parse(b); err != nil {
				return err
			}
			_, err := compat.ParseConfig(b)
			return err
		},
		Index.File:    func(b []byte) error { _, err := artifact.ParseIndex(b); return err },
		Metadata.File: func(b []byte) error { _, err := artifact.ParseMetadata(b); return err },
		Trust.File:    func(b []byte) error { _, err := trust.Parse(b); return err },
		Matrix.File:   func(b []byte) error { _, err := matrix.Parse(b); return err },
	}
	team := "name: acme\nowners: [\"@acme\"]\nplugins:\n  - {name: fx, source: acme/fx, version: 1.0.0}\n"
	metadata := `{"schema":"plugship.build/v2","team":"acme","plugin":"fx","version":"1.0.0","file":"fx_v1.0.0_linux_amd64_go1.26.8-166835a9.so","sha256":"` + strings.Repeat("ab", 32) + `","size":10,"go_version":"go1.26.8","goos":"linux","goarch":"amd64","abi":"go1.26.8-166835a9","plugin_path":"x","settings":{},"module":{"path":"m","version":"(devel)"},"source":"acme/fx"}`
	cases := []struct {
		schema Schema
		name   string
		data   string
	}{
		{Plugship, "unknown field", "contracts:\n  package: example.com/acme/contract\n"},
		{Plugship, "another version", "version: 2\n"},
		{Plugship, "accessor not exported", "contract:\n  accessor: showcase\n"},
		{Plugship, "empty folder", "folders:\n  dist: \"\"\n"},
		{Plugship, "folders not a mapping", "folders: dist\n"},
		{Plugship, "unknown field in a section", "sigstore:\n  tlog: https://rekor.example\n"},
		{Plugship, "registry not oci://", "publish:\n  registry: ghcr.io/acme/plugins\n"},
		{Team, "no owners", "name: acme\nplugins: []\n"},
		{Team, "empty owners", strings.Replace(team, "[\"@acme\"]", "[]", 1)},
		{Team, "name not a name", strings.Replace(team, "name: acme", "name: Acme", 1)},
		{Team, "version with v", strings.Replace(team, "version: 1.0.0", "version: v1.0.0", 1)},
		{Team, "unknown plugin field", strings.Replace(team, "version: 1.0.0", "version: 1.0.0, versions: [1.0.0]", 1)},
		{Team, "keyless not a boolean", team + "signing:\n  keyless: sure\n"},
		{Hosts, "unknown field", "host:\n  - name: a\n"},
		{Hosts, "host without a name", "hosts:\n  - package: ./compat/hosts/a\n"},
		{Hosts, "go not a release", "profiles:\n  - name: old\n    go: \"1.25\"\n"},
		{Hosts, "timeout not a duration", "timeout: soon\nhosts:\n  - {name: a, package: ./compat/hosts/a}\n"},
		{Hosts, "sha256 not hex", "profiles:\n  - name: prod\n    binary: hosts/gw\n    sha256: ABC\n"},
		{Index, "another schema", `{"schema":"plugship.index/v1","plugins":[]}`},
		{Index, "unknown field", `{"schema":"plugship.index/v2","plugins":[],"extra":1}`},
		{Metadata, "digest not hex", strings.Replace(metadata, strings.Repeat("ab", 32), "xyz", 1)},
		{Metadata, "unknown field", strings.Replace(metadata, `"team":`, `"teams":"x","team":`, 1)},
		{Trust, "another schema", `{"schema":"plugship.trust/v0","teams":{},"plugins":{}}`},
		{Trust, "keys not a list", `{"schema":"plugship.trust/v1","teams":{"a":{"keys":"k"}},"plugins":{}}`},
		{Matrix, "another schema", `{"schema":"plugship.compat/v1","platform":"linux/amd64","hosts":[],"plugins":[],"cells":[],"violations":[]}`},
	}
	for _, c := range cases {
		if err := parse[c.schema.File]([]byte(c.data)); err == nil {
			t.Errorf("%s, %s: plugship's parser accepts it", c.schema.For, c.name)
		}
		if err := v.Validate(c.schema, []byte(c.data)); err == nil {
			t.Errorf("%s, %s: %s accepts it", c.schema.For, c.name, c.schema.File)
		}
	}
	// The good versions of those files pass both.
	for _, g := range []struct {
		s    Schema
		data string
	}{{Plugship, "version: 1\n"}, {Team, team}, {Metadata, metadata}} {
		if err := v.Validate(g.s, []byte(g.data)); err != nil {
			t.Errorf("%s: a good file fails %s: %v", g.s.For, g.s.File, err)
		}
		if err := parse[g.s.File]([]byte(g.data)); err != nil {
			t.Errorf("%s: plugship's parser refuses a good file: %v", g.s.For, err)
		}
	}
}

// TestReferencePages fails when a page of docs/reference/ differs from
// what its schema renders; -update rewrites them.
func TestReferencePages(t *testing.T) {
	root := repoRoot(t)
	for _, s := range All {
		generated, err := Generate(root, s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Reference(generated)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, root, s.Page(), got)
	}
}
