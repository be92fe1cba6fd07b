package modules

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReplaceLikeAnsible replays testdata/edits.yaml (verified against
// ansible-core 2.14.18): MULTILINE anchors, backreferences, after/before.
func TestReplaceLikeAnsible(t *testing.T) { runEditCases(t, Replace()) }

func TestReplaceTimeline(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.conf")
	writeFile(t, p, "listen 80\nlisten 8080\n", 0o640)
	raw := map[string]any{"path": p, "regexp": `^listen (\d+)$`, "replace": `listen 127.0.0.1:\1`, "backup": true}
	res := converge(t, Replace(), dir, raw)
	if got, want := readFile(t, p), "listen 127.0.0.1:80\nlisten 127.0.0.1:8080\n"; got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	if got := fileMode(t, p).Perm(); got != 0o640 {
		t.Errorf("mode = %v, want the old 0640 kept", got)
	}
	if b, _ := res.Data["backup_file"].(string); readFile(t, b) != "listen 80\nlisten 8080\n" {
		t.Errorf("backup_file %q does not hold the old content", b)
	}
	t.Run("starts converged", func(t *testing.T) { assertConverged(t, Replace(), dir, raw) })
}

func TestPyCompile(t *testing.T) {
	for _, tc := range []struct {
		pattern   string
		multiline bool
		subject   string
		want      []string
	}{
		{`^a$`, false, "a\n", []string{"a"}},         // $ before the final newline
		{`^$`, false, "foo\n", nil},                  // ^ only at the start without MULTILINE
		{`x\Z`, false, "ax", []string{"x"}},          // \Z is Go's \z
		{`^a{,2}`, false, "aaa", []string{"aa"}},     // {,n} means {0,n}
		{`[]x]+`, false, "]x]", []string{"]x]"}},     // ] first in a class is literal
		{`b$`, true, "ab\ncb\n", []string{"b", "b"}}, // MULTILINE
		{`(?#note)q`, false, "q", []string{"q"}},     // comments dropped
	} {
		re, err := pyCompile(tc.pattern, tc.multiline)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if diff := cmp.Diff(tc.want, re.FindAllString(tc.subject, -1)); diff != "" {
			t.Errorf("%q on %q (-want +got):\n%s", tc.pattern, tc.subject, diff)
		}
	}
	for _, bad := range []string{`(?=a)`, `(?<!a)b`, `(a)\1`, `(?P<n>a)(?P=n)`} {
		if _, err := pyCompile(bad, false); err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%q: err = %v, want not supported", bad, err)
		}
	}
}

func TestPyExpand(t *testing.T) {
	re, _ := pyCompile(`(?P<k>\w+)=(\w+)?`, false)
	s := "key="
	m := re.FindStringSubmatchIndex(s)
	for tmpl, want := range map[string]string{
		`\1:\2`:         "key:", // an unmatched group is empty
		`\g<k>\n`:       "key\n",
		`\g<1>0`:        "key0",
		`a\\b`:          `a\b`,
		`\-`:            `\-`,
		`literal \g<k>`: "literal key",
	} {
		got, err := pyExpand(re, tmpl, s, m)
		if err != nil || got != want {
			t.Errorf("pyExpand(%q) = %q, %v; want %q", tmpl, got, err, want)
		}
	}
	for _, bad := range []string{`\3`, `\g<nope>`, `\q`} {
		if _, err := pyExpand(re, bad, s, m); err == nil {
			t.Errorf("pyExpand(%q): no error", bad)
		}
	}
}

// TestReplaceAfterBeforeAnchors: Ansible compiles after and before without
// MULTILINE, so "^" anchors at the start of the file and "$" at its end (or
// before a final newline). Every row checked against ansible-core 2.14.18.
func TestReplaceAfterBeforeAnchors(t *testing.T) {
	const file = "start\nfoo=1\n[sec]\nfoo=2\nbar=3\n[end]\nfoo=4\n"
	for _, tc := range []struct {
		name          string
		after, before string
		want          string // "" means unchanged
	}{
		{"dollar in after is the end", `sec\]$`, "", ""},
		{"caret in after is the start", `^\[sec\]`, "", ""},
		{"first line is not the end", `^start$`, "", ""},
		{"dollar in before is the end", "", `\[end\]$`, ""},
		{"caret in before is the start", "", `^\[end\]`, ""},
		{"dollar before the final newline", "", `foo=4$`, "start\nFOO=1\n[sec]\nFOO=2\nbar=3\n[end]\nfoo=4\n"},
		{"after without anchors", `sec\]`, "", "start\nfoo=1\n[sec]\nFOO=2\nbar=3\n[end]\nFOO=4\n"},
		{"between without anchors", `\[sec\]`, `\[end\]`, "start\nfoo=1\n[sec]\nFOO=2\nbar=3\n[end]\nfoo=4\n"},
		{"between with a dollar not at the end", `\[sec\]\n`, `\[end\]\n$`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			writeFile(t, p, file, 0o644)
			raw := map[string]any{"path": p, "regexp": "^foo=", "replace": "FOO="}
			if tc.after != "" {
				raw["after"] = tc.after
			}
			if tc.before != "" {
				raw["before"] = tc.before
			}
			if tc.want == "" {
				assertConverged(t, Replace(), dir, raw)
				return
			}
			converge(t, Replace(), dir, raw)
			if got := readFile(t, p); got != tc.want {
				t.Errorf("content = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPyCompileText(t *testing.T) {
	for _, tc := range []struct {
		pattern, subject string
		want             []string
	}{
		{`b$`, "ab\ncb\n", []string{"b\n"}}, // only before the final newline (which it takes)
		{`b$`, "ab\ncb", []string{"b"}},
		{`^c`, "ab\ncb\n", nil}, // ^ only at the start
		{`^a`, "ab\ncb\n", []string{"a"}},
		{`[$]`, "a$", []string{"$"}}, // a $ in a class stays literal
	} {
		re, err := pyCompileText(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if diff := cmp.Diff(tc.want, re.FindAllString(tc.subject, -1)); diff != "" {
			t.Errorf("%q on %q (-want +got):\n%s", tc.pattern, tc.subject, diff)
		}
	}
}
