package expr

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
)

// testDef is one Jinja test. undefOK tests may see undefined values; the
// type tests answer false for them; all others report the undefined value.
type testDef struct {
	undefOK bool
	fn      func(v any, args []any) (bool, error)
	// params and defaults place keyword arguments, e.g. ignorecase=true.
	params   []string
	defaults []any
}

var tests map[string]*testDef

// Tests lists the names of the supported tests, sorted.
func Tests() []string {
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *evalCtx) test(name string, v, args any, kw map[string]any) (any, error) {
	t := tests[name]
	a, _ := args.([]any)
	if len(kw) > 0 {
		a = append([]any{}, a...)
		for k, v := range kw {
			i := slices.Index(t.params, k)
			if i < 0 {
				return nil, fmt.Errorf("test %s: unexpected keyword argument '%s'", name, k)
			}
			for len(a) <= i {
				a = append(a, t.defaults[len(a)])
			}
			a[i] = v
		}
	}
	if !t.undefOK {
		if err := checkDefined(v); err != nil {
			return nil, err
		}
	}
	if err := checkDefined(a...); err != nil {
		return nil, err
	}
	if _, undef := v.(*Undefined); !undef {
		var err error
		if v, err = c.settle(v); err != nil {
			return nil, err
		}
	}
	ok, err := t.fn(v, a)
	if err != nil {
		return nil, fmt.Errorf("test %s: %w", name, err)
	}
	return ok, nil
}

func typeTest(fn func(v any) bool) *testDef {
	return &testDef{undefOK: true, fn: func(v any, _ []any) (bool, error) {
		if _, ok := v.(*Undefined); ok {
			return false, nil
		}
		return fn(norm(v)), nil
	}}
}

func simpleTest(fn func(v any, args []any) (bool, error)) *testDef {
	return &testDef{fn: func(v any, args []any) (bool, error) { return fn(norm(v), args) }}
}

func argN(args []any, n int) error {
	if len(args) < n {
		return fmt.Errorf("expected %d argument(s), got %d", n, len(args))
	}
	return nil
}

func cmpTest(op string) *testDef {
	return simpleTest(func(v any, args []any) (bool, error) {
		if err := argN(args, 1); err != nil {
			return false, err
		}
		return compareOp(op, v, args[0])
	})
}

func resultMap(v any, name string) (map[string]any, error) {
	m, ok := norm(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("The '%s' test expects a dictionary", name)
	}
	return m, nil
}

func resultFlag(m map[string]any, key string) bool {
	t, _ := Truthy(m[key])
	return t
}

func failedResult(v any) (bool, error) {
	m, err := resultMap(v, "failed")
	if err != nil {
		return false, err
	}
	if f, ok := m["failed"]; ok {
		t, _ := Truthy(f)
		return t, nil
	}
	// A result without "failed" but with a non-zero rc did not succeed.
	rc, ok := norm(m["rc"]).(int)
	return ok && rc != 0, nil
}

func changedResult(v any) (bool, error) {
	m, err := resultMap(v, "changed")
	if err != nil {
		return false, err
	}
	if rs, ok := m["results"].([]any); ok && len(rs) > 0 {
		if _, isMap := rs[0].(map[string]any); isMap {
			for _, r := range rs {
				if rm, ok := r.(map[string]any); ok && resultFlag(rm, "changed") {
					return true, nil
				}
			}
			return false, nil
		}
	}
	return resultFlag(m, "changed"), nil
}

func regexTest(mode string) *testDef {
	t := regexTestFn(mode)
	t.params = []string{"pattern", "ignorecase", "multiline", "match_type"}
	t.defaults = []any{"", false, false, "search"}
	return t
}

func regexTestFn(mode string) *testDef {
	return simpleTest(func(v any, args []any) (bool, error) {
		if err := argN(args, 1); err != nil {
			return false, err
		}
		ic := len(args) > 1 && truthOf(args[1])
		ml := len(args) > 2 && truthOf(args[2])
		how := mode
		if how == "" {
			how = "search"
			if len(args) > 3 {
				how = pyStr(args[3])
			}
		}
		pattern := pyStr(args[0])
		switch how {
		case "match":
			pattern = `\A(?:` + pattern + `)`
		case "fullmatch":
			pattern = `\A(?:` + pattern + `)\z`
		}
		re, err := pyRegexp(pattern, ic, ml)
		if err != nil {
			return false, err
		}
		return re.MatchString(pyStr(v)), nil
	})
}

