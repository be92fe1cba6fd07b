package inventory

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPrecedence checks one variable per precedence level. vN is set by the
// levels up to N of the fixture, so its value names the level that wins.
// The wanted values are `ansible-inventory -i testdata/prec/inventory/hosts.ini
// --playbook-dir testdata/prec/playbooks --host h1` (and h2) from
// ansible-core 2.14.18.
func TestPrecedence(t *testing.T) {
	inv := mustLoad(t, "testdata/prec/inventory/hosts.ini")
	if err := inv.AddPlaybookVarsDir("testdata/prec/playbooks"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, name string
		want       any
	}{
		{"h1", "v1", "all_inv"},                  // [all:vars] in the inventory file
		{"h1", "v4", "pb_gv_all"},                // group vars in the file lose to group_vars/all files
		{"h1", "v2", "inv_gv_all"},               // inventory group_vars/all.yml
		{"h1", "v3", "pb_gv_all"},                // playbook group_vars/all.yaml
		{"h1", "v5", "inv_gv_group"},             // inventory group_vars/web/ (a directory)
		{"h1", "v6", "pb_gv_group"},              // playbook group_vars/web.json
		{"h1", "v7", "host_inv"},                 // inline host vars in the file
		{"h1", "v8", "inv_hv"},                   // inventory host_vars/h1.yml
		{"h1", "v9", "pb_hv"},                    // playbook host_vars/h1/ (a directory)
		{"h1", "parent_child", "child"},          // children after parents
		{"h1", "prio", "a"},                      // ansible_group_priority=10 beats the name order
		{"h1", "tie", "a"},                       // b and c tie on depth and priority: name order, then a's priority
		{"h1", "split", "second"},                // files of a vars directory in sorted order, extensionless included
		{"h1", "nested", map[string]any{"j": 2}}, // no deep merge
		{"h1", "skipped", nil},                   // .txt and hidden files in a vars dir are ignored
		{"h2", "from_db", "noext"},               // group_vars/db wins over db.yml: the first found is used
		{"h2", "v9", "pb_gv_group"},
		{"h2", "v7", "pb_gv_group"},
	}
	for _, tc := range tests {
		t.Run(tc.host+"/"+tc.name, func(t *testing.T) {
			got := inv.HostVars(inv.Host(tc.host))[tc.name]
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s of %s (-want +got):\n%s", tc.name, tc.host, diff)
			}
		})
	}
}

func TestHostJSONMatchesAnsible(t *testing.T) {
	inv := mustLoad(t, "testdata/prec/inventory/hosts.ini")
	if err := inv.AddPlaybookVarsDir("testdata/prec/playbooks"); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"h1", "h2"} {
		t.Run(host, func(t *testing.T) {
			got, err := inv.HostJSON(host)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "testdata/golden/prec_"+host+".json", append(got, '\n'))
		})
	}
}

func TestMagicVars(t *testing.T) {
	inv := mustLoad(t, "testdata/basic.ini")
	tests := []struct {
		host string
		want []string
	}{
		{"web01", []string{"prod", "staging", "web"}},
		{"dba.example.com", []string{"db", "prod"}},
		{"solo", []string{"ungrouped"}}, // as ansible-core 2.14 reports it
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, inv.GroupNames(inv.Host(tc.host))); diff != "" {
				t.Errorf("group_names (-want +got):\n%s", diff)
			}
		})
	}
	groups := inv.GroupsVar()
	want := map[string][]string{
		"all":       {"solo", "web01", "web02", "web03", "web-a", "dba.example.com", "dbb.example.com", "dbc.example.com", "db-old"},
		"ungrouped": {"solo"},
		"web":       {"web01", "web02", "web03", "web-a"},
		"db":        {"dba.example.com", "dbb.example.com", "dbc.example.com", "db-old"},
		"prod":      {"web01", "web02", "web03", "web-a", "dba.example.com", "dbb.example.com", "dbc.example.com", "db-old"},
		"staging":   {"web01"},
	}
	if diff := cmp.Diff(want, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}
