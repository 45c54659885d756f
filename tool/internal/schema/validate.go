package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	validator "github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// A Validator checks documents against the committed schemas of a
// repository, with a validator of JSON Schema 2020-12 of its own.
type Validator struct {
	compiled map[string]*validator.Schema // by Schema.File
}

// NewValidator compiles every schema committed in root's schemas/ folder.
func NewValidator(root string) (*Validator, error) {
	c := validator.NewCompiler()
	v := &Validator{compiled: map[string]*validator.Schema{}}
	for _, s := range All {
		data, err := os.ReadFile(filepath.Join(root, Dir, s.File))
		if err != nil {
			return nil, err
		}
		doc, err := validator.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", Dir, s.File, err)
		}
		if err := c.AddResource(s.URL(), doc); err != nil {
			return nil, fmt.Errorf("%s/%s: %w", Dir, s.File, err)
		}
	}
	for _, s := range All {
		compiled, err := c.Compile(s.URL())
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", Dir, s.File, err)
		}
		v.compiled[s.File] = compiled
	}
	return v, nil
}

// Validate checks data, a file of s's format (YAML or JSON), against s.
func (v *Validator) Validate(s Schema, data []byte) error {
	if s.yaml() {
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return err
		}
		if doc == nil {
			doc = map[string]any{} // an empty file: every field its default
		}
		var err error
		if data, err = json.Marshal(doc); err != nil {
			return err
		}
	}
	inst, err := validator.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return v.compiled[s.File].Validate(inst)
}
