package expr

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tName
	tInt
	tFloat
	tString
	tOp
)

type token struct {
	kind tokKind
	val  string // name, operator, or the decoded string
	num  any    // int or float64 for number tokens
	pos  int    // byte offset into the source
}

// twoCharOps are checked before single characters.
var twoCharOps = []string{"//", "**", "==", "!=", "<=", ">="}

const oneCharOps = "+-*/%~|.,:()[]{}=<>"

// lexer splits Jinja expression text into tokens. It stops at stop
// ("}}" or "%}") when no bracket is open, so dict literals inside {{ }} work.
type lexer struct {
	src  string
	pos  int
	stop string
	// raw keeps string literals verbatim. Ansible doubles backslashes in
	// string literals inside {{ }} before Jinja decodes them, so there
	// '\d' means a backslash and a d, exactly as written in the YAML.
	raw bool
}

func (l *lexer) fail(pos int, msg string) error {
	return &SyntaxError{Src: l.src, Offset: pos, Msg: msg}
}

// lex returns the tokens up to the end of input or the stop delimiter, and
// the offset where lexing ended (the start of the delimiter, or of "-" in "-}}").
func (l *lexer) lex() ([]token, int, error) {
	var toks []token
	depth := 0
	for {
		for l.pos < len(l.src) && strings.IndexByte(" \t\r\n", l.src[l.pos]) >= 0 {
			l.pos++
		}
		if l.pos >= len(l.src) {
			if l.stop != "" {
				return nil, l.pos, l.fail(l.pos, "unexpected end of template, expected '"+l.stop+"'")
			}
			toks = append(toks, token{kind: tEOF, pos: l.pos})
			return toks, l.pos, nil
		}
		rest := l.src[l.pos:]
		if l.stop != "" && depth <= 0 && (strings.HasPrefix(rest, l.stop) || strings.HasPrefix(rest, "-"+l.stop)) {
			toks = append(toks, token{kind: tEOF, pos: l.pos})
			return toks, l.pos, nil
		}
		c := rest[0]
		start := l.pos
		switch {
		case c == '\'' || c == '"':
			s, err := l.lexString(c)
			if err != nil {
				return nil, l.pos, err
			}
			toks = append(toks, token{kind: tString, val: s, pos: start})
		case c >= '0' && c <= '9':
			afterDot := len(toks) > 0 && toks[len(toks)-1].kind == tOp && toks[len(toks)-1].val == "."
			t, err := l.lexNumber(afterDot)
			if err != nil {
				return nil, l.pos, err
			}
			toks = append(toks, t)
		case c == '_' || isLetter(rune(c)) || c >= 0x80:
			for l.pos < len(l.src) {
				r, n := utf8.DecodeRuneInString(l.src[l.pos:])
				if r != '_' && !isLetter(r) && !(r >= '0' && r <= '9') {
					break
				}
				l.pos += n
			}
			if l.pos == start {
				return nil, start, l.fail(start, "unexpected character "+strconv.QuoteRune(rune(c)))
			}
			toks = append(toks, token{kind: tName, val: l.src[start:l.pos], pos: start})
		default:
			op := ""
			for _, t := range twoCharOps {
				if strings.HasPrefix(rest, t) {
					op = t
					break
				}
			}
			if op == "" && strings.IndexByte(oneCharOps, c) >= 0 {
				op = rest[:1]
			}
			if op == "" {
				return nil, start, l.fail(start, "unexpected character "+strconv.QuoteRune(rune(c)))
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
			l.pos += len(op)
			toks = append(toks, token{kind: tOp, val: op, pos: start})
		}
	}
}

func isLetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80 && r != utf8.RuneError
}

func (l *lexer) lexNumber(intOnly bool) (token, error) {
	start := l.pos
	digits := func() {
		for l.pos < len(l.src) && (l.src[l.pos] >= '0' && l.src[l.pos] <= '9' || l.src[l.pos] == '_') {
			l.pos++
		}
	}
	digits()
	isFloat := false
	if !intOnly && l.pos+1 < len(l.src) && l.src[l.pos] == '.' && l.src[l.pos+1] >= '0' && l.src[l.pos+1] <= '9' {
		isFloat = true
		l.pos++
		digits()
	}
	if !intOnly && l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		p := l.pos + 1
		if p < len(l.src) && (l.src[p] == '+' || l.src[p] == '-') {
			p++
		}
		if p < len(l.src) && l.src[p] >= '0' && l.src[p] <= '9' {
			isFloat = true
			l.pos = p
			digits()
		}
	}
	text := strings.ReplaceAll(l.src[start:l.pos], "_", "")
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return token{}, l.fail(start, "invalid number "+strconv.Quote(text))
		}
		return token{kind: tFloat, num: f, pos: start, val: text}, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil {
			return token{}, l.fail(start, "invalid number "+strconv.Quote(text))
		}
		return token{kind: tFloat, num: f, pos: start, val: text}, nil
	}
	return token{kind: tInt, num: n, pos: start, val: text}, nil
}

// lexString decodes a quoted string with Python's escapes; unknown escapes
// such as \d keep their backslash, which regular expressions rely on.
func (l *lexer) lexString(q byte) (string, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == q:
			l.pos++
			return b.String(), nil
		case c == '\\' && l.pos+1 < len(l.src) && l.raw:
			b.WriteString(l.src[l.pos : l.pos+2])
			l.pos += 2
		case c == '\\' && l.pos+1 < len(l.src):
			e := l.src[l.pos+1]
			l.pos += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '\\', '\'', '"':
				b.WriteByte(e)
			case '\n':
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if l.pos+n <= len(l.src) {
					if v, err := strconv.ParseUint(l.src[l.pos:l.pos+n], 16, 32); err == nil && utf8.ValidRune(rune(v)) {
						b.WriteRune(rune(v))
						l.pos += n
						continue
					}
				}
				return "", l.fail(l.pos-2, "invalid \\"+string(e)+" escape")
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return "", l.fail(start, "unterminated string")
}
