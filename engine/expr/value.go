package expr

import (
	"fmt"
	"math"
	"sort"

	"github.com/cutover/cutover/engine/pyfmt"
)

// Scope gives an evaluation its variables. Lookup returns the raw value a
// playbook, inventory or fact defined; strings that hold templates are
// rendered lazily by the evaluator, as Ansible does.
type Scope interface {
	Lookup(name string) (any, bool)
}

// MapScope is a Scope backed by a plain map.
type MapScope map[string]any

// Lookup returns the value stored under name.
func (m MapScope) Lookup(name string) (any, bool) {
	v, ok := m[name]
	return v, ok
}

// childScope layers loop variables of a template over a parent scope.
type childScope struct {
	vars   map[string]any
	parent Scope
}

// Lookup prefers the loop variables over the parent scope.
func (c *childScope) Lookup(name string) (any, bool) {
	if v, ok := c.vars[name]; ok {
		return v, true
	}
	if c.parent == nil {
		return nil, false
	}
	return c.parent.Lookup(name)
}

type omitValue struct{}

func (*omitValue) String() string { return "__omit_place_holder__" }

// Omit is the value of the playbook variable omit. The engine drops module
// arguments equal to it and RenderValue drops map entries holding it.
var Omit = &omitValue{}

// Undefined is the value of a missing variable, key or attribute. It may be
// passed to default, tested with "is defined", or carried along; any other
// use is an *UndefinedError.
type Undefined struct {
	Name string // the expression that was missing, e.g. "foo" or "foo.bar"
	Hint string // Ansible's message when it differs from "'Name' is undefined"
	// soft marks Jinja's plain Undefined (an inline if without else): it
	// prints as "" and is false, where Ansible's undefined values fail.
	soft bool
}

// Err returns the error reported when the undefined value is used.
func (u *Undefined) Err() *UndefinedError {
	msg := u.Hint
	if msg == "" {
		msg = pyRepr(u.Name) + " is undefined"
	}
	return &UndefinedError{Name: u.Name, Msg: msg}
}

// String returns the message a use of the value reports.
func (u *Undefined) String() string { return u.Err().Msg }

// UndefinedError reports the use of an undefined value. Its message is
// Ansible's: "'foo' is undefined" or "'dict object' has no attribute 'bar'".
type UndefinedError struct {
	Name string
	Msg  string
}

// Error returns Ansible's message, e.g. "'foo' is undefined".
func (e *UndefinedError) Error() string { return e.Msg }

// SyntaxError reports an expression or template that does not parse.
// Offset is a byte offset into Src.
type SyntaxError struct {
	Src    string
	Offset int
	Msg    string
}

// Error names the offset and the text the error is in.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("template error at offset %d in %q: %s", e.Offset, e.Src, e.Msg)
}

// missingAttr builds the Undefined of a failed attribute or item access.
func missingAttr(obj any, name any, path string) *Undefined {
	tr := typeRepr(obj)
	var hint string
	if s, ok := name.(string); ok {
		hint = pyRepr(tr) + " has no attribute " + pyRepr(s)
	} else {
		hint = tr + " has no element " + pyRepr(name)
	}
	return &Undefined{Name: path, Hint: hint}
}

// typeRepr is Jinja's object_type_repr: "dict object", "list object", "None".
func typeRepr(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case map[string]any:
		return "dict object"
	case []any:
		return "list object"
	case string:
		return "str object"
	case bool:
		return "bool object"
	case int:
		return "int object"
	case float64:
		return "float object"
	}
	return fmt.Sprintf("%T object", v)
}

// pyType names a value's Python type, as type_debug and TypeError do.
func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case map[string]any:
		return "dict"
	case []any:
		return "list"
	case string:
		return "str"
	case bool:
		return "bool"
	case int:
		return "int"
	case float64:
		return "float"
	case *Undefined:
		return "AnsibleUndefined"
	}
	return fmt.Sprintf("%T", v)
}

// Bound is a template that renders in the scope it was bound to, not in
// the one reading it: hostvars['b'].url renders with b's variables, as
// Ansible's hostvars do. Read whole, outside a lookup, it is its text.
type Bound struct {
	Text  string
	Scope Scope
}

// norm maps the numeric and container types YAML and Go callers produce
// onto the value model: int, float64, []any, map[string]any.
func norm(v any) any {
	switch x := v.(type) {
	case Unsafe:
		return string(x)
	case Bound:
		return x.Text
	case int64:
		return int(x)
	case int32:
		return int(x)
	case uint64:
		if x > math.MaxInt64 {
			return float64(x)
		}
		return int(x)
	case uint:
		return int(x)
	case uint32:
		return int(x)
	case float32:
		return float64(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			out[k] = s
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[pyStr(norm(k))] = e
		}
		return out
	}
	return v
}

// Truthy reports Python truthiness. An Undefined value is an *UndefinedError.
func Truthy(v any) (bool, error) {
	switch x := norm(v).(type) {
	case nil:
		return false, nil
	case *Undefined:
		if x.soft {
			return false, nil
		}
		return false, x.Err()
	case bool:
		return x, nil
	case int:
		return x != 0, nil
	case float64:
		return x != 0, nil
	case string:
		return x != "", nil
	case []any:
		return len(x) > 0, nil
	case map[string]any:
		return len(x) > 0, nil
	}
	return true, nil
}

// pyStr is Python's str(): how ~ and string output show a value.
func pyStr(v any) string {
	switch x := norm(v).(type) {
	case string:
		return x
	case nil:
		return "None"
	case *Undefined:
		return ""
	}
	return pyRepr(v)
}

// pyRepr is Python's repr(): strings quoted, True/False/None, [..], {..}.
func pyRepr(v any) string { return pyfmt.Repr(reprable(v)) }

// reprable maps the evaluator's own values onto what pyfmt prints: data
// marks dropped, an undefined value as nothing, omit as its placeholder.
func reprable(v any) any {
	switch x := norm(v).(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = reprable(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = reprable(e)
		}
		return out
	case *Undefined:
		return verbatim("")
	case *omitValue:
		return verbatim(x.String())
	default:
		return x
	}
}

// verbatim prints as itself inside pyfmt's repr.
type verbatim string

func (v verbatim) String() string { return string(v) }

// pyFloat formats a float as Python's repr does: 1.0, 0.1, 1e+16, 1e-05.
func pyFloat(f float64) string { return pyfmt.Float(f) }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// toList iterates a value as Python would: lists, dict keys, string runes.
func toList(v any) ([]any, error) {
	switch x := norm(v).(type) {
	case []any:
		return x, nil
	case map[string]any:
		keys := sortedKeys(x)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out, nil
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case *Undefined:
		return nil, x.Err()
	}
	return nil, fmt.Errorf("'%s' object is not iterable", pyType(v))
}

// checkDefined returns the UndefinedError of the first undefined value.
func checkDefined(vs ...any) error {
	for _, v := range vs {
		if u, ok := v.(*Undefined); ok {
			return u.Err()
		}
	}
	return nil
}