func truthOf(v any) bool { t, _ := Truthy(v); return t }

func fileTest(fn func(os.FileInfo) bool, follow bool) *testDef {
	return simpleTest(func(v any, _ []any) (bool, error) {
		p := expandUser(pyStr(v))
		var fi os.FileInfo
		var err error
		if follow {
			fi, err = os.Stat(p)
		} else {
			fi, err = os.Lstat(p)
		}
		return err == nil && fn(fi), nil
	})
}

func init() {
	isInt := func(v any) bool { _, ok := v.(int); return ok }
	isStr := func(v any) bool { _, ok := v.(string); return ok }
	isList := func(v any) bool { _, ok := v.([]any); return ok }
	defined := &testDef{undefOK: true, fn: func(v any, _ []any) (bool, error) {
		_, undef := v.(*Undefined)
		return !undef, nil
	}}
	tests = map[string]*testDef{
		"defined": defined,
		"undefined": {undefOK: true, fn: func(v any, a []any) (bool, error) {
			d, _ := defined.fn(v, a)
			return !d, nil
		}},
		"none":    typeTest(func(v any) bool { return v == nil }),
		"string":  typeTest(isStr),
		"integer": typeTest(isInt),
		"float":   typeTest(func(v any) bool { _, ok := v.(float64); return ok }),
		"number": typeTest(func(v any) bool {
			_, _, _, ok := number(v) // bool is a number in Python too
			return ok
		}),
		"boolean":  typeTest(func(v any) bool { _, ok := v.(bool); return ok }),
		"true":     typeTest(func(v any) bool { return v == true }),
		"false":    typeTest(func(v any) bool { return v == false }),
		"mapping":  typeTest(isMap),
		"sequence": typeTest(func(v any) bool { return isStr(v) || isList(v) || isMap(v) }),
		"iterable": typeTest(func(v any) bool { return isStr(v) || isList(v) || isMap(v) }),
		"lower":    typeTest(func(v any) bool { s, ok := v.(string); return ok && s == strings.ToLower(s) }),
		"upper":    typeTest(func(v any) bool { s, ok := v.(string); return ok && s == strings.ToUpper(s) }),
		"failed":   simpleTest(func(v any, _ []any) (bool, error) { return failedResult(v) }),
		"succeeded": simpleTest(func(v any, _ []any) (bool, error) {
			f, err := failedResult(v)
			return !f, err
		}),
		"changed": simpleTest(func(v any, _ []any) (bool, error) { return changedResult(v) }),
		"skipped": simpleTest(func(v any, _ []any) (bool, error) {
			m, err := resultMap(v, "skipped")
			return err == nil && resultFlag(m, "skipped"), err
		}),
		"match":  regexTest("match"),
		"search": regexTest("search"),
		"regex":  regexTest(""),
		"in": simpleTest(func(v any, a []any) (bool, error) {
			if err := argN(a, 1); err != nil {
				return false, err
			}
			return contains(v, a[0])
		}),
		"contains": simpleTest(func(v any, a []any) (bool, error) {
			if err := argN(a, 1); err != nil {
				return false, err
			}
			return contains(a[0], v)
		}),
		"version": {fn: versionTest, params: []string{"version", "operator", "strict", "version_type"},
			defaults: []any{"", "eq", nil, nil}},
		"==": cmpTest("=="), "!=": cmpTest("!="),
		"<": cmpTest("<"), "<=": cmpTest("<="), ">": cmpTest(">"), ">=": cmpTest(">="),
		"truthy": simpleTest(func(v any, _ []any) (bool, error) { return Truthy(v) }),
		"falsy": simpleTest(func(v any, _ []any) (bool, error) {
			t, err := Truthy(v)
			return !t, err
		}),
		"sameas": {undefOK: true, fn: func(v any, a []any) (bool, error) {
			if err := argN(a, 1); err != nil {
				return false, err
			}
			switch x := norm(v).(type) {
			case nil, bool, *omitValue:
				return x == norm(a[0]), nil
			}
			return false, nil
		}},
		"divisibleby": simpleTest(func(v any, a []any) (bool, error) {
			if err := argN(a, 1); err != nil {
				return false, err
			}
			m, err := arith("%", v, a[0])
			if err != nil {
				return false, err
			}
			return equal(m, 0), nil
		}),
		"even": simpleTest(func(v any, _ []any) (bool, error) {
			i, ok := v.(int)
			if !ok {
				return false, fmt.Errorf("even needs an integer, got %s", pyType(v))
			}
			return i%2 == 0, nil
		}),
		"odd": simpleTest(func(v any, _ []any) (bool, error) {
			i, ok := v.(int)
			if !ok {
				return false, fmt.Errorf("odd needs an integer, got %s", pyType(v))
			}
			return i%2 != 0, nil
		}),
		"file":      fileTest(func(fi os.FileInfo) bool { return fi.Mode().IsRegular() }, true),
		"directory": fileTest(func(fi os.FileInfo) bool { return fi.IsDir() }, true),
		"exists":    fileTest(func(os.FileInfo) bool { return true }, true),
		"link":      fileTest(func(fi os.FileInfo) bool { return fi.Mode()&os.ModeSymlink != 0 }, false),
		"abs": simpleTest(func(v any, _ []any) (bool, error) {
			return strings.HasPrefix(pyStr(v), "/"), nil
		}),
	}
	aliases := map[string]string{"success": "succeeded", "change": "changed", "skip": "skipped",
		"version_compare": "version", "equalto": "==", "eq": "==", "ne": "!=", "lt": "<",
		"le": "<=", "gt": ">", "ge": ">=", "greaterthan": ">", "lessthan": "<", "is_abs": "abs"}
	for alias, name := range aliases {
		tests[alias] = tests[name]
	}
}

