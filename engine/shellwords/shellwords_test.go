package shellwords

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"visudo -cf %s", []string{"visudo", "-cf", "%s"}, ""},
		{`sh -c 'test -s "%s"'`, []string{"sh", "-c", `test -s "%s"`}, ""},
		{`grep "a b" %s`, []string{"grep", "a b", "%s"}, ""},
		{`-o 'ControlPersist 60s'  -C`, []string{"-o", "ControlPersist 60s", "-C"}, ""},
		{`a\ b "q\"uote" ''`, []string{"a b", `q"uote`, ""}, ""}, // '' is an empty word, as in Python's shlex
		{"", nil, ""},
		{`echo 'open`, nil, "unclosed quote"},
		{`echo "open`, nil, "unclosed quote"},
	} {
		got, err := Split(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Split(%q): error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Split(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}
