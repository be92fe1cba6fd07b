package expr

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Program is a compiled bare expression, as written in when:, that:,
// failed_when: or changed_when:. It is safe for concurrent use.
type Program struct {
	src    string
	code   string // the expr-lang translation
	offset int    // of the expression in src, for errors
	consts []any
	tmpl   *Template // set when the condition is written as "{{ ... }}"

	// The expr-lang program is compiled at the first evaluation: a
	// playbook's every expression is parsed and checked when it loads,
	// but --syntax-check and --list-tasks evaluate none of them.
	once    sync.Once
	prog    *vm.Program
	progErr error
}

// evalEnv is the expr-lang environment of one evaluation.
type evalEnv struct {
	Ctx    *evalCtx `expr:"__ctx"`
	Consts []any    `expr:"__k"`
}

// evalCtx carries the scope and the depth of lazy variable rendering.
type evalCtx struct {
	scope Scope
	depth int
	// shallow is set once a big variable (hostvars...) was read whole:
	// only then can raw templates reach a result and need rendering.
	// Other values are rendered when looked up, and rendering a computed
	// string again would break `{{ '{{' }}` and template host data.
	shallow bool
}

// settle renders raw templates left inside v when a shallow variable may
// have put them there.
func (c *evalCtx) settle(v any) (any, error) {
	if !c.shallow {
		return v, nil
	}
	return c.deep(v)
}

// maxLazyDepth bounds nested rendering of variables that refer to each other.
const maxLazyDepth = 64

// maxCached bounds each compile cache; beyond it programs are not kept.
const maxCached = 20000

type cached[T any] struct {
	val T
	err error
}

type cache[T any] struct {
	m sync.Map
	n atomic.Int64
}

func (c *cache[T]) get(key string, build func(string) (T, error)) (T, error) {
	if v, ok := c.m.Load(key); ok {
		e := v.(*cached[T])
		return e.val, e.err
	}
	val, err := build(key)
	if c.n.Load() < maxCached {
		if _, loaded := c.m.LoadOrStore(key, &cached[T]{val, err}); !loaded {
			c.n.Add(1)
		}
	}
	return val, err
}

var (
	programs  cache[*Program]
	templates cache[*Template]
)

// compileOptions is built on first use: the helpers refer back to Compile.
var compileOptions = sync.OnceValue(func() []expr.Option {
	opts := []expr.Option{expr.Env(evalEnv{}), expr.DisableAllBuiltins()}
	for name, fn := range helpers {
		opts = append(opts, expr.Function(name, fn))
	}
	return opts
})

// Compile parses a bare Jinja expression such as `x is defined and x | length > 0`
// and compiles it once; later calls with the same text return the cached
// program. A condition written as a template ("{{ x }}") is rendered at
// evaluation time and, when that gives a string, evaluated again as
// Ansible does. Unknown filters, tests and functions are *SyntaxError.
func Compile(src string) (*Program, error) {
	return programs.get(src, compileProgram)
}

func compileProgram(src string) (*Program, error) {
	if strings.Contains(src, "{{") || strings.Contains(src, "{%") {
		t, err := CompileTemplate(src)
		if err != nil {
			return nil, err
		}
		return &Program{src: src, tmpl: t}, nil
	}
	if strings.TrimSpace(src) == "" {
		return nil, &SyntaxError{Src: src, Msg: "empty expression"}
	}
	n, err := parseExpression(src)
	if err != nil {
		return nil, err
	}
	return translate(src, n)
}

func translate(src string, n node) (*Program, error) {
	t := &translator{src: src}
	if err := t.node(n); err != nil {
		return nil, err
	}
	return &Program{src: src, code: t.b.String(), consts: t.consts, offset: n.position()}, nil
}

// compiled returns the expr-lang program, compiling it once. The
// translation is ours, so an error here is cutover's bug, not the user's.
func (p *Program) compiled() (*vm.Program, error) {
	p.once.Do(func() {
		p.prog, p.progErr = expr.Compile(p.code, compileOptions()...)
		if p.progErr != nil {
			p.progErr = &SyntaxError{Src: p.src, Offset: p.offset, Msg: "internal translation error: " + p.progErr.Error()}
		}
	})
	return p.prog, p.progErr
}

// Check reports whether src is a valid bare expression, without evaluating it.
func Check(src string) error {
	_, err := Compile(src)
	return err
}

// Eval evaluates the program against s. The result is a plain value (nil,
// bool, int, float64, string, []any, map[string]any, or Omit); an
// undefined result is an *UndefinedError.
func (p *Program) Eval(s Scope) (any, error) {
	v, err := p.eval(&evalCtx{scope: s})
	return v, wrapTop(p.src, err)
}

