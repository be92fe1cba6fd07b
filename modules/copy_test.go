package modules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/engine/module"
)

func TestCopyTimeline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		raw      func(dir string) map[string]any
		dest     string // relative to dir
		want     string
		wantMode os.FileMode
	}{
		{"content", func(d string) map[string]any {
			return map[string]any{"content": "a\nb\n", "dest": filepath.Join(d, "c.txt"), "mode": "0600"}
		}, "c.txt", "a\nb\n", 0o600},
		{"src from files/", func(d string) map[string]any {
			return map[string]any{"src": "hello.txt", "dest": filepath.Join(d, "h.txt")}
		}, "h.txt", "hello from files/\n", 0o644},
		{"src from the playbook folder", func(d string) map[string]any {
			return map[string]any{"src": "top.txt", "dest": filepath.Join(d, "t.txt")}
		}, "t.txt", "at the top\n", 0o644},
		// Verified with ansible-core 2.14: a trailing slash creates the
		// folder and appends basename(src).
		{"trailing slash", func(d string) map[string]any {
			return map[string]any{"src": "hello.txt", "dest": filepath.Join(d, "new") + "/"}
		}, "new/hello.txt", "hello from files/\n", 0o644},
		{"symbolic mode on a new file", func(d string) map[string]any {
			return map[string]any{"content": "x", "dest": filepath.Join(d, "s"), "mode": "u+x"}
		}, "s", "x", 0o744},
		{"yaml octal int mode", func(d string) map[string]any {
			return map[string]any{"content": "x", "dest": filepath.Join(d, "i"), "mode": 0o640}
		}, "i", "x", 0o640},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			raw := tc.raw(dir)
			res := converge(t, Copy(), dir, raw)
			dest := filepath.Join(dir, tc.dest)
			if got := readFile(t, dest); got != tc.want {
				t.Errorf("content = %q, want %q", got, tc.want)
			}
			if got := fileMode(t, dest).Perm(); got != tc.wantMode {
				t.Errorf("mode = %v, want %v", got, tc.wantMode)
			}
			if res.Data["dest"] != dest || res.Data["checksum"] != sha1Hex([]byte(tc.want)) || res.Data["state"] != "file" {
				t.Errorf("result data = %v", res.Data)
			}
			c := assertConverged(t, Copy(), dir, raw)
			if c.Result.Data["path"] != dest || c.Result.Data["checksum"] != sha1Hex([]byte(tc.want)) {
				t.Errorf("converged result data = %v", c.Result.Data)
			}
		})
	}
}

func TestCopyIntoDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	converge(t, Copy(), dir, map[string]any{"src": "hello.txt", "dest": filepath.Join(dir, "etc")})
	if got := readFile(t, filepath.Join(dir, "etc", "hello.txt")); got != "hello from files/\n" {
		t.Errorf("content = %q", got)
	}
	// Ansible: "can not use content with a dir as dest".
	c := mustPlan(t, Copy(), map[string]any{"content": "x", "dest": filepath.Join(dir, "etc")})
	if !c.Result.Failed || c.Result.Msg != "can not use content with a dir as dest" {
		t.Errorf("content into a folder: %+v", c.Result)
	}
}

func TestCopyUpdateAndBackup(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "motd")
	writeFile(t, dest, "old\n", 0o640)
	raw := map[string]any{"content": "new\n", "dest": dest, "backup": true}
	c := mustPlan(t, Copy(), raw)
	if c.Action != module.Update || len(c.Diffs) != 1 || c.Diffs[0].Before != "old\n" || c.Diffs[0].After != "new\n" {
		t.Fatalf("plan = %v %+v", c.Action, c.Diffs)
	}
	res := applyTask(t, Copy(), c)
	if got := fileMode(t, dest).Perm(); got != 0o640 {
		t.Errorf("mode = %v, want the old 0640 kept", got)
	}
	if b, _ := res.Data["backup_file"].(string); readFile(t, b) != "old\n" {
		t.Errorf("backup_file %q", b)
	}
}

