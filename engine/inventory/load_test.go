package inventory

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadSources(t *testing.T) {
	tests := []struct {
		name    string
		sources []string
		hosts   []string
		groups  map[string][]string // group -> AllHosts
	}{
		{
			name:    "directory skips .ini, ~, .orig, .retry and hidden files",
			sources: []string{"testdata/dirinv"},
			hosts:   []string{"w1", "w2", "w3", "d1", "s1"},
			groups:  map[string][]string{"web": {"w1", "w2", "w3", "s1"}, "sub": {"s1"}, "db": {"d1"}},
		},
		{
			name:    "host list with trailing comma",
			sources: []string{"web1,db1:2222,"},
			hosts:   []string{"web1", "db1"},
			groups:  map[string][]string{"ungrouped": {"web1", "db1"}},
		},
		{
			name:    "host list without trailing comma, spaces, repeats",
			sources: []string{"a, b ,a"},
			hosts:   []string{"a", "b"},
			groups:  map[string][]string{"ungrouped": {"a", "b"}},
		},
		{
			name:    "several sources merge in order",
			sources: []string{"testdata/patterns.ini", "testdata/dirinv", "newhost,web01,"},
			hosts:   []string{"solo", "10.0.0.5", "web01", "web02", "web03", "db01", "db02", "stage01", "w1", "w2", "w3", "d1", "s1", "newhost"},
			groups:  map[string][]string{"web": {"web01", "web02", "web03", "w1", "w2", "w3", "s1"}, "db": {"db01", "db02", "d1"}, "ungrouped": {"solo", "10.0.0.5", "newhost"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := mustLoad(t, tc.sources...)
			if diff := cmp.Diff(tc.hosts, hostNames(inv.Hosts())); diff != "" {
				t.Errorf("hosts (-want +got):\n%s", diff)
			}
			for g, want := range tc.groups {
				if diff := cmp.Diff(want, hostNames(inv.Group(g).AllHosts())); diff != "" {
					t.Errorf("group %s (-want +got):\n%s", g, diff)
				}
			}
		})
	}
}

func TestSourceVars(t *testing.T) {
	inv := mustLoad(t, "testdata/dirinv", "x1,db1:2222,")
	abs, err := filepath.Abs("testdata/dirinv/02-more.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want map[string]any
	}{
		// group_vars/ inside a directory source apply.
		{"w3", map[string]any{"inventory_file": abs, "inventory_dir": filepath.Dir(abs), "from_yaml": 1, "dirvar": "from_group_vars"}},
		{"db1", map[string]any{"inventory_file": nil, "inventory_dir": nil, "ansible_port": 2222}},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, inv.HostVars(inv.Host(tc.host))); diff != "" {
				t.Errorf("vars (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddPlaybookVarsDirErrors(t *testing.T) {
	inv := mustLoad(t, "testdata/patterns.ini")
	// A folder without group_vars/host_vars is fine.
	if err := inv.AddPlaybookVarsDir("testdata/golden"); err != nil {
		t.Errorf("AddPlaybookVarsDir(no vars dirs) = %v", err)
	}
	if err := inv.AddPlaybookVarsDir("testdata/bad/varsfile"); err == nil {
		t.Errorf("AddPlaybookVarsDir(bad group_vars/all.yml) succeeded, want an error")
	}
}

func TestYAMLWarnings(t *testing.T) {
	inv := mustLoad(t, "testdata/warn.yml")
	want := []string{
		`testdata/warn.yml:4:3: skipping unexpected key (host) in group (all), only "vars", "children" and "hosts" are valid`,
		"testdata/warn.yml:6:1: skipping 'other' as this is not a valid group definition",
	}
	if diff := cmp.Diff(want, inv.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
