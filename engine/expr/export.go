package expr

import (
	"github.com/cutover/cutover/engine/pyfmt"
	"github.com/cutover/cutover/engine/yamlx"
)

// PyStr formats a value as Python's str() does (True, None, 'a' unquoted).
func PyStr(v any) string { return pyStr(v) }

// PyRepr formats a value as Python's repr() does ({'a': 1}, ['x']).
func PyRepr(v any) string { return pyRepr(v) }

// PyJSON is Python's json.dumps(v) as Ansible writes a dict or list (one
// line, ", " and ": ", non-ASCII escaped), keys sorted.
func PyJSON(v any) string { return pyfmt.JSON(normDeep(v), -1, true) }

// Unsafe marks text that must never be templated: registered results,
// facts and values tagged !unsafe in YAML. It reads as a plain string in
// every expression.
type Unsafe = yamlx.Unsafe

// MarkUnsafe returns v with every string inside it marked Unsafe, for
// data that comes from hosts (a command's output may hold "{{").
func MarkUnsafe(v any) any {
	switch x := v.(type) {
	case string:
		return Unsafe(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = MarkUnsafe(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = MarkUnsafe(e)
		}
		return out
	}
	return v
}
