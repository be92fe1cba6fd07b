package inventory

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestZZSlow(t *testing.T) {
	dir := os.Getenv("CDIR")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		raw, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		lines := strings.SplitN(string(raw), "\n", 2)
		s := strings.TrimSpace(lines[1])
		s = strings.TrimSuffix(strings.TrimPrefix(s, "[]byte("), ")")
		data, err := strconv.Unquote(s)
		if err != nil {
			continue
		}
		if os.Getenv("V") != "" {
			println(e.Name())
		}
		start := time.Now()
		inv := New()
		if os.Getenv("YAML") != "" {
			inv.parseYAML(&sourceInfo{name: "f", data: []byte(data)})
		} else {
			inv.parseINI(&sourceInfo{name: "f", data: []byte(data)})
		}
		p := time.Since(start)
		exercise(inv)
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Logf("%s parse %v total %v hosts %d: %q", e.Name(), p, d, len(inv.hostOrder), data[:min(len(data), 200)])
		}
	}
}
