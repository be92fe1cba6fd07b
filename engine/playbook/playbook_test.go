package playbook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/module"
)

// testRegistry declares two small modules: enough to load playbooks.
func testRegistry() *module.Registry {
	return module.NewRegistry(
		module.Info{Name: "debug", Args: []module.Arg{{Name: "msg", Type: module.Raw}, {Name: "var", Type: module.String}}},
		module.Info{Name: "command", FreeForm: "cmd", Args: []module.Arg{
			{Name: "cmd", Type: module.String}, {Name: "chdir", Type: module.Path}, {Name: "creates", Type: module.Path}}},
		module.Info{Name: "copy", Args: []module.Arg{
			{Name: "dest", Type: module.Path, Required: true}, {Name: "content", Type: module.String},
			{Name: "force", Type: module.Bool, Default: true}, {Name: "mode", Type: module.Mode}}},
	)
}

func load(t *testing.T, files map[string]string) (*Playbook, error) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := &Loader{Registry: testRegistry()}
	return l.Load(filepath.Join(dir, "site.yml"))
}

func TestTaskForms(t *testing.T) {
	tests := []struct {
		name     string
		task     string
		module   string
		args     map[string]any
		delegate string
	}{
		{"mapping", "copy: {dest: /x, content: hi}", "copy", map[string]any{"dest": "/x", "content": "hi"}, ""},
		{"k=v", "copy: dest=/x content='a b'", "copy", map[string]any{"dest": "/x", "content": "a b"}, ""},
		{"k=v escapes", `copy: dest=/x content="a\nb"`, "copy", map[string]any{"dest": "/x", "content": "a\nb"}, ""},
		{"fqcn", "ansible.builtin.copy: {dest: /x}", "copy", map[string]any{"dest": "/x"}, ""},
		{"free form", "command: ls -l /tmp chdir=/", "command", map[string]any{"cmd": "ls -l /tmp", "chdir": "/"}, ""},
		{"free form keeps quotes", `command: grep "a b" f`, "command", map[string]any{"cmd": `grep "a b" f`}, ""},
		{"free form with args", "command: ls\n      args:\n        chdir: /tmp", "command", map[string]any{"cmd": "ls", "chdir": "/tmp"}, ""},
		{"action", "action: copy dest=/x", "copy", map[string]any{"dest": "/x"}, ""},
		{"local_action", "local_action: {module: copy, dest: /x}", "copy", map[string]any{"dest": "/x"}, "localhost"},
		{"templated value kept raw", "copy: {dest: '{{ d }}', force: '{{ f }}'}", "copy", map[string]any{"dest": "{{ d }}", "force": "{{ f }}"}, ""},
		{"octal mode", "copy: {dest: /x, mode: 0644}", "copy", map[string]any{"dest": "/x", "mode": 420}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pb, err := load(t, map[string]string{"site.yml": "- hosts: all\n  tasks:\n    - " + tc.task + "\n"})
			if err != nil {
				t.Fatal(err)
			}
			task := pb.Plays[0].Tasks[0]
			if task.Module != tc.module {
				t.Errorf("module %q, want %q", task.Module, tc.module)
			}
			if d := cmp.Diff(tc.args, task.Args); d != "" {
				t.Errorf("args (-want +got):\n%s", d)
			}
			if task.DelegateTo != tc.delegate {
				t.Errorf("delegate_to %q, want %q", task.DelegateTo, tc.delegate)
			}
		})
	}
}

func TestKeywords(t *testing.T) {
	pb, err := load(t, map[string]string{"site.yml": `
- name: p
  hosts: [web, db]
  serial: [1, "50%"]
  max_fail_percentage: 20
  become: yes
  gather_facts: no
  tags: deploy
  tasks:
    - name: t
      debug: msg=hi
      when: [a, "b == 1"]
      register: r
      loop: "{{ items }}"
      loop_control: {label: "{{ item.name }}", index_var: i, extended: true}
      notify: [h]
      changed_when: false
      until: r is succeeded
      retries: 2
      delay: 0
      tags: [x, y]
  handlers:
    - name: h
      listen: topic
      debug: msg=h
`})
	if err != nil {
		t.Fatal(err)
	}
	p := pb.Plays[0]
	if p.Hosts != "web:db" || len(p.Serial) != 2 || *p.MaxFailPercentage != 20 || !*p.Become || *p.GatherFacts || p.Tags[0] != "deploy" {
		t.Errorf("play keywords: %+v", p)
	}
	task := p.Tasks[0]
	want := &Task{Name: "t", When: []any{"a", "b == 1"}, Register: "r", Loop: "{{ items }}",
		LoopControl: LoopControl{Label: "{{ item.name }}", IndexVar: "i", Extended: true},
		Notify:      []string{"h"}, ChangedWhen: []any{false}, Until: "r is succeeded", Tags: []string{"x", "y"}}
	if d := cmp.Diff(want, task, cmp.FilterPath(func(p cmp.Path) bool {
		switch p.Last().String() {
		case ".Name", ".When", ".Register", ".Loop", ".LoopControl", ".Notify", ".ChangedWhen", ".Until", ".Tags":
			return false
		}
		return true
	}, cmp.Ignore())); d != "" {
		t.Errorf("task (-want +got):\n%s", d)
	}
	if *task.Retries != 2 || *task.Delay != 0 {
		t.Errorf("retries/delay: %d %d", *task.Retries, *task.Delay)
	}
	if p.Handlers[0].Listen[0] != "topic" {
		t.Errorf("listen: %v", p.Handlers[0].Listen)
	}
}

