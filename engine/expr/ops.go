package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// number classifies a value as a Python number: bool counts as int.
func number(v any) (i int, f float64, isFloat, ok bool) {
	switch x := norm(v).(type) {
	case bool:
		if x {
			return 1, 1, false, true
		}
		return 0, 0, false, true
	case int:
		return x, float64(x), false, true
	case float64:
		return 0, x, true, true
	}
	return 0, 0, false, false
}

func typeErr(op string, a, b any) error {
	return fmt.Errorf("unsupported operand type(s) for %s: '%s' and '%s'", op, pyType(a), pyType(b))
}

// arith applies a binary arithmetic operator with Python's rules.
func arith(op string, a, b any) (any, error) {
	if err := checkDefined(a, b); err != nil {
		return nil, err
	}
	a, b = norm(a), norm(b)
	ai, af, aflt, aok := number(a)
	bi, bf, bflt, bok := number(b)
	if aok && bok {
		if aflt || bflt || op == "/" {
			if !aflt {
				af = float64(ai)
			}
			if !bflt {
				bf = float64(bi)
			}
			return floatOp(op, af, bf)
		}
		return intOp(op, ai, bi)
	}
	switch op {
	case "+":
		if x, ok := a.(string); ok {
			if y, ok := b.(string); ok {
				return x + y, nil
			}
		}
		if x, ok := a.([]any); ok {
			if y, ok := b.([]any); ok {
				out := make([]any, 0, len(x)+len(y))
				return append(append(out, x...), y...), nil
			}
		}
	case "*":
		if s, n, ok := seqTimes(a, b); ok {
			return repeat(s, n), nil
		}
		if s, n, ok := seqTimes(b, a); ok {
			return repeat(s, n), nil
		}
	case "%":
		if s, ok := a.(string); ok {
			return percentFormat(s, b)
		}
	}
	if _, isNum := a.(int); op == "+" && !isNum && !aok {
		return nil, fmt.Errorf("can only concatenate %s (not \"%s\") to %s", pyType(a), pyType(b), pyType(a))
	}
	return nil, typeErr(op, a, b)
}

func seqTimes(a, b any) (any, int, bool) {
	n, _, isf, ok := number(b)
	if !ok || isf {
		return nil, 0, false
	}
	switch a.(type) {
	case string, []any:
		return a, n, true
	}
	return nil, 0, false
}

func repeat(seq any, n int) any {
	if n < 0 {
		n = 0
	}
	if s, ok := seq.(string); ok {
		n = min(n, maxRepeat/max(len(s), 1))
		return strings.Repeat(s, n)
	}
	l := seq.([]any)
	n = min(n, maxRepeat/max(len(l), 1))
	out := make([]any, 0, len(l)*n)
	for range n {
		out = append(out, l...)
	}
	return out
}

// maxRepeat caps "x" * n so a typo cannot exhaust memory.
const maxRepeat = 1 << 24

var errZeroDiv = fmt.Errorf("division by zero")

