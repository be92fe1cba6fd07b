package yamlx

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadFollowsYAML11(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"octal mode stays octal as PyYAML reads it", "mode: 0644", map[string]any{"mode": 420}},
		{"quoted mode is a string", `mode: "0644"`, map[string]any{"mode": "0644"}},
		{"yes and no are booleans", "a: yes\nb: no\nc: on\nd: off", map[string]any{"a": true, "b": false, "c": true, "d": false}},
		{"quoted yes is a string", "a: 'yes'", map[string]any{"a": "yes"}},
		{"y and n are strings, as in PyYAML", "a: y\nb: [n, Y, N]", map[string]any{"a": "y", "b": []any{"n", "Y", "N"}}},
		{"integers are ints", "n: 12\nm: -3", map[string]any{"n": 12, "m": -3}},
		{"floats", "f: 1.5", map[string]any{"f": 1.5}},
		{"null", "x: ~\ny: null\nz:", map[string]any{"x": nil, "y": nil, "z": nil}},
		{"literal block", "s: |\n  a\n  b\n", map[string]any{"s": "a\nb\n"}},
		{"alias", "a: &A {x: 1}\nb: *A", map[string]any{"a": map[string]any{"x": 1}, "b": map[string]any{"x": 1}}},
		{"merge key", "a: &A {x: 1, y: 1}\nb:\n  <<: *A\n  y: 2", map[string]any{"a": map[string]any{"x": 1, "y": 1}, "b": map[string]any{"x": 1, "y": 2}}},
		{"list", "- 1\n- two\n- [3]", []any{1, "two", []any{3}}},
		{"empty document", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load("t.yml", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Load (-want +got):\n%s", d)
			}
		})
	}
}

func TestUnsafeAndVaultTags(t *testing.T) {
	got, err := Load("t.yml", []byte("a: !unsafe '{{ x }}'\nb: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3031\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := got.(map[string]any)
	if _, ok := m["a"].(Unsafe); !ok {
		t.Errorf("!unsafe gave %T, want Unsafe", m["a"])
	}
	if v, ok := m["b"].(Vault); !ok || !strings.HasPrefix(string(v), "$ANSIBLE_VAULT") {
		t.Errorf("!vault gave %T %q, want Vault", m["b"], m["b"])
	}
}

func TestErrorsPointAtTheSource(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unclosed quote", "a: 1\nb: \"x\n", "t.yml:2:4: YAML syntax error"},
		{"unknown alias", "a: *nope\n", "t.yml:1:4: unknown alias *nope"},
		{"bad flow mapping", "a: {b: 1\n", "t.yml:1:4: YAML syntax error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yml", []byte(tc.src))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want prefix %q", err, tc.want)
			}
		})
	}
}

// FuzzLoad: any input gives a value or an error, never a panic or a hang.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{"a: 1", "- {a: [1, 2]}", "a: &x [1]\nb: *x", "<<: {a: 1}", "a: |\n  x\n", "a: !unsafe b", "- hosts: all\n  tasks:\n    - debug: msg=hi\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		v, err := Load("f.yml", []byte(src))
		if err != nil && v != nil {
			t.Errorf("both a value and an error: %v", err)
		}
	})
}
