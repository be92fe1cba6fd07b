package expr

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/cutover/cutover/engine/lazyre"
)

// globalFunc is a function callable by name in expressions.
type globalFunc func(c *evalCtx, args []any, kw map[string]any) (any, error)

var globals map[string]globalFunc

func init() {
	globals = map[string]globalFunc{
		"range":  rangeFunc,
		"lookup": func(c *evalCtx, a []any, kw map[string]any) (any, error) { return lookup(c, a, kw, false) },
		"query":  func(c *evalCtx, a []any, kw map[string]any) (any, error) { return lookup(c, a, kw, true) },
		"dict": func(c *evalCtx, a []any, kw map[string]any) (any, error) {
			out := map[string]any{}
			if len(a) > 0 {
				m, err := filters["dict"].fn(c, norm(a[0]), bound{})
				if err != nil {
					return nil, err
				}
				for k, v := range m.(map[string]any) {
					out[k] = v
				}
			}
			for k, v := range kw {
				out[k] = v
			}
			return out, nil
		},
	}
	globals["q"] = globals["query"]
	globals["now"] = nowFunc
	// namespace(): Jinja's object whose attributes {% set ns.x = ... %}
	// may change from inside a loop. It is a mapping marked as such.
	globals["namespace"] = func(c *evalCtx, a []any, kw map[string]any) (any, error) {
		v, err := globals["dict"](c, a, kw)
		if err != nil {
			return nil, err
		}
		v.(map[string]any)[namespaceMark] = true
		return v, nil
	}
}

// namespaceMark is the hidden key that makes a mapping a namespace().
const namespaceMark = "\x00namespace"

// maxRange bounds range() so a typo cannot allocate gigabytes.
const maxRange = 1 << 20

func rangeFunc(c *evalCtx, a []any, _ map[string]any) (any, error) {
	n := make([]int, len(a))
	for i, v := range a {
		var err error
		if n[i], err = intArg(v, "range argument"); err != nil {
			return nil, err
		}
	}
	start, stop, step := 0, 0, 1
	switch len(n) {
	case 1:
		stop = n[0]
	case 2:
		start, stop = n[0], n[1]
	case 3:
		start, stop, step = n[0], n[1], n[2]
	default:
		return nil, fmt.Errorf("range expected 1 to 3 arguments, got %d", len(n))
	}
	if step == 0 {
		return nil, fmt.Errorf("range() arg 3 must not be zero")
	}
	out := []any{}
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(out) >= maxRange {
			return nil, fmt.Errorf("range too big, at most %d items", maxRange)
		}
		out = append(out, i)
	}
	return out, nil
}

// lookup implements the env, file and vars lookups; query returns a list.
func lookup(c *evalCtx, a []any, kw map[string]any, wantList bool) (any, error) {
	if err := checkDefined(a...); err != nil {
		return nil, err
	}
	if len(a) == 0 {
		return nil, fmt.Errorf("lookup needs a plugin name")
	}
	if w, ok := kw["wantlist"]; ok && truthOf(w) {
		wantList = true
	}
	var terms []any
	for _, t := range a[1:] {
		if l, ok := norm(t).([]any); ok {
			terms = append(terms, l...)
		} else {
			terms = append(terms, t)
		}
	}
	var out []any
	switch name := strings.TrimPrefix(pyStr(a[0]), "ansible.builtin."); name {
	case "env":
		for _, t := range terms {
			v, ok := os.LookupEnv(pyStr(t))
			if !ok {
				if d, has := kw["default"]; has {
					out = append(out, d)
					continue
				}
			}
			out = append(out, v)
		}
	case "file":
		for _, t := range terms {
			b, err := os.ReadFile(expandUser(pyStr(t)))
			if err != nil {
				return nil, fmt.Errorf("could not locate file in lookup: %s", pyStr(t))
			}
			s := string(b)
			if r, ok := kw["rstrip"]; !ok || truthOf(r) {
				s = strings.TrimRightFunc(s, unicode.IsSpace)
			}
			if l, ok := kw["lstrip"]; ok && truthOf(l) {
				s = strings.TrimLeftFunc(s, unicode.IsSpace)
			}
			out = append(out, s)
		}
	case "vars":
		for _, t := range terms {
			v, err := c.variable(pyStr(t))
			if err != nil {
				return nil, err
			}
			if _, undef := v.(*Undefined); undef {
				if d, has := kw["default"]; has {
					out = append(out, d)
					continue
				}
				return nil, fmt.Errorf("No variable found with this name: %s", pyStr(t))
			}
			out = append(out, v)
		}
	default:
		return nil, fmt.Errorf("lookup plugin (%s) not found", name)
	}
	if wantList {
		if out == nil {
			out = []any{}
		}
		return out, nil
	}
	parts := make([]string, len(out))
	for i, v := range out {
		parts[i] = pyStr(v)
	}
	return strings.Join(parts, ","), nil
}

