package inventory

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func hostNames(hosts []*Host) []string {
	names := []string{}
	for _, h := range hosts {
		names = append(names, h.Name)
	}
	return names
}

func mustLoad(t *testing.T, sources ...string) *Inventory {
	t.Helper()
	inv, err := Load(sources)
	if err != nil {
		t.Fatalf("Load(%q): %v", sources, err)
	}
	return inv
}

// The expected lists were produced by `ansible PATTERN -i
// testdata/patterns.ini --list-hosts` with ansible-core 2.14.18, including
// the order.
func TestSelect(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          []string
		warn          string
	}{
		{name: "all", pattern: "all", want: []string{"solo", "10.0.0.5", "stage01", "web01", "web02", "web03", "db01", "db02"}},
		{name: "star", pattern: "*", want: []string{"solo", "10.0.0.5", "stage01", "web01", "web02", "web03", "db01", "db02"}},
		{name: "group", pattern: "web", want: []string{"web01", "web02", "web03"}},
		{name: "host", pattern: "db01", want: []string{"db01"}},
		{name: "parent group", pattern: "prod", want: []string{"web01", "web02", "web03", "db01", "db02"}},
		{name: "ungrouped", pattern: "ungrouped", want: []string{"solo", "10.0.0.5"}},
		{name: "glob", pattern: "web*", want: []string{"web01", "web02", "web03"}},
		{name: "glob with dots", pattern: "10.0.0.*", want: []string{"10.0.0.5"}},
		{name: "glob classes", pattern: "w?b0[!1]", want: []string{"web02", "web03"}},
		{name: "regex", pattern: `~web0[12]`, want: []string{"web01", "web02"}},
		{name: "regex alternation", pattern: `~(db|stage)\d+`, want: []string{"db01", "db02", "stage01"}},
		{name: "union colon", pattern: "web:db", want: []string{"web01", "web02", "web03", "db01", "db02"}},
		{name: "union comma", pattern: "web,db01", want: []string{"web01", "web02", "web03", "db01"}},
		{name: "union keeps pattern order", pattern: "staging:web", want: []string{"stage01", "web01", "web02", "web03"}},
		{name: "intersection", pattern: "prod:&staging", want: []string{"web01"}},
		{name: "exclusion of group", pattern: "prod:!web", want: []string{"db01", "db02"}},
		{name: "exclusion of host", pattern: "prod:!web01", want: []string{"web02", "web03", "db01", "db02"}},
		{name: "only exclusion means all", pattern: "!web", want: []string{"solo", "10.0.0.5", "stage01", "db01", "db02"}},
		{name: "only intersection means all", pattern: "&web", want: []string{"web01", "web02", "web03"}},
		{name: "combination", pattern: "staging:&web:!web02", want: []string{"web01"}},
		{name: "index", pattern: "web[0]", want: []string{"web01"}},
		{name: "negative index", pattern: "web[-1]", want: []string{"web03"}},
		{name: "open slice", pattern: "web[1:]", want: []string{"web02", "web03"}},
		{name: "inclusive slice", pattern: "web[0:1]", want: []string{"web01", "web02"}},
		{name: "zero end is an index", pattern: "web[0:0]", want: []string{"web01"}},
		{name: "slice over children", pattern: "prod[1:3]", want: []string{"web02", "web03", "db01"}},
		{name: "slice past the end", pattern: "web[5:7]", want: []string{}},
		{name: "glob then subscript", pattern: "web*[1]", want: []string{"web02"}},
		{name: "subscript on a missing group", pattern: "db0[1:2]", want: []string{}, warn: "Could not match supplied host pattern, ignoring: db0"},
		{name: "no match", pattern: "nomatch", want: []string{}, warn: "Could not match supplied host pattern, ignoring: nomatch"},
		{name: "partial match", pattern: "web:nomatch", want: []string{"web01", "web02", "web03"}, warn: "Could not match supplied host pattern, ignoring: nomatch"},
		{name: "implicit localhost", pattern: "localhost", want: []string{"localhost"}},
		{name: "implicit 127.0.0.1", pattern: "127.0.0.1", want: []string{"127.0.0.1"}},
		{name: "all does not hold implicit localhost", pattern: "all:localhost", want: []string{"solo", "10.0.0.5", "stage01", "web01", "web02", "web03", "db01", "db02", "localhost"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := mustLoad(t, "testdata/patterns.ini")
			got, warnings, err := inv.SelectWithWarnings(tc.pattern)
			if err != nil {
				t.Fatalf("Select(%q): %v", tc.pattern, err)
			}
			if diff := cmp.Diff(tc.want, hostNames(got)); diff != "" {
				t.Errorf("Select(%q) mismatch (-want +got):\n%s", tc.pattern, diff)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(warnings, "\n"), tc.warn) {
				t.Errorf("Select(%q) warnings = %q, want one containing %q", tc.pattern, warnings, tc.warn)
			}
		})
	}
}

