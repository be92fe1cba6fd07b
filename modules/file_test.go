package modules

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/module"
)

func TestFileTimeline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		raw   func(dir string) map[string]any
		check func(t *testing.T, dir string)
	}{
		// Verified with ansible-core 2.14: every folder created gets the
		// mode, not only the last.
		{"nested directory with mode", nil,
			func(d string) map[string]any {
				return map[string]any{"path": filepath.Join(d, "a", "b"), "state": "directory", "mode": "0700"}
			},
			func(t *testing.T, d string) {
				for _, p := range []string{"a", "a/b"} {
					if got := fileMode(t, filepath.Join(d, p)); got != os.ModeDir|0o700 {
						t.Errorf("%s mode = %v", p, got)
					}
				}
			}},
		{"absent file", func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "f"), "x", 0o644) },
			func(d string) map[string]any { return map[string]any{"path": filepath.Join(d, "f"), "state": "absent"} },
			func(t *testing.T, d string) { assertMissing(t, filepath.Join(d, "f")) }},
		{"absent tree", func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "t", "u", "f"), "x", 0o644) },
			func(d string) map[string]any { return map[string]any{"path": filepath.Join(d, "t"), "state": "absent"} },
			func(t *testing.T, d string) { assertMissing(t, filepath.Join(d, "t")) }},
		{"octal mode", func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "f"), "x", 0o644) },
			func(d string) map[string]any { return map[string]any{"path": filepath.Join(d, "f"), "mode": "0600"} },
			func(t *testing.T, d string) { wantMode(t, filepath.Join(d, "f"), 0o600) }},
		// Verified: u+x on 0644 gives 0744 and reports mode 0644 -> 0744.
		{"symbolic mode", func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "f"), "x", 0o644) },
			func(d string) map[string]any {
				return map[string]any{"path": filepath.Join(d, "f"), "state": "file", "mode": "u+x"}
			},
			func(t *testing.T, d string) { wantMode(t, filepath.Join(d, "f"), 0o744) }},
		{"new symlink", func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "target"), "x", 0o644) },
			func(d string) map[string]any {
				return map[string]any{"path": filepath.Join(d, "l"), "src": "target", "state": "link"}
			},
			func(t *testing.T, d string) { wantLink(t, filepath.Join(d, "l"), "target") }},
		{"retarget symlink", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "t1"), "x", 0o644)
			writeFile(t, filepath.Join(d, "t2"), "y", 0o644)
			mustSymlink(t, "t1", filepath.Join(d, "l"))
		},
			func(d string) map[string]any {
				return map[string]any{"path": filepath.Join(d, "l"), "src": "t2", "state": "link"}
			},
			func(t *testing.T, d string) { wantLink(t, filepath.Join(d, "l"), "t2") }},
		{"force a file into a symlink", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "f"), "x", 0o644)
		},
			func(d string) map[string]any {
				return map[string]any{"path": filepath.Join(d, "f"), "src": "/nonexistent", "state": "link", "force": true}
			},
			func(t *testing.T, d string) { wantLink(t, filepath.Join(d, "f"), "/nonexistent") }},
		{"recurse", func(t *testing.T, d string) {
			writeFile(t, filepath.Join(d, "r", "s", "f"), "x", 0o600)
			writeFile(t, filepath.Join(d, "r", "g"), "x", 0o755)
		},
			func(d string) map[string]any {
				return map[string]any{"path": filepath.Join(d, "r"), "state": "directory", "recurse": true, "mode": "u=rwX,go=rX"}
			},
			func(t *testing.T, d string) {
				wantMode(t, filepath.Join(d, "r", "s", "f"), 0o644)
				wantMode(t, filepath.Join(d, "r", "g"), 0o755)
				wantMode(t, filepath.Join(d, "r", "s"), os.ModeDir|0o755)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			converge(t, File(), dir, tc.raw(dir))
			tc.check(t, dir)
		})
	}
}

func TestFileTouchAlwaysChanges(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "stamp")
	raw := map[string]any{"path": p, "state": "touch", "mode": "0600"}
	for run := range 2 { // Ansible reports touch changed on every run
		c := mustPlan(t, File(), raw)
		if c.Action == module.None {
			t.Fatalf("run %d: touch planned nothing", run)
		}
		res := applyTask(t, File(), c)
		if res.Data["dest"] != p || res.Data["state"] != "file" {
			t.Errorf("run %d: result %v", run, res.Data)
		}
	}
	wantMode(t, p, 0o600)
}

