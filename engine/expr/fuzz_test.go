package expr

import (
	"testing"
	"time"
)

// FuzzTranslate checks that parsing, translating and compiling any text,
// as an expression and as a template, neither panics nor hangs, and that
// evaluating what compiles does not panic either.
func FuzzTranslate(f *testing.F) {
	for _, seed := range []string{
		"x + 1", "a.b['c'][0][-1][1:3]", "x | default('y') | upper", "x is not defined or x is version('1.2', '>=')",
		"{'a': [1, 2.5, none]}", "'a' if b else c", "not (a and b) or c ~ d", "1 < x <= 3", "range(3) | map('string') | join",
		"{{ x }} and {% if y %}{{ z }}{% endif %}", "{% for k, v in d.items() if v %}{{ loop.index }}{% endfor %}",
		"x | regex_replace('(a)', '\\1')", "'%s' % x", "lookup('env', 'HOME')", "{{- x -}}", "{# c #}", "{% raw %}{{{% endraw %}",
	} {
		f.Add(seed)
	}
	scope := testScope()
	f.Fuzz(func(t *testing.T, src string) {
		deadline := time.Now().Add(2 * time.Second)
		if p, err := Compile(src); err == nil {
			_, _ = p.Eval(scope)
		}
		if tpl, err := CompileTemplate(src); err == nil {
			_, _ = tpl.Render(scope)
		}
		if time.Now().After(deadline) {
			t.Fatalf("compiling and evaluating %q took too long", src)
		}
	})
}
