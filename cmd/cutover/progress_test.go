package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/jackc/pgx/v5"
)

// A long task shows progress on a terminal, on one line rewritten in
// place and erased before the task's result; through a pipe it shows none.
func TestPgCopyShowsProgressOnATerminal(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable")
	if err != nil {
		if inCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer admin.Close(ctx)
	src, dst := fmt.Sprintf("cutover_progress_src_%d", os.Getpid()), fmt.Sprintf("cutover_progress_dst_%d", os.Getpid())
	for _, db := range []string{src, dst} {
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		defer admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+src); err != nil {
		t.Fatal(err)
	}
	s, err := pgx.Connect(ctx, "host=127.0.0.1 port=5432 user=postgres sslmode=disable dbname="+src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if _, err := s.Exec(ctx, `CREATE TABLE timesheets AS SELECT i AS id, md5(i::text) AS note FROM generate_series(1, 100000) i`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	book := filepath.Join(dir, "copy.yml")
	os.WriteFile(book, []byte(fmt.Sprintf(`- hosts: localhost
  gather_facts: false
  tasks:
    - pg_copy: {db: %s, create: true, login_host: 127.0.0.1, ssl_mode: disable, source: {db: %s, login_host: 127.0.0.1, ssl_mode: disable}}
`, dst, src)), 0o644)

	cmd := exec.Command(cutoverBinary(t), "run", "-i", "localhost,", "-c", "local", book)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	io.Copy(&out, tty) // ends with EIO once the program exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("cutover: %v\n%s", err, out.String())
	}
	text := out.String()
	line := "\r\x1b[Klocalhost: pg_copy " + dst + ": "
	i := strings.Index(text, line)
	if i < 0 || !strings.Contains(text[i:], " loaded (") {
		t.Fatalf("no progress line in the terminal's output:\n%q", text)
	}
	erased := strings.LastIndex(text, "\r\x1b[K")
	result := strings.Index(text, "changed: [localhost]")
	if erased < 0 || result < erased || strings.HasPrefix(text[erased:], line) {
		t.Errorf("the progress line is not erased before the result:\n%q", text)
	}

	// Through pipes: no progress at all.
	admin.Exec(ctx, "DROP DATABASE "+dst+" WITH (FORCE)")
	r := runCommand(t, dir, cutoverBinary(t), "run", "-i", "localhost,", "-c", "local", book)
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "\r") || strings.Contains(r.stdout+r.stderr, "loaded (") {
		t.Errorf("piped run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
