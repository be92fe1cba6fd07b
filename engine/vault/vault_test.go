package vault

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func ansibleVault(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ansible-vault")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ansible-vault is not installed (scripts/setup.sh installs ansible-core)")
		}
		t.Skip("ansible-vault is not installed")
	}
	return p
}

// runAnsibleVault runs ansible-vault in dir with a password file.
func runAnsibleVault(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(ansibleVault(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, ".tmp"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ansible-vault %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

func TestRoundTripWithAnsibleVault(t *testing.T) {
	plaintext := "db_password: s3cr3t-Ω\nbroker:\n  user: finance\n  password: 'p@ss;word'\n"
	for _, tc := range []struct {
		name, label, header string
	}{
		{"format 1.1", DefaultLabel, "$ANSIBLE_VAULT;1.1;AES256"},
		{"format 1.2 with a vault id", "prod", "$ANSIBLE_VAULT;1.2;AES256;prod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pwFile := filepath.Join(dir, "pw")
			os.WriteFile(pwFile, []byte("correct horse\n"), 0o600)
			id := pwFile
			if tc.label != DefaultLabel {
				id = tc.label + "@" + pwFile
			}

			// cutover encrypts, ansible-vault decrypts.
			ours, err := Encrypt([]byte(plaintext), []byte("correct horse"), tc.label)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(ours), tc.header+"\n") {
				t.Errorf("header: %q", strings.SplitN(string(ours), "\n", 2)[0])
			}
			os.WriteFile(filepath.Join(dir, "ours.yml"), ours, 0o600)
			if got := runAnsibleVault(t, dir, "view", "--vault-id", id, "ours.yml"); got != plaintext {
				t.Errorf("ansible-vault view of cutover's vault = %q", got)
			}

			// ansible-vault encrypts, cutover decrypts.
			os.WriteFile(filepath.Join(dir, "theirs.yml"), []byte(plaintext), 0o600)
			runAnsibleVault(t, dir, "encrypt", "--vault-id", id, "theirs.yml")
			theirs, _ := os.ReadFile(filepath.Join(dir, "theirs.yml"))
			if !strings.HasPrefix(string(theirs), tc.header+"\n") {
				t.Errorf("ansible-vault's header: %q", strings.SplitN(string(theirs), "\n", 2)[0])
			}
			secret, err := Load(tc.label, pwFile, nil)
			if err != nil {
				t.Fatal(err)
			}
			kr := &Keyring{Secrets: []Secret{secret}}
			got, err := kr.Decrypt("theirs.yml", theirs)
			if err != nil || string(got) != plaintext {
				t.Errorf("cutover's decrypt of ansible-vault's file = %q, %v", got, err)
			}

			// Same layout as ansible-vault: 80-column lines, final newline.
			for i, line := range strings.Split(strings.TrimSuffix(string(ours), "\n"), "\n")[1:] {
				if len(line) > 80 {
					t.Errorf("line %d is %d columns", i+2, len(line))
				}
			}
			if !strings.HasSuffix(string(theirs), "\n") || !strings.HasSuffix(string(ours), "\n") {
				t.Error("a vault file must end with a newline")
			}
		})
	}
}

func TestEncryptStringFromAnsibleVaultDecrypts(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pw"), []byte("pw-for-strings"), 0o600)
	out := runAnsibleVault(t, dir, "encrypt_string", "--vault-password-file", "pw", "--name", "amqp_password", "rabbit-Secret-1")
	// amqp_password: !vault |
	//           $ANSIBLE_VAULT;1.1;AES256
	//           3532...
	_, body, ok := strings.Cut(out, "!vault |\n")
	if !ok {
		t.Fatalf("encrypt_string output: %q", out)
	}
	kr := &Keyring{Secrets: []Secret{{Label: DefaultLabel, Password: []byte("pw-for-strings"), Source: "pw"}}}
	got, err := kr.Decrypt("value", []byte(body))
	if err != nil || string(got) != "rabbit-Secret-1" {
		t.Errorf("decrypt = %q, %v", got, err)
	}
}

func TestWrongPasswordAndDamage(t *testing.T) {
	v, err := Encrypt([]byte("plain"), []byte("right"), DefaultLabel)
	if err != nil {
		t.Fatal(err)
	}
	kr := &Keyring{Secrets: []Secret{{Label: DefaultLabel, Password: []byte("wrong"), Source: "pw.txt"}}}
	_, err = kr.Decrypt("group_vars/all/vault.yml", v)
	if err == nil || !strings.Contains(err.Error(), "group_vars/all/vault.yml") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v", err)
	}
	env, _ := Parse(v)
	if _, err := env.Open([]byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("Open with a wrong password: %v", err)
	}
	// A flipped ciphertext byte fails the HMAC: nothing is decrypted.
	damaged := bytes.Replace(v, []byte("\n3"), []byte("\n4"), 1)
	if bytes.Equal(damaged, v) {
		damaged = bytes.Replace(v, []byte("\n6"), []byte("\n7"), 1)
	}
	if _, err := (&Keyring{Secrets: []Secret{{Label: DefaultLabel, Password: []byte("right")}}}).Decrypt("x", damaged); err == nil {
		t.Error("a damaged vault opened")
	}
	if _, err := (&Keyring{}).Decrypt("x.yml", v); err == nil || !strings.Contains(err.Error(), "--vault-password-file") {
		t.Errorf("no password: %v", err)
	}
}

func TestVaultIDsTriedLabelFirst(t *testing.T) {
	v, _ := Encrypt([]byte("for prod"), []byte("prod-pw"), "prod")
	kr := &Keyring{Secrets: []Secret{
		{Label: "dev", Password: []byte("dev-pw")},
		{Label: "prod", Password: []byte("prod-pw")},
	}}
	if got, err := kr.Decrypt("x", v); err != nil || string(got) != "for prod" {
		t.Errorf("decrypt = %q, %v", got, err)
	}
	// A label that matches nothing still gets every password tried.
	other, _ := Encrypt([]byte("relabelled"), []byte("dev-pw"), "staging")
	if got, err := kr.Decrypt("x", other); err != nil || string(got) != "relabelled" {
		t.Errorf("decrypt = %q, %v", got, err)
	}
}

func TestLoadPasswordSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw.txt")
	os.WriteFile(file, []byte("  from-file \n"), 0o600)
	script := filepath.Join(dir, "pw.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho from-script\n"), 0o700)
	client := filepath.Join(dir, "keyring-client.sh")
	os.WriteFile(client, []byte("#!/bin/sh\n[ \"$1\" = --vault-id ] && echo \"pw-of-$2\"\n"), 0o700)
	for _, tc := range []struct{ label, source, want string }{
		{"", file, "from-file"},
		{"", script, "from-script"},
		{"prod", client, "pw-of-prod"},
	} {
		s, err := Load(tc.label, tc.source, nil)
		if err != nil || string(s.Password) != tc.want {
			t.Errorf("Load(%q, %s) = %q, %v; want %q", tc.label, tc.source, s.Password, err, tc.want)
		}
	}
	s, err := Load("", "prompt", func(string) ([]byte, error) { return []byte("typed\n"), nil })
	if err != nil || string(s.Password) != "typed" {
		t.Errorf("prompt: %q, %v", s.Password, err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := Load("", empty, nil); err == nil {
		t.Error("an empty password file was accepted")
	}
	if l, src := ParseVaultID("prod@/x/pw"); l != "prod" || src != "/x/pw" {
		t.Errorf("ParseVaultID = %q %q", l, src)
	}
}
