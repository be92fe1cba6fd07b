package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Secret is one vault password and the vault id it is known by.
type Secret struct {
	Label    string
	Password []byte
	Source   string // where it came from, for messages: a file, "prompt"
}

// Keyring holds the run's vault passwords. The zero value holds none: a
// vault then fails with a message saying how to give one.
type Keyring struct {
	Secrets []Secret
	// Encrypt, when set, is the vault id new vaults are made with
	// (--encrypt-vault-id); otherwise the first secret's.
	EncryptLabel string
}

// Empty reports whether no password was given.
func (k *Keyring) Empty() bool { return k == nil || len(k.Secrets) == 0 }

// Has reports whether a password with that vault id was given.
func (k *Keyring) Has(label string) bool {
	for _, s := range k.Secrets {
		if s.Label == label {
			return true
		}
	}
	return false
}

// Decrypt opens a vault, trying first the secrets whose label matches
// the vault's, then every other, as ansible does. name (a file) is for the
// error message.
func (k *Keyring) Decrypt(name string, data []byte) ([]byte, error) {
	env, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if k.Empty() {
		return nil, fmt.Errorf("%s is vault-encrypted and no vault password was given (--vault-password-file, --ask-vault-pass or --vault-id)", name)
	}
	var order []Secret
	for _, s := range k.Secrets {
		if s.Label == env.Label {
			order = append(order, s)
		}
	}
	for _, s := range k.Secrets {
		if s.Label != env.Label {
			order = append(order, s)
		}
	}
	for _, s := range order {
		plain, err := env.Open(s.Password)
		if err == nil {
			return plain, nil
		}
		if !errors.Is(err, ErrWrongPassword) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil, fmt.Errorf("decryption failed: no vault password given opens %s (vault id %q; tried %s)", name, env.Label, k.describe())
}

// Encrypt makes a vault with the encrypting secret.
func (k *Keyring) Encrypt(plaintext []byte) ([]byte, error) {
	s, err := k.encryptSecret()
	if err != nil {
		return nil, err
	}
	return Encrypt(plaintext, s.Password, s.Label)
}

func (k *Keyring) encryptSecret() (Secret, error) {
	if k.Empty() {
		return Secret{}, errors.New("no vault password was given to encrypt with (--vault-password-file, --ask-vault-pass or --vault-id)")
	}
	if k.EncryptLabel == "" {
		return k.Secrets[0], nil
	}
	for _, s := range k.Secrets {
		if s.Label == k.EncryptLabel {
			return s, nil
		}
	}
	return Secret{}, fmt.Errorf("--encrypt-vault-id %s: no vault password has that vault id", k.EncryptLabel)
}

func (k *Keyring) describe() string {
	var names []string
	for _, s := range k.Secrets {
		names = append(names, fmt.Sprintf("%s@%s", s.Label, s.Source))
	}
	return strings.Join(names, ", ")
}

// Prompter asks the person at the terminal for a password, without echo.
type Prompter func(prompt string) ([]byte, error)

// Load reads one password source as --vault-id LABEL@SOURCE and
// --vault-password-file SOURCE give it: "prompt" asks at the terminal; an
// executable file is run and its standard output (line ends trimmed) is the
// password, a "-client" script being asked for the label with --vault-id;
// any other file holds the password, surrounding whitespace stripped.
func Load(label, source string, ask Prompter) (Secret, error) {
	if label == "" {
		label = DefaultLabel
	}
	s := Secret{Label: label, Source: source}
	if source == "prompt" {
		if ask == nil {
			return s, errors.New("a vault password prompt needs a terminal")
		}
		prompt := "Vault password: "
		if label != DefaultLabel {
			prompt = fmt.Sprintf("Vault password (%s): ", label)
		}
		p, err := ask(prompt)
		if err != nil {
			return s, err
		}
		s.Password = bytes.TrimRight(p, "\r\n")
		return s, checkNotEmpty(s)
	}
	info, err := os.Stat(source)
	if err != nil {
		return s, fmt.Errorf("vault password file: %w", err)
	}
	if info.Mode()&0o111 != 0 && info.Mode().IsRegular() {
		s.Password, err = runScript(source, label)
		if err != nil {
			return s, err
		}
		return s, checkNotEmpty(s)
	}
	data, err := os.ReadFile(source)
	if err != nil {
		return s, fmt.Errorf("vault password file: %w", err)
	}
	s.Password = bytes.TrimSpace(data)
	return s, checkNotEmpty(s)
}

func checkNotEmpty(s Secret) error {
	if len(s.Password) == 0 {
		return fmt.Errorf("vault password from %s is empty", s.Source)
	}
	return nil
}

// runScript runs a password script; the password never appears in an
// argument, only in the script's standard output.
func runScript(path, label string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var args []string
	if strings.HasSuffix(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), "-client") {
		args = []string{"--vault-id", label}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = os.Stdin
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("vault password script %s: %v: %s", path, err, strings.TrimSpace(errb.String()))
	}
	return bytes.Trim(out.Bytes(), "\r\n"), nil
}

// ParseVaultID splits --vault-id's LABEL@SOURCE; a bare SOURCE has the
// default label.
func ParseVaultID(id string) (label, source string) {
	if l, s, ok := strings.Cut(id, "@"); ok {
		return l, s
	}
	return DefaultLabel, id
}
