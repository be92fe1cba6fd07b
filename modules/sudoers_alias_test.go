package modules

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// seedSudoersArgs are the runbook's three aliases, the commands exactly as
// FinanceServersMigrationPlan.txt writes them.
func seedSudoersArgs() map[string]any {
	return map[string]any{
		"name": "finance-scripts",
		"aliases": map[string]any{
			"FINANCESCRIPT": []any{"/home/finance/synchCommand.sh . /home/finance/midnightScripts.sh /home/finance/.financeLock"},
			"PULLTSSCRIPT":  []any{"/home/finance/synchCommand.sh . /home/finance/pullTimeSheets.sh * /home/finance/.financeLock"},
			"SLIPEXPSCRIPT": []any{"/home/finance/synchCommand.sh . /home/finance/slipExpAndDatedProjects.sh /home/finance/.financeLock"},
		},
		"rules": []any{
			map[string]any{"user": "www-data", "hosts": "ALL", "runas": "finance", "tags": []any{"NOPASSWD"}, "commands": []any{"FINANCESCRIPT"}},
			map[string]any{"user": "www-data", "runas": "finance", "tags": []any{"NOPASSWD"}, "commands": []any{"PULLTSSCRIPT"}},
			map[string]any{"user": "www-data", "runas": "finance", "tags": []any{"NOPASSWD"}, "commands": []any{"SLIPEXPSCRIPT"}},
		},
	}
}

const seedSudoersFile = `# Managed by cutover: changes made by hand are overwritten.
Cmnd_Alias FINANCESCRIPT = /home/finance/synchCommand.sh . /home/finance/midnightScripts.sh /home/finance/.financeLock
Cmnd_Alias PULLTSSCRIPT = /home/finance/synchCommand.sh . /home/finance/pullTimeSheets.sh * /home/finance/.financeLock
Cmnd_Alias SLIPEXPSCRIPT = /home/finance/synchCommand.sh . /home/finance/slipExpAndDatedProjects.sh /home/finance/.financeLock

www-data ALL=(finance) NOPASSWD: FINANCESCRIPT
www-data ALL=(finance) NOPASSWD: PULLTSSCRIPT
www-data ALL=(finance) NOPASSWD: SLIPEXPSCRIPT
`

func needVisudo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("visudo"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("visudo is not installed (apt-get install sudo)")
		}
		t.Skip("visudo is not installed")
	}
	if os.Geteuid() != 0 {
		t.Skip("installing root:root files needs root")
	}
}

// visudoAccepts is the independent proof: visudo itself on the final file.
func visudoAccepts(t *testing.T, p string) {
	t.Helper()
	if out, err := exec.Command("visudo", "-cf", p).CombinedOutput(); err != nil {
		t.Errorf("visudo -cf %s: %v\n%s", p, err, out)
	}
}

func wantSudoersAttrs(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o440 || st.Uid != 0 || st.Gid != 0 {
		t.Errorf("%s: mode %v uid %d gid %d, want 0440 root root", p, fi.Mode().Perm(), st.Uid, st.Gid)
	}
}

