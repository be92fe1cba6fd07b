package expr

// block parses the {% ... %} tag whose content starts at start; tagPos is
// the offset of "{%". It returns where the closing delimiter begins.
func (tp *tparser) block(start, tagPos int) (int, error) {
	toks, end, err := tp.exprTokens(start, "%}")
	if err != nil {
		return 0, err
	}
	p := &parser{src: tp.text, toks: toks}
	kw := p.cur()
	if kw.kind != tName {
		return 0, tp.fail(kw.pos, "expected a block tag name such as if or for")
	}
	p.next()
	expression := func() (*Program, error) {
		from := p.cur().pos
		n, err := p.parseCond()
		if err != nil {
			return nil, err
		}
		return tp.program(n, from, p.cur().pos)
	}
	top := func(kind string) *frame {
		if len(tp.stack) == 0 || tp.stack[len(tp.stack)-1].kind != kind {
			return nil
		}
		return tp.stack[len(tp.stack)-1]
	}
	switch kw.val {
	case "if":
		cond, err := expression()
		if err != nil {
			return 0, err
		}
		n := &ifNode{conds: []*Program{cond}, bodies: [][]tnode{nil}}
		tp.emit(n)
		tp.stack = append(tp.stack, &frame{kind: "if", node: n, pos: tagPos, body: &n.bodies[0]})
	case "elif":
		f := top("if")
		if f == nil {
			return 0, tp.fail(kw.pos, "unexpected 'elif' outside {% if %}")
		}
		cond, err := expression()
		if err != nil {
			return 0, err
		}
		n := f.node.(*ifNode)
		if f.body == &n.els {
			return 0, tp.fail(kw.pos, "'elif' after 'else'")
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, nil)
		f.body = &n.bodies[len(n.bodies)-1]
	case "else":
		switch f := tp.stack; {
		case top("if") != nil:
			n := f[len(f)-1].node.(*ifNode)
			f[len(f)-1].body = &n.els
		case top("for") != nil:
			n := f[len(f)-1].node.(*forNode)
			f[len(f)-1].body = &n.els
		default:
			return 0, tp.fail(kw.pos, "unexpected 'else' outside {% if %} or {% for %}")
		}
	case "endif", "endfor":
		if top(kw.val[3:]) == nil {
			return 0, tp.fail(kw.pos, "unexpected '"+kw.val+"'")
		}
		tp.stack = tp.stack[:len(tp.stack)-1]
	case "for":
		n := &forNode{}
		for {
			t := p.next()
			if t.kind != tName {
				return 0, tp.fail(t.pos, "expected a loop variable name")
			}
			n.vars = append(n.vars, t.val)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
		if !p.isName("in") {
			return 0, tp.fail(p.cur().pos, "expected 'in' in for loop")
		}
		p.next()
		from := p.cur().pos
		iter, err := p.parseOr()
		if err != nil {
			return 0, err
		}
		if n.iter, err = tp.program(iter, from, p.cur().pos); err != nil {
			return 0, err
		}
		if p.isName("if") {
			p.next()
			if n.cond, err = expression(); err != nil {
				return 0, err
			}
		}
		tp.emit(n)
		tp.stack = append(tp.stack, &frame{kind: "for", node: n, pos: tagPos, body: &n.body})
	case "set":
		name := p.next()
		attr := ""
		// {% set ns.attr = ... %} assigns into a namespace().
		if name.kind == tName && p.isOp(".") {
			p.next()
			a := p.next()
			if a.kind != tName {
				return 0, tp.fail(a.pos, "expected an attribute name after '.'")
			}
			attr = a.val
		}
		if name.kind != tName || !p.isOp("=") {
			return 0, tp.fail(name.pos, "expected {% set name = expression %}")
		}
		p.next()
		prog, err := expression()
		if err != nil {
			return 0, err
		}
		tp.emit(&setNode{name: name.val, attr: attr, prog: prog})
	case "raw":
		tp.rawFrom = tagPos
	default:
		return 0, tp.fail(kw.pos, "unknown block tag '"+kw.val+"'")
	}
	if p.cur().kind != tEOF {
		return 0, tp.fail(p.cur().pos, "expected '%}', got "+describe(p.cur()))
	}
	return end, nil
}
