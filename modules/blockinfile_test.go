package modules

import (
	"path/filepath"
	"testing"
)

// TestBlockInFileLikeAnsible replays testdata/edits.yaml (verified against
// ansible-core 2.14.18): where a block goes, replacing and removing an
// existing block, markers, create.
func TestBlockInFileLikeAnsible(t *testing.T) { runEditCases(t, BlockInFile()) }

func TestBlockInFileTimeline(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	writeFile(t, p, "127.0.0.1 localhost\n", 0o644)
	raw := map[string]any{"path": p, "block": "10.0.0.1 db\n10.0.0.2 web", "insertbefore": "BOF"}
	converge(t, BlockInFile(), dir, raw)
	want := "# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.1 db\n10.0.0.2 web\n# END ANSIBLE MANAGED BLOCK\n127.0.0.1 localhost\n"
	if got := readFile(t, p); got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	t.Run("starts converged", func(t *testing.T) { assertConverged(t, BlockInFile(), dir, raw) })
	t.Run("replaced in place", func(t *testing.T) {
		converge(t, BlockInFile(), dir, map[string]any{"path": p, "block": "10.0.0.3 cache"})
		want := "# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.3 cache\n# END ANSIBLE MANAGED BLOCK\n127.0.0.1 localhost\n"
		if got := readFile(t, p); got != want {
			t.Errorf("content = %q, want %q", got, want)
		}
	})
	t.Run("removed", func(t *testing.T) {
		converge(t, BlockInFile(), dir, map[string]any{"path": p, "state": "absent"})
		if got := readFile(t, p); got != "127.0.0.1 localhost\n" {
			t.Errorf("content = %q", got)
		}
	})
}