func TestSudoersAlias(t *testing.T) {
	needVisudo(t)
	for _, tc := range []struct {
		name    string
		before  string // "" : no file
		mode    os.FileMode
		args    map[string]any
		want    string
		changed bool
	}{
		{
			name: "the runbook's three aliases", args: seedSudoersArgs(), want: seedSudoersFile, changed: true,
		},
		{
			name: "starts converged", before: seedSudoersFile, mode: 0o440, args: seedSudoersArgs(), want: seedSudoersFile,
		},
		{
			name: "an old hand-written file is replaced", before: "www-data ALL=(finance) NOPASSWD: /bin/true\n", mode: 0o440,
			args: seedSudoersArgs(), want: seedSudoersFile, changed: true,
		},
		{
			name: "right content, wrong mode", before: seedSudoersFile, mode: 0o644, args: seedSudoersArgs(), want: seedSudoersFile, changed: true,
		},
		{
			name: "commands with * . , = : \\ and #: escaped where sudoers needs it",
			args: map[string]any{
				"name": "nasty",
				"aliases": map[string]any{
					"REPORTS": []any{"/usr/bin/find /srv/reports -name *.csv -newer ./x", "/bin/echo a,b key=value host:port back\\slash #1"},
				},
				"rules": []any{
					map[string]any{"user": "%finance", "hosts": []any{"finance", "timesheets"}, "runas": "finance:finance",
						"tags": []any{"NOPASSWD", "SETENV"}, "commands": []any{"REPORTS", "/usr/bin/du -sh /srv/*", "!/bin/sh"}},
					map[string]any{"user": "backup", "commands": []any{"/usr/bin/rsync --server -logDtpre.iLsfxC . /srv/"}},
					map[string]any{"user": "#33", "runas": ":finance", "commands": []any{"REPORTS"}},
				},
			},
			want: "# Managed by cutover: changes made by hand are overwritten.\n" +
				`Cmnd_Alias REPORTS = /usr/bin/find /srv/reports -name *.csv -newer ./x, /bin/echo a\,b key\=value host\:port back\\slash \#1` + "\n\n" +
				"%finance finance, timesheets=(finance:finance) NOPASSWD: SETENV: REPORTS, /usr/bin/du -sh /srv/*, !/bin/sh\n" +
				"backup ALL=/usr/bin/rsync --server -logDtpre.iLsfxC . /srv/\n" +
				"#33 ALL=(:finance) REPORTS\n",
			changed: true,
		},
		{
			name: "aliases only", args: map[string]any{"name": "aliases", "aliases": map[string]any{"LS": "/bin/ls"}},
			want:    "# Managed by cutover: changes made by hand are overwritten.\nCmnd_Alias LS = /bin/ls\n",
			changed: true,
		},
		{
			name: "absent removes the file", before: seedSudoersFile, mode: 0o440,
			args: map[string]any{"name": "finance-scripts", "state": "absent"}, changed: true,
		},
		{
			name: "absent and already gone", args: map[string]any{"name": "finance-scripts", "state": "absent"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "sudoers.d")
			p := filepath.Join(dir, tc.args["name"].(string))
			if tc.before != "" {
				writeFile(t, p, tc.before, tc.mode)
			}
			raw := map[string]any{"dir": dir}
			for k, v := range tc.args {
				raw[k] = v
			}
			before := snapshot(t, root)
			c := mustPlan(t, SudoersAlias(), raw)
			if diff := cmp.Diff(before, snapshot(t, root)); diff != "" {
				t.Fatalf("plan (check mode) changed the tree:\n%s", diff)
			}
			if got := c.Action != module.None; got != tc.changed || c.Result.Changed != tc.changed {
				t.Fatalf("plan: action %v (%s), want changed=%v", c.Action, c.Summary, tc.changed)
			}
			var wantDiffs []module.Diff
			if tc.before != tc.want {
				wantDiffs = append(wantDiffs, module.Diff{BeforeHeader: p, AfterHeader: p, Before: tc.before, After: tc.want})
			}
			if tc.changed && tc.mode != 0 && tc.mode != 0o440 && tc.want != "" {
				h := p + " (file attributes)"
				wantDiffs = append(wantDiffs, module.Diff{BeforeHeader: h, AfterHeader: h,
					Before: jsonText(map[string]any{"path": p, "mode": "0644", "owner": "root", "group": "root"}),
					After:  jsonText(map[string]any{"path": p, "mode": "0440", "owner": "root", "group": "root"})})
			}
			if diff := cmp.Diff(wantDiffs, c.Diffs); diff != "" {
				t.Errorf("diffs (-want +got):\n%s", diff)
			}
			if tc.changed {
				applyTask(t, SudoersAlias(), c)
			}
			if tc.want == "" {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s still there: %v", p, err)
				}
			} else {
				if got := readFile(t, p); got != tc.want {
					t.Errorf("file (-want +got):\n%s", cmp.Diff(tc.want, got))
				}
				wantSudoersAttrs(t, p)
				visudoAccepts(t, p)
			}
			if again := mustPlan(t, SudoersAlias(), raw); again.Action != module.None {
				t.Errorf("second plan: action %v (%s), want none", again.Action, again.Summary)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) > 0 {
				t.Errorf("temp files left: %v", leftovers)
			}
		})
	}
}

