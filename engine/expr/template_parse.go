package expr

import (
	"strings"
	"unicode"

	"github.com/cutover/cutover/engine/lazyre"
)

// frame is an open block while parsing: the node and where its body goes.
type frame struct {
	kind string // "if" or "for"
	node tnode
	pos  int
	body *[]tnode
}

type tparser struct {
	text    string
	stack   []*frame
	root    []tnode
	rawFrom int  // offset of a {% raw %} tag whose text is still to be copied
	file    bool // a template file: Jinja's own string escapes everywhere
}

var endRaw = lazyre.New(`\{%-?\s*endraw\s*-?%\}`)

func (tp *tparser) fail(pos int, msg string) error {
	return &SyntaxError{Src: tp.text, Offset: pos, Msg: msg}
}

func (tp *tparser) emit(n tnode) {
	if len(tp.stack) == 0 {
		tp.root = append(tp.root, n)
		return
	}
	f := tp.stack[len(tp.stack)-1]
	*f.body = append(*f.body, n)
}

func parseTemplate(text string) (*Template, error) {
	if file, ok := strings.CutPrefix(text, fileKey); ok {
		return parseTemplateText(file, true)
	}
	return parseTemplateText(text, false)
}

// fileKey prefixes the cache key of templates compiled by CompileTemplateFile.
const fileKey = "\x00file\x00"

func parseTemplateText(text string, file bool) (*Template, error) {
	tp := &tparser{text: text, rawFrom: -1, file: file}
	pos := 0
	lstrip := false // the previous tag ended with "-"
	trimNL := false // the previous tag was a block or comment (trim_blocks)
	for pos <= len(text) {
		i := nextTag(text, pos)
		chunk := text[pos:]
		if i >= 0 {
			chunk = text[pos:i]
		}
		if trimNL {
			chunk = strings.TrimPrefix(strings.TrimPrefix(chunk, "\r"), "\n")
		}
		if lstrip {
			chunk = strings.TrimLeftFunc(chunk, unicode.IsSpace)
		}
		if i >= 0 && i+2 < len(text) && text[i+2] == '-' {
			chunk = strings.TrimRightFunc(chunk, unicode.IsSpace)
		}
		if chunk != "" {
			tp.emit(textNode(chunk))
		}
		if i < 0 {
			break
		}
		start := i + 2
		if start < len(text) && text[start] == '-' {
			start++
		}
		var end int // where the closing delimiter, or its "-", begins
		var err error
		switch text[i+1] {
		case '#':
			j := strings.Index(text[start:], "#}")
			if j < 0 {
				return nil, tp.fail(i, "missing end of comment tag")
			}
			end = start + j
			if j > 0 && text[end-1] == '-' {
				end--
			}
			trimNL = true
		case '{':
			end, err = tp.output(start)
			trimNL = false
		case '%':
			end, err = tp.block(start, i)
			trimNL = true
		}
		if err != nil {
			return nil, err
		}
		lstrip = text[end] == '-'
		pos = end + 2
		if lstrip {
			pos++
		}
		if tp.rawFrom >= 0 {
			loc := endRaw.FindStringIndex(text[pos:])
			if loc == nil {
				return nil, tp.fail(tp.rawFrom, "missing {% endraw %}")
			}
			tp.emit(textNode(text[pos : pos+loc[0]]))
			pos += loc[1]
			tp.rawFrom = -1
		}
	}
	if len(tp.stack) > 0 {
		f := tp.stack[len(tp.stack)-1]
		return nil, tp.fail(f.pos, "unexpected end of template: {% "+f.kind+" %} is not closed")
	}
	t := &Template{text: text, nodes: tp.root}
	// A template that is one {{ expr }} keeps the value's type. With only
	// whitespace after it, Ansible still turns a list, dict or boolean
	// back into that type (its literal_eval of "[...] "), else it is text.
	var outs []*outNode
	tail, other := "", false
	for _, n := range tp.root {
		switch x := n.(type) {
		case *outNode:
			outs = append(outs, x)
		case textNode:
			if len(outs) == 1 && strings.TrimSpace(string(x)) == "" {
				tail += string(x)
			} else if string(x) != "" {
				other = true
			}
		default:
			other = true
		}
	}
	if len(outs) == 1 && !other {
		t.single, t.singleTail = outs[0].prog, tail
	}
	return t, nil
}

// nextTag finds the next {{, {% or {# at or after pos.
func nextTag(text string, pos int) int {
	for {
		j := strings.IndexByte(text[pos:], '{')
		if j < 0 || pos+j+1 >= len(text) {
			return -1
		}
		if c := text[pos+j+1]; c == '{' || c == '%' || c == '#' {
			return pos + j
		}
		pos += j + 1
	}
}

// exprTokens lexes from start up to the closing delimiter and returns the
// tokens and the offset of the delimiter (its "-" included).
func (tp *tparser) exprTokens(start int, stop string) ([]token, int, error) {
	l := &lexer{src: tp.text, pos: start, stop: stop, raw: stop == "}}" && !tp.file}
	toks, end, err := l.lex()
	if err != nil {
		return nil, 0, err
	}
	return toks, end, nil
}

// program translates a node of the template; src names it in errors.
func (tp *tparser) program(n node, from, to int) (*Program, error) {
	prog, err := translate(tp.text, n)
	if err != nil {
		return nil, err
	}
	prog.src = strings.TrimSpace(tp.text[from:max(to, from)])
	return prog, nil
}

func (tp *tparser) output(start int) (int, error) {
	toks, end, err := tp.exprTokens(start, "}}")
	if err != nil {
		return 0, err
	}
	p := &parser{src: tp.text, toks: toks}
	if p.cur().kind == tEOF {
		return 0, tp.fail(p.cur().pos, "expected an expression, got '}}'")
	}
	n, err := p.parseCond()
	if err != nil {
		return 0, err
	}
	if p.cur().kind != tEOF {
		return 0, p.fail(p.cur().pos, "expected '}}', got %s", describe(p.cur()))
	}
	prog, err := tp.program(n, start, end)
	if err != nil {
		return 0, err
	}
	tp.emit(&outNode{prog: prog})
	return end, nil
}
