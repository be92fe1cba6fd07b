package expr

import (
	"fmt"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func (p *parser) cur() token  { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i = min(p.i+1, len(p.toks)-1); return t }

func (p *parser) isOp(v string) bool   { t := p.cur(); return t.kind == tOp && t.val == v }
func (p *parser) isName(v string) bool { t := p.cur(); return t.kind == tName && t.val == v }

func (p *parser) fail(pos int, format string, args ...any) error {
	return &SyntaxError{Src: p.src, Offset: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) expectOp(v string) error {
	if !p.isOp(v) {
		return p.fail(p.cur().pos, "expected '%s', got %s", v, describe(p.cur()))
	}
	p.next()
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return "string"
	case tInt, tFloat:
		return "number " + t.val
	}
	return "'" + t.val + "'"
}

// parseExpression parses a whole bare expression and requires end of input.
func parseExpression(src string) (node, error) {
	l := &lexer{src: src}
	toks, _, err := l.lex()
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	n, err := p.parseCond()
	if err != nil {
		return nil, err
	}
	if p.cur().kind != tEOF {
		return nil, p.fail(p.cur().pos, "unexpected %s", describe(p.cur()))
	}
	return n, nil
}

func (p *parser) parseCond() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.fail(p.cur().pos, "expression nested too deeply")
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for p.isName("if") {
		pos := p.next().pos
		c, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		var els node
		if p.isName("else") {
			p.next()
			if els, err = p.parseCond(); err != nil {
				return nil, err
			}
		}
		e = &condNode{cond: c, then: e, els: els, pos: pos}
	}
	return e, nil
}

func (p *parser) parseOr() (node, error)  { return p.parseLogic("or", p.parseAnd) }
func (p *parser) parseAnd() (node, error) { return p.parseLogic("and", p.parseNot) }

func (p *parser) parseLogic(op string, sub func() (node, error)) (node, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for p.isName(op) {
		pos := p.next().pos
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = &binNode{op: op, l: l, r: r, pos: pos}
	}
	return l, nil
}

func (p *parser) parseNot() (node, error) {
	if p.isName("not") {
		pos := p.next().pos
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, p.fail(pos, "expression nested too deeply")
		}
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryNode{op: "not", x: x, pos: pos}, nil
	}
	return p.parseCompare()
}

var compareOps = map[string]bool{"==": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true}

func (p *parser) parseCompare() (node, error) {
	first, err := p.parseBinary(0)
	if err != nil {
		return nil, err
	}
	c := &cmpNode{operands: []node{first}, pos: p.cur().pos}
	for {
		t := p.cur()
		var op string
		switch {
		case t.kind == tOp && compareOps[t.val]:
			op = t.val
			p.next()
		case p.isName("in"):
			op = "in"
			p.next()
		case p.isName("not") && p.toks[min(p.i+1, len(p.toks)-1)].kind == tName && p.toks[min(p.i+1, len(p.toks)-1)].val == "in":
			op = "notin"
			p.next()
			p.next()
		default:
			if len(c.ops) == 0 {
				return first, nil
			}
			return c, nil
		}
		r, err := p.parseBinary(0)
		if err != nil {
			return nil, err
		}
		c.ops = append(c.ops, op)
		c.operands = append(c.operands, r)
	}
}

// binaryLevels lists Jinja's arithmetic precedence, loosest first.
var binaryLevels = [][]string{{"+", "-"}, {"~"}, {"*", "/", "//", "%"}, {"**"}}

func (p *parser) parseBinary(level int) (node, error) {
	if level == len(binaryLevels) {
		return p.parseUnary(true)
	}
	l, err := p.parseBinary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.cur()
		found := false
		for _, op := range binaryLevels[level] {
			if t.kind == tOp && t.val == op {
				found = true
			}
		}
		if !found {
			return l, nil
		}
		p.next()
		r, err := p.parseBinary(level + 1)
		if err != nil {
			return nil, err
		}
		l = &binNode{op: t.val, l: l, r: r, pos: t.pos}
	}
}