func (p *Program) eval(c *evalCtx) (any, error) {
	if p.tmpl != nil {
		v, err := p.tmpl.render(c)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" && !IsTemplate(s) {
			if _, err := parseExpression(s); err == nil {
				q, err := Compile(s)
				if err != nil {
					return nil, err
				}
				return q.eval(c)
			}
		}
		return v, nil
	}
	v, err := p.run(c)
	if err != nil {
		return nil, err
	}
	return c.final(v)
}

// run executes the translated program and returns its raw value.
func (p *Program) run(c *evalCtx) (any, error) {
	prog, err := p.compiled()
	if err != nil {
		return nil, err
	}
	v, err := expr.Run(prog, &evalEnv{Ctx: c, Consts: p.consts})
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			if inner := fe.Unwrap(); inner != nil {
				return nil, inner
			}
			return nil, errors.New(fe.Message)
		}
		return nil, err
	}
	return v, nil
}

// final renders templated strings left in a result and rejects Undefined.
func (c *evalCtx) final(v any) (any, error) {
	v, err := c.settle(v)
	if err != nil {
		return nil, err
	}
	if u, ok := v.(*Undefined); ok && u.soft {
		return "", nil
	}
	if u := findUndefined(v); u != nil {
		return nil, u.Err()
	}
	return plain(v), nil
}

// wrapTop adds the expression to errors other than undefined and syntax
// errors, whose messages are already Ansible's.
func wrapTop(src string, err error) error {
	if err == nil {
		return nil
	}
	var ue *UndefinedError
	var se *SyntaxError
	var te *templateError
	if errors.As(err, &ue) || errors.As(err, &se) || errors.As(err, &te) {
		return err
	}
	return &templateError{src: src, err: err}
}

// templateError is an evaluation error annotated with the template text.
type templateError struct {
	src string
	err error
}

func (e *templateError) Error() string {
	return fmt.Sprintf("error while evaluating %q: %v", e.src, e.err)
}

func (e *templateError) Unwrap() error { return e.err }

// Eval compiles (or fetches from the cache) and evaluates a bare expression.
func Eval(src string, s Scope) (any, error) {
	p, err := Compile(src)
	if err != nil {
		return nil, err
	}
	return p.Eval(s)
}

// lazy renders a variable's value when it is a string holding a template,
// as Ansible templates variables when they are used.
func (c *evalCtx) lazy(v any) (any, error) {
	if _, ok := v.(Unsafe); ok {
		return v, nil // data, never a template; norm unwraps it where used
	}
	if b, ok := v.(Bound); ok {
		return (&evalCtx{scope: b.Scope, depth: c.depth}).lazy(b.Text)
	}
	s, ok := v.(string)
	if !ok || !IsTemplate(s) {
		return norm(v), nil
	}
	if c.depth >= maxLazyDepth {
		return nil, fmt.Errorf("recursive loop detected in template string: %s", s)
	}
	t, err := CompileTemplate(s)
	if err != nil {
		return nil, err
	}
	v, err = t.render(&evalCtx{scope: c.scope, depth: c.depth + 1})
	var ue *UndefinedError
	if errors.As(err, &ue) {
		// The variable is undefined where it is used, so "is defined"
		// and default see it as Ansible does.
		return &Undefined{Name: ue.Name, Hint: ue.Msg}, nil
	}
	return v, err
}

// deep applies lazy to every string inside lists and maps, copying only
// containers that change.
func (c *evalCtx) deep(v any) (any, error) {
	if _, ok := v.(Unsafe); ok {
		return v, nil // kept marked inside containers; norm unwraps it for use
	}
	if _, ok := v.(Bound); ok {
		return c.lazy(v)
	}
	switch x := norm(v).(type) {
	case string:
		return c.lazy(x)
	case []any:
		var out []any
		for i, e := range x {
			r, err := c.deep(e)
			if err != nil {
				return nil, err
			}
			if out == nil && !same(r, e) {
				out = make([]any, len(x))
				copy(out, x[:i])
			}
			if out != nil {
				out[i] = r
			}
		}
		if out != nil {
			return out, nil
		}
		return x, nil
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			r, err := c.deep(e)
			if err != nil {
				return nil, err
			}
			if out == nil && !same(r, e) {
				out = make(map[string]any, len(x))
				for k2, e2 := range x {
					out[k2] = e2
				}
			}
			if out != nil {
				out[k] = r
			}
		}
		if out != nil {
			return out, nil
		}
		return x, nil
	default:
		return x, nil
	}
}

// same reports whether deep left a value untouched (strings and scalars
// compare by value; containers are assumed changed only when rebuilt).
func same(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		return reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	case string, bool, int, float64, nil, *omitValue, *Undefined:
		return a == b
	}
	return false
}