// callMethod implements the Python str, dict and list methods playbooks use.
func callMethod(obj any, name string, a []any, kw map[string]any) (any, error) {
	if err := checkDefined(obj); err != nil {
		return nil, err
	}
	if err := checkDefined(a...); err != nil {
		return nil, err
	}
	arg := func(i int, def any) any {
		if i < len(a) {
			return a[i]
		}
		return def
	}
	switch o := norm(obj).(type) {
	case string:
		switch name {
		case "split":
			return pySplit(o, arg(0, kw["sep"]), arg(1, -1))
		case "rsplit":
			if len(a) < 2 {
				return pySplit(o, arg(0, nil), -1)
			}
		case "strip", "lstrip", "rstrip":
			return strip(o, name, arg(0, nil)), nil
		case "startswith", "endswith":
			fn := strings.HasPrefix
			if name == "endswith" {
				fn = strings.HasSuffix
			}
			prefixes, ok := norm(arg(0, "")).([]any)
			if !ok {
				prefixes = []any{arg(0, "")}
			}
			for _, p := range prefixes {
				if fn(o, pyStr(p)) {
					return true, nil
				}
			}
			return false, nil
		case "replace":
			if len(a) < 2 {
				return nil, fmt.Errorf("replace expected at least 2 arguments")
			}
			n, err := intArg(arg(2, -1), "count")
			if err != nil {
				return nil, err
			}
			return strings.Replace(o, pyStr(a[0]), pyStr(a[1]), n), nil
		case "lower":
			return strings.ToLower(o), nil
		case "upper":
			return strings.ToUpper(o), nil
		case "capitalize":
			return capitalize(o), nil
		case "title":
			return title(o), nil
		case "splitlines":
			lines := strings.Split(strings.ReplaceAll(o, "\r\n", "\n"), "\n")
			if len(lines) > 0 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			out := make([]any, len(lines))
			for i, l := range lines {
				out[i] = l
			}
			return out, nil
		case "join":
			l, err := toList(arg(0, []any{}))
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(l))
			for i, e := range l {
				s, ok := norm(e).(string)
				if !ok {
					return nil, fmt.Errorf("sequence item %d: expected str instance, %s found", i, pyType(e))
				}
				parts[i] = s
			}
			return strings.Join(parts, o), nil
		case "format":
			return pyFormat(o, a, kw)
		case "find":
			i := strings.Index(o, pyStr(arg(0, "")))
			if i > 0 {
				i = len([]rune(o[:i]))
			}
			return i, nil
		case "count":
			return strings.Count(o, pyStr(arg(0, ""))), nil
		case "isdigit":
			return o != "" && strings.IndexFunc(o, func(r rune) bool { return !unicode.IsDigit(r) }) < 0, nil
		}
	case map[string]any:
		switch name {
		case "get":
			if len(a) == 0 {
				return nil, fmt.Errorf("get expected at least 1 argument")
			}
			if v, ok := o[pyStr(a[0])]; ok {
				return v, nil
			}
			return arg(1, nil), nil
		case "keys":
			return toList(o)
		case "values", "items":
			out := make([]any, 0, len(o))
			for _, k := range sortedKeys(o) {
				if name == "values" {
					out = append(out, o[k])
				} else {
					out = append(out, []any{k, o[k]})
				}
			}
			return out, nil
		}
	case []any:
		switch name {
		case "index":
			for i, e := range o {
				if equal(e, arg(0, nil)) {
					return i, nil
				}
			}
			return nil, fmt.Errorf("%s is not in list", pyRepr(arg(0, nil)))
		case "count":
			n := 0
			for _, e := range o {
				if equal(e, arg(0, nil)) {
					n++
				}
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("'%s' object has no attribute '%s'", pyType(obj), name)
}

func strip(s, how string, chars any) string {
	cut := func(r rune) bool { return unicode.IsSpace(r) }
	if chars != nil {
		set := pyStr(chars)
		cut = func(r rune) bool { return strings.ContainsRune(set, r) }
	}
	switch how {
	case "lstrip":
		return strings.TrimLeftFunc(s, cut)
	case "rstrip":
		return strings.TrimRightFunc(s, cut)
	}
	return strings.TrimFunc(s, cut)
}

var formatField = lazyre.New(`\{\{|\}\}|\{([^{}:!]*)\}`)

// pyFormat is str.format with plain {}, {0} and {name} fields.
func pyFormat(f string, a []any, kw map[string]any) (any, error) {
	next := 0
	var err error
	out := formatField.ReplaceAllStringFunc(f, func(m string) string {
		switch m {
		case "{{":
			return "{"
		case "}}":
			return "}"
		}
		field := m[1 : len(m)-1]
		if field == "" {
			field = strconv.Itoa(next)
			next++
		}
		if i, convErr := strconv.Atoi(field); convErr == nil {
			if i < len(a) {
				return pyStr(a[i])
			}
			err = fmt.Errorf("replacement index %d out of range", i)
			return ""
		}
		if v, ok := kw[field]; ok {
			return pyStr(v)
		}
		err = fmt.Errorf("format field %q not given", field)
		return ""
	})
	return out, err
}
