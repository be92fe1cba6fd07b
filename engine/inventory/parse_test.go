package inventory

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// modelOf summarises an inventory: groups with hosts, children and vars,
// and every host's merged vars (without inventory_file/inventory_dir).
func modelOf(inv *Inventory) map[string]any {
	m := map[string]any{}
	for _, g := range inv.Groups() {
		hosts := hostNames(g.Hosts)
		if g.Name == "all" {
			// YAML lists all.hosts entries directly in all (and ungrouped),
			// INI only in ungrouped; ansible-inventory shows neither.
			hosts = nil
		}
		m["group "+g.Name] = map[string]any{"hosts": hosts, "children": groupNames(g.Children), "vars": g.Vars, "priority": g.Priority}
	}
	for _, h := range inv.Hosts() {
		m["host "+h.Name] = removeInternal(inv.HostVars(h))
	}
	return m
}

func groupNames(gs []*Group) []string {
	out := []string{}
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func TestINIAndYAMLGiveTheSameModel(t *testing.T) {
	ini := mustLoad(t, "testdata/basic.ini")
	yml := mustLoad(t, "testdata/basic.yml")
	if diff := cmp.Diff(modelOf(ini), modelOf(yml)); diff != "" {
		t.Errorf("INI and YAML models differ (-ini +yaml):\n%s", diff)
	}
	if diff := cmp.Diff(hostNames(ini.Hosts()), hostNames(yml.Hosts())); diff != "" {
		t.Errorf("host definition order differs (-ini +yaml):\n%s", diff)
	}
	web := ini.Host("web-a")
	if diff := cmp.Diff(map[string]any{"ansible_port": 2222, "ansible_user": "deploy user"}, removeInternal(web.Vars)); diff != "" {
		t.Errorf("web-a own vars (-want +got):\n%s", diff)
	}
	if got := ini.Group("prod").Priority; got != 5 {
		t.Errorf("prod priority = %d, want 5", got)
	}
}

func TestExpandHostPattern(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		port    int
		wantErr string
	}{
		{in: "db[01:03]", want: []string{"db01", "db02", "db03"}},
		{in: "web[a:c]", want: []string{"weba", "webb", "webc"}},
		{in: "host[1:10:4]", want: []string{"host1", "host5", "host9"}},
		{in: "h[8:11]", want: []string{"h8", "h9", "h10", "h11"}},
		{in: "r[1:2]-[a:b]", want: []string{"r1-a", "r1-b", "r2-a", "r2-b"}},
		{in: "db[:2].lan", want: []string{"db0.lan", "db1.lan", "db2.lan"}},
		{in: "h[3:1]", want: nil},
		{in: "web:2222", want: []string{"web"}, port: 2222},
		{in: "db[01:02]:5432", want: []string{"db01", "db02"}, port: 5432},
		{in: "10.0.0.1:22", want: []string{"10.0.0.1"}, port: 22},
		{in: "[fe80::1]:2222", want: []string{"fe80::1"}, port: 2222},
		{in: "fe80::1", want: []string{"fe80::1"}},
		{in: "127.0.70.1", want: []string{"127.0.70.1"}},
		{in: "finance.thehumanjourney.net", want: []string{"finance.thehumanjourney.net"}},
		{in: "sérveur[1:2]", want: []string{"sérveur1", "sérveur2"}}, // a Unicode label takes the full pattern
		{in: "bad_:22", want: []string{"bad_:22"}},                   // not an address: kept whole, as Ansible does
		{in: "db[1:02]", want: []string{"db1", "db2"}},               // only a leading zero asks for equal widths
		{in: "db[01:2]", wantErr: "host range must specify equal-length begin and end formats"},
		{in: "db[1:]", wantErr: "host range must specify end value"},
		{in: "db[c:a]", wantErr: "host range must have begin <= end"},
		{in: "db[1:3:0]", wantErr: "host range step must not be zero"},
		{in: "db[1]", wantErr: "host range must be begin:end or begin:end:step, got [1]"},
		{in: "db[0:99999999]", wantErr: "host range [0:99999999] expands to too many hosts"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, port, err := expandHostPattern(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if port != tc.port {
				t.Errorf("port = %d, want %d", port, tc.port)
			}
		})
	}
}

