package schema

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Page is the reference page of s's format, in docs/reference/ of the
// repository: a table of every field with its type, default and meaning,
// rendered from the schema Generate made (generated).
func (s Schema) Page() string {
	name, _ := strings.CutSuffix(s.File, ".schema.json")
	if s.yaml() {
		name += ".yaml"
	}
	return "docs/reference/" + name + ".md"
}

// node is the part of a JSON Schema a reference page reads.
type node struct {
	Ref           string           `json:"$ref"`
	Type          any              `json:"type"`
	Description   string           `json:"description"`
	Default       any              `json:"default"`
	Enum          []any            `json:"enum"`
	Pattern       string           `json:"pattern"`
	Required      []string         `json:"required"`
	Properties    orderedNodes     `json:"properties"`
	Items         *node            `json:"items"`
	RawAdditional json.RawMessage  `json:"additionalProperties"` // false, or a schema
	Additional    *node            `json:"-"`
	Defs          map[string]*node `json:"$defs"`
}

func (n *node) UnmarshalJSON(data []byte) error {
	type plain node
	if err := json.Unmarshal(data, (*plain)(n)); err != nil {
		return err
	}
	if len(n.RawAdditional) > 0 && n.RawAdditional[0] == '{' {
		n.Additional = new(node)
		return json.Unmarshal(n.RawAdditional, n.Additional)
	}
	return nil
}

// orderedNodes are properties in the schema's order.
type orderedNodes struct {
	names []string
	nodes map[string]*node
}

func (o *orderedNodes) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if _, err := dec.Token(); err != nil {
		return err
	}
	o.nodes = map[string]*node{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var n node
		if err := dec.Decode(&n); err != nil {
			return err
		}
		o.names = append(o.names, t.(string))
		o.nodes[t.(string)] = &n
	}
	return nil
}

// Reference renders generated, s's schema, as its reference page.
func (s Schema) Reference(generated string) (string, error) {
	var root node
	if err := json.Unmarshal([]byte(generated), &root); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", s.For)
	b.WriteString("<!-- Generated from schemas/" + s.File + " by go test ./internal/schema -args -update in tool/; do not edit. -->\n\n")
	fmt.Fprintf(&b, "%s. JSON Schema: [`schemas/%s`](../../schemas/%s) (%s).\n\n", s.Title, s.File, s.File, s.URL())
	if s.yaml() {
		b.WriteString("Every field is optional unless marked required. Editors that use yaml-language-server complete and check the fields when the file's first line is\n\n")
		fmt.Fprintf(&b, "```yaml\n%s\n```\n\n", Header(s.URL()))
	} else {
		b.WriteString("plugship writes this file; other programs may read it. Fields marked required are always there.\n\n")
	}
	b.WriteString("| field | type | default | description |\n| --- | --- | --- | --- |\n")
	var walk func(prefix string, n *node, depth int)
	walk = func(prefix string, n *node, depth int) {
		n = resolve(&root, n)
		for _, name := range n.Properties.names {
			own := n.Properties.nodes[name]
			p := resolve(&root, own)
			path := prefix + name
			kind := typeOf(&root, p)
			req := ""
			if slices.Contains(n.Required, name) {
				req = " **(required)**"
			}
			desc := cmp.Or(own.Description, p.Description) // a field's own comment before its type's
			if len(p.Enum) > 0 {
				desc = strings.TrimSpace(desc + " One of " + values(p.Enum) + ".")
			}
			if p.Pattern != "" {
				desc = strings.TrimSpace(desc + " Matches `" + p.Pattern + "`.")
			}
			def := ""
			if p.Default != nil {
				def = "`" + fmt.Sprint(p.Default) + "`"
			}
			fmt.Fprintf(&b, "| `%s`%s | %s | %s | %s |\n", path, req, kind, def, cell(desc))
			if depth > 6 {
				continue
			}
			switch {
			case len(p.Properties.names) > 0:
				walk(path+".", p, depth+1)
			case p.Items != nil && len(resolve(&root, p.Items).Properties.names) > 0:
				walk(path+"[].", p.Items, depth+1)
			case p.Additional != nil && len(resolve(&root, p.Additional).Properties.names) > 0:
				walk(path+".<name>.", p.Additional, depth+1)
			}
		}
	}
	walk("", &root, 0)
	return b.String(), nil
}

// resolve follows n's $ref into root's $defs.
func resolve(root, n *node) *node {
	for n != nil && n.Ref != "" {
		n = root.Defs[strings.TrimPrefix(n.Ref, "#/$defs/")]
	}
	if n == nil {
		return &node{}
	}
	return n
}

// typeOf is n's type for people: "string", "list of string", "mapping".
func typeOf(root, n *node) string {
	switch t := n.Type.(type) {
	case string:
		switch t {
		case "array":
			if n.Items != nil {
				return "list of " + typeOf(root, resolve(root, n.Items))
			}
			return "list"
		case "object":
			if n.Additional != nil && len(n.Properties.names) == 0 {
				return "mapping of " + typeOf(root, resolve(root, n.Additional))
			}
			return "mapping"
		}
		return t
	case []any:
		return values(t)
	}
	return "any"
}

func values(vs []any) string {
	var s []string
	for _, v := range vs {
		s = append(s, fmt.Sprintf("`%v`", v))
	}
	return strings.Join(s, ", ")
}

// cell is s fit for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;", "\n\n", "<br><br>", "\n", " ").Replace(s)
}
