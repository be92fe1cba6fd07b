package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// translator turns a parsed Jinja expression into expr-lang source. Values
// that expr-lang literals cannot express exactly (strings, floats) go into
// a constant table read as __k[i]; Jinja semantics live in Go helpers.
type translator struct {
	src    string
	consts []any
	lets   int
	b      strings.Builder
}

func (t *translator) fail(n node, format string, args ...any) error {
	return &SyntaxError{Src: t.src, Offset: n.position(), Msg: fmt.Sprintf(format, args...)}
}

func (t *translator) w(parts ...string) {
	for _, p := range parts {
		t.b.WriteString(p)
	}
}

func (t *translator) constant(v any) string {
	t.consts = append(t.consts, v)
	return "__k[" + strconv.Itoa(len(t.consts)-1) + "]"
}

func (t *translator) tempVar() string {
	t.lets++
	return "__t" + strconv.Itoa(t.lets)
}

// path names an access chain for Undefined messages: foo, foo.bar, foo['x'].
func accessPath(n node) string {
	switch x := n.(type) {
	case *nameNode:
		return x.name
	case *attrNode:
		if p := accessPath(x.obj); p != "" {
			return p + "." + x.name
		}
	case *itemNode:
		if l, ok := x.key.(*litNode); ok {
			if p := accessPath(x.obj); p != "" {
				return p + "[" + pyRepr(l.val) + "]"
			}
		}
	}
	return ""
}

func (t *translator) node(n node) error {
	switch x := n.(type) {
	case *nameNode:
		t.w("__v(__ctx, ", strconv.Quote(x.name), ")")
	case *litNode:
		switch v := x.val.(type) {
		case nil:
			t.w("nil")
		case bool:
			t.w(strconv.FormatBool(v))
		case int:
			if v < 0 {
				t.w(t.constant(v))
			} else {
				t.w(strconv.Itoa(v))
			}
		default:
			t.w(t.constant(v))
		}
	case *listNode:
		t.w("__list(")
		if err := t.list(x.items); err != nil {
			return err
		}
		t.w(")")
	case *dictNode:
		t.w("__dict(")
		for i := range x.keys {
			if i > 0 {
				t.w(", ")
			}
			if err := t.node(x.keys[i]); err != nil {
				return err
			}
			t.w(", ")
			if err := t.node(x.vals[i]); err != nil {
				return err
			}
		}
		t.w(")")
	case *attrNode:
		t.w("__attr(__ctx, ")
		if err := t.node(x.obj); err != nil {
			return err
		}
		t.w(", ", t.constant(x.name), ", ", t.constant(accessPath(x)), ")")
	case *itemNode:
		t.w("__item(__ctx, ")
		if err := t.node(x.obj); err != nil {
			return err
		}
		t.w(", ")
		if err := t.node(x.key); err != nil {
			return err
		}
		t.w(", ", t.constant(accessPath(x)), ")")
	case *sliceNode:
		t.w("__slice(__ctx, ")
		if err := t.list([]node{x.obj, x.lo, x.hi, x.step}); err != nil {
			return err
		}
		t.w(")")
	case *callNode:
		return t.call(x)
	case *filterNode:
		f, ok := filters[x.name]
		if !ok {
			return t.fail(x, "no filter named '%s'", x.name)
		}
		if err := f.check(x.args); err != nil {
			return t.fail(x, "filter '%s': %v", x.name, err)
		}
		t.w("__filter(__ctx, ", strconv.Quote(x.name), ", ")
		if err := t.node(x.input); err != nil {
			return err
		}
		return t.args(x.args)
	case *testNode:
		if _, ok := tests[x.name]; !ok {
			return t.fail(x, "no test named '%s'", x.name)
		}
		if x.negate {
			t.w("!")
		}
		t.w("__test(__ctx, ", strconv.Quote(x.name), ", ")
		if err := t.node(x.input); err != nil {
			return err
		}
		return t.args(x.args)
	case *unaryNode:
		fn := map[string]string{"-": "__neg(", "+": "__pos(", "not": "!__truthy("}[x.op]
		t.w(fn)
		if err := t.node(x.x); err != nil {
			return err
		}
		t.w(")")
	case *binNode:
		return t.binary(x)
	case *cmpNode:
		return t.compare(x)
	case *condNode:
		t.w("(__truthy(")
		if err := t.node(x.cond); err != nil {
			return err
		}
		t.w(") ? ")
		if err := t.node(x.then); err != nil {
			return err
		}
		t.w(" : ")
		if x.els == nil {
			t.w("__undef(", t.constant("the inline if-expression evaluated to false and no else section was defined."), ")")
		} else if err := t.node(x.els); err != nil {
			return err
		}
		t.w(")")
	default:
		return t.fail(n, "unsupported expression")
	}
	return nil
}

