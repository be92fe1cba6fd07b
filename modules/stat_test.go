package modules

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/module"
)

func TestStat(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	writeFile(t, f, "data\n", 0o640)
	mustSymlink(t, "f", filepath.Join(dir, "l"))
	script := filepath.Join(dir, "run.sh")
	writeFile(t, script, "#!/bin/sh\n", 0o750)
	var fst syscall.Stat_t
	if err := syscall.Stat(f, &fst); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		raw  map[string]any
		want map[string]any // a subset of the stat dict
	}{
		{"missing", map[string]any{"path": filepath.Join(dir, "nope")}, map[string]any{"exists": false}},
		{"file", map[string]any{"path": f}, map[string]any{
			"exists": true, "path": f, "mode": "0640", "isreg": true, "isdir": false, "islnk": false, "size": int64(5),
			"checksum": "c5d84736ba451747dd5f0eb9d17e104f3697ef47", "rusr": true, "wgrp": false, "roth": false, "nlink": int64(1),
		}},
		{"sha256", map[string]any{"path": f, "checksum_algorithm": "sha256"}, map[string]any{
			"checksum": "6667b2d1aab6a00caa5aee5af8ad9f1465e567abf1c209d15727d57b3e8f6e5f",
		}},
		{"link", map[string]any{"path": filepath.Join(dir, "l")}, map[string]any{
			"islnk": true, "isreg": false, "lnk_target": "f", "lnk_source": f, "mode": "0777",
		}},
		{"link followed", map[string]any{"path": filepath.Join(dir, "l"), "follow": true}, map[string]any{
			"islnk": false, "isreg": true, "mode": "0640", "checksum": "c5d84736ba451747dd5f0eb9d17e104f3697ef47",
		}},
		{"directory", map[string]any{"path": dir}, map[string]any{"isdir": true, "isreg": false}},
		// What the connection's user may do, and st_blksize, as Ansible's os.access and os.stat give them.
		{"access", map[string]any{"path": f}, map[string]any{
			"readable": true, "writeable": true, "executable": false, "block_size": int64(fst.Blksize)}},
		{"executable", map[string]any{"path": script}, map[string]any{"executable": true}},
		{"character device", map[string]any{"path": "/dev/null"}, map[string]any{
			"ischr": true, "device_type": int64(unix.Mkdev(1, 3))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := assertConverged(t, Stat(), dir, tc.raw)
			st, _ := c.Result.Data["stat"].(map[string]any)
			got := map[string]any{}
			for k := range tc.want {
				got[k] = st[k]
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("stat (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := os.Stat(f); err != nil {
		t.Fatal(err)
	}
	if c := mustPlan(t, Stat(), map[string]any{"path": f}); c.Action != module.None || c.Result.Changed {
		t.Errorf("stat planned a change")
	}
}