func TestImportsAndBlocks(t *testing.T) {
	pb, err := load(t, map[string]string{
		"site.yml": `
- import_playbook: other.yml
- hosts: all
  tasks:
    - import_tasks: tasks/a.yml
      when: x
    - include_tasks: tasks/b.yml
    - include_tasks: "{{ name }}.yml"
    - block:
        - debug: msg=1
      rescue:
        - debug: msg=2
      always:
        - debug: msg=3
`,
		"other.yml":   "- hosts: db\n  tasks: [{debug: {msg: o}}]\n",
		"tasks/a.yml": "- debug: msg=a\n- import_tasks: c.yml\n",
		"tasks/c.yml": "- debug: msg=c\n",
		"tasks/b.yml": "- debug: msg=b\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Plays) != 2 || pb.Plays[0].Hosts != "db" {
		t.Fatalf("import_playbook: %d plays", len(pb.Plays))
	}
	tasks := pb.Plays[1].Tasks
	if !tasks[0].Imported || len(tasks[0].Block) != 2 || !tasks[0].Block[1].Imported || tasks[0].Block[1].Block[0].Args["msg"] != "c" {
		t.Errorf("import_tasks not expanded: %+v", tasks[0])
	}
	if !strings.HasSuffix(tasks[1].IncludeTasks, filepath.Join("tasks", "b.yml")) {
		t.Errorf("include_tasks path %q", tasks[1].IncludeTasks)
	}
	if tasks[2].IncludeTasks != "{{ name }}.yml" {
		t.Errorf("templated include %q", tasks[2].IncludeTasks)
	}
	if b := tasks[3]; len(b.Block) != 1 || len(b.Rescue) != 1 || len(b.Always) != 1 {
		t.Errorf("block: %+v", b)
	}
}

func TestErrorsAreAllReportedWithPositions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown module", "- hosts: all\n  tasks:\n    - cpy: {dest: /x}\n", []string{`3:7: unknown module or task keyword "cpy" (did you mean "copy"?)`}},
		{"unknown argument", "- hosts: all\n  tasks:\n    - copy: {dest: /x, mdoe: 1}\n", []string{`3:24: unknown argument "mdoe" for copy (did you mean "mode"?)`}},
		{"missing argument", "- hosts: all\n  tasks:\n    - copy: {content: x}\n", []string{`3:7: missing required argument "dest" for copy`}},
		{"wrong type", "- hosts: all\n  tasks:\n    - copy: {dest: /x, force: sometimes}\n", []string{`3:24: argument "force" of copy: want a boolean`}},
		{"when syntax", "- hosts: all\n  tasks:\n    - debug: msg=x\n      when: a ==\n", []string{`4:17: bad expression "a =="`}},
		{"no hosts", "- tasks: []\n", []string{`1:3: play has no "hosts"`}},
		{"rescue without block", "- hosts: all\n  tasks:\n    - rescue: []\n      debug: msg=x\n", []string{"rescue and always need a block"}},
		{"listen outside handlers", "- hosts: all\n  tasks:\n    - debug: msg=x\n      listen: t\n", []string{"4:7: listen is only valid in handlers"}},
		{"two errors", "- hosts: all\n  tasks:\n    - cpy: {}\n    - copy: {}\n", []string{`3:7: unknown module`, `4:7: missing required argument "dest"`}},
		{"import cycle", "- hosts: all\n  tasks:\n    - import_tasks: site.yml\n", []string{"3:7: import cycle: ", "imports itself"}},
		{"roles refused", "- hosts: all\n  roles: [x]\n", []string{`2:3: play keyword "roles" is not supported`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, map[string]string{"site.yml": tc.src})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a=1 b=2", []string{"a=1", "b=2"}},
		{`a="x y" b='z w'`, []string{`a="x y"`, `b='z w'`}},
		{"msg={{ a | default('x y') }} b=1", []string{"msg={{ a | default('x y') }}", "b=1"}},
		{`echo "it's"`, []string{"echo", `"it's"`}},
	}
	for _, tc := range tests {
		got, err := SplitArgs(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("SplitArgs(%q) (-want +got):\n%s", tc.in, d)
		}
	}
	if _, err := SplitArgs(`a="x`); err == nil {
		t.Error("unbalanced quote accepted")
	}
}

// FuzzLoadPlaybook: the loader returns a playbook or errors, never panics.
func FuzzLoadPlaybook(f *testing.F) {
	for _, s := range []string{
		"- hosts: all\n  tasks:\n    - debug: msg=hi\n",
		"- hosts: all\n  tasks:\n    - block: [{copy: {dest: /x}}]\n      rescue: [{debug: {}}]\n",
		"- hosts: all\n  handlers: [{name: h, debug: {}}]\n  tasks: [{command: ls, notify: h, loop: [1], when: 'a is defined'}]\n",
		"- import_playbook: x.yml\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "site.yml")
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		l := &Loader{Registry: testRegistry()}
		l.Load(p)
	})
}
