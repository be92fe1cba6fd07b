package expr

import (
	"fmt"
	"sort"
	"strings"
)

var listFilters = map[string]*filterDef{
	"list": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		l, err := toList(in)
		return append([]any{}, l...), err
	}),
	"first": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		l, err := toList(in)
		if err != nil {
			return nil, err
		}
		if len(l) == 0 {
			return &Undefined{Hint: "No first item, sequence was empty."}, nil
		}
		return c.lazy(l[0])
	}),
	"last": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		l, err := toList(in)
		if err != nil {
			return nil, err
		}
		if len(l) == 0 {
			return &Undefined{Hint: "No last item, sequence was empty."}, nil
		}
		return c.lazy(l[len(l)-1])
	}),
	"min": {params: []string{"case_sensitive", "attribute"}, fn: func(c *evalCtx, in any, a bound) (any, error) {
		return extreme(c, in, a, -1)
	}},
	"max": {params: []string{"case_sensitive", "attribute"}, fn: func(c *evalCtx, in any, a bound) (any, error) {
		return extreme(c, in, a, 1)
	}},
	"sum": fdef([]string{"attribute", "start"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		l, err := c.attrList(in, a.get(0, nil))
		if err != nil {
			return nil, err
		}
		var total any = a.get(1, 0)
		for _, e := range l {
			if total, err = arith("+", total, e); err != nil {
				return nil, err
			}
		}
		return total, nil
	}),
	"unique": fdef([]string{"case_sensitive", "attribute"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		l, err := toList(in)
		if err != nil {
			return nil, err
		}
		return c.unique(l, a.truth(0, false), a.get(1, nil))
	}),
	"sort": fdef([]string{"reverse", "case_sensitive", "attribute"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		l, err := toList(in)
		if err != nil {
			return nil, err
		}
		keys, err := c.attrList(l, a.get(2, nil))
		if err != nil {
			return nil, err
		}
		idx := make([]int, len(l))
		for i := range idx {
			idx[i] = i
		}
		cs := a.truth(1, false)
		var cmpErr error
		sort.SliceStable(idx, func(i, j int) bool {
			r, err := compare("<", foldCase(keys[idx[i]], cs), foldCase(keys[idx[j]], cs))
			if err != nil && cmpErr == nil {
				cmpErr = err
			}
			return r < 0
		})
		if cmpErr != nil {
			return nil, cmpErr
		}
		out := make([]any, len(l))
		rev := a.truth(0, false)
		for i, k := range idx {
			if rev {
				out[len(l)-1-i] = l[k]
			} else {
				out[i] = l[k]
			}
		}
		return out, nil
	}),
	"join": fdef([]string{"d", "attribute"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		l, err := c.attrList(in, a.get(1, nil))
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(l))
		for i, e := range l {
			if err := checkDefined(e); err != nil {
				return nil, err
			}
			parts[i] = pyStr(e)
		}
		return strings.Join(parts, a.str(0, "")), nil
	}),
	"map": {params: []string{"name"}, variadic: true, anyKw: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		l, err := toList(in)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(l))
		if attr, ok := a.kw["attribute"]; ok {
			def, hasDef := a.kw["default"]
			for i, e := range l {
				v, err := c.attrPath(e, attr)
				if err != nil {
					return nil, err
				}
				if _, undef := v.(*Undefined); undef && hasDef {
					v = def
				}
				out[i] = v
			}
			return out, nil
		}
		name := a.str(0, "")
		if _, ok := filters[name]; !ok {
			return nil, fmt.Errorf("no filter named '%s'", name)
		}
		kw := map[string]any{}
		for k, v := range a.kw {
			if k != "name" {
				kw[k] = v
			}
		}
		for i, e := range l {
			if out[i], err = c.filter(name, e, a.rest, kw); err != nil {
				return nil, err
			}
		}
		return out, nil
	}},
	"select":     selectFilter(false, false),
	"reject":     selectFilter(true, false),
	"selectattr": selectFilter(false, true),
	"rejectattr": selectFilter(true, true),
	"flatten": fdef([]string{"levels", "skip_nulls"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		l, err := toList(in)
		if err != nil {
			return nil, err
		}
		levels := -1
		if a.has(0) && a.p[0] != nil {
			if levels, err = intArg(a.p[0], "levels"); err != nil {
				return nil, err
			}
		}
		return flatten(l, levels, a.truth(1, true)), nil
	}),
	"union": setFilter(func(c *evalCtx, x, y []any) ([]any, error) {
		return c.unique(append(append([]any{}, x...), y...), true, nil)
	}),
	"intersect": setFilter(func(c *evalCtx, x, y []any) ([]any, error) { return c.unique(filterIn(x, y, true), true, nil) }),
	"difference": setFilter(func(c *evalCtx, x, y []any) ([]any, error) {
		return c.unique(filterIn(x, y, false), true, nil)
	}),
	"symmetric_difference": setFilter(func(c *evalCtx, x, y []any) ([]any, error) {
		both := filterIn(x, y, true)
		all, _ := c.unique(append(append([]any{}, x...), y...), true, nil)
		return filterIn(all, both, false), nil
	}),
	// product is itertools.product: every combination, the first list
	// varying slowest.
	"product": {variadic: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		out := []any{[]any{}}
		for _, v := range append([]any{in}, a.rest...) {
			l, err := toList(v)
			if err != nil {
				return nil, err
			}
			var next []any
			for _, prefix := range out {
				for _, e := range l {
					row := append(append([]any{}, prefix.([]any)...), e)
					next = append(next, row)
				}
			}
			out = next
		}
		if out == nil {
			return []any{}, nil
		}
		return out, nil
	}},
	"zip": {variadic: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		lists := [][]any{}
		for _, v := range append([]any{in}, a.rest...) {
			l, err := toList(v)
			if err != nil {
				return nil, err
			}
			lists = append(lists, l)
		}
		n := len(lists[0])
		for _, l := range lists {
			n = min(n, len(l))
		}
		out := make([]any, n)
		for i := range out {
			row := make([]any, len(lists))
			for j, l := range lists {
				row[j] = l[i]
			}
			out[i] = row
		}
		return out, nil
	}},
	"combine": {variadic: true, anyKw: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		dicts := []any{in}
		dicts = append(dicts, a.rest...)
		rec, _ := Truthy(a.kw["recursive"])
		mode := "replace"
		if m, ok := a.kw["list_merge"]; ok {
			mode = pyStr(m)
		}
		out := map[string]any{}
		for _, d := range dicts {
			for _, e := range flatten([]any{d}, -1, true) {
				m, ok := norm(e).(map[string]any)
				if !ok {
					return nil, fmt.Errorf("failed to combine variables, expected dicts but got %s", pyType(e))
				}
				var err error
				if out, err = merge(out, m, rec, mode); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	}},
	"dict2items": fdef([]string{"key_name", "value_name"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		m, ok := in.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("dict2items requires a dictionary, got %s instead.", pyType(in))
		}
		kn, vn := a.str(0, "key"), a.str(1, "value")
		out := make([]any, 0, len(m))
		for _, k := range sortedKeys(m) {
			out = append(out, map[string]any{kn: k, vn: m[k]})
		}
		return out, nil
	}),
	"items2dict": fdef([]string{"key_name", "value_name"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		l, ok := in.([]any)
		if !ok {
			return nil, fmt.Errorf("items2dict requires a list, got %s instead.", pyType(in))
		}
		kn, vn := a.str(0, "key"), a.str(1, "value")
		out := make(map[string]any, len(l))
		for _, e := range l {
			m, ok := norm(e).(map[string]any)
			if !ok {
				return nil, fmt.Errorf("items2dict requires a list of dictionaries, got %s", pyType(e))
			}
			k, kok := m[kn]
			v, vok := m[vn]
			if !kok || !vok {
				return nil, fmt.Errorf("items2dict requires each dictionary to have keys %q and %q", kn, vn)
			}
			out[pyStr(k)] = v
		}
		return out, nil
	}),
	"dict": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		if m, ok := in.(map[string]any); ok {
			return m, nil
		}
		l, err := toList(in)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(l))
		for _, e := range l {
			pair, ok := norm(e).([]any)
			if !ok || len(pair) != 2 {
				return nil, fmt.Errorf("dictionary update sequence element has wrong shape")
			}
			out[pyStr(pair[0])] = pair[1]
		}
		return out, nil
	}),
}

