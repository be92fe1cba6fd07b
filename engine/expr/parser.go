package expr

import (
	"fmt"
	"strings"
)

// node is one element of a parsed Jinja expression.
type node interface{ position() int }

type (
	nameNode struct {
		name string
		pos  int
	}
	litNode struct {
		val any
		pos int
	}
	listNode struct {
		items []node
		pos   int
	}
	dictNode struct {
		keys, vals []node
		pos        int
	}
	attrNode struct {
		obj  node
		name string
		pos  int
	}
	itemNode struct {
		obj, key node
		pos      int
	}
	sliceNode struct {
		obj, lo, hi, step node // nil when omitted
		pos               int
	}
	callNode struct {
		fn   node
		args argList
		pos  int
	}
	filterNode struct {
		input node
		name  string
		args  argList
		pos   int
	}
	testNode struct {
		input  node
		name   string
		args   argList
		negate bool
		pos    int
	}
	unaryNode struct {
		op  string // "-", "+", "not"
		x   node
		pos int
	}
	binNode struct {
		op   string // arithmetic, "~", "and", "or"
		l, r node
		pos  int
	}
	// cmpNode is a comparison chain: a < b <= c.
	cmpNode struct {
		ops      []string // "==", "<", "in", "notin", ...
		operands []node
		pos      int
	}
	condNode struct {
		cond, then, els node // els nil when there is no else
		pos             int
	}
)

type argList struct {
	pos    []node
	kwKeys []string
	kwVals []node
}

func (n *nameNode) position() int   { return n.pos }
func (n *litNode) position() int    { return n.pos }
func (n *listNode) position() int   { return n.pos }
func (n *dictNode) position() int   { return n.pos }
func (n *attrNode) position() int   { return n.pos }
func (n *itemNode) position() int   { return n.pos }
func (n *sliceNode) position() int  { return n.pos }
func (n *callNode) position() int   { return n.pos }
func (n *filterNode) position() int { return n.pos }
func (n *testNode) position() int   { return n.pos }
func (n *unaryNode) position() int  { return n.pos }
func (n *binNode) position() int    { return n.pos }
func (n *cmpNode) position() int    { return n.pos }
func (n *condNode) position() int   { return n.pos }

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

func (p *parser) parsePrimary() (node, error) {
	t := p.cur()
	switch t.kind {
	case tName:
		p.next()
		switch t.val {
		case "true", "True":
			return &litNode{val: true, pos: t.pos}, nil
		case "false", "False":
			return &litNode{val: false, pos: t.pos}, nil
		case "none", "None":
			return &litNode{val: nil, pos: t.pos}, nil
		}
		return &nameNode{name: t.val, pos: t.pos}, nil
	case tString:
		var b strings.Builder
		for p.cur().kind == tString {
			b.WriteString(p.next().val)
		}
		return &litNode{val: b.String(), pos: t.pos}, nil
	case tInt, tFloat:
		p.next()
		return &litNode{val: t.num, pos: t.pos}, nil
	case tOp:
		switch t.val {
		case "(":
			return p.parseParen()
		case "[":
			p.next()
			items, err := p.parseItems("]")
			return &listNode{items: items, pos: t.pos}, err
		case "{":
			return p.parseDict()
		}
	}
	return nil, p.fail(t.pos, "unexpected %s", describe(t))
}

func (p *parser) parseParen() (node, error) {
	pos := p.next().pos
	if p.isOp(")") {
		p.next()
		return &listNode{pos: pos}, nil
	}
	first, err := p.parseCond()
	if err != nil {
		return nil, err
	}
	if p.isOp(")") {
		p.next()
		return first, nil
	}
	if !p.isOp(",") {
		return nil, p.fail(p.cur().pos, "expected ')', got %s", describe(p.cur()))
	}
	p.next()
	rest, err := p.parseItems(")")
	if err != nil {
		return nil, err
	}
	return &listNode{items: append([]node{first}, rest...), pos: pos}, nil
}

// parseItems reads comma-separated expressions up to and including end.
func (p *parser) parseItems(end string) ([]node, error) {
	var items []node
	for !p.isOp(end) {
		if len(items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp(end) {
				break
			}
		}
		n, err := p.parseCond()
		if err != nil {
			return nil, err
		}
		items = append(items, n)
	}
	p.next()
	return items, nil
}

func (p *parser) parseDict() (node, error) {
	d := &dictNode{pos: p.next().pos}
	for !p.isOp("}") {
		if len(d.keys) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp("}") {
				break
			}
		}
		k, err := p.parseCond()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(":"); err != nil {
			return nil, err
		}
		v, err := p.parseCond()
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, k)
		d.vals = append(d.vals, v)
	}
	p.next()
	return d, nil
}

func (p *parser) parsePostfix(n node) (node, error) {
	for {
		t := p.cur()
		switch {
		case p.isOp("."):
			p.next()
			a := p.next()
			switch a.kind {
			case tName:
				n = &attrNode{obj: n, name: a.val, pos: a.pos}
			case tInt:
				n = &itemNode{obj: n, key: &litNode{val: a.num, pos: a.pos}, pos: a.pos}
			default:
				return nil, p.fail(a.pos, "expected an attribute name after '.', got %s", describe(a))
			}
		case p.isOp("["):
			p.next()
			var err error
			if n, err = p.parseSubscript(n, t.pos); err != nil {
				return nil, err
			}
		case p.isOp("("):
			args, err := p.parseArgs()
			if err != nil {
				return nil, err
			}
			n = &callNode{fn: n, args: args, pos: t.pos}
		default:
			return n, nil
		}
	}
}

func (p *parser) parseSubscript(obj node, pos int) (node, error) {
	var parts [3]node
	idx := 0
	sliced := false
	for {
		if p.isOp("]") {
			p.next()
			break
		}
		if p.isOp(":") {
			p.next()
			sliced = true
			idx++
			if idx > 2 {
				return nil, p.fail(p.cur().pos, "too many ':' in slice")
			}
			continue
		}
		if parts[idx] != nil {
			return nil, p.fail(p.cur().pos, "expected ']', got %s", describe(p.cur()))
		}
		e, err := p.parseCond()
		if err != nil {
			return nil, err
		}
		parts[idx] = e
	}
	if !sliced {
		if parts[0] == nil {
			return nil, p.fail(pos, "empty subscript")
		}
		return &itemNode{obj: obj, key: parts[0], pos: pos}, nil
	}
	return &sliceNode{obj: obj, lo: parts[0], hi: parts[1], step: parts[2], pos: pos}, nil
}
