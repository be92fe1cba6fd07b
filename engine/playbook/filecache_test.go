package playbook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/diag"
)

func TestImportTargets(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"play list", "- import_playbook: tests.yml\n", []string{"tests.yml"}},
		{"fqcn, quoted", "- ansible.builtin.import_playbook: \"sub/a.yml\"\n", []string{"sub/a.yml"}},
		{"indented, CRLF", "  - import_playbook: 'b.yml'  \r\n", []string{"b.yml"}},
		{"several, last line unterminated", "- import_playbook: a.yml\n- hosts: all\n- import_playbook: b.yml", []string{"a.yml", "b.yml"}},
		{"templated: left to the load", "- import_playbook: \"{{ phase }}.yml\"\n", nil},
		{"commented out", "# - import_playbook: old.yml\n", nil},
		{"mentioned in a value", "- debug: msg=\"see import_playbook: x.yml\"\n", nil},
		{"none", "- hosts: all\n  tasks: []\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, importTargets([]byte(tc.src))); diff != "" {
				t.Errorf("importTargets (-want +got):\n%s", diff)
			}
		})
	}
}

// LoadAll loads side by side but reports as one Load after another would:
// the playbooks that loaded in order, every problem of the others, and a
// file imported by two playbooks gives each its own plays.
func TestLoadAll(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"one.yml":    "- hosts: all\n  tasks:\n    - debug: msg=one\n- import_playbook: shared.yml\n",
		"bad.yml":    "- hosts: all\n  tasks:\n    - nosuchmodule: x\n    - debug: {nosucharg: 1}\n",
		"two.yml":    "- import_playbook: shared.yml\n  vars: {who: two}\n",
		"shared.yml": "- hosts: db\n  tasks:\n    - debug: msg=shared\n",
		"broken.yml": "- hosts: all\n  tasks: [\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	l := &Loader{Registry: testRegistry()}
	books, err := l.LoadAll([]string{path("one.yml"), path("bad.yml"), path("two.yml"), path("broken.yml")})

	var got []string
	for _, b := range books {
		got = append(got, filepath.Base(b.File))
	}
	if diff := cmp.Diff([]string{"one.yml", "two.yml"}, got); diff != "" {
		t.Errorf("loaded playbooks (-want +got):\n%s", diff)
	}
	var list diag.List
	if !errors.As(err, &list) {
		t.Fatalf("error = %v, want a diag.List", err)
	}
	var where []string
	for _, e := range list {
		where = append(where, filepath.Base(e.File))
	}
	if diff := cmp.Diff([]string{"bad.yml", "bad.yml", "broken.yml"}, where); diff != "" {
		t.Errorf("problems by file, in order (-want +got):\n%s\n%v", diff, err)
	}
	if len(books) == 2 {
		one, two := books[0].Plays[1], books[1].Plays[0]
		if one == two || one.Vars["who"] != nil || two.Vars["who"] != "two" {
			t.Errorf("shared.yml's plays: one's vars %v, two's vars %v; want separate plays, only two's with who", one.Vars, two.Vars)
		}
	}
	if !strings.Contains(err.Error(), "nosuchmodule") {
		t.Errorf("error %q does not name the unknown module", err)
	}
}
