package modules

import (
	"strings"
	"testing"
)

func TestRewriteLiteral(t *testing.T) {
	tests := []struct {
		name, text, from, to, want string
		notes                      int
	}{
		{"prefix of a longer IP is not touched", "host=10.0.10.48 port=5432", "10.0.10.4", "legacy.example", "host=10.0.10.48 port=5432", 0},
		{"whole IP", "host=10.0.10.4 port=5432", "10.0.10.4", "legacy.example", "host=legacy.example port=5432", 0},
		{"IP,IP rewrites both", "'10.0.10.4,10.0.10.4'", "10.0.10.4", "a.example", "'a.example,a.example'", 0},
		{"at both ends of the text", "10.0.10.4", "10.0.10.4", "a.example", "a.example", 0},
		{"letter before", "db10.0.10.4 x", "10.0.10.4", "a", "db10.0.10.4 x", 0},
		{"dot after", "10.0.10.4.5", "10.0.10.4", "a", "10.0.10.4.5", 0},
		{"digit before", "110.0.10.4", "10.0.10.4", "a", "110.0.10.4", 0},
		{"dash and underscore extend the token", "x-10.0.10.4 10.0.10.4_y", "10.0.10.4", "a", "x-10.0.10.4 10.0.10.4_y", 0},
		{"colon and slash are boundaries", "10.0.10.4:5432/10.0.10.4", "10.0.10.4", "a", "a:5432/a", 0},
		{"quoted key", "publish(1, 'oas', 'oas.staff', m)", "'oas.staff'", "'oas.staff.test'", "publish(1, 'oas', 'oas.staff.test', m)", 0},
		{"quoted key already rewritten", "publish(1, 'oas', 'oas.staff.test', m)", "'oas.staff'", "'oas.staff.test'", "publish(1, 'oas', 'oas.staff.test', m)", 0},
		{"quoted key back", "'oas.staff.test'", "'oas.staff.test'", "'oas.staff'", "'oas.staff'", 0},
		{"hostaddr stays numeric for a name", "host=10.0.10.42 hostaddr=10.0.10.42", "10.0.10.42", "hrdb.example", "host=hrdb.example hostaddr=10.0.10.42", 1},
		{"hostaddr with blanks and quote", "hostaddr = '10.0.10.42'", "10.0.10.42", "hrdb.example", "hostaddr = '10.0.10.42'", 1},
		{"hostaddr to another IP", "hostaddr=10.0.10.42", "10.0.10.42", "10.0.10.43", "hostaddr=10.0.10.43", 0},
		{"myhostaddr is not hostaddr", "myhostaddr=10.0.10.42", "10.0.10.42", "h", "myhostaddr=h", 0},
		{"no match", "nothing here", "10.0.10.4", "a", "nothing here", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, notes := rewriteLiteral(tc.text, tc.from, tc.to)
			if got != tc.want {
				t.Errorf("rewriteLiteral(%q, %q, %q) = %q, want %q", tc.text, tc.from, tc.to, got, tc.want)
			}
			if len(notes) != tc.notes {
				t.Errorf("notes = %q, want %d", notes, tc.notes)
			}
		})
	}
}

func TestApplyRewriteRules(t *testing.T) {
	rulesOf := func(t *testing.T, items ...map[string]any) []rewriteRule {
		t.Helper()
		list := make([]any, len(items))
		for i, m := range items {
			list[i] = m
		}
		rules, err := rewriteRulesFrom(list)
		if err != nil {
			t.Fatal(err)
		}
		return rules
	}
	tests := []struct {
		name  string
		rules []map[string]any
		text  string
		want  string
		n     int
	}{
		{"in order, each on the previous output", []map[string]any{{"from": "a", "to": "b"}, {"from": "b", "to": "c"}}, "a b", "c c", 3},
		{"routing keys twice never doubles", []map[string]any{{"from": "'oas.staff'", "to": "'oas.staff.test'"}, {"from": "'oas.staff'", "to": "'oas.staff.test'"}}, "'oas.staff'", "'oas.staff.test'", 1},
		{"regex with groups", []map[string]any{{"from": `host=10\.0\.10\.(\d+)`, "to": "host=db$1.example", "regex": true}}, "host=10.0.10.48 host=10.0.10.4", "host=db48.example host=db4.example", 2},
		{"regex given as a string", []map[string]any{{"from": `o+`, "to": "0", "regex": "yes"}}, "foo", "f0", 1},
		{"seed map", []map[string]any{
			{"from": "10.0.10.48", "to": "finance.thehumanjourney.net"},
			{"from": "10.0.10.4", "to": "old.example"},
			{"from": "192.168.98.24", "to": "mapdata.thehumanjourney.net"},
		}, "'10.0.10.48,10.0.10.4,192.168.98.24,10.0.10.480'", "'finance.thehumanjourney.net,old.example,mapdata.thehumanjourney.net,10.0.10.480'", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, n, _ := applyRewriteRules(tc.text, rulesOf(t, tc.rules...))
			if got != tc.want || n != tc.n {
				t.Errorf("got %q (%d), want %q (%d)", got, n, tc.want, tc.n)
			}
		})
	}
}

func TestRewriteRulesFromErrors(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"missing", nil, "required"},
		{"not a list", "x", "want a list"},
		{"empty", []any{}, "empty"},
		{"not a map", []any{"x"}, "want a map"},
		{"unknown key", []any{map[string]any{"from": "a", "to": "b", "form": 1}}, `unknown key "form"`},
		{"missing to", []any{map[string]any{"from": "a"}}, "missing to"},
		{"empty from", []any{map[string]any{"from": "", "to": "b"}}, "from is empty"},
		{"bad regex", []any{map[string]any{"from": "(", "to": "b", "regex": true}}, "replacements[0].from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rewriteRulesFrom(tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMaskRewriteSecrets(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"conninfo in a literal", "dblink('host=h password=secret dbname=d', q)", "dblink('host=h password=******** dbname=d', q)"},
		{"at the end of a literal", "'user=u password=secret'", "'user=u password=********'"},
		{"quoted conninfo value", "'password=''se cret'' host=h'", "'password=******** host=h'"},
		{"blanks around =", "PASSWORD = secret", "PASSWORD = ********"},
		{"role password", "ALTER ROLE x PASSWORD 'secret'", "ALTER ROLE x PASSWORD '********'"},
		{"nothing to hide", "host=h user=u", "host=h user=u"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := maskRewriteSecrets(tc.in); got != tc.want {
				t.Errorf("maskRewriteSecrets(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
