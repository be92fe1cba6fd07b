package expr

import (
	"errors"
	"strings"
	"testing"
)

func TestUndefinedErrors(t *testing.T) {
	cases := []struct {
		name, src, msg, varName string
	}{
		{"bare variable", "foo", "'foo' is undefined", "foo"},
		{"missing key", "d.bar", "'dict object' has no attribute 'bar'", "d.bar"},        // ansible
		{"missing item", "d['bar']", "'dict object' has no attribute 'bar'", "d['bar']"}, // ansible
		{"missing element", "l[5]", "list object has no element 5", "l[5]"},              // ansible
		{"attr of undefined", "foo.bar", "'foo' is undefined", "foo"},
		{"filter", "foo | upper", "'foo' is undefined", "foo"},
		{"operator", "foo + 1", "'foo' is undefined", "foo"},
		{"comparison", "foo == 1", "'foo' is undefined", "foo"},
		{"in", "'a' in foo", "'foo' is undefined", "foo"},
		{"truthiness", "foo and true", "'foo' is undefined", "foo"},
		{"not", "not foo", "'foo' is undefined", "foo"},
		{"test", "foo is failed", "'foo' is undefined", "foo"},
		{"method", "foo.split()", "'foo' is undefined", "foo"},
		{"tilde", "'a' ~ foo", "'foo' is undefined", "foo"},
		{"inside list result", "[foo] | first", "'foo' is undefined", "foo"},
		{"filter argument", "'a' | replace(foo, 'b')", "'foo' is undefined", "foo"},
		{"lazy", "lazyfoo", "'foo' is undefined", "foo"},
		{"first of empty", "[] | first", "No first item, sequence was empty.", ""},        // ansible
		{"mandatory", "foo | mandatory", "Mandatory variable 'foo'  not defined.", "foo"}, // ansible
		{"mandatory msg", "foo | mandatory('set foo')", "set foo", "foo"},
		{"default of undefined", "foo | default(bar)", "'bar' is undefined", "bar"},
		{"undefined in result list", "[1, foo]", "'foo' is undefined", "foo"},
		{"lazy list", "lazylistfoo", "'foo' is undefined", "foo"},
	}
	s := testScope()
	s["lazyfoo"] = "{{ foo }}"
	s["lazylistfoo"] = []any{"{{ foo }}"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Eval(tc.src, s)
			var ue *UndefinedError
			if !errors.As(err, &ue) {
				t.Fatalf("Eval(%q) = %v, %v; want an *UndefinedError", tc.src, v, err)
			}
			if ue.Msg != tc.msg || err.Error() != tc.msg || ue.Name != tc.varName {
				t.Errorf("Eval(%q) error = %q (name %q); want %q (name %q)", tc.src, err, ue.Name, tc.msg, tc.varName)
			}
		})
	}
	if _, err := Truthy(&Undefined{Name: "x"}); err == nil || err.Error() != "'x' is undefined" {
		t.Errorf("Truthy(Undefined) error = %v", err)
	}
}

func TestRuntimeErrors(t *testing.T) {
	cases := []struct{ name, src, contains string }{
		{"str plus int", "'1' + 1", `can only concatenate str (not "int") to str`},          // ansible
		{"int lt str", "1 < 'a'", "'<' not supported between instances of 'int' and 'str'"}, // ansible
		{"zero division", "1 / 0", "division by zero"},
		{"int zero division", "1 // 0", "integer division or modulo by zero"},
		{"not iterable", "1 | list", "'int' object is not iterable"},
		{"no len", "1 | length", "object of type 'int' has no len()"},
		{"no method", "l.nope()", "'list' object has no attribute 'nope'"},
		{"recursive", "loop_a", "recursive loop detected in template string: {{ loop_"},
		{"bad regexp", "'a' | regex_replace('(', 'b')", "invalid regular expression"},
		{"dict2items on list", "l | dict2items", "dict2items requires a dictionary"},
		{"failed on string", "s is failed", "The 'failed' test expects a dictionary"},
		{"bad version op", "'1' is version('2', 'foo')", "invalid operator type (foo)"},
		{"unknown lookup", "lookup('nope', 'x')", "lookup plugin (nope) not found"},
		{"missing arg", "s | replace('a')", "missing required argument 'new'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Eval(tc.src, testScope())
			if err == nil || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("Eval(%q) = %v, %v; want an error containing %q", tc.src, v, err, tc.contains)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, src string
		offset    int
		msg       string
	}{
		{"unknown filter", "x | nofilter", 4, "no filter named 'nofilter'"},
		{"unknown test", "x is notatest", 5, "no test named 'notatest'"},
		{"unknown function", "nofunc(1)", 6, "no function named 'nofunc'"},
		{"trailing operator", "x +", 3, "unexpected end of expression"},
		{"unclosed paren", "(x + 1", 6, "expected ')'"},
		{"unterminated string", "x == 'abc", 5, "unterminated string"},
		{"bad character", "x $ 1", 2, "unexpected character"},
		{"extra token", "x y", 2, "unexpected 'y'"},
		{"too many args", "x | upper(1)", 4, "takes at most 0 arguments"},
		{"unknown keyword", "x | default(nope=1)", 4, "unexpected keyword argument 'nope'"},
		{"empty", "  ", 0, "empty expression"},
		{"not callable", "x.y(1)(2)", 6, "cannot be called"},
		{"missing required", "x | replace('a')", 4, "missing required argument 'new'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Check(%q) = %v; want a *SyntaxError", tc.src, err)
			}
			if se.Offset != tc.offset || !strings.Contains(se.Msg, tc.msg) || se.Src != tc.src {
				t.Errorf("Check(%q) = offset %d %q; want offset %d containing %q", tc.src, se.Offset, se.Msg, tc.offset, tc.msg)
			}
		})
	}
}

func TestTemplateSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, src string
		offset    int
		msg       string
	}{
		{"unclosed expression", "a {{ x ", 7, "expected '}}'"},
		{"unknown filter", "a {{ x | nope }}", 9, "no filter named 'nope'"},
		{"unclosed if", "{% if x %}a", 0, "{% if %} is not closed"},
		{"stray endfor", "a{% endfor %}", 4, "unexpected 'endfor'"},
		{"unknown tag", "{% macro m() %}", 3, "unknown block tag 'macro'"},
		{"unclosed comment", "{# x", 0, "missing end of comment tag"},
		{"empty expression", "{{ }}", 3, "expected an expression"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTemplate(tc.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("CheckTemplate(%q) = %v; want a *SyntaxError", tc.src, err)
			}
			if se.Offset != tc.offset || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("CheckTemplate(%q) = offset %d %q; want offset %d containing %q", tc.src, se.Offset, se.Msg, tc.offset, tc.msg)
			}
		})
	}
}
