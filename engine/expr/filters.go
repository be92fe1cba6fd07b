package expr

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// absent marks a parameter the call did not pass.
var absent = &struct{ absent bool }{true}

// bound holds a filter's or function's arguments matched to its parameters.
type bound struct {
	p    []any // by parameter position; absent when not given
	rest []any // extra positional arguments of variadic callables
	kw   map[string]any
}

func (b bound) has(i int) bool { return b.p[i] != absent }

// get returns parameter i or def when it was not given.
func (b bound) get(i int, def any) any {
	if b.p[i] == absent {
		return def
	}
	return b.p[i]
}

func (b bound) truth(i int, def bool) bool {
	if b.p[i] == absent {
		return def
	}
	t, _ := Truthy(b.p[i])
	return t
}

func (b bound) str(i int, def string) string {
	if b.p[i] == absent || b.p[i] == nil {
		return def
	}
	return pyStr(b.p[i])
}

// filterDef describes one filter: its parameters by name, how many are
// required, and whether it may see undefined values (default, mandatory).
type filterDef struct {
	params   []string
	required int
	variadic bool // extra positional arguments go to bound.rest
	anyKw    bool // accepts keywords outside params (combine, comment)
	lenient  bool
	fn       func(c *evalCtx, in any, a bound) (any, error)
}

// check validates a call's argument shape at compile time.
func (f *filterDef) check(a argList) error {
	if len(a.pos) > len(f.params) && !f.variadic {
		return fmt.Errorf("takes at most %d arguments, got %d", len(f.params), len(a.pos))
	}
	for _, k := range a.kwKeys {
		if !f.anyKw && !contains1(f.params, k) {
			return fmt.Errorf("unexpected keyword argument '%s'", k)
		}
	}
	for i := len(a.pos); i < f.required; i++ {
		if !contains1(a.kwKeys, f.params[i]) {
			return fmt.Errorf("missing required argument '%s'", f.params[i])
		}
	}
	return nil
}

