package inventory

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// The golden files were checked byte for byte against ansible-core 2.14.18:
// `ansible-inventory -i SOURCES --list` (plus a final newline, which the CLI
// prints), `--graph GROUP` and `--graph --vars GROUP`.
func TestListAndGraphGolden(t *testing.T) {
	tests := []struct {
		name    string
		sources []string
		graph   string
	}{
		{name: "basic_ini", sources: []string{"testdata/basic.ini"}, graph: "all"},
		{name: "basic_yml", sources: []string{"testdata/basic.yml"}, graph: "all"},
		{name: "values", sources: []string{"testdata/values.ini"}, graph: "all"},
		{name: "yaml_types", sources: []string{"testdata/types.yml"}, graph: "all"},
		{name: "prod_subtree", sources: []string{"testdata/basic.ini"}, graph: "prod"},
		{name: "dir", sources: []string{"testdata/dirinv"}, graph: "all"},
		{name: "several", sources: []string{"testdata/patterns.ini", "testdata/basic.yml", "extra1,web01:2200,"}, graph: "all"},
		{name: "prec", sources: []string{"testdata/prec/inventory/hosts.ini"}, graph: "all"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := mustLoad(t, tc.sources...)
			list, err := inv.ListJSON(true)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "testdata/golden/"+tc.name+"_list.json", append(list, '\n'))
			checkGolden(t, "testdata/golden/"+tc.name+"_graph.txt", []byte(inv.Graph(tc.graph)))
			checkGolden(t, "testdata/golden/"+tc.name+"_graph_vars.txt", []byte(inv.GraphVars(tc.graph)))
		})
	}
}

func TestListJSONCompact(t *testing.T) {
	inv := mustLoad(t, "a1,b2:22,")
	got, err := inv.ListJSON(false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_meta": {"hostvars": {"b2": {"ansible_port": 22}}}, "all": {"children": ["ungrouped"]}, "ungrouped": {"hosts": ["a1", "b2"]}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("compact list (-want +got):\n%s", diff)
	}
}

func TestGraphUnknownGroup(t *testing.T) {
	inv := mustLoad(t, "testdata/basic.ini")
	if got := inv.Graph("nope"); got != "" {
		t.Errorf("Graph(nope) = %q, want empty", got)
	}
	if _, err := inv.HostJSON("nope"); err == nil {
		t.Errorf("HostJSON(nope) should fail")
	}
}
