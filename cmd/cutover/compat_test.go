package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompatWithAnsible runs every playbook in testdata/compat with
// Debian's ansible-playbook and with cutover, each on its own copy of the
// playbook's seed files, and compares the final file trees (path, mode,
// content), the recap counts and the exit codes.
func TestCompatWithAnsible(t *testing.T) {
	ansible, err := exec.LookPath("ansible-playbook")
	if err != nil {
		if inCI() {
			t.Fatal("ansible-playbook is missing: scripts/test.sh installs ansible-core")
		}
		t.Skip("ansible-playbook not installed")
	}
	bin := cutoverBinary(t)
	dir := repoPath("testdata", "compat")
	inv := filepath.Join(dir, "hosts.ini")
	books := playbooksIn(t, dir)
	if len(books) < 25 {
		t.Errorf("want at least 25 compat playbooks, have %d", len(books))
	}
	for _, book := range books {
		name := strings.TrimSuffix(filepath.Base(book), ".yml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ansRoot, cutRoot := t.TempDir(), t.TempDir()
			seed(t, book, ansRoot)
			seed(t, book, cutRoot)
			want := runCommand(t, dir, ansible, "-i", inv, book, "-e", "root="+ansRoot)
			got := runCommand(t, dir, bin, "run", "-i", inv, book, "-e", "root="+cutRoot)
			if got.code != want.code {
				t.Errorf("exit code: cutover %d, ansible %d\ncutover:\n%s%s\nansible:\n%s%s", got.code, want.code, got.stdout, got.stderr, want.stdout, want.stderr)
			}
			if g, w := recaps(got.stdout), recaps(want.stdout); !equalMaps(g, w) {
				t.Errorf("recap: cutover %v, ansible %v\ncutover:\n%s%s\nansible:\n%s", g, w, got.stdout, got.stderr, want.stdout)
			}
			if d := diffTrees(snapshot(t, cutRoot), snapshot(t, ansRoot)); len(d) > 0 {
				t.Errorf("file trees differ (cutover, ansible):\n  %s", strings.Join(d, "\n  "))
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