// list writes comma-separated nodes; a nil node is written as nil.
func (t *translator) list(ns []node) error {
	for i, n := range ns {
		if i > 0 {
			t.w(", ")
		}
		if n == nil {
			t.w("nil")
			continue
		}
		if err := t.node(n); err != nil {
			return err
		}
	}
	return nil
}

// args writes ", [positional], {keywords})" closing a helper call.
func (t *translator) args(a argList) error {
	t.w(", ")
	if len(a.pos) == 0 {
		t.w("nil")
	} else {
		t.w("[")
		if err := t.list(a.pos); err != nil {
			return err
		}
		t.w("]")
	}
	t.w(", ")
	if len(a.kwKeys) == 0 {
		t.w("nil")
	} else {
		t.w("{")
		for i, k := range a.kwKeys {
			if i > 0 {
				t.w(", ")
			}
			t.w(strconv.Quote(k), ": ")
			if err := t.node(a.kwVals[i]); err != nil {
				return err
			}
		}
		t.w("}")
	}
	t.w(")")
	return nil
}

func (t *translator) call(x *callNode) error {
	switch fn := x.fn.(type) {
	case *nameNode:
		if _, ok := globals[fn.name]; !ok {
			return t.fail(x, "no function named '%s'", fn.name)
		}
		t.w("__call(__ctx, ", strconv.Quote(fn.name))
		return t.args(x.args)
	case *attrNode:
		t.w("__meth(__ctx, ")
		if err := t.node(fn.obj); err != nil {
			return err
		}
		t.w(", ", strconv.Quote(fn.name))
		return t.args(x.args)
	}
	return t.fail(x, "this expression cannot be called")
}

func (t *translator) binary(x *binNode) error {
	switch x.op {
	case "and", "or":
		// Python returns the deciding operand; let keeps it evaluated once.
		v := t.tempVar()
		t.w("(let ", v, " = ")
		if err := t.node(x.l); err != nil {
			return err
		}
		t.w("; __truthy(", v, ") ? ")
		if x.op == "or" {
			t.w(v, " : ")
		}
		if err := t.node(x.r); err != nil {
			return err
		}
		if x.op == "and" {
			t.w(" : ", v)
		}
		t.w(")")
		return nil
	case "~":
		t.w("__cat(")
	default:
		t.w("__arith(", strconv.Quote(x.op), ", ")
	}
	if err := t.node(x.l); err != nil {
		return err
	}
	t.w(", ")
	if err := t.node(x.r); err != nil {
		return err
	}
	t.w(")")
	return nil
}

// compare writes a comparison chain; a < b < c evaluates b once.
func (t *translator) compare(x *cmpNode) error {
	if len(x.ops) == 1 {
		t.w("__cmp(", strconv.Quote(x.ops[0]), ", ")
		if err := t.list(x.operands); err != nil {
			return err
		}
		t.w(")")
		return nil
	}
	prev := t.tempVar()
	t.w("(let ", prev, " = ")
	if err := t.node(x.operands[0]); err != nil {
		return err
	}
	t.w("; ")
	for i, op := range x.ops {
		v := t.tempVar()
		if i > 0 {
			t.w(" && (")
		}
		t.w("let ", v, " = ")
		if err := t.node(x.operands[i+1]); err != nil {
			return err
		}
		t.w("; __cmp(", strconv.Quote(op), ", ", prev, ", ", v, ")")
		prev = v
	}
	t.w(strings.Repeat(")", len(x.ops)))
	return nil
}
