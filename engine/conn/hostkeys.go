package conn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrHostKey marks a host whose key is unknown or has changed: the
// connection is refused before any authentication.
var ErrHostKey = errors.New("host key verification failed")

// HostKeys verifies server keys against one known_hosts file. Nothing in
// cutover ever accepts a key without it: an unknown host is refused unless
// AcceptNew is set, and then its key is written to the file first.
type HostKeys struct {
	File      string
	AcceptNew bool
	mu        sync.Mutex // one writer of File at a time
}

// hostKeyFiles hands out one HostKeys per known_hosts file and policy,
// shared by the hosts checked against it (so its writes are serialised).
type hostKeyFiles struct {
	mu    sync.Mutex
	files map[string]*HostKeys
}

func (f *hostKeyFiles) get(file string, acceptNew bool) *HostKeys {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := fmt.Sprint(file, "\x00", acceptNew)
	if k, ok := f.files[key]; ok {
		return k
	}
	if f.files == nil {
		f.files = map[string]*HostKeys{}
	}
	k := &HostKeys{File: file, AcceptNew: acceptNew}
	f.files[key] = k
	return k
}

// DefaultKnownHosts is ~/.ssh/known_hosts.
func DefaultKnownHosts() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".ssh", "known_hosts")
}

// callback returns the HostKeyCallback for one host, and the key
// algorithms known_hosts holds for it, so the server is asked for a key
// type the file can check (a server offering ed25519 while the file holds
// only its rsa key would otherwise look like a changed key).
func (k *HostKeys) callback(name, addr string) (ssh.HostKeyCallback, []string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := os.Stat(k.File); errors.Is(err, os.ErrNotExist) {
		if !k.AcceptNew {
			return nil, nil, fmt.Errorf("%w: %s: known_hosts file %s does not exist (use --accept-new-host-keys to trust on first use)", ErrHostKey, name, k.File)
		}
		if err := os.MkdirAll(filepath.Dir(k.File), 0o700); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(k.File, nil, 0o600); err != nil {
			return nil, nil, err
		}
	}
	check, err := knownhosts.New(k.File)
	if err != nil {
		return nil, nil, fmt.Errorf("known_hosts %s: %w", k.File, err)
	}
	algos := knownAlgorithms(check, addr)
	cb := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		var ke *knownhosts.KeyError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) > 0:
			return fmt.Errorf("%w: %s: the host key has CHANGED: %s key %s does not match %s:%d (possible man-in-the-middle; fix the file if the host was rebuilt)",
				ErrHostKey, name, key.Type(), ssh.FingerprintSHA256(key), k.File, ke.Want[0].Line)
		case errors.As(err, &ke):
			if !k.AcceptNew {
				return fmt.Errorf("%w: %s: unknown host key %s %s, not in %s (use --accept-new-host-keys to trust it)",
					ErrHostKey, name, key.Type(), ssh.FingerprintSHA256(key), k.File)
			}
			return k.add(hostname, remote, key)
		}
		return fmt.Errorf("%w: %s: %v", ErrHostKey, name, err)
	}
	return cb, algos, nil
}

// add appends a trusted-on-first-use key to the file.
func (k *HostKeys) add(hostname string, remote net.Addr, key ssh.PublicKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	f, err := os.OpenFile(k.File, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	addrs := []string{knownhosts.Normalize(hostname)}
	if remote != nil && knownhosts.Normalize(remote.String()) != addrs[0] {
		addrs = append(addrs, knownhosts.Normalize(remote.String()))
	}
	_, err = fmt.Fprintln(f, knownhosts.Line(addrs, key))
	return err
}

// knownAlgorithms lists the key types the file holds for addr, by asking
// the checker with a key of no known type: its KeyError lists them.
func knownAlgorithms(check ssh.HostKeyCallback, addr string) []string {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	err := check(addr, &net.TCPAddr{IP: net.ParseIP(host), Port: p}, probeKey{})
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// algorithmsFor maps a key type to the signature algorithms that prove it.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// probeKey is a public key of a type no file holds.
type probeKey struct{}

func (probeKey) Type() string                        { return "cutover-probe" }
func (probeKey) Marshal() []byte                     { return []byte("cutover-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe") }
