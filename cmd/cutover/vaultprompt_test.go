package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/cutover/cutover/engine/vault"
)

// --ask-vault-pass reads the password on the terminal without echo.
func TestAskVaultPassOnATerminal(t *testing.T) {
	dir := t.TempDir()
	enc, _ := vault.Encrypt([]byte("typed: yes\n"), []byte("typed-Vault-pw"), vault.DefaultLabel)
	file := filepath.Join(dir, "v.yml")
	os.WriteFile(file, enc, 0o600)
	cmd := exec.Command(cutoverBinary(t), "vault", "view", "--ask-vault-pass", file)
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out syncBuffer
	done := make(chan struct{})
	go func() { io.Copy(&out, tty); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Vault password: ") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	tty.Write([]byte("typed-Vault-pw\r"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("cutover vault view: %v\n%s", err, out.String())
	}
	<-done
	if !strings.Contains(out.String(), "typed: yes") {
		t.Errorf("the vault did not open:\n%q", out.String())
	}
	if strings.Contains(out.String(), "typed-Vault-pw") {
		t.Errorf("the password was echoed:\n%q", out.String())
	}
}

// syncBuffer is a bytes.Buffer read while a goroutine writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
