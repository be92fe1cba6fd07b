package expr

import "fmt"

func filterIn(x, y []any, keep bool) []any {
	out := []any{}
	for _, e := range x {
		found := false
		for _, f := range y {
			if equal(e, f) {
				found = true
				break
			}
		}
		if found == keep {
			out = append(out, e)
		}
	}
	return out
}

func setFilter(op func(c *evalCtx, x, y []any) ([]any, error)) *filterDef {
	return fdef([]string{"other"}, 1, func(c *evalCtx, in any, a bound) (any, error) {
		x, err := toList(in)
		if err != nil {
			return nil, err
		}
		y, err := toList(a.p[0])
		if err != nil {
			return nil, err
		}
		return op(c, x, y)
	})
}

func flatten(l []any, levels int, skipNulls bool) []any {
	out := []any{}
	for _, e := range l {
		e = norm(e)
		if skipNulls && (e == nil || e == "None") {
			continue
		}
		if sub, ok := e.([]any); ok && levels != 0 {
			out = append(out, flatten(sub, levels-1, skipNulls)...)
			continue
		}
		out = append(out, e)
	}
	return out
}

// merge is Ansible's combine of two dicts.
func merge(x, y map[string]any, recursive bool, listMerge string) (map[string]any, error) {
	out := make(map[string]any, len(x)+len(y))
	for k, v := range x {
		out[k] = v
	}
	for k, v := range y {
		old, exists := out[k]
		xm, xok := norm(old).(map[string]any)
		ym, yok := norm(v).(map[string]any)
		xl, xlok := norm(old).([]any)
		yl, ylok := norm(v).([]any)
		switch {
		case exists && recursive && xok && yok:
			m, err := merge(xm, ym, recursive, listMerge)
			if err != nil {
				return nil, err
			}
			out[k] = m
		case exists && xlok && ylok && listMerge != "replace":
			switch listMerge {
			case "keep":
				out[k] = xl
			case "append":
				out[k] = append(append([]any{}, xl...), yl...)
			case "prepend":
				out[k] = append(append([]any{}, yl...), xl...)
			case "append_rp":
				out[k] = append(filterIn(xl, yl, false), yl...)
			case "prepend_rp":
				out[k] = append(append([]any{}, yl...), filterIn(xl, yl, false)...)
			default:
				return nil, fmt.Errorf("'%s' is not a valid list_merge value", listMerge)
			}
		default:
			out[k] = v
		}
	}
	return out, nil
}
