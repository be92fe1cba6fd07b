package modules

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/expr"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/redact"
	"github.com/cutover/cutover/engine/vault"
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

// templateEnv is the Env the engine gives the template module: the task's
// variables through Vars, the playbook folder dir, diffs asked for.
func templateEnv(dir string, vars map[string]any, v *vault.Opener) *module.Env {
	return &module.Env{
		Host:  conn.ReadOnly(&conn.Local{Host: "localhost"}, Template().Probes),
		Dir:   dir,
		Diff:  true,
		Vars:  expr.MapScope(vars).Lookup,
		Vault: v,
	}
}

func planWith(t *testing.T, info module.Info, env *module.Env, raw map[string]any) (*module.Change, error) {
	t.Helper()
	args, errs := info.Decode(raw, false)
	if len(errs) > 0 {
		t.Fatalf("decode %v: %v", raw, errs[0])
	}
	return info.New().Plan(context.Background(), env, args)
}

// TestTemplateFileRendering: in a template file Jinja decodes backslash
// escapes inside {{ }} (playbook strings keep them), and Ansible adds its
// template variables over the task's. Checked against ansible-core 2.14.18.
func TestTemplateFileRendering(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	full := filepath.Join(dir, "templates", "t.j2")
	host, _ := os.Hostname()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"items": []any{"a", "b", "c"}, "template_path": "task's"}
	for _, tc := range []struct{ text, want string }{
		{`{{ items | join("\n") }}`, "a\nb\nc"},
		{`{{ "a\tb" }}`, "a\tb"},
		{`{{ 'it\'s' }}`, "it's"},
		{`{{ "\\" }}`, `\`},
		{"{{ ansible_managed }}", "Ansible managed"},
		{"{{ template_path }}", "t.j2"}, // src as given, over the task's variable
		{"{{ template_fullpath }}", full},
		{"{{ template_destpath }}", dest},
		{"{{ template_host }}", host},
		{"{{ template_uid }}", me.Username},
	} {
		t.Run(tc.text, func(t *testing.T) {
			writeFile(t, full, tc.text, 0o644)
			c, err := planWith(t, Template(), templateEnv(dir, vars, nil), map[string]any{"src": "t.j2", "dest": dest})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(c.Data.(*copyPlan).write.Data); got != tc.want {
				t.Errorf("rendered %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTemplateVaultedSourceHidden: a vaulted template renders, but its
// lines never reach a diff (rendered, they no longer match the secret the
// source was recorded as), nor do the old file's, nor an error's quote.
func TestTemplateVaultedSourceHidden(t *testing.T) {
	const secret, oldSecret = "VaultPw42", "OldPw1234"
	for _, tc := range []struct {
		name, text, old string
		wantErr         bool
	}{
		{"new file", "conn=postgres://app:" + secret + "@{{ dbhost }}/main\n", "", false},
		{"existing file", "conn=postgres://app:" + secret + "@{{ dbhost }}/main\n", "conn=postgres://app:" + oldSecret + "@db0/main\n", false},
		{"syntax error", `{{ "` + secret + `" + }}`, "", true},
		{"evaluation error", `{{ "` + secret + `" + 1 }}`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "app.conf")
			if tc.old != "" {
				writeFile(t, dest, tc.old, 0o600)
			}
			opener := vaultOpener(t, filepath.Join(dir, "templates", "app.conf.j2"), tc.text)
			env := templateEnv(dir, map[string]any{"dbhost": "db1"}, opener)
			c, err := planWith(t, Template(), env, map[string]any{"src": "app.conf.j2", "dest": dest})
			if tc.wantErr {
				if err == nil || strings.Contains(err.Error(), secret) {
					t.Fatalf("err = %v, want an error not quoting the source", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(c.Data.(*copyPlan).write.Data); got != "conn=postgres://app:"+secret+"@db1/main\n" {
				t.Errorf("rendered %q", got)
			}
			for _, d := range c.Diffs {
				if text := fmt.Sprint(d); strings.Contains(text, secret) || strings.Contains(text, oldSecret) {
					t.Errorf("diff shows a secret: %+v", d)
				}
			}
			if len(c.Diffs) == 0 || !strings.Contains(c.Diffs[0].After, "hidden") {
				t.Errorf("diffs %+v, want a note that the content is hidden", c.Diffs)
			}
		})
	}
}

// vaultOpener writes text vault-encrypted at path and returns an opener
// holding its password.
func vaultOpener(t *testing.T, path, text string) *vault.Opener {
	t.Helper()
	pw := []byte("vault-test-password")
	data, err := vault.Encrypt([]byte(text), pw, "")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(data), 0o600)
	return &vault.Opener{Keyring: &vault.Keyring{Secrets: []vault.Secret{{Password: pw}}}, Redact: &redact.Set{}}
}