func intOp(op string, a, b int) (any, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "//":
		if b == 0 {
			return nil, fmt.Errorf("integer division or modulo by zero")
		}
		q := a / b
		if (a%b != 0) && ((a < 0) != (b < 0)) {
			q--
		}
		return q, nil
	case "%":
		if b == 0 {
			return nil, fmt.Errorf("integer division or modulo by zero")
		}
		m := a % b
		if m != 0 && ((m < 0) != (b < 0)) {
			m += b
		}
		return m, nil
	case "**":
		if b < 0 {
			return math.Pow(float64(a), float64(b)), nil
		}
		r := 1
		for range min(b, 4096) {
			r *= a
		}
		return r, nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

func floatOp(op string, a, b float64) (any, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, errZeroDiv
		}
		return a / b, nil
	case "//":
		if b == 0 {
			return nil, errZeroDiv
		}
		return math.Floor(a / b), nil
	case "%":
		if b == 0 {
			return nil, errZeroDiv
		}
		m := math.Mod(a, b)
		if m != 0 && ((m < 0) != (b < 0)) {
			m += b
		}
		return m, nil
	case "**":
		return math.Pow(a, b), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// percentFormat is Python's printf-style "%" operator (and the format
// filter): %(key)s mapping keys, the flags -+ #0, width, precision, and
// the conversions s r d i u f F e E g G x X o c %.
func percentFormat(format string, arg any) (any, error) {
	args, ok := arg.([]any)
	if !ok {
		args = []any{arg}
	}
	mapping, _ := arg.(map[string]any)
	var b strings.Builder
	n := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		spec, verb, key, next, err := parsePercentSpec(format, i+1)
		if err != nil {
			return nil, err
		}
		i = next
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		var a any
		switch {
		case key != "" && mapping != nil:
			v, found := mapping[key]
			if !found {
				return nil, fmt.Errorf("KeyError: %s", pyRepr(key))
			}
			a = v
		case key != "":
			return nil, fmt.Errorf("format requires a mapping")
		case n >= len(args):
			return nil, fmt.Errorf("not enough arguments for format string")
		default:
			a = args[n]
			n++
		}
		out, err := percentOne(spec, verb, a)
		if err != nil {
			return nil, err
		}
		b.WriteString(out)
	}
	if mapping == nil && n < len(args) {
		return nil, fmt.Errorf("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// parsePercentSpec reads one conversion after a '%' at format[i:]: it
// returns Go's spelling of its flags, width and precision, the verb, the
// mapping key and the index of the verb.
func parsePercentSpec(format string, i int) (spec string, verb byte, key string, end int, err error) {
	if i < len(format) && format[i] == '(' {
		close := strings.IndexByte(format[i:], ')')
		if close < 0 {
			return "", 0, "", 0, fmt.Errorf("incomplete format key")
		}
		key, i = format[i+1:i+close], i+close+1
	}
	start := i
	for i < len(format) && strings.IndexByte("-+ #0123456789.", format[i]) >= 0 {
		i++
	}
	if i >= len(format) {
		return "", 0, "", 0, fmt.Errorf("incomplete format")
	}
	return format[start:i], format[i], key, i, nil
}

// percentOne formats one value as Python's %-conversion verb does.
func percentOne(spec string, verb byte, a any) (string, error) {
	if strings.IndexByte("src", verb) >= 0 {
		// Python pads text with spaces even with the 0 flag; Go with 0s.
		width := strings.TrimLeft(spec, "-+ #0")
		if strings.Contains(spec[:len(spec)-len(width)], "-") {
			width = "-" + width
		}
		spec = width
	}
	switch verb {
	case 's':
		return fmt.Sprintf("%"+spec+"s", pyStr(a)), nil
	case 'r':
		return fmt.Sprintf("%"+spec+"s", pyRepr(a)), nil
	case 'c':
		if s, ok := a.(string); ok && utf8.RuneCountInString(s) == 1 {
			return fmt.Sprintf("%"+spec+"s", s), nil
		}
		iv, _, isf, ok := number(a)
		if !ok || isf {
			return "", fmt.Errorf("%%c requires int or char")
		}
		return fmt.Sprintf("%"+spec+"s", string(rune(iv))), nil
	case 'd', 'i', 'u', 'x', 'X', 'o':
		iv, fv, isf, ok := number(a)
		if !ok {
			return "", fmt.Errorf("%%%c format: a number is required, not %s", verb, pyType(a))
		}
		if isf {
			iv = int(fv)
		}
		goVerb := map[byte]string{'d': "d", 'i': "d", 'u': "d", 'x': "x", 'X': "X", 'o': "o"}[verb]
		if verb == 'o' && strings.Contains(spec, "#") {
			// Python's alternate octal is 0o17 where Go's is 017.
			digits := "0o" + strconv.FormatInt(int64(max(iv, -iv)), 8)
			if iv < 0 {
				digits = "-" + digits
			}
			width := strings.TrimLeft(spec, "-+ #0")
			if strings.Contains(spec[:len(spec)-len(width)], "-") {
				width = "-" + width
			}
			return fmt.Sprintf("%"+width+"s", digits), nil
		}
		return fmt.Sprintf("%"+spec+goVerb, iv), nil
	case 'f', 'F', 'e', 'E', 'g', 'G':
		_, fv, _, ok := number(a)
		if !ok {
			return "", fmt.Errorf("must be real number, not %s", pyType(a))
		}
		if (verb == 'g' || verb == 'G') && !strings.Contains(spec, ".") {
			spec += ".6" // Python's default; Go's %g is the shortest form
		}
		goVerb := string(verb)
		if verb == 'F' {
			goVerb = "f"
		}
		return fmt.Sprintf("%"+spec+goVerb, fv), nil
	}
	return "", fmt.Errorf("unsupported format character %q", verb)
}

// negate is unary minus.
func negate(v any) (any, error) {
	if err := checkDefined(v); err != nil {
		return nil, err
	}
	i, f, isf, ok := number(v)
	if !ok {
		return nil, fmt.Errorf("bad operand type for unary -: '%s'", pyType(v))
	}
	if isf {
		return -f, nil
	}
	return -i, nil
}

// equal is Python ==: 1 == 1.0 == True, deep for lists and dicts.
func equal(a, b any) bool {
	a, b = norm(a), norm(b)
	_, af, _, aok := number(a)
	_, bf, _, bok := number(b)
	if aok && bok {
		return af == bf
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case *omitValue:
		return a == b
	}
	return false
}

// compare orders two values as Python's < does; it returns -1, 0 or 1.
func compare(op string, a, b any) (int, error) {
	if err := checkDefined(a, b); err != nil {
		return 0, err
	}
	a, b = norm(a), norm(b)
	_, af, _, aok := number(a)
	_, bf, _, bok := number(b)
	switch {
	case aok && bok:
		return cmp3(af < bf, af > bf), nil
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	case []any:
		if y, ok := b.([]any); ok {
			for i := 0; i < len(x) && i < len(y); i++ {
				if equal(x[i], y[i]) {
					continue
				}
				return compare(op, x[i], y[i])
			}
			return cmp3(len(x) < len(y), len(x) > len(y)), nil
		}
	}
	return 0, fmt.Errorf("'%s' not supported between instances of '%s' and '%s'", op, pyType(a), pyType(b))
}

func cmp3(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}

// contains is Python's "needle in haystack".
func contains(needle, haystack any) (bool, error) {
	if err := checkDefined(needle, haystack); err != nil {
		return false, err
	}
	switch h := norm(haystack).(type) {
	case string:
		n, ok := norm(needle).(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires string as left operand, not %s", pyType(needle))
		}
		return strings.Contains(h, n), nil
	case []any:
		for _, e := range h {
			if equal(e, needle) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		k, ok := norm(needle).(string)
		if !ok {
			k = pyStr(needle)
		}
		_, found := h[k]
		return found, nil
	}
	return false, fmt.Errorf("argument of type '%s' is not iterable", pyType(haystack))
}
