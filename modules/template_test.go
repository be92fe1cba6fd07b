package modules

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTemplateTrailingNewlines: ansible-core 2.14 keeps the source's
// trailing newlines even though Jinja drops one (checked: "hello\n\n"
// stays two, no newline stays none); testEnv's renderer drops one like
// Jinja does.
func TestTemplateTrailingNewlines(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"motd.j2", "Welcome to web1\n\n"},
		{"bare.j2", "no newline web1"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "out")
			converge(t, Template(), dir, map[string]any{"src": tc.src, "dest": dest, "mode": "0640"})
			if got := readFile(t, dest); got != tc.want {
				t.Errorf("content = %q, want %q", got, tc.want)
			}
			if got := fileMode(t, dest).Perm(); got != 0o640 {
				t.Errorf("mode = %v", got)
			}
			assertConverged(t, Template(), dir, map[string]any{"src": tc.src, "dest": dest, "mode": "0640"})
		})
	}
}

func TestTemplateIntoDirectory(t *testing.T) {
	dir := t.TempDir()
	converge(t, Template(), dir, map[string]any{"src": "motd.j2", "dest": dir})
	if _, err := os.Stat(filepath.Join(dir, "motd.j2")); err != nil {
		t.Errorf("dest/basename(src) not written: %v", err)
	}
}

func TestKeepTrailingNewlines(t *testing.T) {
	for _, tc := range []struct{ src, out, want string }{
		{"a\n", "a", "a\n"},
		{"a\n\n", "a\n", "a\n\n"},
		{"a", "a", "a"},
		{"{{ x }}\n", "b\n\n", "b\n\n"}, // the output may have more
	} {
		if got := keepTrailingNewlines(tc.src, tc.out); got != tc.want {
			t.Errorf("keepTrailingNewlines(%q, %q) = %q, want %q", tc.src, tc.out, got, tc.want)
		}
	}
}