func (p *parser) parseUnary(withFilter bool) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.fail(p.cur().pos, "expression nested too deeply")
	}
	var n node
	var err error
	if p.isOp("-") || p.isOp("+") {
		t := p.next()
		x, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		n = &unaryNode{op: t.val, x: x, pos: t.pos}
	} else if n, err = p.parsePrimary(); err != nil {
		return nil, err
	}
	if n, err = p.parsePostfix(n); err != nil {
		return nil, err
	}
	if withFilter {
		return p.parseFilterExpr(n)
	}
	return n, nil
}

// dottedName reads a filter or test name such as ansible.builtin.to_json and
// returns its last part.
func (p *parser) dottedName() (string, int, error) {
	t := p.cur()
	if t.kind != tName {
		return "", t.pos, p.fail(t.pos, "expected a name, got %s", describe(t))
	}
	p.next()
	name := t.val
	for p.isOp(".") && p.toks[min(p.i+1, len(p.toks)-1)].kind == tName {
		p.next()
		name = p.next().val
	}
	return name, t.pos, nil
}

func (p *parser) parseFilterExpr(n node) (node, error) {
	for {
		switch {
		case p.isOp("|"):
			p.next()
			name, pos, err := p.dottedName()
			if err != nil {
				return nil, err
			}
			f := &filterNode{input: n, name: name, pos: pos}
			if p.isOp("(") {
				if f.args, err = p.parseArgs(); err != nil {
					return nil, err
				}
			}
			n = f
		case p.isName("is"):
			p.next()
			t := &testNode{input: n}
			if p.isName("not") {
				p.next()
				t.negate = true
			}
			var err error
			if t.name, t.pos, err = p.dottedName(); err != nil {
				return nil, err
			}
			if err := p.parseTestArgs(t); err != nil {
				return nil, err
			}
			n = t
		default:
			return n, nil
		}
	}
}

func (p *parser) parseTestArgs(t *testNode) error {
	var err error
	c := p.cur()
	switch {
	case p.isOp("("):
		t.args, err = p.parseArgs()
		return err
	case c.kind == tName && (c.val == "else" || c.val == "or" || c.val == "and" || c.val == "if" || c.val == "is" || c.val == "in" || c.val == "not"):
		return nil
	case c.kind == tName || c.kind == tString || c.kind == tInt || c.kind == tFloat || p.isOp("[") || p.isOp("{"):
		a, err := p.parsePrimary()
		if err != nil {
			return err
		}
		if a, err = p.parsePostfix(a); err != nil {
			return err
		}
		t.args.pos = []node{a}
	}
	return nil
}

func (p *parser) parseArgs() (argList, error) {
	var a argList
	if err := p.expectOp("("); err != nil {
		return a, err
	}
	for !p.isOp(")") {
		if len(a.pos)+len(a.kwKeys) > 0 {
			if err := p.expectOp(","); err != nil {
				return a, err
			}
			if p.isOp(")") {
				break
			}
		}
		if p.cur().kind == tName && p.toks[min(p.i+1, len(p.toks)-1)].kind == tOp && p.toks[p.i+1].val == "=" {
			key := p.next().val
			p.next()
			v, err := p.parseCond()
			if err != nil {
				return a, err
			}
			a.kwKeys = append(a.kwKeys, key)
			a.kwVals = append(a.kwVals, v)
			continue
		}
		if p.isOp("*") || p.isOp("**") {
			return a, p.fail(p.cur().pos, "*args and **kwargs are not supported")
		}
		if len(a.kwKeys) > 0 {
			return a, p.fail(p.cur().pos, "positional argument follows keyword argument")
		}
		v, err := p.parseCond()
		if err != nil {
			return a, err
		}
		a.pos = append(a.pos, v)
	}
	p.next()
	return a, nil
}
