package inventory

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// parseINIValue converts an INI value the way Ansible does: Python's
// ast.literal_eval, and the text itself when that fails.
func parseINIValue(s string) any {
	v, err := pyLiteralEval(s)
	if err != nil {
		return s
	}
	return v
}

var errNotLiteral = errors.New("not a Python literal")

// pyLiteralEval evaluates the subset of Python expressions ast.literal_eval
// accepts: numbers, strings (bytes become text), True/False/None, lists,
// tuples and sets (both as []any), dicts, and a sign before a number.
// Complex numbers and integers beyond int64 are reported as not literal so
// the caller keeps the text.
func pyLiteralEval(s string) (any, error) {
	p := &pyParser{src: []rune(strings.TrimLeft(s, " \t"))}
	v, err := p.expr(true)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, errNotLiteral
	}
	return v, nil
}

type pyParser struct {
	src   []rune
	pos   int
	depth int
}

func (p *pyParser) skipSpace() {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			p.pos++
		case c == '#':
			p.pos = len(p.src)
		default:
			return
		}
	}
}

func (p *pyParser) peek() rune {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

// expr parses one value; at top level "1, 2" is a tuple, as in Python.
func (p *pyParser) expr(top bool) (any, error) {
	v, err := p.atom()
	if err != nil || !top || p.peek() != ',' {
		return v, err
	}
	items := []any{v}
	for p.peek() == ',' {
		p.pos++
		if p.peek() == 0 {
			break
		}
		v, err := p.atom()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	return items, nil
}

func (p *pyParser) atom() (any, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 200 {
		return nil, errNotLiteral
	}
	c := p.peek()
	switch {
	case c == '[':
		p.pos++
		return p.sequence(']')
	case c == '(':
		p.pos++
		if p.peek() == ')' {
			p.pos++
			return []any{}, nil
		}
		v, err := p.atom()
		if err != nil {
			return nil, err
		}
		if p.peek() == ')' {
			p.pos++
			return v, nil
		}
		if p.peek() != ',' {
			return nil, errNotLiteral
		}
		p.pos++
		rest, err := p.sequence(')')
		if err != nil {
			return nil, err
		}
		return append([]any{v}, rest.([]any)...), nil
	case c == '{':
		p.pos++
		return p.dictOrSet()
	case c == '-' || c == '+':
		p.pos++
		if r := p.peek(); !(r >= '0' && r <= '9' || r == '.') {
			return nil, errNotLiteral
		}
		v, err := p.number()
		if err != nil {
			return nil, err
		}
		if c == '-' {
			switch n := v.(type) {
			case int:
				return -n, nil
			case float64:
				return -n, nil
			}
		}
		return v, nil
	case c >= '0' && c <= '9' || c == '.':
		return p.number()
	case c == '\'' || c == '"':
		return p.strings()
	case unicode.IsLetter(c) || c == '_':
		start := p.pos
		for p.pos < len(p.src) && (unicode.IsLetter(p.src[p.pos]) || unicode.IsDigit(p.src[p.pos]) || p.src[p.pos] == '_') {
			p.pos++
		}
		word := string(p.src[start:p.pos])
		if p.pos < len(p.src) && (p.src[p.pos] == '\'' || p.src[p.pos] == '"') && isStringPrefix(word) {
			p.pos = start
			return p.strings()
		}
		switch word {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return nil, nil
		case "set":
			if p.peek() == '(' {
				p.pos++
				if p.peek() == ')' {
					p.pos++
					return []any{}, nil
				}
			}
		}
	}
	return nil, errNotLiteral
}

func (p *pyParser) sequence(end rune) (any, error) {
	items := []any{}
	for {
		if p.peek() == end {
			p.pos++
			return items, nil
		}
		v, err := p.atom()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		switch p.peek() {
		case ',':
			p.pos++
		case end:
		default:
			return nil, errNotLiteral
		}
	}
}

func (p *pyParser) dictOrSet() (any, error) {
	if p.peek() == '}' {
		p.pos++
		return map[string]any{}, nil
	}
	first, err := p.atom()
	if err != nil {
		return nil, err
	}
	if p.peek() != ':' {
		// A set; Ansible cannot serialise sets, a list is the closest.
		items := []any{first}
		for p.peek() == ',' {
			p.pos++
			if p.peek() == '}' {
				break
			}
			v, err := p.atom()
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		if p.peek() != '}' {
			return nil, errNotLiteral
		}
		p.pos++
		return items, nil
	}
	m := map[string]any{}
	key := first
	for {
		if _, ok := key.([]any); ok { // unhashable
			return nil, errNotLiteral
		}
		if _, ok := key.(map[string]any); ok {
			return nil, errNotLiteral
		}
		if p.peek() != ':' {
			return nil, errNotLiteral
		}
		p.pos++
		v, err := p.atom()
		if err != nil {
			return nil, err
		}
		m[jsonKey(key)] = v
		switch p.peek() {
		case ',':
			p.pos++
			if p.peek() == '}' {
				p.pos++
				return m, nil
			}
			if key, err = p.atom(); err != nil {
				return nil, err
			}
		case '}':
			p.pos++
			return m, nil
		default:
			return nil, errNotLiteral
		}
	}
}

// jsonKey turns a non-string mapping key into the string Python's json
// module writes for it.
func jsonKey(k any) string {
	switch v := k.(type) {
	case string:
		return v
	case nil:
		return "null"
	case bool:
		if v {
			return "true"
		}
		return "false"
	case float64:
		return pyFloatRepr(v)
	default:
		return fmt.Sprint(v)
	}
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "br", "rb":
		return true
	}
	return false
}

// strings parses one or more adjacent string literals (Python concatenates
// them).
func (p *pyParser) strings() (any, error) {
	var b strings.Builder
	n := 0
	for {
		p.skipSpace()
		start := p.pos
		for p.pos < len(p.src) && unicode.IsLetter(p.src[p.pos]) {
			p.pos++
		}
		prefix := strings.ToLower(string(p.src[start:p.pos]))
		if (prefix != "" && !isStringPrefix(prefix)) || p.pos >= len(p.src) || (p.src[p.pos] != '\'' && p.src[p.pos] != '"') {
			p.pos = start
			if n == 0 {
				return nil, errNotLiteral
			}
			return b.String(), nil
		}
		s, err := p.stringBody(strings.Contains(prefix, "r"))
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
		n++
	}
}

func (p *pyParser) stringBody(raw bool) (string, error) {
	q := p.src[p.pos]
	triple := p.pos+2 < len(p.src) && p.src[p.pos+1] == q && p.src[p.pos+2] == q
	if triple {
		p.pos += 3
	} else {
		p.pos++
	}
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == q && (!triple || (p.pos+2 < len(p.src) && p.src[p.pos+1] == q && p.src[p.pos+2] == q)):
			if triple {
				p.pos += 3
			} else {
				p.pos++
			}
			return b.String(), nil
		case c == '\n' && !triple:
			return "", errNotLiteral
		case c == '\\' && p.pos+1 < len(p.src):
			p.pos++
			if raw {
				b.WriteRune('\\')
				b.WriteRune(p.src[p.pos])
				p.pos++
				continue
			}
			if err := p.escape(&b); err != nil {
				return "", err
			}
			continue
		}
		b.WriteRune(c)
		p.pos++
	}
	return "", errNotLiteral
}

