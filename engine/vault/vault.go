// Package vault reads and writes Ansible Vault's format, so that files and
// values made by ansible-vault open here and the reverse:
//
//	$ANSIBLE_VAULT;1.1;AES256          (1.2 adds ";LABEL", the vault id)
//	hex( hex(salt) \n hex(hmac) \n hex(ciphertext) ), in lines of 80
//
// Keys come from PBKDF2-HMAC-SHA256 (10000 rounds, 32 random bytes of salt,
// 80 bytes: an AES-256 key, an HMAC-SHA256 key and a CTR counter block);
// the plaintext is PKCS#7-padded, encrypted with AES-256-CTR, and the
// ciphertext authenticated with HMAC-SHA256, checked before decrypting.
// Only the standard library's primitives are used.
package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Header starts every vault.
const Header = "$ANSIBLE_VAULT"

const (
	iterations = 10000
	keyLen     = 32
	saltLen    = 32
	lineWidth  = 80
)

// DefaultLabel is the vault id of a vault without one (format 1.1).
const DefaultLabel = "default"

// ErrWrongPassword is a vault no given password opens (its HMAC does
// not match).
var ErrWrongPassword = errors.New("no vault password given opens it")

// IsEncrypted reports whether data is a vault.
func IsEncrypted(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(Header+";"))
}

// Envelope is a parsed vault: its header's fields and the hex payload.
type Envelope struct {
	Version string // 1.1 or 1.2
	Cipher  string // AES256
	Label   string // the vault id; DefaultLabel for 1.1
	payload []byte // the hex lines joined
}

// Parse reads a vault's header and payload.
func Parse(data []byte) (*Envelope, error) {
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	header := strings.Split(strings.TrimSpace(lines[0]), ";")
	if len(header) < 3 || header[0] != Header {
		return nil, errors.New("not a vault: the first line must be $ANSIBLE_VAULT;VERSION;CIPHER")
	}
	e := &Envelope{Version: header[1], Cipher: strings.TrimSpace(header[2]), Label: DefaultLabel}
	switch {
	case e.Version == "1.2" && len(header) >= 4:
		e.Label = strings.TrimSpace(header[3])
	case e.Version == "1.1" || e.Version == "1.0" || e.Version == "1.2":
	default:
		return nil, fmt.Errorf("vault format %s is not supported (1.1 and 1.2 are)", e.Version)
	}
	if e.Cipher != "AES256" {
		return nil, fmt.Errorf("vault cipher %s is not supported (AES256 is)", e.Cipher)
	}
	var b strings.Builder
	for _, l := range lines[1:] {
		b.WriteString(strings.TrimSpace(l))
	}
	e.payload = []byte(b.String())
	return e, nil
}

// Open decrypts the envelope with one password.
func (e *Envelope) Open(password []byte) ([]byte, error) {
	inner, err := hex.DecodeString(string(e.payload))
	if err != nil {
		return nil, fmt.Errorf("vault payload is not hex: %w", err)
	}
	parts := bytes.Split(inner, []byte("\n"))
	if len(parts) != 3 {
		return nil, errors.New("vault payload is damaged (salt, hmac and ciphertext expected)")
	}
	var fields [3][]byte
	for i, p := range parts {
		if fields[i], err = hex.DecodeString(string(p)); err != nil {
			return nil, fmt.Errorf("vault payload is damaged: %w", err)
		}
	}
	salt, mac, ciphertext := fields[0], fields[1], fields[2]
	aesKey, macKey, iv, err := deriveKeys(password, salt)
	if err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, macKey)
	h.Write(ciphertext)
	if !hmac.Equal(h.Sum(nil), mac) {
		return nil, ErrWrongPassword
	}
	padded, err := ctr(aesKey, iv, ciphertext)
	if err != nil {
		return nil, err
	}
	return unpad(padded)
}

// Encrypt makes a vault of plaintext with password, labelled with the
// vault id when it is not DefaultLabel (format 1.2), else format 1.1.
// The result ends with a newline, as ansible-vault writes files.
func Encrypt(plaintext, password []byte, label string) ([]byte, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aesKey, macKey, iv, err := deriveKeys(password, salt)
	if err != nil {
		return nil, err
	}
	ciphertext, err := ctr(aesKey, iv, pad(plaintext))
	if err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, macKey)
	h.Write(ciphertext)
	inner := strings.Join([]string{hex.EncodeToString(salt), hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(ciphertext)}, "\n")
	payload := hex.EncodeToString([]byte(inner))
	var b strings.Builder
	b.WriteString(Header + ";1.1;AES256")
	if label != "" && label != DefaultLabel {
		b.Reset()
		b.WriteString(Header + ";1.2;AES256;" + label)
	}
	for i := 0; i < len(payload); i += lineWidth {
		b.WriteString("\n" + payload[i:min(i+lineWidth, len(payload))])
	}
	b.WriteString("\n")
	return []byte(b.String()), nil
}

func deriveKeys(password, salt []byte) (aesKey, macKey, iv []byte, err error) {
	if len(password) == 0 {
		return nil, nil, nil, errors.New("the vault password is empty")
	}
	k, err := pbkdf2.Key(sha256.New, string(password), salt, iterations, 2*keyLen+aes.BlockSize)
	if err != nil {
		return nil, nil, nil, err
	}
	return k[:keyLen], k[keyLen : 2*keyLen], k[2*keyLen:], nil
}

func ctr(key, iv, in []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, iv).XORKeyStream(out, in)
	return out, nil
}

func pad(b []byte) []byte {
	n := aes.BlockSize - len(b)%aes.BlockSize
	return append(bytes.Clone(b), bytes.Repeat([]byte{byte(n)}, n)...)
}

func unpad(b []byte) ([]byte, error) {
	if len(b) == 0 || len(b)%aes.BlockSize != 0 {
		return nil, errors.New("vault plaintext has a bad length")
	}
	n := int(b[len(b)-1])
	if n == 0 || n > aes.BlockSize || !bytes.Equal(b[len(b)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, errors.New("vault plaintext has bad padding")
	}
	return b[:len(b)-n], nil
}
