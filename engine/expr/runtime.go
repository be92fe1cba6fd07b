package expr

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// helper is the shape of every function the translated code calls.
type helper = func(args ...any) (any, error)

// helpers are registered with expr-lang under these names; translate.go
// emits calls to them. They are set in init because they refer back to
// the compiler through lazy variable rendering.
var helpers map[string]helper

func init() {
	helpers = map[string]helper{
		"__v": func(a ...any) (any, error) { return a[0].(*evalCtx).variable(a[1].(string)) },
		"__attr": func(a ...any) (any, error) {
			return a[0].(*evalCtx).attr(a[1], a[2].(string), a[3].(string))
		},
		"__item": func(a ...any) (any, error) { return a[0].(*evalCtx).item(a[1], a[2], a[3].(string)) },
		"__slice": func(a ...any) (any, error) {
			return slice(a[1], a[2], a[3], a[4])
		},
		"__call": func(a ...any) (any, error) {
			c := a[0].(*evalCtx)
			args, kw, err := c.callArgs(a[2], a[3])
			if err != nil {
				return nil, err
			}
			return globals[a[1].(string)](c, args, kw)
		},
		"__meth": func(a ...any) (any, error) {
			c := a[0].(*evalCtx)
			args, kw, err := c.callArgs(a[3], a[4])
			if err != nil {
				return nil, err
			}
			return callMethod(a[1], a[2].(string), args, kw)
		},
		"__filter": func(a ...any) (any, error) {
			return a[0].(*evalCtx).filter(a[1].(string), a[2], a[3], a[4])
		},
		"__test": func(a ...any) (any, error) {
			kw, _ := a[4].(map[string]any)
			return a[0].(*evalCtx).test(a[1].(string), a[2], a[3], kw)
		},
		"__truthy": func(a ...any) (any, error) { return Truthy(a[0]) },
		"__arith":  func(a ...any) (any, error) { return arith(a[0].(string), a[1], a[2]) },
		"__cat": func(a ...any) (any, error) {
			if err := checkDefined(a[0], a[1]); err != nil {
				return nil, err
			}
			return pyStr(a[0]) + pyStr(a[1]), nil
		},
		"__neg": func(a ...any) (any, error) { return negate(a[0]) },
		"__pos": func(a ...any) (any, error) {
			if _, _, _, ok := number(a[0]); !ok {
				if err := checkDefined(a[0]); err != nil {
					return nil, err
				}
				return nil, fmt.Errorf("bad operand type for unary +: '%s'", pyType(a[0]))
			}
			return norm(a[0]), nil
		},
		"__cmp":  func(a ...any) (any, error) { return compareOp(a[0].(string), a[1], a[2]) },
		"__list": func(a ...any) (any, error) { return append([]any{}, a...), nil },
		"__dict": func(a ...any) (any, error) {
			m := make(map[string]any, len(a)/2)
			for i := 0; i+1 < len(a); i += 2 {
				if err := checkDefined(a[i]); err != nil {
					return nil, err
				}
				m[pyStr(a[i])] = a[i+1]
			}
			return m, nil
		},
		"__undef": func(a ...any) (any, error) { return &Undefined{Hint: a[0].(string), soft: true}, nil },
	}
	for name, h := range helpers {
		if !lookupHelpers[name] {
			helpers[name] = taint(h)
		}
	}
}

func compareOp(op string, a, b any) (bool, error) {
	switch op {
	case "==", "!=":
		if err := checkDefined(a, b); err != nil {
			return false, err
		}
		return equal(a, b) == (op == "=="), nil
	case "in":
		return contains(a, b)
	case "notin":
		ok, err := contains(a, b)
		return !ok, err
	}
	r, err := compare(op, a, b)
	if err != nil {
		return false, err
	}
	switch op {
	case "<":
		return r < 0, nil
	case "<=":
		return r <= 0, nil
	case ">":
		return r > 0, nil
	}
	return r >= 0, nil
}

// variable looks a name up in the scope and renders it if templated.
func (c *evalCtx) variable(name string) (any, error) {
	if name == "omit" {
		return Omit, nil
	}
	raw, ok := c.scope.Lookup(name)
	if !ok {
		return &Undefined{Name: name}, nil
	}
	if _, ok := raw.(Unsafe); ok {
		return raw, nil
	}
	if shallowVars[name] {
		c.shallow = true
		return c.lazy(raw)
	}
	// Ansible templates a variable as a whole when it is used: a list
	// holding "{{ missing }}" is itself undefined.
	v, err := c.deep(raw)
	if err != nil || same(v, norm(raw)) {
		return v, err
	}
	if u := findUndefined(v); u != nil {
		return u, nil
	}
	return v, nil
}

// shallowVars are the big variables that are templated key by key on
// access, as Ansible's hostvars are, instead of all at once.
var shallowVars = map[string]bool{"hostvars": true, "vars": true, "groups": true, "ansible_facts": true}

func findUndefined(v any) *Undefined {
	switch x := v.(type) {
	case *Undefined:
		return x
	case []any:
		for _, e := range x {
			if u := findUndefined(e); u != nil {
				return u
			}
		}
	case map[string]any:
		for _, e := range x {
			if u := findUndefined(e); u != nil {
				return u
			}
		}
	}
	return nil
}

// attr is Jinja's getattr: a.b looks for the key "b" when a has no
// attribute b, and undefined values propagate as Ansible's do.
func (c *evalCtx) attr(obj any, name, path string) (any, error) {
	return c.lookupIn(obj, name, path)
}

