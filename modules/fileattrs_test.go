package modules

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// testEnv builds the Env the engine would give Plan: the read-only gate
// over a local connection, the testdata playbook folder, and a stand-in
// for the engine's renderer that, like Jinja, drops one trailing newline.
func testEnv(info module.Info) *module.Env {
	return &module.Env{
		Host: conn.ReadOnly(&conn.Local{Host: "localhost"}, info.Probes),
		Dir:  "testdata/play",
		Template: func(text string) (string, error) {
			return strings.TrimSuffix(strings.ReplaceAll(text, "{{ host }}", "web1"), "\n"), nil
		},
	}
}

// planTask decodes raw arguments as the engine does and runs Plan only.
func planTask(t *testing.T, info module.Info, raw map[string]any) (*module.Change, error) {
	t.Helper()
	args, errs := info.Decode(raw, false)
	if len(errs) > 0 {
		t.Fatalf("decode %v: %v", raw, errs[0])
	}
	return info.New().Plan(context.Background(), testEnv(info), args)
}

// planOn decodes raw arguments as the engine does and runs Plan against h
// through the read-only gate, as the engine does (check and diff as given).
func planOn(t *testing.T, info module.Info, h module.MutableHost, raw map[string]any, check bool) (*module.Change, error) {
	t.Helper()
	args, errs := info.Decode(raw, false)
	if len(errs) > 0 {
		t.Fatalf("decode %v: %v", raw, errs[0])
	}
	return info.New().Plan(context.Background(), &module.Env{Host: conn.ReadOnly(h, info.Probes), Check: check, Diff: check}, args)
}

func mustPlan(t *testing.T, info module.Info, raw map[string]any) *module.Change {
	t.Helper()
	c, err := planTask(t, info, raw)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return c
}

func applyTask(t *testing.T, info module.Info, c *module.Change) *module.Result {
	t.Helper()
	res, err := info.New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

// converge is mgmt's timeline: Plan says change (and changes nothing),
// Apply, Plan again says nothing to do. It returns Apply's result.
func converge(t *testing.T, info module.Info, root string, raw map[string]any) *module.Result {
	t.Helper()
	before := snapshot(t, root)
	c := mustPlan(t, info, raw)
	if c.Action == module.None {
		t.Fatalf("first plan: action none, want a change (result %+v)", c.Result)
	}
	if c.Result == nil || !c.Result.Changed {
		t.Errorf("first plan: check-mode result not changed: %+v", c.Result)
	}
	if diff := cmp.Diff(before, snapshot(t, root)); diff != "" {
		t.Fatalf("plan changed the tree (-before +after):\n%s", diff)
	}
	res := applyTask(t, info, c)
	if !res.Changed {
		t.Errorf("apply: result not changed")
	}
	if again := mustPlan(t, info, raw); again.Action != module.None {
		t.Errorf("second plan: action %v (%s), want none", again.Action, again.Summary)
	}
	return res
}

// assertConverged checks that a plan on an already converged tree says
// nothing to do and leaves the tree alone.
func assertConverged(t *testing.T, info module.Info, root string, raw map[string]any) *module.Change {
	t.Helper()
	before := snapshot(t, root)
	c := mustPlan(t, info, raw)
	if c.Action != module.None {
		t.Errorf("plan: action %v (%s), want none", c.Action, c.Summary)
	}
	if diff := cmp.Diff(before, snapshot(t, root)); diff != "" {
		t.Errorf("plan changed the tree (-before +after):\n%s", diff)
	}
	return c
}

// snapshot is the check-mode proof: every path under root with its type,
// mode and content hash (or link target).
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha1.Sum(data)
			desc += " " + hex.EncodeToString(sum[:])
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFile(t *testing.T, p, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode passes the umask
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func fileMode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestBackupName(t *testing.T) {
	when := time.Date(2024, 3, 5, 7, 8, 9, 0, time.Local)
	if got, want := backupName("/etc/hosts", 4242, when), "/etc/hosts.4242.2024-03-05@07:08:09~"; got != want {
		t.Errorf("backupName = %q, want %q", got, want)
	}
}

func TestAnsibleMode(t *testing.T) {
	for _, tc := range []struct {
		mode fs.FileMode
		want string
	}{
		{0o644, "0644"},
		{0o755 | fs.ModeSetuid, "04755"},
		{0o1777&^0o1000 | fs.ModeSticky, "01777"},
	} {
		if got := ansibleMode(tc.mode); got != tc.want {
			t.Errorf("ansibleMode(%v) = %q, want %q", tc.mode, got, tc.want)
		}
	}
}

func TestValidateArgv(t *testing.T) {
	if argv, err := validateArgv(`sh -c 'test -s "%s"'`); err != nil || len(argv) != 3 {
		t.Errorf("validate split into %q, %v", argv, err)
	}
	if _, err := validateArgv("visudo -c"); err == nil {
		t.Errorf("validate without %%s: no error")
	}
}

func TestChmodSpec(t *testing.T) {
	for in, want := range map[string]string{"0644": "0644", "+x": "a+x", "u+x,-w": "u+x,a-w", "go=r": "go=r"} {
		if got := chmodSpec(in); got != want {
			t.Errorf("chmodSpec(%q) = %q, want %q", in, got, want)
		}
	}
}

func localHost() *conn.Local { return &conn.Local{Host: "localhost"} }