// escape decodes the escape sequence after a backslash.
func (p *pyParser) escape(b *strings.Builder) error {
	c := p.src[p.pos]
	p.pos++
	simple := map[rune]string{'\n': "", '\\': "\\", '\'': "'", '"': "\"", 'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}
	if s, ok := simple[c]; ok {
		b.WriteString(s)
		return nil
	}
	hex := func(n int) error {
		if p.pos+n > len(p.src) {
			return errNotLiteral
		}
		v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
		if err != nil || v > unicode.MaxRune {
			return errNotLiteral
		}
		p.pos += n
		b.WriteRune(rune(v))
		return nil
	}
	switch {
	case c >= '0' && c <= '7':
		v := int(c - '0')
		for i := 0; i < 2 && p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '7'; i++ {
			v = v*8 + int(p.src[p.pos]-'0')
			p.pos++
		}
		b.WriteRune(rune(v))
		return nil
	case c == 'x':
		return hex(2)
	case c == 'u':
		return hex(4)
	case c == 'U':
		return hex(8)
	}
	b.WriteRune('\\')
	b.WriteRune(c)
	return nil
}

// number parses a Python int or float literal.
func (p *pyParser) number() (any, error) {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		isExpSign := (c == '+' || c == '-') && p.pos > start && (p.src[p.pos-1] == 'e' || p.src[p.pos-1] == 'E') &&
			!strings.ContainsAny(string(p.src[start:p.pos]), "xXbBoO")
		if c < utf8.RuneSelf && (c == '_' || c == '.' || isExpSign || unicode.IsDigit(c) || unicode.IsLetter(c)) {
			p.pos++
			continue
		}
		break
	}
	text := string(p.src[start:p.pos])
	if strings.HasSuffix(text, "_") || strings.Contains(text, "__") {
		return nil, errNotLiteral
	}
	lower := strings.ToLower(text)
	for _, pre := range []string{"0x", "0o", "0b"} {
		if strings.HasPrefix(lower, pre) {
			digits := strings.TrimPrefix(lower[2:], "_")
			base := map[string]int{"0x": 16, "0o": 8, "0b": 2}[pre]
			return pyBigInt(strings.ReplaceAll(digits, "_", ""), base)
		}
	}
	if strings.ContainsAny(lower, ".e") || strings.HasSuffix(lower, "j") {
		if strings.HasSuffix(lower, "j") || strings.Contains(lower, "_.") || strings.Contains(lower, "._") ||
			strings.Contains(lower, "_e") || strings.Contains(lower, "e_") {
			return nil, errNotLiteral
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(lower, "_", ""), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, errNotLiteral
		}
		return f, nil
	}
	clean := strings.ReplaceAll(lower, "_", "")
	if len(clean) > 1 && clean[0] == '0' && strings.Trim(clean, "0") != "" {
		return nil, errNotLiteral // 010 is a syntax error in Python 3
	}
	return pyBigInt(clean, 10)
}

func pyBigInt(digits string, base int) (any, error) {
	if digits == "" {
		return nil, errNotLiteral
	}
	n, ok := new(big.Int).SetString(digits, base)
	if !ok || !n.IsInt64() || n.Int64() > math.MaxInt || n.Int64() < math.MinInt {
		return nil, errNotLiteral
	}
	return int(n.Int64()), nil
}

// pyInt converts a value like Python's int(): ints, floats (truncated),
// bools and decimal strings.
func pyInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case float64:
		return int(n), nil
	case bool:
		if n {
			return 1, nil
		}
		return 0, nil
	case string:
		i, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(n), "_", ""))
		if err != nil {
			return 0, fmt.Errorf("invalid literal for int() with base 10: %q", n)
		}
		return i, nil
	}
	return 0, fmt.Errorf("int() argument must be a string or a number, not %s", pyTypeName(v))
}