func contains1(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// bind matches positional and keyword arguments to parameters.
func (f *filterDef) bind(args []any, kw map[string]any) (bound, error) {
	b := bound{p: make([]any, len(f.params)), kw: kw}
	for i := range b.p {
		b.p[i] = absent
	}
	for i, a := range args {
		if i < len(f.params) {
			b.p[i] = a
		} else {
			b.rest = append(b.rest, a)
		}
	}
	for k, v := range kw {
		for i, name := range f.params {
			if name == k {
				b.p[i] = v
			}
		}
	}
	for i := 0; i < f.required; i++ {
		if b.p[i] == absent {
			return b, fmt.Errorf("missing required argument '%s'", f.params[i])
		}
	}
	return b, nil
}

func (c *evalCtx) filter(name string, in, args, kw any) (any, error) {
	f := filters[name]
	a, k, _ := c.callArgs(args, kw)
	if !f.lenient {
		if err := checkDefined(in); err != nil {
			return nil, err
		}
		if err := checkDefined(a...); err != nil {
			return nil, err
		}
		for _, v := range k {
			if err := checkDefined(v); err != nil {
				return nil, err
			}
		}
		var err error
		if in, err = c.settle(in); err != nil {
			return nil, err
		}
	}
	b, err := f.bind(a, k)
	if err != nil {
		return nil, fmt.Errorf("filter %s: %w", name, err)
	}
	out, err := f.fn(c, norm(in), b)
	if err != nil {
		var ue *UndefinedError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, fmt.Errorf("filter %s: %w", name, err)
	}
	return out, nil
}

// Filters lists the names of the supported filters, sorted.
func Filters() []string {
	names := make([]string, 0, len(filters))
	for n := range filters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var filters map[string]*filterDef

func init() {
	filters = map[string]*filterDef{}
	for _, group := range []map[string]*filterDef{coreFilters, listFilters, textFilters, dataFilters} {
		for n, f := range group {
			filters[n] = f
		}
	}
	filters["d"] = filters["default"]
	filters["count"] = filters["length"]
}

func fdef(params []string, required int, fn func(c *evalCtx, in any, a bound) (any, error)) *filterDef {
	return &filterDef{params: params, required: required, fn: fn}
}

var coreFilters = map[string]*filterDef{
	"default": {params: []string{"default_value", "boolean"}, lenient: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		if _, ok := in.(*Undefined); ok {
			return a.get(0, ""), nil
		}
		if a.truth(1, false) {
			if t, _ := Truthy(in); !t {
				return a.get(0, ""), nil
			}
		}
		return in, nil
	}},
	"mandatory": {params: []string{"msg"}, lenient: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		if u, ok := in.(*Undefined); ok {
			if a.has(0) && a.p[0] != nil {
				return nil, &UndefinedError{Name: u.Name, Msg: pyStr(a.p[0])}
			}
			msg := "Mandatory variable has not been overridden"
			if u.Name != "" {
				// Ansible's message has two spaces: "'foo'  not defined".
				msg = fmt.Sprintf("Mandatory variable %s  not defined.", pyRepr(u.Name))
			}
			return nil, &UndefinedError{Name: u.Name, Msg: msg}
		}
		return in, nil
	}},
	"bool": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) { return ansibleBool(in), nil }),
	"int": fdef([]string{"default", "base"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		base, err := intArg(a.get(1, 10), "base")
		if err != nil {
			return nil, err
		}
		return toInt(in, base, a.get(0, 0)), nil
	}),
	"float": fdef([]string{"default"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		if f, ok := toFloat(in); ok {
			return f, nil
		}
		return a.get(0, 0.0), nil
	}),
	"string":     fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) { return pyStr(in), nil }),
	"type_debug": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) { return pyType(in), nil }),
	"length": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		switch x := in.(type) {
		case string:
			return len([]rune(x)), nil
		case []any:
			return len(x), nil
		case map[string]any:
			return len(x), nil
		}
		return nil, fmt.Errorf("object of type '%s' has no len()", pyType(in))
	}),
	"ternary": fdef([]string{"true_val", "false_val", "none_val"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		if in == nil && a.has(2) && a.p[2] != nil {
			return a.p[2], nil
		}
		if t, _ := Truthy(in); t {
			return a.get(0, true), nil
		}
		return a.get(1, false), nil
	}),
	"abs": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		i, f, isf, ok := number(in)
		switch {
		case !ok:
			return nil, fmt.Errorf("bad operand type for abs(): '%s'", pyType(in))
		case isf:
			return math.Abs(f), nil
		case i < 0:
			return -i, nil
		}
		return i, nil
	}),
	"round": fdef([]string{"precision", "method"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		i, f, isf, ok := number(in)
		if !ok {
			return nil, fmt.Errorf("round needs a number, got %s", pyType(in))
		}
		prec, err := intArg(a.get(0, 0), "precision")
		if err != nil {
			return nil, err
		}
		p := math.Pow(10, float64(prec))
		switch m := a.str(1, "common"); m {
		case "common":
			if !isf && prec >= 0 {
				return i, nil // Python's round keeps an int an int
			}
			return math.RoundToEven(f*p) / p, nil
		case "ceil":
			return math.Ceil(f*p) / p, nil
		case "floor":
			return math.Floor(f*p) / p, nil
		default:
			return nil, fmt.Errorf("method must be common, ceil or floor, not %s", m)
		}
	}),
}

// ansibleBool is Ansible's bool filter: yes/on/1/true (any case) and 1 are
// true, everything else false.
func ansibleBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(x) {
		case "yes", "on", "1", "true":
			return true
		}
		return false
	}
	_, f, _, ok := number(v)
	return ok && f == 1
}

// toInt is Jinja's int filter: strings in the given base, floats
// truncated, anything unparsable gives def.
func toInt(v any, base int, def any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return 1
		}
		return 0
	case int:
		return x
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return def
		}
		return int(x)
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), "_", "")
		neg := strings.HasPrefix(s, "-")
		digits := strings.TrimLeft(s, "+-")
		if base == 16 || base == 8 || base == 2 || base == 0 {
			lower := strings.ToLower(digits)
			for prefix, b := range map[string]int{"0x": 16, "0o": 8, "0b": 2} {
				if strings.HasPrefix(lower, prefix) && (base == b || base == 0) {
					digits, base = digits[2:], b
				}
			}
			if base == 0 {
				base = 10
			}
		}
		signs := len(s) - len(strings.TrimLeft(s, "+-"))
		if n, err := strconv.ParseInt(digits, base, 64); err == nil && signs <= 1 {
			if neg {
				return -int(n)
			}
			return int(n)
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return int(f)
		}
	}
	return def
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	_, f, _, ok := number(v)
	return f, ok
}
