package inventory

import (
	"github.com/cutover/cutover/engine/pyfmt"
)

// pyTypeName names the Python type Ansible would report for v.
func pyTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "<class 'NoneType'>"
	case string:
		return "<class 'str'>"
	case int:
		return "<class 'int'>"
	case float64:
		return "<class 'float'>"
	case bool:
		return "<class 'bool'>"
	case []any:
		return "<class 'list'>"
	case map[string]any:
		return "<class 'dict'>"
	}
	return "<class 'object'>"
}

// pyFloatRepr formats f like Python's repr(float).
func pyFloatRepr(f float64) string { return pyfmt.Float(f) }

// pyStr formats v like Python's str().
func pyStr(v any) string { return pyfmt.Str(v) }
