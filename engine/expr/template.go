package expr

import (
	"errors"
	"fmt"
	"strings"
)

var errUnpack = errors.New("cannot unpack loop item into the loop variables")

// Template is a compiled text with {{ expr }}, {% if %}/{% for %}/{% set %}
// blocks and {# comments #}. It is safe for concurrent use.
type Template struct {
	text       string
	nodes      []tnode
	single     *Program // the template is one {{ expr }}, so it keeps its type
	singleTail string   // whitespace after that expression
}

type tnode interface{}

type (
	textNode string
	outNode  struct{ prog *Program }
	ifNode   struct {
		conds  []*Program
		bodies [][]tnode
		els    []tnode
	}
	forNode struct {
		vars []string
		iter *Program
		cond *Program // optional "for x in y if cond" filter
		body []tnode
		els  []tnode
	}
	setNode struct {
		name string
		attr string // set name.attr: name holds a namespace()
		prog *Program
	}
)

// IsTemplate reports whether s holds any Jinja syntax: {{, {% or {#.
func IsTemplate(s string) bool {
	return strings.Contains(s, "{{") || strings.Contains(s, "{%") || strings.Contains(s, "{#")
}

// CompileTemplate parses a template once; later calls with the same text
// return the cached template. Errors are *SyntaxError with byte offsets
// into text.
func CompileTemplate(text string) (*Template, error) {
	return templates.get(text, parseTemplate)
}

// CompileTemplateFile parses the text of a template file, as the template
// module renders it: backslash escapes in string literals inside {{ }} are
// Jinja's (\n is a newline), where in playbook strings Ansible keeps them
// as written. The result is cached like CompileTemplate's.
func CompileTemplateFile(text string) (*Template, error) {
	return templates.get(fileKey+text, parseTemplate)
}

// CheckTemplate reports whether text is a valid template, without rendering it.
func CheckTemplate(text string) error {
	_, err := CompileTemplate(text)
	return err
}

// Static reports whether the template holds no expressions or blocks, so
// rendering returns its text unchanged (less any comments).
func (t *Template) Static() bool {
	for _, n := range t.nodes {
		if _, ok := n.(textNode); !ok {
			return false
		}
	}
	return true
}

// Render evaluates the template against s. A template that is a single
// {{ expr }} (whitespace around it allowed) returns the value with its
// type; any other template returns a string in which values are formatted
// as Jinja would, except None, which renders as an empty string (Ansible).
func (t *Template) Render(s Scope) (any, error) {
	v, err := t.render(&evalCtx{scope: s})
	return v, wrapTop(t.text, err)
}

func (t *Template) render(c *evalCtx) (any, error) {
	if t.single != nil {
		v, err := t.single.eval(c)
		if err != nil || t.singleTail == "" {
			return v, err
		}
		switch v.(type) {
		case []any, map[string]any, bool:
			return v, nil
		}
		return pyStr(v) + t.singleTail, nil
	}
	var b strings.Builder
	c = &evalCtx{scope: &childScope{vars: map[string]any{}, parent: c.scope}, depth: c.depth}
	if err := renderNodes(c, t.nodes, &b); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func renderNodes(c *evalCtx, nodes []tnode, b *strings.Builder) error {
	for _, n := range nodes {
		switch x := n.(type) {
		case textNode:
			b.WriteString(string(x))
		case *outNode:
			v, err := x.prog.eval(c)
			if err != nil {
				return err
			}
			if v != nil {
				b.WriteString(pyStr(v))
			}
		case *setNode:
			v, err := x.prog.eval(c)
			if err != nil {
				return err
			}
			if x.attr == "" {
				c.scope.(*childScope).vars[x.name] = v
				break
			}
			ns, _ := c.scope.Lookup(x.name)
			m, ok := ns.(map[string]any)
			if !ok || m[namespaceMark] != true {
				return fmt.Errorf("cannot assign attribute on non-namespace object %s", x.name)
			}
			m[x.attr] = v
		case *ifNode:
			done := false
			for i, cond := range x.conds {
				v, err := cond.eval(c)
				if err != nil {
					return err
				}
				if truthOf(v) {
					if err := renderNodes(c, x.bodies[i], b); err != nil {
						return err
					}
					done = true
					break
				}
			}
			if !done {
				if err := renderNodes(c, x.els, b); err != nil {
					return err
				}
			}
		case *forNode:
			if err := renderFor(c, x, b); err != nil {
				return err
			}
		}
	}
	return nil
}

func renderFor(c *evalCtx, f *forNode, b *strings.Builder) error {
	v, err := f.iter.eval(c)
	if err != nil {
		return err
	}
	items, err := toList(v)
	if err != nil {
		return err
	}
	if m, ok := norm(v).(map[string]any); ok && len(f.vars) > 1 {
		r, _ := callMethod(m, "items", nil, nil)
		items = r.([]any)
	}
	bind := func(item any) (*evalCtx, error) {
		vars := map[string]any{}
		if len(f.vars) == 1 {
			vars[f.vars[0]] = item
		} else {
			parts, ok := norm(item).([]any)
			if !ok || len(parts) != len(f.vars) {
				return nil, &templateError{src: f.iter.src, err: errUnpack}
			}
			for i, name := range f.vars {
				vars[name] = parts[i]
			}
		}
		return &evalCtx{scope: &childScope{vars: vars, parent: c.scope}, depth: c.depth}, nil
	}
	if f.cond != nil {
		var kept []any
		for _, it := range items {
			ic, err := bind(it)
			if err != nil {
				return err
			}
			ok, err := f.cond.eval(ic)
			if err != nil {
				return err
			}
			if truthOf(ok) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return renderNodes(c, f.els, b)
	}
	for i, it := range items {
		ic, err := bind(it)
		if err != nil {
			return err
		}
		loop := map[string]any{"index": i + 1, "index0": i, "first": i == 0, "last": i == len(items)-1,
			"length": len(items), "revindex": len(items) - i, "revindex0": len(items) - i - 1}
		if i > 0 {
			loop["previtem"] = items[i-1]
		}
		if i+1 < len(items) {
			loop["nextitem"] = items[i+1]
		}
		ic.scope.(*childScope).vars["loop"] = loop
		if err := renderNodes(ic, f.body, b); err != nil {
			return err
		}
	}
	return nil
}

// Render compiles (or fetches from the cache) and renders a template.
func Render(text string, s Scope) (any, error) {
	if !IsTemplate(text) {
		return text, nil
	}
	t, err := CompileTemplate(text)
	if err != nil {
		return nil, err
	}
	return t.Render(s)
}

// RenderString renders a template and formats a non-string result as
// Jinja would print it (None becomes "").
func RenderString(text string, s Scope) (string, error) {
	v, err := Render(text, s)
	if err != nil {
		return "", err
	}
	if v == nil {
		return "", nil
	}
	return pyStr(v), nil
}

// RenderValue renders every string inside v, walking lists and maps, and
// drops map entries whose rendered value is Omit. v itself is not modified.
func RenderValue(v any, s Scope) (any, error) {
	switch x := norm(v).(type) {
	case string:
		return Render(x, s)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := RenderValue(e, s)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := RenderValue(e, s)
			if err != nil {
				return nil, err
			}
			if r == Omit {
				continue
			}
			out[k] = r
		}
		return out, nil
	default:
		return x, nil
	}
}