func TestParseINIValue(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"2222", 2222},
		{"-7", -7},
		{"1_000", 1000},
		{"0x1F", 31},
		{"0o17", 15},
		{"0b101", 5},
		{"010", "010"}, // a syntax error in Python 3
		{"000", 0},
		{"1.5", 1.5},
		{"1e3", 1000.0},
		{".5", 0.5},
		{"True", true},
		{"false", "false"},
		{"None", nil},
		{"'x'", "x"},
		{`"a\tb"`, "a\tb"},
		{`r"a\tb"`, `a\tb`},
		{`b"bytes"`, "bytes"},
		{`"a" 'b'`, "ab"},
		{`"""triple"""`, "triple"},
		{"[1, 'a', None]", []any{1, "a", nil}},
		{"(1,)", []any{1}},
		{"1, 2", []any{1, 2}},
		{"{'k': {'n': [True]}}", map[string]any{"k": map[string]any{"n": []any{true}}}},
		{"{1: 'a', True: 2}", map[string]any{"1": "a", "true": 2}},
		{"{1, 2}", []any{1, 2}},
		{"set()", []any{}},
		{"5 # comment", 5},
		{"hello world", "hello world"},
		{"1+2j", "1+2j"},
		{"99999999999999999999", "99999999999999999999"},
		{"--5", "--5"},
		{"a=b", "a=b"},
		{"[1, 2", "[1, 2"},
		{"'unterminated", "'unterminated"},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, parseINIValue(tc.in)); diff != "" {
				t.Errorf("parseINIValue(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestShlexSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`h1 a=1 b="x y"`, []string{"h1", "a=1", "b=x y"}},
		{`h1 a='it''s'`, []string{"h1", "a=its"}},
		{`h1 a="q\"q" b=c\ d`, []string{"h1", `a=q"q`, "b=c d"}},
		{`h1 a="back\slash"`, []string{"h1", `a=back\slash`}},
		{`h1 a=x#comment b=2`, []string{"h1", "a=x"}},
		{`h1 # all comment`, []string{"h1"}},
		{`h1 e=""`, []string{"h1", "e="}},
		{`""`, []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			toks, err := shlexSplit(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tk := range toks {
				got = append(got, tk.text)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("shlexSplit(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port int
		ok   bool
	}{
		{"finance", "finance", 0, true},
		{"db-1.lan", "db-1.lan", 0, true},
		{"_svc", "_svc", 0, true},
		{"sérveur.lan", "sérveur.lan", 0, true},
		{"127.0.70.1", "127.0.70.1", 0, true},
		{"127.0.70.1:2222", "127.0.70.1", 2222, true},
		{"::1", "::1", 0, true},
		{"[::1]:22", "::1", 22, true},
		{"10.0.[1:3].1", "10.0.[1:3].1", 0, true},
		{"-web", "", 0, false},
		{"web-", "", 0, false},
		{"web_.lan", "", 0, false},
		{"a b", "", 0, false},
		{"", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			host, port, err := parseAddress(tc.in, true)
			if (err == nil) != tc.ok {
				t.Fatalf("parseAddress(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if host != tc.host || port != tc.port {
				t.Errorf("parseAddress(%q) = %q, %d; want %q, %d", tc.in, host, port, tc.host, tc.port)
			}
		})
	}
}

func TestYAMLScalars(t *testing.T) {
	inv := mustLoad(t, "testdata/types.yml")
	got := inv.Host("t1").Vars
	tests := []struct {
		key  string
		want any
	}{
		{"yes_", true}, {"no_", false}, {"on_", true}, {"off_", false},
		{"octal", 493}, {"hex", 31}, {"sexagesimal", 90}, {"float", 1.5},
		{"exp_string", "1e3"}, {"exp_float", 1000.0}, {"inf", math.Inf(1)},
		{"tilde", nil}, {"empty", nil}, {"quoted_bool", "yes"}, {"date", "2024-01-02"},
		{"literal", "line1\nline2\n"}, {"folded", "one two\n"},
		{"list", []any{"a", 1, true}}, {"map", map[string]any{"a": 1, "b": []any{"x"}}},
		{"alias", map[string]any{"k": "v"}}, {"merged", map[string]any{"k": "v", "own": 1}},
		{"big", 12345678901234}, {"neg", -0.5}, {"str_tag", "123"}, {"quoted key", 1},
		{"ip", "127.0.70.1"}, {"plus", 12}, {"null_word", nil}, {"nully", "nullish"}, {"truthy", true},
		{"word", "finance"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, got[tc.key]); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.key, diff)
			}
		})
	}
	// "vars: novalue" is the mapping {novalue: None}, as in Ansible.
	if v, ok := inv.Group("g1").Vars["novalue"]; !ok || v != nil {
		t.Errorf("g1 vars = %v, want novalue: nil", inv.Group("g1").Vars)
	}
}

func TestINIChildrenDeclaredBeforeGroups(t *testing.T) {
	src := &sourceInfo{name: "x.ini", data: []byte("[top:children]\nmid\n[mid:children]\nleaf\n[leaf]\nh1\n[mid:vars]\nm=1\n")}
	inv := New()
	if errs := inv.parseINI(src); len(errs) > 0 {
		t.Fatal(errs)
	}
	inv.reconcile()
	if diff := cmp.Diff([]string{"leaf", "mid", "top"}, inv.GroupNames(inv.Host("h1"))); diff != "" {
		t.Errorf("group_names (-want +got):\n%s", diff)
	}
	if d := inv.Group("leaf").Depth(); d != 3 {
		t.Errorf("leaf depth = %d, want 3", d)
	}
}
