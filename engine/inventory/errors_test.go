package inventory

import (
	"errors"
	"strings"
	"testing"

	"github.com/cutover/cutover/engine/diag"
	"github.com/google/go-cmp/cmp"
)

// Each case names the first error's place and message. ansible-inventory
// 2.14.18 rejects every one of these files too (with a line but no column).
func TestMalformedInventories(t *testing.T) {
	tests := []struct {
		file      string
		line, col int
		msg       string
		count     int
	}{
		{"section_type.ini", 1, 6, "section [web:hostz] has unknown type: hostz (want hosts, children or vars)", 1},
		{"section_space.ini", 2, 1, "invalid section entry: '[web servers]'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters", 1},
		{"host_var.ini", 2, 22, "expected key=value host variable assignment, got: novalue", 1},
		{"range.ini", 2, 3, "invalid host range [1:a]: bounds must be two numbers or two letters", 1},
		{"cycle.ini", 4, 1, "adding group 'a' as child to 'b' creates a recursive dependency loop", 1},
		{"children_host.ini", 4, 1, "section [g2:children] includes undefined group: h1 (it is a host; list hosts under [g2], not [g2:children])", 1},
		{"vars_undefined.ini", 3, 1, "section [ghost:vars] not valid for undefined group: ghost", 1},
		{"quote.ini", 1, 1, "error parsing host definition 'h1 x=\"abc': no closing quotation", 2},
		{"syntax.yml", 4, 4, "YAML syntax error: value is not allowed in this context", 1},
		{"hosts_list.yml", 4, 14, `invalid "hosts" entry for "web" group, requires a dictionary, found "<class 'list'>" instead`, 1},
		{"noext_yaml", 4, 4, "YAML syntax error: value is not allowed in this context", 1},
		{"cycle.yml", 5, 9, "adding group 'b' as child to 'a' creates a recursive dependency loop", 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := "testdata/bad/" + tc.file
			_, err := Load([]string{path})
			var list diag.List
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Load(%s) error = %v, want a diag.List", path, err)
			}
			got := list[0]
			want := &diag.Error{File: path, Line: tc.line, Col: tc.col, Msg: tc.msg}
			if diff := cmp.Diff(want, got, cmpIgnoreExcerpt); diff != "" {
				t.Errorf("first error (-want +got):\n%s", diff)
			}
			if got.Excerpt == "" {
				t.Errorf("error has no source excerpt")
			}
			if len(list) != tc.count {
				t.Errorf("got %d errors, want %d:\n%v", len(list), tc.count, list)
			}
		})
	}
}

var cmpIgnoreExcerpt = cmp.Comparer(func(a, b *diag.Error) bool {
	return a.File == b.File && a.Line == b.Line && a.Col == b.Col && a.Msg == b.Msg
})

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		sources []string
		want    string
	}{
		{"missing file", []string{"testdata/nope.ini"}, "inventory source: stat testdata/nope.ini: no such file or directory"},
		{"vars file not a mapping", []string{"testdata/bad/varsfile/hosts.ini"}, "testdata/bad/varsfile/group_vars/all.yml:1:1: vars file must contain a mapping of variable names to values, got <class 'list'>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.sources)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Load error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestINIErrorsAreCollected(t *testing.T) {
	src := &sourceInfo{name: "x.ini", data: []byte("[a:bogus]\nh1\n[b]\nh2 k\n[c:children]\nnothere\n")}
	errs := New().parseINI(src)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"x.ini:1:4: section [a:bogus] has unknown type: bogus (want hosts, children or vars)",
		"x.ini:4:4: expected key=value host variable assignment, got: k",
		"x.ini:6:1: section [c:children] includes undefined group: nothere",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if !strings.Contains(errs[0].Excerpt, "^") {
		t.Errorf("excerpt lacks a caret: %q", errs[0].Excerpt)
	}
}