func TestCopyForceFalse(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "keep")
	writeFile(t, dest, "mine\n", 0o644)
	assertConverged(t, Copy(), dir, map[string]any{"content": "theirs\n", "dest": dest, "force": false})
	converge(t, Copy(), dir, map[string]any{"content": "new\n", "dest": filepath.Join(dir, "absent"), "force": false})
}

func TestCopyReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "target"), "same\n", 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink("target", link); err != nil {
		t.Fatal(err)
	}
	// As in Ansible (follow=false): even with equal content, the link
	// becomes a regular file and the target is left alone.
	converge(t, Copy(), dir, map[string]any{"content": "same\n", "dest": link})
	if fileMode(t, link)&os.ModeSymlink != 0 {
		t.Errorf("dest is still a symlink")
	}
}

func TestCopyValidate(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "conf")
	writeFile(t, dest, "good\n", 0o644)
	c := mustPlan(t, Copy(), map[string]any{"content": "", "dest": dest, "validate": "test -s %s"})
	if _, err := Copy().New().Apply(t.Context(), localHost(), c); err == nil || !strings.Contains(err.Error(), "validate") {
		t.Errorf("apply: err = %v, want a validation failure", err)
	}
	if got := readFile(t, dest); got != "good\n" {
		t.Errorf("dest changed to %q despite failed validation", got)
	}
}

func TestCopyErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"neither", map[string]any{"dest": dir + "/x"}, "src (or content) is required"},
		{"both", map[string]any{"src": "a", "content": "b", "dest": dir + "/x"}, "src and content are mutually exclusive"},
		{"content into slash", map[string]any{"content": "b", "dest": dir + "/"}, "can not use content with a dir as dest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := planTask(t, Copy(), tc.raw); err == nil || err.Error() != tc.want {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	c := mustPlan(t, Copy(), map[string]any{"content": "x", "dest": filepath.Join(dir, "no", "such")})
	if !c.Result.Failed || c.Result.Msg != "Destination directory "+filepath.Join(dir, "no")+" does not exist" {
		t.Errorf("missing parent: %+v", c.Result)
	}
	c = mustPlan(t, Copy(), map[string]any{"src": "nope.txt", "dest": filepath.Join(dir, "x")})
	if !c.Result.Failed || !strings.HasPrefix(c.Result.Msg, "could not find or access 'nope.txt'") {
		t.Errorf("missing src: %+v", c.Result)
	}
}

// TestCopyVaultedSourceHidden: a vaulted src is copied decrypted, and the
// diff shows notes instead of its lines or the old file's.
func TestCopyVaultedSourceHidden(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "key")
	writeFile(t, dest, "old key\n", 0o600)
	opener := vaultOpener(t, filepath.Join(dir, "files", "key"), "short\n")
	c, err := planWith(t, Copy(), templateEnv(dir, nil, opener), map[string]any{"src": "key", "dest": dest})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.Data.(*copyPlan).write.Data); got != "short\n" {
		t.Errorf("copied %q, want the decrypted text", got)
	}
	want := module.Diff{BeforeHeader: dest, AfterHeader: filepath.Join(dir, "files", "key"), Before: vaultedOld, After: vaultedNew}
	if len(c.Diffs) == 0 || c.Diffs[0] != want {
		t.Errorf("diffs = %+v, want %+v", c.Diffs, want)
	}
}

// content that is not a string is written as Ansible's copy writes it:
// json.dumps for lists and dicts, Python's str() for the rest (checked
// against ansible-core 2.14).
func TestCopyContentText(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{map[string]any{"b": 1, "a": "é<x>", "c": []any{1, 2}, "d": nil}, `{"a": "\u00e9<x>", "b": 1, "c": [1, 2], "d": null}`},
		{[]any{"a", int64(1), nil, true}, `["a", 1, null, true]`},
		{true, "True"},
		{42, "42"},
		{1.5, "1.5"},
		{"as is\n", "as is\n"},
	} {
		if got := contentText(tc.in); got != tc.want {
			t.Errorf("contentText(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
