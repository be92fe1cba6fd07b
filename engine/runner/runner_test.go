package runner

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTagsSelected(t *testing.T) {
	tests := []struct {
		name       string
		tags       []string
		only, skip []string
		want       bool
	}{
		{"untagged runs by default", nil, nil, nil, true},
		{"tagged runs by default", []string{"a"}, nil, nil, true},
		{"never does not run by default", []string{"never"}, nil, nil, false},
		{"never runs when its other tag is asked", []string{"never", "debug"}, []string{"debug"}, nil, true},
		{"never runs when asked by name", []string{"never"}, []string{"never"}, nil, true},
		{"only: match", []string{"a", "b"}, []string{"b"}, nil, true},
		{"only: no match", []string{"a"}, []string{"b"}, nil, false},
		{"only: always still runs", []string{"always"}, []string{"b"}, nil, true},
		{"only: all runs everything but never", []string{"x"}, []string{"all"}, nil, true},
		{"only: tagged", []string{"x"}, []string{"tagged"}, nil, true},
		{"only: tagged skips untagged", nil, []string{"tagged"}, nil, false},
		{"only: untagged", nil, []string{"untagged"}, nil, true},
		{"skip: match", []string{"a"}, nil, []string{"a"}, false},
		{"skip: always is skipped when named", []string{"always"}, nil, []string{"always"}, false},
		{"skip: other tag keeps always", []string{"always"}, nil, []string{"x"}, true},
		{"skip wins over only", []string{"a", "b"}, []string{"a"}, []string{"b"}, false},
		// Checked against ansible-core 2.14.
		{"only: tagged leaves never out", []string{"never"}, []string{"tagged"}, nil, false},
		{"only: all,never runs never", []string{"never"}, []string{"all", "never"}, nil, true},
		{"skip: all keeps always", []string{"always"}, nil, []string{"all"}, true},
		{"skip: all,always skips always", []string{"always"}, nil, []string{"all", "always"}, false},
		{"skip: untagged", nil, nil, []string{"untagged"}, false},
		{"skip: tagged keeps untagged", nil, nil, []string{"tagged"}, true},
		{"skip: a tag of an always task skips it", []string{"always", "a"}, nil, []string{"a"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := TagsSelected(tc.tags, tc.only, tc.skip); got != tc.want {
				t.Errorf("TagsSelected(%v, %v, %v) = %v, want %v", tc.tags, tc.only, tc.skip, got, tc.want)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	hosts := make([]*hostState, 10)
	for i := range hosts {
		hosts[i] = &hostState{name: string(rune('a' + i))}
	}
	tests := []struct {
		name   string
		serial []any
		want   string
	}{
		{"none: one batch", nil, "abcdefghij"},
		{"number", []any{3}, "abc def ghi j"},
		{"percentage of all hosts", []any{"30%"}, "abc def ghi j"},
		{"list: last size repeats", []any{1, 2, 5}, "a bc defgh ij"},
		{"mixed", []any{1, "50%"}, "a bcdef ghij"},
		{"bigger than the hosts", []any{20}, "abcdefghij"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var parts []string
			for _, b := range batches(hosts, tc.serial) {
				var s strings.Builder
				for _, h := range b {
					s.WriteString(h.name)
				}
				parts = append(parts, s.String())
			}
			if d := cmp.Diff(tc.want, strings.Join(parts, " ")); d != "" {
				t.Errorf("batches (-want +got):\n%s", d)
			}
		})
	}
}