// item is Jinja's getitem: a['b'], a[0], a[-1].
func (c *evalCtx) item(obj, key any, path string) (any, error) {
	return c.lookupIn(obj, norm(key), path)
}

func (c *evalCtx) lookupIn(obj, key any, path string) (any, error) {
	obj = norm(obj)
	switch o := obj.(type) {
	case *Undefined:
		return o, nil
	case map[string]any:
		k, ok := key.(string)
		if !ok {
			if _, isNum := key.(int); isNum {
				k = pyStr(key)
			} else if err := checkDefined(key); err != nil {
				return nil, err
			}
		}
		if v, found := o[k]; found {
			return c.lazy(v)
		}
	case []any:
		if i, ok := key.(int); ok {
			if i < 0 {
				i += len(o)
			}
			if i >= 0 && i < len(o) {
				return c.lazy(o[i])
			}
		} else if err := checkDefined(key); err != nil {
			return nil, err
		}
	case string:
		if i, ok := key.(int); ok {
			n := utf8.RuneCountInString(o)
			if i < 0 {
				i += n
			}
			if i >= 0 && i < n {
				return string([]rune(o)[i]), nil
			}
		}
	}
	if err := checkDefined(key); err != nil {
		return nil, err
	}
	return missingAttr(obj, key, path), nil
}

// slice is Python's seq[lo:hi:step] for lists and strings.
func slice(obj, lo, hi, step any) (any, error) {
	if err := checkDefined(obj, lo, hi, step); err != nil {
		return nil, err
	}
	var n int
	var runes []rune
	list, isList := norm(obj).([]any)
	if isList {
		n = len(list)
	} else if s, ok := norm(obj).(string); ok {
		runes = []rune(s)
		n = len(runes)
	} else {
		return nil, fmt.Errorf("'%s' object is not subscriptable", pyType(obj))
	}
	st := 1
	if step != nil {
		v, ok := norm(step).(int)
		if !ok || v == 0 {
			return nil, fmt.Errorf("slice step must be a non-zero integer")
		}
		st = v
	}
	bound := func(v any, def int) (int, error) {
		if v == nil {
			return def, nil
		}
		i, ok := norm(v).(int)
		if !ok {
			return 0, fmt.Errorf("slice indices must be integers or None")
		}
		if i < 0 {
			i += n
		}
		lowest, highest := 0, n
		if st < 0 {
			lowest, highest = -1, n-1
		}
		return max(lowest, min(i, highest)), nil
	}
	var start, stop int
	var err error
	if st > 0 {
		start, err = bound(lo, 0)
		if err == nil {
			stop, err = bound(hi, n)
		}
	} else {
		start, err = bound(lo, n-1)
		if err == nil {
			stop, err = bound(hi, -1)
		}
	}
	if err != nil {
		return nil, err
	}
	var idx []int
	for i := start; (st > 0 && i < stop) || (st < 0 && i > stop); i += st {
		idx = append(idx, i)
	}
	if isList {
		out := make([]any, len(idx))
		for j, i := range idx {
			out[j] = list[i]
		}
		return out, nil
	}
	out := make([]rune, len(idx))
	for j, i := range idx {
		out[j] = runes[i]
	}
	return string(out), nil
}

// callArgs converts the argument literals of a call, rejecting nothing:
// whether an undefined argument is acceptable is the callee's business.
func (c *evalCtx) callArgs(args, kw any) ([]any, map[string]any, error) {
	a, _ := args.([]any)
	k, _ := kw.(map[string]any)
	return a, k, nil
}

// intArg converts an argument that must be an integer.
func intArg(v any, what string) (int, error) {
	switch x := norm(v).(type) {
	case int:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float64:
		return int(x), nil
	case string:
		if i, err := strconv.Atoi(x); err == nil {
			return i, nil
		}
	case *Undefined:
		return 0, x.Err()
	}
	return 0, fmt.Errorf("%s must be an integer, got %s", what, pyType(v))
}

// lookupHelpers return stored values as they are, marks included.
var lookupHelpers = map[string]bool{"__v": true, "__attr": true, "__item": true}

// taint marks what a helper computes from Unsafe data as Unsafe too, so
// text that came from a host is never rendered as a template later, not
// even after a filter or a concatenation has copied it.
func taint(h helper) helper {
	return func(a ...any) (any, error) {
		v, err := h(a...)
		if err != nil || v == nil {
			return v, err
		}
		for _, x := range a {
			if hasUnsafe(x, 0) {
				return MarkUnsafe(v), nil
			}
		}
		return v, nil
	}
}

// hasUnsafe reports whether v holds an Unsafe string, looking a few levels
// deep: registered results are shallow.
func hasUnsafe(v any, depth int) bool {
	switch x := v.(type) {
	case Unsafe:
		return true
	case []any:
		if depth < 4 {
			for _, e := range x {
				if hasUnsafe(e, depth+1) {
					return true
				}
			}
		}
	case map[string]any:
		if depth < 4 {
			for _, e := range x {
				if hasUnsafe(e, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

// plain strips Unsafe marks for callers outside this package.
func plain(v any) any {
	switch x := v.(type) {
	case Unsafe:
		return string(x)
	case []any:
		if !hasUnsafe(x, 0) {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		if !hasUnsafe(x, 0) {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	}
	return v
}
