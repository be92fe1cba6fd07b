package modules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stdout_lines as Python's str.splitlines makes them.
func TestLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []any
	}{
		{"", []any{}},
		{"a\n", []any{"a"}},
		{"a\n\nb", []any{"a", "", "b"}},
		{"a\r\nb\r\n", []any{"a", "b"}},
		{"a\rb\fc\vd", []any{"a", "b", "c", "d"}},
		{"x\u2028y\u0085z", []any{"x", "y", "z"}},
	} {
		if diff := cmp.Diff(tc.want, lines(tc.in)); diff != "" {
			t.Errorf("lines(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// A program that is not there fails with rc 2 and empty output, and cmd
// as one string, as in Ansible: a failed_when reading stderr still works.
func TestCommandMissingProgram(t *testing.T) {
	c := mustPlan(t, Command(), map[string]any{"_raw_params": "no-such-program-here arg"})
	res, err := Command().New().Apply(t.Context(), localHost(), c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"cmd": "no-such-program-here arg", "rc": 2, "stdout": "", "stderr": "",
		"stdout_lines": []any{}, "stderr_lines": []any{}}
	if !res.Failed || !cmp.Equal(want, res.Data) {
		t.Errorf("failed=%v data=%v, want failed and %v", res.Failed, res.Data, want)
	}
}
