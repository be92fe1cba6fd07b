package expr

// PyStr formats a value as Python's str() does (True, None, 'a' unquoted).
func PyStr(v any) string { return pyStr(v) }

// PyRepr formats a value as Python's repr() does ({'a': 1}, ['x']).
func PyRepr(v any) string { return pyRepr(v) }
