package expr

import "strings"

// parsePrimary reads a literal, a name or a bracketed expression.
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
