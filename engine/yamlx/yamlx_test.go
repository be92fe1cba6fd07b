package yamlx

import (
	"github.com/cutover/cutover/engine/redact"
	"github.com/cutover/cutover/engine/vault"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadFollowsYAML11(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"octal mode stays octal as PyYAML reads it", "mode: 0644", map[string]any{"mode": 420}},
		{"quoted mode is a string", `mode: "0644"`, map[string]any{"mode": "0644"}},
		{"yes and no are booleans", "a: yes\nb: no\nc: on\nd: off", map[string]any{"a": true, "b": false, "c": true, "d": false}},
		{"quoted yes is a string", "a: 'yes'", map[string]any{"a": "yes"}},
		{"y and n are strings, as in PyYAML", "a: y\nb: [n, Y, N]", map[string]any{"a": "y", "b": []any{"n", "Y", "N"}}},
		{"integers are ints", "n: 12\nm: -3", map[string]any{"n": 12, "m": -3}},
		{"floats", "f: 1.5", map[string]any{"f": 1.5}},
		{"null", "x: ~\ny: null\nz:", map[string]any{"x": nil, "y": nil, "z": nil}},
		{"literal block", "s: |\n  a\n  b\n", map[string]any{"s": "a\nb\n"}},
		{"alias", "a: &A {x: 1}\nb: *A", map[string]any{"a": map[string]any{"x": 1}, "b": map[string]any{"x": 1}}},
		{"merge key", "a: &A {x: 1, y: 1}\nb:\n  <<: *A\n  y: 2", map[string]any{"a": map[string]any{"x": 1, "y": 1}, "b": map[string]any{"x": 1, "y": 2}}},
		{"list", "- 1\n- two\n- [3]", []any{1, "two", []any{3}}},
		{"empty document", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load("t.yml", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Load (-want +got):\n%s", d)
			}
		})
	}
}

func TestUnsafeTag(t *testing.T) {
	got, err := Load("t.yml", []byte("a: !unsafe '{{ x }}'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.(map[string]any)["a"].(Unsafe); !ok {
		t.Errorf("!unsafe gave %T, want Unsafe", got.(map[string]any)["a"])
	}
}

// A !vault value opens with the keyring and becomes a secret; without a
// password it is an error at its position; a vault file opens whole and
// every string in it is a secret.
func TestVaultValuesAndFiles(t *testing.T) {
	pw := []byte("yamlx-pw")
	enc, err := vault.Encrypt([]byte("db-Secret-1"), pw, vault.DefaultLabel)
	if err != nil {
		t.Fatal(err)
	}
	indented := "  " + strings.ReplaceAll(strings.TrimSpace(string(enc)), "\n", "\n  ")
	src := []byte("user: finance\ndb_password: !vault |\n" + indented + "\n")
	secrets := &redact.Set{}
	opener := &vault.Opener{Keyring: &vault.Keyring{Secrets: []vault.Secret{{Label: vault.DefaultLabel, Password: pw}}}, Redact: secrets}
	got, err := LoadVault("vars.yml", src, opener)
	if err != nil {
		t.Fatal(err)
	}
	if m := got.(map[string]any); m["db_password"] != "db-Secret-1" || m["user"] != "finance" {
		t.Errorf("values: %v", m)
	}
	if s := secrets.String("finance db-Secret-1"); s != "finance ********" {
		t.Errorf("redacted: %q", s)
	}
	_, err = Load("vars.yml", src)
	if err == nil || !strings.HasPrefix(err.Error(), "vars.yml:2:14: ") || !strings.Contains(err.Error(), "no vault password") {
		t.Errorf("without a password: %v", err)
	}

	file, _ := vault.Encrypt([]byte("api_user: ops-team\napi_token: tok-12345\n"), pw, vault.DefaultLabel)
	secrets = &redact.Set{}
	opener.Redact = secrets
	got, err = LoadVault("vault.yml", file, opener)
	if err != nil || got.(map[string]any)["api_token"] != "tok-12345" {
		t.Fatalf("vault file: %v %v", got, err)
	}
	if s := secrets.String("ops-team tok-12345"); s != "******** ********" {
		t.Errorf("every string of a vault file is a secret: %q", s)
	}
}

func TestErrorsPointAtTheSource(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unclosed quote", "a: 1\nb: \"x\n", "t.yml:2:4: YAML syntax error"},
		{"unknown alias", "a: *nope\n", "t.yml:1:4: unknown alias *nope"},
		{"bad flow mapping", "a: {b: 1\n", "t.yml:1:4: YAML syntax error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yml", []byte(tc.src))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want prefix %q", err, tc.want)
			}
		})
	}
}

// FuzzLoad: any input gives a value or an error, never a panic or a hang.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{"a: 1", "- {a: [1, 2]}", "a: &x [1]\nb: *x", "<<: {a: 1}", "a: |\n  x\n", "a: !unsafe b", "- hosts: all\n  tasks:\n    - debug: msg=hi\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		v, err := Load("f.yml", []byte(src))
		if err != nil && v != nil {
			t.Errorf("both a value and an error: %v", err)
		}
	})
}
