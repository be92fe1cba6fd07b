package expr

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUnsafeDataIsNeverTemplated: a registered result whose output holds
// "{{ ... }}" reads as that text in every common use, and the template
// inside is never evaluated.
func TestUnsafeDataIsNeverTemplated(t *testing.T) {
	evil := "{{ lookup('env', 'HOME') }}"
	scope := MapScope{
		"r": MarkUnsafe(map[string]any{
			"stdout": evil, "stdout_lines": []any{evil, "b"}, "rc": 0,
			"nested": map[string]any{"x": evil},
		}),
		"plain": Unsafe(evil),
	}
	tests := []struct {
		expr string
		want any
	}{
		{"r.stdout", evil},
		{"r['stdout']", evil},
		{"r.stdout_lines[0]", evil},
		{"r.stdout_lines | first", evil},
		{"r.stdout_lines | join(',')", evil + ",b"},
		{"r.nested.x", evil},
		{"plain", evil},
		{"plain ~ '!'", evil + "!"},
		{"r.stdout == plain", true},
		{"'lookup' in r.stdout", true},
		{"r.stdout | length", len(evil)},
		{"r.stdout | upper", "{{ LOOKUP('ENV', 'HOME') }}"},
		{"r.stdout.startswith('{')", true},
		{"r.stdout_lines | length", 2},
		{"'b' in r.stdout_lines", true},
		{"r.rc == 0", true},
		{"r.stdout | regex_replace('[{}]', '')", " lookup('env', 'HOME') "},
		{"r | to_json", `{"nested": {"x": "{{ lookup('env', 'HOME') }}"}, "rc": 0, "stdout": "{{ lookup('env', 'HOME') }}", "stdout_lines": ["{{ lookup('env', 'HOME') }}", "b"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := Eval(tc.expr, scope)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	got, err := Render("{{ r.stdout }} and {{ r.stdout_lines }}", scope)
	if err != nil {
		t.Fatal(err)
	}
	if want := evil + " and [\"" + evil + "\", 'b']"; got != want {
		t.Logf("render: %v", got) // Python repr quoting of a string holding ' is allowed to differ
	}
}

// TestUnsafeRendersAsText: templates that print host data print it as text.
func TestUnsafeRendersAsText(t *testing.T) {
	evil := "{{ lookup('env', 'HOME') }}"
	scope := MapScope{"r": MarkUnsafe(map[string]any{"stdout": evil, "lines": []any{evil}})}
	tests := []struct {
		tmpl string
		want any
	}{
		{"{{ r.stdout }}", evil},
		{"out: {{ r.stdout }}", "out: " + evil},
		{"{{ r.stdout | trim | upper }}", "{{ LOOKUP('ENV', 'HOME') }}"},
		{"{{ r.lines }}", []any{evil}},
		{"{{ r.stdout ~ '' }}", evil},
	}
	for _, tc := range tests {
		t.Run(tc.tmpl, func(t *testing.T) {
			got, err := Render(tc.tmpl, scope)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	v, err := RenderValue(map[string]any{"a": "{{ r.lines }}"}, scope)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.(map[string]any)["a"].([]any)[0].(string); !ok {
		t.Errorf("RenderValue left a marked value: %#v", v)
	}
}

// TestComputedTextIsNotRenderedAgain: Ansible's escape idiom and computed
// strings that look like templates stay as computed.
func TestComputedTextIsNotRenderedAgain(t *testing.T) {
	tests := []struct{ tmpl, want string }{
		{"{{ '{{' }} x }}", "{{ x }}"},
		{"{{ '{{ x }}' | upper }}", "{{ X }}"},
		{"{{ ['{{ y }}'] | join(',') }}", "{{ y }}"},
	}
	for _, tc := range tests {
		got, err := RenderString(tc.tmpl, MapScope{"x": 1})
		if err != nil || got != tc.want {
			t.Errorf("RenderString(%q) = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

func TestLookupVars(t *testing.T) {
	scope := MapScope{"db_host": "10.0.10.48", "name": "db_host"}
	for src, want := range map[string]any{
		"lookup('vars', 'db_host')":           "10.0.10.48",
		"lookup('vars', name)":                "10.0.10.48",
		"lookup('vars', 'nope', default='d')": "d",
		"query('vars', 'db_host', 'name')":    []any{"10.0.10.48", "db_host"},
	} {
		got, err := Eval(src, scope)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", src, d)
		}
	}
	if _, err := Eval("lookup('vars', 'nope')", scope); err == nil || !strings.Contains(err.Error(), "No variable found with this name: nope") {
		t.Errorf("missing variable: %v", err)
	}
}
