package vault

import (
	"github.com/cutover/cutover/engine/redact"
)

// Opener is what the loaders read through: it opens vault-encrypted files
// and !vault values with the run's keyring and records every plaintext
// they hold as a secret, so output never shows it. A nil *Opener opens
// plain files and refuses vaults with a message saying how to give a
// password.
type Opener struct {
	Keyring *Keyring
	Redact  *redact.Set
}

// File returns a file's content, decrypted when it is a vault, and
// whether it was one (then every value in it is a secret).
func (o *Opener) File(name string, data []byte) ([]byte, bool, error) {
	if !IsEncrypted(data) {
		return data, false, nil
	}
	plain, err := o.keyring().Decrypt(name, data)
	if err != nil {
		return nil, true, err
	}
	return plain, true, nil
}

// Value decrypts a !vault value and records it as a secret.
func (o *Opener) Value(name, ciphertext string) (string, error) {
	plain, err := o.keyring().Decrypt(name, []byte(ciphertext))
	if err != nil {
		return "", err
	}
	o.Secret(string(plain))
	return string(plain), nil
}

// Secret records a value read from a vault.
func (o *Opener) Secret(s string) {
	if o != nil {
		o.Redact.Add(s)
	}
}

func (o *Opener) keyring() *Keyring {
	if o == nil {
		return nil
	}
	return o.Keyring
}
