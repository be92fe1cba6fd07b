package playbook

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/yamlx"
)

// decoder turns keyword values into typed fields, reporting ill-typed
// values at their position.
type decoder struct {
	l   *Loader
	doc *yamlx.Doc
}

func (d decoder) value(e *ast.MappingValueNode) any {
	v, err := d.doc.Value(e.Value)
	if err != nil {
		d.l.add(d.doc.Errorf(e.Value, "%v", err))
		return nil
	}
	return v
}

func (d decoder) fail(e *ast.MappingValueNode, format string, args ...any) {
	d.l.add(d.doc.Errorf(e.Value, "%s: %s", yamlx.KeyString(e), fmt.Sprintf(format, args...)))
}

func (d decoder) str(e *ast.MappingValueNode) string {
	switch v := d.value(e).(type) {
	case nil:
		return ""
	case string:
		return v
	case yamlx.Unsafe:
		return string(v)
	case int, float64, bool:
		return fmt.Sprint(v)
	default:
		d.fail(e, "want a string, got %s", module.TypeName(v))
		return ""
	}
}

func (d decoder) hostPattern(e *ast.MappingValueNode) string {
	switch v := d.value(e).(type) {
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ":")
	case string:
		return v
	case nil:
		d.fail(e, "empty host pattern")
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func (d decoder) boolean(e *ast.MappingValueNode) bool {
	b := d.boolPtr(e)
	return b != nil && *b
}

func (d decoder) boolPtr(e *ast.MappingValueNode) *bool {
	v := d.value(e)
	if v == nil {
		return nil
	}
	b, ok := module.ToBool(v)
	if !ok {
		d.fail(e, "want a boolean, got %s %v", module.TypeName(v), v)
		return nil
	}
	return &b
}

// boolOrTemplate keeps a templated value for the run to decide.
func (d decoder) boolOrTemplate(e *ast.MappingValueNode) any {
	v := d.value(e)
	if module.Templated(v) {
		return v
	}
	b, ok := module.ToBool(v)
	if !ok {
		d.fail(e, "want a boolean, got %s %v", module.TypeName(v), v)
	}
	return b
}

func (d decoder) intPtr(e *ast.MappingValueNode) *int {
	v := d.value(e)
	n, err := module.Convert(module.Int, v)
	if err != nil || n == nil {
		d.fail(e, "want an integer, got %s %v", module.TypeName(v), v)
		return nil
	}
	i := n.(int)
	return &i
}

func (d decoder) dict(e *ast.MappingValueNode) map[string]any {
	switch v := d.value(e).(type) {
	case nil:
		return nil
	case map[string]any:
		d.l.checkTemplates(d.doc, e.Value, v)
		return v
	case []any:
		// Ansible accepts a list of one-key mappings for vars.
		out := map[string]any{}
		for _, item := range v {
			m, ok := item.(map[string]any)
			if !ok {
				d.fail(e, "want a mapping, got a list of %s", module.TypeName(item))
				return nil
			}
			for k, x := range m {
				out[k] = x
			}
		}
		return out
	default:
		d.fail(e, "want a mapping, got %s", module.TypeName(v))
		return nil
	}
}

func (d decoder) list(e *ast.MappingValueNode) []any {
	switch v := d.value(e).(type) {
	case nil:
		return nil
	case []any:
		return v
	case string:
		return []any{v}
	default:
		d.fail(e, "want a list, got %s", module.TypeName(v))
		return nil
	}
}

func (d decoder) strList(e *ast.MappingValueNode) []string {
	switch v := d.value(e).(type) {
	case nil:
		return nil
	case string:
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			switch s.(type) {
			case string, int, float64, bool:
				out = append(out, fmt.Sprint(s))
			default:
				d.fail(e, "want a list of strings, found %s", module.TypeName(s))
			}
		}
		return out
	case int, float64, bool:
		return []string{fmt.Sprint(v)}
	default:
		d.fail(e, "want a string or a list, got %s", module.TypeName(v))
		return nil
	}
}

func (d decoder) serial(e *ast.MappingValueNode) []any {
	var items []any
	switch v := d.value(e).(type) {
	case []any:
		items = v
	case nil:
		return nil
	default:
		items = []any{v}
	}
	for _, it := range items {
		switch x := it.(type) {
		case int:
			if x < 0 {
				d.fail(e, "batch size must not be negative")
			}
		case string:
			if module.Templated(x) {
				continue
			}
			s := strings.TrimSuffix(strings.TrimSpace(x), "%")
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				d.fail(e, "want a number or a percentage, got %q", x)
			}
		default:
			d.fail(e, "want a number or a percentage, got %s", module.TypeName(it))
		}
	}
	return items
}

func (d decoder) percent(e *ast.MappingValueNode) *float64 {
	v := d.value(e)
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case float64:
		f = x
	case string:
		n, err := strconv.ParseFloat(strings.TrimSuffix(x, "%"), 64)
		if err != nil {
			d.fail(e, "want a number, got %q", x)
			return nil
		}
		f = n
	default:
		d.fail(e, "want a number, got %s", module.TypeName(v))
		return nil
	}
	return &f
}

func (d decoder) scalarString(n ast.Node) (string, bool) {
	v, err := d.doc.Value(n)
	if err != nil {
		d.l.add(d.doc.Errorf(n, "%v", err))
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case int, float64, bool:
		return fmt.Sprint(x), true
	}
	d.l.add(d.doc.Errorf(n, "want a string, got %s", module.TypeName(v)))
	return "", false
}

func (l *Loader) scalarString(doc *yamlx.Doc, n ast.Node, what string) (string, bool) {
	s, ok := decoder{l: l, doc: doc}.scalarString(n)
	if ok && s == "" {
		l.add(doc.Errorf(n, "%s needs a file name", what))
		return "", false
	}
	return s, ok
}