func TestSelectErrors(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"web[3]", "no hosts matched the subscripted pattern 'web[3]'"},
		{"web[-4]", "no hosts matched the subscripted pattern 'web[-4]'"},
		{"~web(", "invalid host list pattern: ~web("},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			inv := mustLoad(t, "testdata/patterns.ini")
			_, err := inv.Select(tc.pattern)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Select(%q) error = %v, want %q", tc.pattern, err, tc.want)
			}
		})
	}
}

func TestImplicitLocalhost(t *testing.T) {
	inv := mustLoad(t, "testdata/patterns.ini")
	hosts, err := inv.Select("localhost")
	if err != nil || len(hosts) != 1 {
		t.Fatalf("Select(localhost) = %v, %v", hostNames(hosts), err)
	}
	lh := hosts[0]
	if !lh.Implicit() || inv.Host("localhost") != nil {
		t.Errorf("localhost should be implicit and not an inventory host")
	}
	if diff := cmp.Diff(map[string]any{"ansible_connection": "local"}, inv.HostVars(lh)); diff != "" {
		t.Errorf("implicit localhost vars (-want +got):\n%s", diff)
	}
	if again, _ := inv.Select("127.0.0.1"); len(again) != 1 || again[0] != lh {
		t.Errorf("a second localhost alias should return the same implicit host")
	}
	if diff := cmp.Diff([]string{}, inv.GroupNames(lh)); diff != "" {
		t.Errorf("implicit localhost group_names (-want +got):\n%s", diff)
	}

	// An inventory that has localhost returns it for 127.0.0.1 too.
	inv = mustLoad(t, "localhost,db1,")
	hosts, _ = inv.Select("127.0.0.1")
	if diff := cmp.Diff([]string{"localhost"}, hostNames(hosts)); diff != "" {
		t.Errorf("Select(127.0.0.1) with a localhost in the inventory (-want +got):\n%s", diff)
	}
}

func TestLimit(t *testing.T) {
	tests := []struct {
		name, pattern, limit string
		want                 []string
		wantErr              string
	}{
		{name: "group", pattern: "all", limit: "web", want: []string{"web01", "web02", "web03"}},
		{name: "keeps the selection order", pattern: "db:web", limit: "web02,db01", want: []string{"db01", "web02"}},
		{name: "exclusion", pattern: "prod", limit: "!db", want: []string{"web01", "web02", "web03"}},
		{name: "retry file", pattern: "all", limit: "@testdata/limit.retry", want: []string{"web02", "db01"}},
		{name: "retry file and pattern", pattern: "all", limit: "@testdata/limit.retry:!db", want: []string{"web02"}},
		{name: "empty limit", pattern: "web", limit: "", want: []string{"web01", "web02", "web03"}},
		{name: "missing file", pattern: "all", limit: "@testdata/nope.retry", wantErr: "unable to find limit file testdata/nope.retry"},
		{name: "directory", pattern: "all", limit: "@testdata", wantErr: `limit starting with "@" must be a file, not a directory: testdata`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := mustLoad(t, "testdata/patterns.ini")
			hosts, err := inv.Select(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			got, err := inv.Limit(hosts, tc.limit)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Limit error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, hostNames(got)); diff != "" {
				t.Errorf("Limit(%q) mismatch (-want +got):\n%s", tc.limit, diff)
			}
		})
	}
}

func TestSplitHostPattern(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a,b[1], c[2:3] , d", []string{"a", "b[1]", "c[2:3]", "d"}},
		{"web:&db:!x", []string{"web", "&db", "!x"}},
		{"fe80::1", []string{"fe80::1"}},
		{"db[01:03]", []string{"db[01:03]"}},
		{"web[1:2]:db", []string{"web[1:2]", "db"}},
		{" ", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, splitHostPattern(tc.in)); diff != "" {
				t.Errorf("splitHostPattern(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}
