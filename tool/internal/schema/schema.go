package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/compat"
	"github.com/plugship/plugship/tool/internal/config"
	"github.com/plugship/plugship/tool/internal/matrix"
	"github.com/plugship/plugship/tool/internal/teams"
	"github.com/plugship/plugship/trust"
)

// Dir is the schemas' folder, relative to the repository root.
const Dir = "schemas"

// Base is where the schemas are served: the repository's schemas/ folder
// on its main branch.
const Base = "https://raw.githubusercontent.com/plugship/plugship/main/" + Dir + "/"

// WorkflowSchema is SchemaStore's schema of GitHub Actions workflows,
// which the workflows plugship writes name.
const WorkflowSchema = "https://json.schemastore.org/github-workflow.json"

// module is the import path of the repository's root module, the base of
// every package whose comments describe the fields.
const module = "github.com/plugship/plugship"

// A Schema is one file format's.
type Schema struct {
	File  string // its file in Dir, such as plugship.schema.json
	For   string // the files it describes, for people
	Title string
	value any      // a value of the Go type that reads the files
	dirs  []string // the packages (folders from the repository root) whose comments describe its fields
}

// yaml reports whether s is the schema of YAML files, which people write.
func (s Schema) yaml() bool { return strings.HasSuffix(s.For, ".yaml") }

// URL is where the schema is served.
func (s Schema) URL() string { return Base + s.File }

// Header is the first line of a YAML file of s's format: the
// yaml-language-server comment that gives editors its schema, at ref (URL,
// or a path relative to the file within this repository).
func Header(ref string) string { return "# yaml-language-server: $schema=" + ref }

// The schemas, YAML files first.
var (
	Plugship = Schema{File: "plugship.schema.json", For: "plugship.yaml", Title: "plugship.yaml: the repository's plugship configuration",
		value: config.Document{}, dirs: []string{"tool/internal/config"}}
	Team = Schema{File: "team.schema.json", For: "teams/<team>/team.yaml", Title: "team.yaml: a team's manifest of the plugins it ships",
		value: teams.Document{}, dirs: []string{"tool/internal/teams"}}
	Hosts = Schema{File: "hosts.schema.json", For: "compat/hosts.yaml", Title: "compat/hosts.yaml: the host profiles plugins are built for and the reference hosts of the compatibility matrix",
		value: compat.Config{}, dirs: []string{"tool/internal/compat", "tool/internal/profile"}}
	Metadata = Schema{File: "metadata.schema.json", For: "dist/plugins/<team>/<plugin>/<file>.so.json", Title: "The build metadata of one plugin file",
		value: artifact.Metadata{}, dirs: []string{"internal/artifact"}}
	Matrix = Schema{File: "matrix.schema.json", For: "dist/compat/matrix.json", Title: "The compatibility matrix: every plugin file tried in every reference host, and the verdict",
		value: matrix.Matrix{}, dirs: []string{"tool/internal/matrix"}}
	Index = Schema{File: "index.schema.json", For: "index.json (channel and GitHub index release)", Title: "The index of published plugin versions",
		value: artifact.Index{}, dirs: []string{"internal/artifact"}}
	Trust = Schema{File: "trust.schema.json", For: "dist/trust.json", Title: "The trust policy: which keys and keyless identities may sign which team's plugins",
		value: trust.Policy{}, dirs: []string{"trust"}}
)

// All are the schemas, YAML files first.
var All = []Schema{Plugship, Team, Hosts, Metadata, Matrix, Index, Trust}

// Generate makes s's schema from its Go type and the doc comments of the
// packages that declare it, read from the repository at root.
func Generate(root string, s Schema) (string, error) {
	r := &jsonschema.Reflector{ExpandedStruct: true, Mapper: mapper}
	if s.yaml() {
		// What people write: a field is required only when its tag says
		// so, and named by its yaml tag.
		r.RequiredFromJSONSchemaTags, r.FieldNameTag = true, "yaml"
	} // What plugship writes: every field without omitempty is there.
	if err := addComments(r, root, s.dirs); err != nil {
		return "", err
	}
	js := r.Reflect(s.value)
	js.ID = jsonschema.ID(s.URL())
	js.Title = s.Title
	reflow(js)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(js); err != nil {
		return "", fmt.Errorf("%s: %w", s.File, err)
	}
	// The schema's own marshalling escapes <, > and & for HTML; a schema
	// is read by editors and people.
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(b.String()), nil
}

// reflow makes each description of js and the schemas in it one line per
// paragraph, as editors show them: a doc comment's line breaks are the
// source's, not the text's.
func reflow(js *jsonschema.Schema) {
	if js == nil {
		return
	}
	var paras []string
	for _, p := range strings.Split(js.Description, "\n\n") {
		paras = append(paras, strings.Join(strings.Fields(p), " "))
	}
	js.Description = strings.Join(paras, "\n\n")
	for _, d := range js.Definitions {
		reflow(d)
	}
	if js.Properties != nil {
		for pair := js.Properties.Oldest(); pair != nil; pair = pair.Next() {
			reflow(pair.Value)
		}
	}
	for _, d := range js.PatternProperties {
		reflow(d)
	}
	reflow(js.Items)
	reflow(js.AdditionalProperties)
	for _, list := range [][]*jsonschema.Schema{js.AllOf, js.AnyOf, js.OneOf} {
		for _, d := range list {
			reflow(d)
		}
	}
}

// mapper gives the schema of types whose Go shape is not their files'.
func mapper(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeOf(compat.Duration(0)):
		return &jsonschema.Schema{Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`,
			Description: "A Go duration, such as 10s or 1m30s.", Examples: []any{"10s"}}
	case reflect.TypeOf(json.RawMessage(nil)):
		return &jsonschema.Schema{Type: "object", Description: "JSON, kept as written."}
	}
	return nil
}

// addComments reads the doc comments of the packages in dirs (slash
// folders from root). The reflector keys comments by import path, which
// it derives from a base and the folder as given, relative to the working
// directory: the base is therefore the import path of the working
// directory, and the folders are given relative to it.
func addComments(r *jsonschema.Reflector, root string, dirs []string) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return err
	}
	here, err := filepath.Rel(root, wd)
	if err != nil || !filepath.IsLocal(here) && here != "." {
		return fmt.Errorf("schemas are generated from within the repository (%s), not %s", root, wd)
	}
	for _, d := range dirs {
		rel, err := filepath.Rel(wd, filepath.Join(root, filepath.FromSlash(d)))
		if err != nil {
			return err
		}
		if err := r.AddGoComments(module+"/"+filepath.ToSlash(here), rel); err != nil {
			return fmt.Errorf("reading the comments of %s: %w", d, err)
		}
	}
	return nil
}
