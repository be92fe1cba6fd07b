package expr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRender(t *testing.T) {
	cases := []struct {
		name, text string
		want       any
	}{
		{"static", "plain text", "plain text"},
		{"keeps int", "{{ x }}", 1},
		{"keeps list", "{{ l }}", []any{1, 2, 3}},
		{"leading space makes text (ansible: str)", "  {{ l }}\n", "  [1, 2, 3]\n"},
		{"trailing space keeps a list (ansible: list)", "{{ l }} ", []any{1, 2, 3}},
		{"trailing newline keeps text (ansible)", "{{ x }}\n", "1\n"},
		{"keeps dict", "{{ d.b }}", map[string]any{"c": "deep"}},
		{"keeps bool", "{{ x == 1 }}", true},
		{"keeps none", "{{ nothing }}", nil},
		{"string context", "x={{ x }}", "x=1"},
		{"bool text", "{{ true }}/{{ false }}", "True/False"},
		{"none text", "a{{ nothing }}b", "ab"},
		{"list text", "l: {{ l }}", "l: [1, 2, 3]"},
		{"dict text", "d: {{ {'a': 'x', 'b': none} }}", "d: {'a': 'x', 'b': None}"},
		{"string repr quote", "{{ [\"it's\"] }} ", []any{"it's"}},
		{"float text", "{{ 0.1 + 0.2 }}!", "0.30000000000000004!"}, // ansible
		{"big float text", "{{ 1e20 }}!", "1e+20!"},                // ansible
		{"float keeps .0", "{{ 3 | float }}!", "3.0!"},
		{"two expressions", "{{ s }} {{ x + 1 }}", "hello 2"},
		{"comment", "a{# note #}b", "ab"},
		{"dict literal braces", "{{ {'a': {'b': 1}} }}", map[string]any{"a": map[string]any{"b": 1}}},
		{"filter in template", "{{ s | upper }}", "HELLO"},
		{"backslash kept", `{{ 'a1b22' | regex_findall('\\d+') }}`, []any{}}, // ansible: literal backslash
		{"raw string regexp", `{{ 'a1b22' | regex_findall('\d+') }}`, []any{"1", "22"}},
		{"backslash replacement", `{{ 'abc' | regex_replace('(b)', '[\1]') }}`, "a[b]c"},
		{"newline escape kept", `{{ 'a\nb' }}`, `a\nb`}, // ansible
		{"if", "{% if x == 1 %}one{% else %}other{% endif %}", "one"},
		{"elif", "{% if x == 2 %}two{% elif x == 1 %}one{% else %}other{% endif %}", "one"},
		{"else", "{% if empty %}yes{% else %}no{% endif %}", "no"},
		{"for", "{% for i in l %}{{ i }},{% endfor %}", "1,2,3,"},
		{"for loop vars", "{% for n in names %}{{ loop.index }}{{ n }}{% if not loop.last %} {% endif %}{% endfor %}", "1b 2a 3c"},
		{"for unpack", "{% for k, v in ports.items() %}{{ k }}={{ v }};{% endfor %}", "http=80;https=443;"},
		{"for else", "{% for i in [] %}x{% else %}none{% endfor %}", "none"},
		{"for filter", "{% for i in l if i > 1 %}{{ i }}{% endfor %}", "23"},
		{"nested for", "{% for a in [1, 2] %}{% for b in ['x'] %}{{ a }}{{ b }}{% endfor %}{% endfor %}", "1x2x"},
		{"set", "{% set y = x + 41 %}{{ y }}", "42"},
		{"namespace", "{% set ns = namespace(n=x) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "7"},
		{"trim blocks", "{% if true %}\nyes\n{% endif %}\nend", "yes\nend"},
		{"whitespace control", "a  {%- if true -%}  b  {%- endif -%}  c", "abc"},
		{"expression dash", "a {{- x -}} b", "a1b"},
		{"raw", "{% raw %}{{ x }}{% endraw %}", "{{ x }}"},
		{"lazy var", "{{ lazy }}", 2},
		{"lazy var text", "n={{ lazy }}", "n=2"},
		{"lazy list whole", "{{ lazylist }}", []any{1, "b"}},
		{"omit", "{{ omit }}", Omit},
		{"no else prints empty", "[{{ 'a' if false }}]", "[]"}, // ansible
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.text, testScope())
			if err != nil {
				t.Fatalf("Render(%q): %v", tc.text, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Render(%q) mismatch (-want +got):\n%s", tc.text, diff)
			}
		})
	}
}

func TestTemplateFile(t *testing.T) {
	tpl, err := CompileTemplateFile("{% for u in users %}{{ u.name }}{{ '\\n' }}{% endfor %}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Render(testScope())
	if err != nil || got != "alice\nbob\n" {
		t.Fatalf("Render = %q, %v; want %q", got, err, "alice\nbob\n")
	}
}

func TestStatic(t *testing.T) {
	for text, want := range map[string]bool{"abc": true, "a{# c #}b": true, "{{ x }}": false, "{% if x %}{% endif %}": false} {
		tpl, err := CompileTemplate(text)
		if err != nil {
			t.Fatal(err)
		}
		if tpl.Static() != want {
			t.Errorf("CompileTemplate(%q).Static() = %v; want %v", text, tpl.Static(), want)
		}
	}
}

func TestRenderString(t *testing.T) {
	got, err := RenderString("{{ l }}", testScope())
	if err != nil || got != "[1, 2, 3]" {
		t.Errorf("RenderString = %q, %v", got, err)
	}
	got, err = RenderString("{{ nothing }}", testScope())
	if err != nil || got != "" {
		t.Errorf("RenderString(None) = %q, %v", got, err)
	}
}

func TestRenderValue(t *testing.T) {
	in := map[string]any{
		"path":  "/srv/{{ s }}",
		"mode":  "{{ missing | default(omit) }}",
		"port":  "{{ x + 79 }}",
		"list":  []any{"{{ x }}", "{{ omit }}", 3},
		"plain": true,
	}
	got, err := RenderValue(in, testScope())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"path": "/srv/hello", "port": 80, "list": []any{1, Omit, 3}, "plain": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RenderValue mismatch (-want +got):\n%s", diff)
	}
	if in["path"] != "/srv/{{ s }}" {
		t.Error("RenderValue modified its input")
	}
}

func TestIsTemplate(t *testing.T) {
	for s, want := range map[string]bool{"a": false, "{{ x }}": true, "{% if %}": true, "{# c #}": true, "{ x }": false} {
		if IsTemplate(s) != want {
			t.Errorf("IsTemplate(%q) = %v", s, !want)
		}
	}
}

// TestWhen covers the two forms of a condition: a bare expression and a
// template whose rendered value is then judged (Ansible evaluates a string
// result once more as an expression).
func TestWhen(t *testing.T) {
	s := testScope()
	s["cond"] = "x == 1"
	s["flag"] = true
	cases := []struct {
		src  string
		want bool
	}{
		{"x == 1", true},
		{"x is defined and x | length > 0 if x is string else x > 0", true},
		{"{{ flag }}", true},
		{"{{ x == 2 }}", false},
		{"{{ cond }}", true},
		{"result_fail is failed", true},
		{"'web' in group_names", true},
		{"{{ empty }}", false},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			p, err := Compile(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			v, err := p.Eval(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Truthy(v)
			if err != nil || got != tc.want {
				t.Errorf("when %q = %v, %v; want %v", tc.src, got, err, tc.want)
			}
		})
	}
}