// TestSudoersAliasVisudoRefuses: content that visudo rejects fails the
// task with visudo's message, in Plan (so --check says it too) and, for a
// plan that got past Plan, in Apply's validation of the temp file; either
// way the old file stays byte for byte.
func TestSudoersAliasVisudoRefuses(t *testing.T) {
	needVisudo(t)
	setup := func(t *testing.T) (string, string, map[string]any) {
		dir := filepath.Join(t.TempDir(), "sudoers.d")
		p := filepath.Join(dir, "finance-scripts")
		writeFile(t, p, seedSudoersFile, 0o440)
		return dir, p, map[string]any{"dir": dir}
	}
	t.Run("a lower-case alias used in a rule: Plan fails with visudo's message", func(t *testing.T) {
		dir, p, raw := setup(t)
		raw["name"] = "finance-scripts"
		raw["aliases"] = map[string]any{"FINANCESCRIPT": []any{"/home/finance/midnightScripts.sh"}}
		raw["rules"] = []any{map[string]any{"user": "www-data", "runas": "finance", "tags": []any{"NOPASSWD"}, "commands": []any{"financescript"}}}
		before := snapshot(t, dir)
		_, err := planTask(t, SudoersAlias(), raw)
		if err == nil || !strings.Contains(err.Error(), "expected a fully-qualified path name") || !strings.Contains(err.Error(), p+":") {
			t.Fatalf("err = %v, want visudo's message naming %s", err, p)
		}
		if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
			t.Errorf("the tree changed:\n%s", diff)
		}
	})
	t.Run("a lower-case Cmnd_Alias reaching Apply: visudo refuses the temp file", func(t *testing.T) {
		dir, p, _ := setup(t)
		before := snapshot(t, dir)
		bad := "Cmnd_Alias financescript = /home/finance/midnightScripts.sh\nwww-data ALL=(finance) NOPASSWD: financescript\n"
		c := &module.Change{Action: module.Update, Data: &sudoersPlan{path: p, data: []byte(bad), validate: true}}
		_, err := SudoersAlias().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
		if err == nil || !strings.Contains(err.Error(), "syntax error") || !strings.Contains(err.Error(), "visudo") {
			t.Fatalf("err = %v, want visudo's syntax error", err)
		}
		if got := readFile(t, p); got != seedSudoersFile {
			t.Errorf("old file changed:\n%s", got)
		}
		if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
			t.Errorf("the tree changed (temp file left?):\n%s", diff)
		}
	})
	t.Run("validate false skips visudo", func(t *testing.T) {
		_, p, raw := setup(t)
		raw["name"], raw["validate"] = "finance-scripts", false
		raw["rules"] = []any{map[string]any{"user": "www-data", "commands": []any{"relative/path"}}}
		c := mustPlan(t, SudoersAlias(), raw)
		applyTask(t, SudoersAlias(), c)
		if !strings.Contains(readFile(t, p), "www-data ALL=relative/path\n") {
			t.Errorf("file: %q", readFile(t, p))
		}
	})
}

func TestSudoersAliasBadArgs(t *testing.T) {
	dir := t.TempDir()
	rule := func(kv ...any) []any {
		m := map[string]any{"user": "www-data", "commands": []any{"/bin/ls"}}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return []any{m}
	}
	for _, tc := range []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"a dot in the file name", map[string]any{"name": "finance.conf"}, `"finance.conf" contains a '.'`},
		{"a tilde in the file name", map[string]any{"name": "finance~"}, "contains a '~'"},
		{"a path as the file name", map[string]any{"name": "../sudoers"}, "contains a '.'"},
		{"a slash in the file name", map[string]any{"name": "a/b"}, "must be a plain file name"},
		{"a lower-case alias name", map[string]any{"name": "f", "aliases": map[string]any{"financescript": []any{"/bin/ls"}}},
			`alias name "financescript": sudoers wants an upper-case letter`},
		{"an alias name starting with a digit", map[string]any{"name": "f", "aliases": map[string]any{"1SCRIPT": []any{"/bin/ls"}}}, "[A-Z][A-Z0-9_]*"},
		{"an alias without commands", map[string]any{"name": "f", "aliases": map[string]any{"EMPTY": []any{}}}, "alias EMPTY: want a non-empty list"},
		{"a command over two lines", map[string]any{"name": "f", "aliases": map[string]any{"X": []any{"/bin/ls\nroot ALL=ALL"}}}, "must be one line"},
		{"an unknown rule key", map[string]any{"name": "f", "rules": rule("runs_as", "finance")}, `unknown key "runs_as" (did you mean "runas"?)`},
		{"a rule without commands", map[string]any{"name": "f", "rules": []any{map[string]any{"user": "www-data"}}}, "commands: want a non-empty list"},
		{"a rule without user", map[string]any{"name": "f", "rules": []any{map[string]any{"commands": []any{"/bin/ls"}}}}, "user:"},
		{"a bad tag", map[string]any{"name": "f", "rules": rule("tags", []any{"NO PASSWD"})}, `tag "NO PASSWD"`},
		{"a user with a blank", map[string]any{"name": "f", "rules": rule("user", "www data")}, `user: "www data"`},
		{"runas with parentheses", map[string]any{"name": "f", "rules": rule("runas", "(finance)")}, "runas: want user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.raw["dir"] = dir
			_, err := planTask(t, SudoersAlias(), tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			var argErr *module.ArgError
			if !errors.As(err, &argErr) {
				t.Errorf("err %v is not an *module.ArgError", err)
			}
		})
	}
}

