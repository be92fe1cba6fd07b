package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputIsRefusedBeforeAnyHost runs malformed playbooks and
// inventories. Each must be refused with exit 4 and a file:line:col error
// naming the problem, and the valid task before the broken one must not
// have run.
func TestBadInputIsRefusedBeforeAnyHost(t *testing.T) {
	bin := cutoverBinary(t)
	dir := repoPath("testdata", "bad")
	tests := []struct {
		playbook, inventory string
		want                []string // "line:col: message" parts, each must appear
	}{
		{"yaml-syntax.yml", "", []string{"yaml-syntax.yml:5:12: YAML syntax error: could not find end character of double-quoted text"}},
		{"unknown-module.yml", "", []string{`unknown-module.yml:4:7: unknown module or task keyword "lineinfil" (did you mean "lineinfile"?)`}},
		{"unknown-task-keyword.yml", "", []string{`unknown-task-keyword.yml:5:7: unknown task keyword "whne" (did you mean "when"?)`}},
		{"unknown-play-keyword.yml", "", []string{`unknown-play-keyword.yml:2:3: unknown play keyword "taks" (did you mean "tasks"?)`}},
		{"unknown-argument.yml", "", []string{`unknown-argument.yml:6:9: unknown argument "contnet" for copy (did you mean "content"?)`}},
		{"missing-argument.yml", "", []string{`missing-argument.yml:4:7: missing required argument "path" for lineinfile`}},
		{"ill-typed-argument.yml", "", []string{`ill-typed-argument.yml:7:9: argument "force" of copy: want a boolean, got string maybe`}},
		{"bad-choice.yml", "", []string{`bad-choice.yml:6:9: argument "state" of file must be one of absent, directory, file, link, touch, got "gone"`}},
		{"bad-condition.yml", "", []string{`bad-condition.yml:5:34: bad expression "inventory_hostname ==": unexpected end of expression`}},
		{"bad-template.yml", "", []string{`bad-template.yml:5:39: bad template "{{ inventory_hostname | }}"`}},
		{"unknown-filter.yml", "", []string{`unknown-filter.yml:5:39: bad template "{{ inventory_hostname | shout }}": no filter named 'shout'`}},
		{"notify-no-handler.yml", "", []string{`notify-no-handler.yml:3:7: notify names no handler: "restart apache" (did you mean "restart apache2"?)`}},
		{"conflicting-actions.yml", "", []string{`conflicting-actions.yml:5:7: conflicting action statements: debug, command`}},
		{"not-a-list.yml", "", []string{`not-a-list.yml:1:1: a playbook must be a list of plays`}},
		{"import-missing.yml", "", []string{`import-missing.yml:4:7: read `, `no-such-file.yml: no such file or directory`}},
		{"bad-loop-control.yml", "", []string{`bad-loop-control.yml:7:9: loop_control: unknown loop_control option "lable" (did you mean "label"?)`}},
		{"include-apply.yml", "", []string{`include-apply.yml:6:17: apply: only tags is supported, not "become"`}},
		{"kv-garbage.yml", "", []string{`kv-garbage.yml:4:13: file: cannot parse "and": want k=v arguments`}},
		{"several-errors.yml", "", []string{
			`several-errors.yml:4:36: unknown argument "contnet" for copy`,
			`several-errors.yml:5:7: missing required argument "path" for lineinfile`,
			`several-errors.yml:7:18: bad expression "x ===": unexpected '='`,
			"3 errors found; nothing was run",
		}},
		{"module-check.yml", "", []string{
			`module-check.yml:4:21: argument "ip" of hosts_entry: "10.0.10.999" is not an IPv4 or IPv6 address`,
			`module-check.yml:5:23: argument "name" of sudoers_alias: "finance.scripts" contains a '.'`,
			`module-check.yml:6:7: from_ip: "timesheets.thehumanjourney.net" is not an IP address`,
		}},
		{"ok.yml", "inventories/bad-section.ini", []string{`bad-section.ini:1:1: invalid host range in "[finance"`}},
		{"ok.yml", "inventories/bad-yaml.yml", []string{`bad-yaml.yml:5:22: YAML syntax error: could not find flow mapping end token '}'`}},
		{"ok.yml", "inventories/cycle.ini", []string{`cycle.ini:5:1: adding group 'finance' as child to 'accounts' creates a recursive dependency loop`}},
	}
	for _, tc := range tests {
		name := strings.TrimSuffix(tc.playbook, ".yml")
		if tc.inventory != "" {
			name = strings.TrimSuffix(filepath.Base(tc.inventory), filepath.Ext(tc.inventory))
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			inv := filepath.Join(dir, "hosts.ini")
			if tc.inventory != "" {
				inv = filepath.Join(dir, tc.inventory)
			}
			for _, extra := range [][]string{nil, {"--syntax-check"}} {
				args := append([]string{"run", "-i", inv, tc.playbook, "-e", "root=" + root}, extra...)
				res := runCommand(t, dir, bin, args...)
				if res.code != 4 {
					t.Errorf("%v: exit code %d, want 4\nstdout:\n%s\nstderr:\n%s", extra, res.code, res.stdout, res.stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(res.stderr, w) {
						t.Errorf("%v: stderr lacks %q:\n%s", extra, w, res.stderr)
					}
				}
				if res.stdout != "" {
					t.Errorf("%v: something ran:\n%s", extra, res.stdout)
				}
				if entries := snapshot(t, root); len(entries) != 1 {
					t.Errorf("%v: the root changed: %v", extra, entries)
				}
			}
		})
	}
	if len(tests) < 15 {
		t.Fatalf("want at least 15 malformed inputs, have %d", len(tests))
	}
}
