package expr

import (
	"os"
	"path/filepath"
	"testing"
)

var testCases = []evalCase{
	{"defined", "x is defined", true},
	{"not defined", "missing is not defined", true},
	{"undefined", "missing is undefined", true},
	{"attr defined", "d.zz is defined", false},
	{"attr of undefined defined", "missing.bar is defined", false},   // ansible
	{"lazy undefined is not defined", "lazyundef is defined", false}, // ansible
	{"lazy undefined default", "lazyundef | default('d')", "d"},      // ansible
	{"lazy undefined list", "lazyundeflist is defined", false},       // ansible
	{"none", "nothing is none", true},
	{"none undefined", "missing is none", false},
	{"string", "s is string", true},
	{"number", "f is number", true},
	{"number bool", "true is number", true}, // ansible
	{"integer", "x is integer", true},
	{"float", "x is float", false},
	{"boolean", "true is boolean", true},
	{"mapping", "d is mapping", true},
	{"sequence", "l is sequence", true},
	{"iterable", "s is iterable", true},
	{"failed", "result_fail is failed", true},
	{"not failed", "result_ok is not failed", true},
	{"failed by rc", "result_rc is failed", true},
	{"succeeded", "result_ok is succeeded", true},
	{"success", "result_fail is success", false},
	{"changed", "result_ok is changed", true},
	{"change", "result_fail is change", false},
	{"changed loop", "loop_result is changed", true},
	{"skipped", "result_skip is skipped", true},
	{"skip", "result_ok is skip", false},
	{"match", "'abc' is match('b')", false}, // ansible
	{"match start", "'abc' is match('ab')", true},
	{"search", "'abc' is search('b')", true}, // ansible
	{"regex", "'abc' is regex('B', ignorecase=true)", true},
	{"in", "'a' is in('abc')", true},                             // ansible
	{"contains", "l is contains(2)", true},                       // ansible
	{"version", "version is version('2.9', '>=')", true},         // ansible
	{"version rc", "'1.2.0-rc1' is version('1.2.0', '>')", true}, // ansible
	{"version eq", "'1.0' is version('1.0.0', 'eq')", false},
	{"version_compare", "'1.10' is version_compare('1.9', 'gt')", true},
	{"version default op", "'1.2' is version('1.2')", true},
	{"equalto", "x is equalto 1", true},
	{"eq", "x is eq(1)", true},
	{"ne", "x is ne(2)", true},
	{"lt gt", "(x is lt 2) and (x is gt 0)", true},
	{"le ge", "(x is le 1) and (x is ge 1)", true},
	{"truthy", "s is truthy", true},
	{"falsy", "empty is falsy", true},
	{"sameas", "true is sameas true", true},
	{"sameas none", "nothing is sameas none", true},
	{"divisibleby", "5 is divisibleby 3", false}, // ansible
	{"divisibleby call", "9 is divisibleby(3)", true},
	{"even", "4 is even", true},
	{"odd", "x is odd", true},
	{"test then and", "x is defined and x == 1", true},
	{"test then filter", "(l | length) is odd", true},
	{"not test", "not missing is defined", true},
}

func TestFileTests(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	link := filepath.Join(dir, "l")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	s := MapScope{"dir": dir, "file": file, "link": link, "none": filepath.Join(dir, "none")}
	cases := []struct {
		src  string
		want bool
	}{
		{"file is file", true},
		{"dir is file", false},
		{"dir is directory", true},
		{"file is exists", true},
		{"none is exists", false},
		{"link is link", true},
		{"file is link", false},
		{"link is file", true},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			got, err := Eval(tc.src, s)
			if err != nil || got != tc.want {
				t.Errorf("Eval(%q) = %v, %v; want %v", tc.src, got, err, tc.want)
			}
		})
	}
}
