package modules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/module"
)

// editCase is one entry of testdata/edits.yaml: an edit and what real
// ansible-core 2.14 did with it (compare_ansible.py records it).
type editCase struct {
	Module       string         `yaml:"module"`
	Name         string         `yaml:"name"`
	Before       *string        `yaml:"before"`
	Args         map[string]any `yaml:"args"`
	After        *string        `yaml:"after"`
	Changed      bool           `yaml:"changed"`
	Failed       bool           `yaml:"failed"`
	Msg          string         `yaml:"msg"`
	ChangedAgain bool           `yaml:"changed_again"`
}

func loadEditCases(t *testing.T, moduleName string) []editCase {
	t.Helper()
	data, err := os.ReadFile("testdata/edits.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var all []editCase
	if err := yaml.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	var out []editCase
	for _, c := range all {
		if c.Module == moduleName {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s cases in testdata/edits.yaml", moduleName)
	}
	return out
}

// runEditCases checks every recorded Ansible outcome for one module: the
// file's bytes, changed, failed, msg, and whether a second run changes
// again (Ansible is not idempotent everywhere; neither are we, alike).
func runEditCases(t *testing.T, info module.Info) {
	for _, tc := range loadEditCases(t, info.Name) {
		t.Run(tc.Name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			if tc.Before != nil {
				writeFile(t, p, *tc.Before, 0o644)
			}
			raw := map[string]any{"path": p}
			for k, v := range tc.Args {
				raw[k] = v
			}
			before := snapshot(t, dir)
			c := mustPlan(t, info, raw)
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Fatalf("plan changed the tree:\n%s", diff)
			}
			wantMsg := strings.ReplaceAll(tc.Msg, "PATH", p)
			got := struct {
				Changed, Failed bool
				Msg             string
			}{c.Action != module.None, c.Result != nil && c.Result.Failed, ""}
			if c.Result != nil {
				got.Msg = c.Result.Msg
			}
			if c.Action != module.None {
				res := applyTask(t, info, c)
				got.Msg = res.Msg
			}
			want := struct {
				Changed, Failed bool
				Msg             string
			}{tc.Changed, tc.Failed, wantMsg}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("outcome (-ansible +cutover):\n%s", diff)
			}
			var after *string
			if data, err := os.ReadFile(p); err == nil {
				s := string(data)
				after = &s
			}
			if diff := cmp.Diff(tc.After, after); diff != "" {
				t.Errorf("file content (-ansible +cutover):\n%s", diff)
			}
			if tc.Failed || tc.Changed == false {
				return
			}
			if again := mustPlan(t, info, raw); (again.Action != module.None) != tc.ChangedAgain {
				t.Errorf("second run: action %v, ansible changed again = %v", again.Action, tc.ChangedAgain)
			}
		})
	}
}

// TestLineInFileLikeAnsible replays testdata/edits.yaml (verified against
// ansible-core 2.14.18): which match is replaced, insertafter/insertbefore
// with several matches, firstmatch, missing final newline, backrefs,
// search_string, absent, create.
func TestLineInFileLikeAnsible(t *testing.T) { runEditCases(t, LineInFile()) }

func TestLineInFileTimeline(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "sshd_config")
	raw := map[string]any{"path": p, "regexp": "^#?PermitRootLogin", "line": "PermitRootLogin no", "create": true, "mode": "0600"}
	converge(t, LineInFile(), dir, raw)
	if got := readFile(t, p); got != "PermitRootLogin no\n" {
		t.Errorf("content = %q", got)
	}
	if got := fileMode(t, p).Perm(); got != 0o600 {
		t.Errorf("mode = %v, want 0600", got)
	}

	t.Run("starts converged", func(t *testing.T) {
		assertConverged(t, LineInFile(), dir, raw)
	})
	t.Run("mode only", func(t *testing.T) {
		raw := map[string]any{"path": p, "line": "PermitRootLogin no", "mode": "0640"}
		res := converge(t, LineInFile(), dir, raw)
		if res.Msg != "ownership, perms or SE linux context changed" {
			t.Errorf("msg = %q", res.Msg)
		}
	})
	t.Run("backup", func(t *testing.T) {
		raw := map[string]any{"path": p, "line": "X11Forwarding no", "backup": true}
		res := converge(t, LineInFile(), dir, raw)
		b, _ := res.Data["backup"].(string)
		if !strings.HasPrefix(b, p+".") || readFile(t, b) != "PermitRootLogin no\n" {
			t.Errorf("backup %q does not hold the old content", b)
		}
	})
}

func TestLineInFileBadArgs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	for _, tc := range []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"present without line", map[string]any{"path": p, "regexp": "x"}, "line is required with state=present"},
		{"backrefs without regexp", map[string]any{"path": p, "line": "x", "backrefs": true}, "regexp is required with backrefs=true"},
		{"absent with nothing", map[string]any{"path": p, "state": "absent"}, "one of line, search_string, or regexp is required with state=absent"},
		{"both inserts", map[string]any{"path": p, "line": "x", "insertafter": "a", "insertbefore": "b"}, "mutually exclusive"},
		{"lookahead", map[string]any{"path": p, "line": "x", "regexp": "a(?=b)"}, "lookaround"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planTask(t, LineInFile(), tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