func TestFileFailures(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f"), "x", 0o644)
	missing := filepath.Join(dir, "missing")
	// Messages and data as ansible-core 2.14 reports them (verified).
	for _, tc := range []struct {
		name string
		raw  map[string]any
		msg  string
		data map[string]any
	}{
		{"state file on a missing path", map[string]any{"path": missing, "state": "file"},
			"file (" + missing + ") is absent, cannot continue", map[string]any{"path": missing, "state": "absent"}},
		{"default state on a missing path", map[string]any{"path": missing},
			"file (" + missing + ") is absent, cannot continue", map[string]any{"path": missing, "state": "absent"}},
		{"link over a file without force", map[string]any{"path": filepath.Join(dir, "f"), "src": "/etc", "state": "link"},
			"refusing to convert from file to symlink for " + filepath.Join(dir, "f"), map[string]any{"path": filepath.Join(dir, "f")}},
		{"link to a missing src", map[string]any{"path": filepath.Join(dir, "l"), "src": "nope", "state": "link"},
			`src file does not exist, use "force=yes" if you really want to create the link: ` + filepath.Join(dir, "nope"),
			map[string]any{"path": filepath.Join(dir, "l"), "src": "nope"}},
		{"directory over a file", map[string]any{"path": filepath.Join(dir, "f"), "state": "directory"},
			filepath.Join(dir, "f") + " already exists as a file", map[string]any{"path": filepath.Join(dir, "f")}},
		{"recurse without directory", map[string]any{"path": dir, "state": "file", "recurse": true},
			"recurse option requires state to be 'directory'", map[string]any{"path": dir, "state": "directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, dir)
			c := mustPlan(t, File(), tc.raw)
			if c.Result == nil || !c.Result.Failed {
				t.Fatalf("plan did not fail: %v %+v", c.Action, c.Result)
			}
			if diff := cmp.Diff(tc.msg, c.Result.Msg); diff != "" {
				t.Errorf("msg (-want +got):\n%s", diff)
			}
			got := map[string]any{} // the keys the case names; Ansible adds the path's attributes to some
			for k := range tc.data {
				got[k] = c.Result.Data[k]
			}
			if diff := cmp.Diff(tc.data, got); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("tree changed:\n%s", diff)
			}
		})
	}
}

func TestFileConverged(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f"), "x", 0o600)
	mustSymlink(t, "f", filepath.Join(dir, "l"))
	for _, raw := range []map[string]any{
		{"path": dir},                                     // default state: what it is
		{"path": dir, "state": "directory"},               //
		{"path": filepath.Join(dir, "f"), "mode": "0600"}, //
		{"path": filepath.Join(dir, "f"), "mode": "u-x"},  // symbolic, already so
		{"path": filepath.Join(dir, "l"), "src": "f", "state": "link"},
		{"path": filepath.Join(dir, "gone"), "state": "absent"},
	} {
		c := assertConverged(t, File(), dir, raw)
		if c.Result.Failed {
			t.Errorf("%v: failed: %s", raw, c.Result.Msg)
		}
	}
}

func assertMissing(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("%s still exists (%v)", p, err)
	}
}

func wantMode(t *testing.T, p string, want os.FileMode) {
	t.Helper()
	if got := fileMode(t, p); got != want {
		t.Errorf("%s mode = %v, want %v", p, got, want)
	}
}

func wantLink(t *testing.T, p, target string) {
	t.Helper()
	got, err := os.Readlink(p)
	if err != nil || got != target {
		t.Errorf("%s -> %q (%v), want -> %q", p, got, err, target)
	}
}

func mustSymlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// Hosts that share a folder (lab hosts on one machine, NFS homes) may
// create the same missing parent at once: the one that loses the race
// must not fail.
func TestFileDirectoryParentMadeMeanwhile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "shared", "host1", "set1")
	c := mustPlan(t, File(), map[string]any{"path": dir, "state": "directory"})
	if err := os.Mkdir(filepath.Join(root, "shared"), 0o755); err != nil {
		t.Fatal(err)
	}
	if res := applyTask(t, File(), c); res.Failed {
		t.Fatalf("apply after another host made the parent: %s", res.Msg)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("%s: %v", dir, err)
	}
}