func foldCase(v any, caseSensitive bool) any {
	if s, ok := v.(string); ok && !caseSensitive {
		return strings.ToLower(s)
	}
	return v
}

func extreme(c *evalCtx, in any, a bound, sign int) (any, error) {
	l, err := toList(in)
	if err != nil {
		return nil, err
	}
	keys, err := c.attrList(l, a.get(1, nil))
	if err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return &Undefined{Hint: "No aggregated item, sequence was empty."}, nil
	}
	cs := a.truth(0, false)
	best := 0
	for i := 1; i < len(l); i++ {
		r, err := compare("<", foldCase(keys[i], cs), foldCase(keys[best], cs))
		if err != nil {
			return nil, err
		}
		if r == sign {
			best = i
		}
	}
	return l[best], nil
}

// attrPath reads a dotted attribute such as "a.b" or "0" from v.
func (c *evalCtx) attrPath(v, attr any) (any, error) {
	s, ok := attr.(string)
	if !ok {
		return c.lookupIn(v, norm(attr), "")
	}
	for _, part := range strings.Split(s, ".") {
		var key any = part
		if n := toInt(part, 10, nil); n != nil && !isMap(v) {
			key = n
		}
		var err error
		if v, err = c.lookupIn(v, key, ""); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func isMap(v any) bool { _, ok := norm(v).(map[string]any); return ok }

// attrList maps a list to the values of an attribute, or returns it as is.
func (c *evalCtx) attrList(in, attr any) ([]any, error) {
	l, err := toList(in)
	if err != nil || attr == nil {
		return l, err
	}
	out := make([]any, len(l))
	for i, e := range l {
		if out[i], err = c.attrPath(e, attr); err != nil {
			return nil, err
		}
		if err := checkDefined(out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// unique keeps the first of equal items, in order.
func (c *evalCtx) unique(l []any, caseSensitive bool, attr any) ([]any, error) {
	keys, err := c.attrList(l, attr)
	if err != nil {
		return nil, err
	}
	var out, seen []any
	for i, e := range l {
		k := foldCase(keys[i], caseSensitive)
		dup := false
		for _, s := range seen {
			if equal(s, k) {
				dup = true
				break
			}
		}
		if !dup {
			seen = append(seen, k)
			out = append(out, e)
		}
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// selectFilter builds select, reject, selectattr and rejectattr.
func selectFilter(reject, byAttr bool) *filterDef {
	return &filterDef{variadic: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		l, err := toList(in)
		if err != nil {
			return nil, err
		}
		args := a.rest
		var attr any
		if byAttr {
			if len(args) == 0 {
				return nil, fmt.Errorf("missing parameter for attribute name")
			}
			attr, args = args[0], args[1:]
		}
		test := ""
		if len(args) > 0 {
			test, args = pyStr(args[0]), args[1:]
			if _, ok := tests[test]; !ok {
				return nil, fmt.Errorf("no test named '%s'", test)
			}
		}
		out := []any{}
		for _, e := range l {
			v := e
			if byAttr {
				if v, err = c.attrPath(e, attr); err != nil {
					return nil, err
				}
			}
			var ok bool
			if test == "" {
				ok, err = Truthy(v)
			} else {
				var r any
				r, err = c.test(test, v, args, nil)
				ok, _ = r.(bool)
			}
			if err != nil {
				return nil, err
			}
			if ok != reject {
				out = append(out, e)
			}
		}
		return out, nil
	}}
}
