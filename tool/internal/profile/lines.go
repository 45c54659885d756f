package profile

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// fieldRE matches the start of an error about one field of a list item:
// profiles[2].sha256: ...
var fieldRE = regexp.MustCompile(`^([a-z_]+)\[([0-9]+)\]\.([a-z_0-9]+): `)

// WithLines prefixes every error of err (one, or joined) that starts with
// <list>[<i>].<field>: with the line of that field in the YAML document
// data ("line 7: profiles[1].sha256: ..."), or of the list item when the
// field is not written. Other errors are kept as they are.
func WithLines(data []byte, err error) error {
	if err == nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return err
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, len(errs))
	for k, e := range errs {
		out[k] = e
		m := fieldRE.FindStringSubmatch(e.Error())
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[2])
		if line := fieldLine(doc.Content[0], m[1], i, m[3]); line > 0 {
			out[k] = fmt.Errorf("line %d: %w", line, e)
		}
	}
	return errors.Join(out...)
}

// fieldLine finds the line of list[i].field in a mapping node, or of
// list[i] when it has no such field; 0 when there is no list[i].
func fieldLine(root *yaml.Node, list string, i int, field string) int {
	seq := value(root, list)
	if seq == nil || seq.Kind != yaml.SequenceNode || i >= len(seq.Content) {
		return 0
	}
	item := seq.Content[i]
	if item.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(item.Content); j += 2 {
			if item.Content[j].Value == field {
				return item.Content[j].Line
			}
		}
	}
	return item.Line
}

// value returns the value of key in a mapping node, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for j := 0; j+1 < len(m.Content); j += 2 {
		if m.Content[j].Value == key {
			return m.Content[j+1]
		}
	}
	return nil
}