// TestSudoersAliasOverSSH installs the runbook's aliases in the real
// /etc/sudoers.d of a lab host (its own, in its namespace), proves sudo
// there reads them, and that a file visudo rejects leaves the old one.
func TestSudoersAliasOverSSH(t *testing.T) {
	needVisudo(t)
	lab, host := startFinanceLab(t, 52)
	outside := filepath.Join(lab.Dir, "host1", "root", "etc", "sudoers.d", "finance-scripts")
	info := SudoersAlias()
	ctx := context.Background()

	c, err := planViaGate(t, host, info, seedSudoersArgs())
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != module.Create || c.Diffs[0].After != seedSudoersFile {
		t.Fatalf("plan: %v %+v", c.Action, c.Diffs)
	}
	if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("check mode wrote the file: %v", err)
	}
	if _, err := info.New().Apply(ctx, host, c); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, outside); got != seedSudoersFile {
		t.Errorf("lab host's file (-want +got):\n%s", cmp.Diff(seedSudoersFile, got))
	}
	wantSudoersAttrs(t, outside)
	if again, err := planViaGate(t, host, info, seedSudoersArgs()); err != nil || again.Action != module.None {
		t.Errorf("second plan: %v %v", again, err)
	}
	// sudo on the host reads the whole configuration, our file included.
	for _, argv := range [][]string{{"visudo", "-c"}, {"sudo", "-l", "-U", "www-data"}} {
		res, err := host.Run(ctx, module.Command{Argv: argv})
		if err != nil || res.RC != 0 {
			t.Fatalf("%v on the host: %v rc=%d %s%s", argv, err, res.RC, res.Stdout, res.Stderr)
		}
		if argv[0] == "sudo" && !strings.Contains(string(res.Stdout), "(finance) NOPASSWD: /home/finance/synchCommand.sh . /home/finance/pullTimeSheets.sh * /home/finance/.financeLock") {
			t.Errorf("sudo -l -U www-data does not list the alias's command:\n%s", res.Stdout)
		}
	}

	t.Run("visudo refuses: the task fails and the old file stays", func(t *testing.T) {
		raw := seedSudoersArgs()
		raw["rules"] = []any{map[string]any{"user": "www-data", "runas": "finance", "commands": []any{"pulltsscript"}}}
		if _, err := planViaGate(t, host, info, raw); err == nil || !strings.Contains(err.Error(), "expected a fully-qualified path name") {
			t.Errorf("plan: err = %v, want visudo's message", err)
		}
		bad := &module.Change{Action: module.Update, Data: &sudoersPlan{path: "/etc/sudoers.d/finance-scripts", validate: true,
			data: []byte("Cmnd_Alias pulltsscript = /bin/true\n")}}
		_, err := info.New().Apply(ctx, host, bad)
		if err == nil || !strings.Contains(err.Error(), "syntax error") {
			t.Errorf("apply: err = %v, want visudo's syntax error", err)
		}
		if got := readFile(t, outside); got != seedSudoersFile {
			t.Errorf("the old file changed:\n%s", got)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(outside), ".*")); len(left) > 0 {
			t.Errorf("temp files left: %v", left)
		}
	})

	t.Run("absent removes it", func(t *testing.T) {
		raw := map[string]any{"name": "finance-scripts", "state": "absent"}
		c, err := planViaGate(t, host, info, raw)
		if err != nil || c.Action != module.Delete {
			t.Fatalf("plan: %v %v", c, err)
		}
		if _, err := info.New().Apply(ctx, host, c); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("still there: %v", err)
		}
	})
}
