package module

import (
	"io/fs"
	"testing"
)

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		current fs.FileMode
		want    fs.FileMode
		wantErr bool
	}{
		{spec: "0644", want: 0o644},
		{spec: "644", want: 0o644},
		{spec: "0o640", want: 0o640}, // Python's spelling, which Ansible accepts
		{spec: "u+x", current: 0o644, want: 0o744},
		{spec: "u=rw,go=r", current: 0o777, want: 0o644},
		{spec: "a-w", current: 0o644, want: 0o444},
		{spec: "10000", wantErr: true},
		{spec: "rwx", wantErr: true},
		{spec: "", wantErr: true},
	} {
		got, err := ParseMode(tc.spec, tc.current)
		if (err != nil) != tc.wantErr || err == nil && got != tc.want {
			t.Errorf("ParseMode(%q, %o) = %o, %v; want %o (error %v)", tc.spec, tc.current, got, err, tc.want, tc.wantErr)
		}
	}
}
