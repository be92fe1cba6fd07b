package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckModeChangesNothing runs every playbook in testdata/compat
// and playbooks/examples three times on a seeded temp
// root (passed as both root and demo_root): with --check the
// tree must stay byte for byte as it was; then a real run; then a second
// real run must report changed=0 on every host.
func TestCheckModeChangesNothing(t *testing.T) {
	bin := cutoverBinary(t)
	var books []string
	for _, d := range []string{"compat"} {
		books = append(books, playbooksIn(t, repoPath("testdata", d))...)
	}
	books = append(books, playbooksIn(t, repoPath("playbooks", "examples"))...)
	for _, book := range books {
		dir := filepath.Dir(book)
		inv := filepath.Join(dir, "hosts.ini")
		if _, err := os.Stat(inv); err != nil {
			inv = repoPath("inventory", "localhost.ini")
		}
		name := filepath.Base(dir) + "/" + strings.TrimSuffix(filepath.Base(book), ".yml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			seed(t, book, root)
			before := snapshot(t, root)
			vars := []string{"-e", "root=" + root, "-e", "demo_root=" + root}
			runCommand(t, dir, bin, append([]string{"run", "-i", inv, book, "--check", "--diff"}, vars...)...)
			if d := diffTrees(before, snapshot(t, root)); len(d) > 0 {
				t.Fatalf("--check changed the tree:\n  %s", strings.Join(d, "\n  "))
			}
			first := runCommand(t, dir, bin, append([]string{"run", "-i", inv, book}, vars...)...)
			second := runCommand(t, dir, bin, append([]string{"run", "-i", inv, book}, vars...)...)
			if first.code != 0 && !idempotenceExempt(book) && !strings.Contains(book, "compat") {
				t.Errorf("first run failed (exit %d):\n%s%s", first.code, first.stdout, first.stderr)
			}
			if idempotenceExempt(book) {
				return
			}
			for host, counts := range recaps(second.stdout) {
				if !strings.Contains(counts, " changed=0 ") {
					t.Errorf("second run on %s: %s\nfirst run:\n%s\nsecond run:\n%s", host, counts, first.stdout, second.stdout)
				}
			}
		})
	}
}

// idempotenceExempt lists playbooks that change on every run on purpose
// (they say so in a first-line comment "# not idempotent: why").
func idempotenceExempt(book string) bool {
	data, err := readFirstLine(book)
	return err == nil && strings.HasPrefix(data, "# not idempotent:")
}