var versionOps = map[string]string{"==": "==", "=": "==", "eq": "==", "<": "<", "lt": "<", "<=": "<=",
	"le": "<=", ">": ">", "gt": ">", ">=": ">=", "ge": ">=", "!=": "!=", "<>": "!=", "ne": "!="}

// versionTest is Ansible's version test with LooseVersion ordering.
func versionTest(v any, a []any) (bool, error) {
	if err := argN(a, 1); err != nil {
		return false, err
	}
	op := "=="
	if len(a) > 1 {
		var ok bool
		if op, ok = versionOps[pyStr(a[1])]; !ok {
			return false, fmt.Errorf("invalid operator type (%s)", pyStr(a[1]))
		}
	}
	x, y := looseVersion(pyStr(v)), looseVersion(pyStr(a[0]))
	if x == nil || y == nil {
		return false, fmt.Errorf("version value cannot be empty")
	}
	r, err := compare(op, x, y)
	if err != nil {
		return false, fmt.Errorf("version comparison failed: %v", err)
	}
	switch op {
	case "==":
		return r == 0, nil
	case "!=":
		return r != 0, nil
	case "<":
		return r < 0, nil
	case "<=":
		return r <= 0, nil
	case ">":
		return r > 0, nil
	}
	return r >= 0, nil
}

var looseComponent = lazyre.New(`\d+|[a-z]+|\.`)

// looseVersion splits a version as distutils' LooseVersion does.
func looseVersion(s string) []any {
	if s == "" {
		return nil
	}
	var parts []string
	last := 0
	for _, m := range looseComponent.FindAllStringIndex(s, -1) {
		parts = append(parts, s[last:m[0]], s[m[0]:m[1]])
		last = m[1]
	}
	parts = append(parts, s[last:])
	out := []any{}
	for _, p := range parts {
		if p == "" || p == "." {
			continue
		}
		if n, err := strconv.Atoi(p); err == nil {
			out = append(out, n)
		} else {
			out = append(out, p)
		}
	}
	return out
}
