package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/sshlab"
)

// These tests run against real OpenSSH servers on 127.0.31.x (the lab).

func dial(t *testing.T, lab *sshlab.Lab, h *sshlab.Host, user, password string, keys *conn.HostKeys) (*conn.SSH, error) {
	t.Helper()
	return dialWith(t, conn.DialSSH, lab, h, user, password, keys)
}

// dialWith logs in to a lab host as user, with the password or else the
// lab's key, through dialer (directly, or through a keeper); the
// connection closes when the test ends.
func dialWith(t *testing.T, dialer func(context.Context, conn.SSHConfig) (*conn.SSH, error),
	lab *sshlab.Lab, h *sshlab.Host, user, password string, keys *conn.HostKeys) (*conn.SSH, error) {
	t.Helper()
	cfg := conn.SSHConfig{Name: h.Name, Addr: h.Addr, Port: sshlab.Port, User: user, Password: password, HostKeys: keys, Timeout: 5 * time.Second}
	if password == "" {
		cfg.KeyFiles = []string{lab.ClientKey}
	}
	c, err := dialer(context.Background(), cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func run(t *testing.T, h module.MutableHost, cmd module.Command) string {
	t.Helper()
	res, err := h.Run(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if res.RC != 0 {
		t.Fatalf("%v: rc=%d stderr=%s", cmd.Argv, res.RC, res.Stderr)
	}
	return string(res.Stdout)
}

func TestSSH(t *testing.T) {
	lab := sshlab.Start(t, 31, "finance", "timesheets")
	h := lab.Host("finance")
	keys := &conn.HostKeys{File: lab.KnownHosts}

	t.Run("key authentication", func(t *testing.T) {
		c, err := dial(t, lab, h, "root", "", keys)
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, c, module.Command{Argv: []string{"id", "-un"}}); got != "root\n" {
			t.Errorf("id -un = %q", got)
		}
	})

	t.Run("password authentication", func(t *testing.T) {
		c, err := dial(t, lab, h, "deploy", "deploy-pw", keys)
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, c, module.Command{Argv: []string{"id", "-un"}}); got != "deploy\n" {
			t.Errorf("id -un = %q", got)
		}
		if _, err := dial(t, lab, h, "deploy", "wrong", keys); err == nil || !errors.Is(err, conn.ErrUnreachable) {
			t.Errorf("a wrong password: %v", err)
		}
	})

	t.Run("a changed host key is refused", func(t *testing.T) {
		// Give finance's address the other host's key, as a rebuilt or
		// impersonated host would present.
		data, _ := os.ReadFile(lab.KnownHosts)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		other := strings.SplitN(lines[1], " ", 2)[1]
		bad := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(bad, []byte("[127.0.31.1]:2222 "+other+"\n"), 0o600)
		_, err := dial(t, lab, h, "root", "", &conn.HostKeys{File: bad, AcceptNew: true})
		if err == nil || !errors.Is(err, conn.ErrHostKey) {
			t.Fatalf("connected despite a changed key: %v", err)
		}
		for _, want := range []string{"finance", "CHANGED", "SHA256:", bad + ":1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q: %v", want, err)
			}
		}
		if after, _ := os.ReadFile(bad); strings.Count(string(after), "\n") != 1 {
			t.Errorf("known_hosts was changed:\n%s", after)
		}
	})

	t.Run("an unknown host is refused, and trusted on first use only when asked", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(empty, nil, 0o600)
		_, err := dial(t, lab, h, "root", "", &conn.HostKeys{File: empty})
		if err == nil || !errors.Is(err, conn.ErrHostKey) || !strings.Contains(err.Error(), "unknown host key") || !strings.Contains(err.Error(), "SHA256:") || !strings.Contains(err.Error(), empty) {
			t.Fatalf("unknown host: %v", err)
		}
		if _, err := dial(t, lab, h, "root", "", &conn.HostKeys{File: empty, AcceptNew: true}); err != nil {
			t.Fatalf("--accept-new-host-keys: %v", err)
		}
		written, _ := os.ReadFile(empty)
		if !strings.HasPrefix(string(written), "[127.0.31.1]:2222 ssh-ed25519 ") {
			t.Fatalf("known_hosts after trust on first use: %q", written)
		}
		if _, err := dial(t, lab, h, "root", "", &conn.HostKeys{File: empty}); err != nil {
			t.Errorf("the written key is not accepted afterwards: %v", err)
		}
	})

	t.Run("become to another user, with and without a password", func(t *testing.T) {
		deploy, err := dial(t, lab, h, "deploy", "deploy-pw", keys)
		if err != nil {
			t.Fatal(err)
		}
		asRoot := conn.WithTask(deploy, nil, conn.Become{Enabled: true, User: "root", Password: "deploy-pw"})
		if got := run(t, asRoot, module.Command{Argv: []string{"id", "-un"}}); got != "root\n" {
			t.Errorf("become root: %q", got)
		}
		// Files too: a root-only folder.
		dir := filepath.Join(lab.Dir, "rootonly")
		os.MkdirAll(dir, 0o700)
		p := filepath.Join(dir, "hosts")
		if err := asRoot.WriteFile(context.Background(), p, []byte("10.0.10.49 finance\n"), module.WriteOptions{Mode: 0o640}); err != nil {
			t.Fatal(err)
		}
		if data, err := asRoot.ReadFile(context.Background(), p); err != nil || string(data) != "10.0.10.49 finance\n" {
			t.Errorf("read back as root: %q %v", data, err)
		}
		if fi, err := asRoot.Stat(context.Background(), p); err != nil || fi.Mode != 0o640 || fi.Owner != "root" {
			t.Errorf("stat as root: %+v %v", fi, err)
		}
		if _, err := deploy.ReadFile(context.Background(), p); err == nil {
			t.Error("deploy read a root-only file without become")
		}
		root, err := dial(t, lab, h, "root", "", keys)
		if err != nil {
			t.Fatal(err)
		}
		asApp := conn.WithTask(root, nil, conn.Become{Enabled: true, User: "app"})
		if got := run(t, asApp, module.Command{Argv: []string{"id", "-un"}}); got != "app\n" {
			t.Errorf("become app: %q", got)
		}
		// sudo asks root for nothing: the password must not reach the command.
		quiet := conn.WithTask(root, nil, conn.Become{Enabled: true, User: "app", Password: "s3cret-pw"})
		if got := run(t, quiet, module.Command{Argv: []string{"cat"}, Stdin: []byte("data\n")}); got != "data\n" {
			t.Errorf("the command's stdin was %q", got)
		}
	})

	t.Run("a new file gets the host's default mode: 0666 less its umask", func(t *testing.T) {
		deploy, err := dial(t, lab, h, "deploy", "deploy-pw", keys)
		if err != nil {
			t.Fatal(err)
		}
		asRoot := conn.WithTask(deploy, nil, conn.Become{Enabled: true, User: "root", Password: "deploy-pw"})
		root, err := dial(t, lab, h, "root", "", keys)
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]module.MutableHost{"sftp": root, "become": asRoot} {
			umask, err := strconv.ParseUint(strings.TrimSpace(run(t, c, module.Command{Shell: "umask"})), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(lab.Dir, "new-"+name)
			os.Remove(p)
			if err := c.WriteFile(context.Background(), p, []byte("x\n"), module.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if fi, err := c.Stat(context.Background(), p); err != nil || fi.Mode != fs.FileMode(0o666&^umask) {
				t.Errorf("%s: a new file under umask %04o: %+v %v", name, umask, fi, err)
			}
			// An existing file keeps its mode, 0000 (RHEL's /etc/shadow) too.
			os.Chmod(p, 0)
			if err := c.WriteFile(context.Background(), p, []byte("y\n"), module.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if fi, err := c.Stat(context.Background(), p); err != nil || fi.Mode != 0 {
				t.Errorf("%s: a 0000 file rewritten: %+v %v", name, fi, err)
			}
		}
	})

	t.Run("the environment does not travel in the command line", func(t *testing.T) {
		c, err := dial(t, lab, h, "root", "", keys)
		if err != nil {
			t.Fatal(err)
		}
		// While the command runs, look for the secret in every process's
		// arguments on this machine (the lab's sshd runs here).
		done := make(chan string, 1)
		go func() {
			done <- run(t, c, module.Command{Shell: `echo "$DB_PASSWORD"; sleep 1`, Env: map[string]string{"DB_PASSWORD": "pw-123"}})
		}()
		deadline := time.Now().Add(700 * time.Millisecond)
		for time.Now().Before(deadline) {
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range procs {
				if args, _ := os.ReadFile(p); bytes.Contains(args, []byte("pw-123")) {
					t.Errorf("the secret shows in %s: %q", p, args)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if out := <-done; out != "pw-123\n" {
			t.Errorf("the variable is %q", out)
		}
	})

	t.Run("a write is atomic: a reader sees the old or the new file, never half", func(t *testing.T) {
		c, err := dial(t, lab, h, "root", "", keys)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(lab.Dir, "atomic.txt")
		a, b := bytes.Repeat([]byte("a"), 1<<20), bytes.Repeat([]byte("b"), 1<<20)
		os.WriteFile(p, a, 0o600)
		var stop atomic.Bool
		var torn atomic.Int32
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				data, err := os.ReadFile(p)
				if err == nil && !bytes.Equal(data, a) && !bytes.Equal(data, b) {
					torn.Add(1)
				}
			}
		}()
		for i := 0; i < 10; i++ {
			data := a
			if i%2 == 0 {
				data = b
			}
			if err := c.WriteFile(context.Background(), p, data, module.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		stop.Store(true)
		wg.Wait()
		if n := torn.Load(); n > 0 {
			t.Errorf("%d reads saw a partly written file", n)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode not kept: %v", fi.Mode())
		}
		if leftovers, _ := filepath.Glob(filepath.Join(lab.Dir, ".atomic.txt.cutover-*")); len(leftovers) > 0 {
			t.Errorf("temp files left: %v", leftovers)
		}
	})

	t.Run("a TCP dial from the host's side goes through the connection", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			s, err := ln.Accept()
			if err == nil {
				io.Copy(s, s)
				s.Close()
			}
		}()
		c, err := dial(t, lab, h, "root", "", keys)
		if err != nil {
			t.Fatal(err)
		}
		tunnel, err := c.Dial(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer tunnel.Close()
		tunnel.Write([]byte("ping\n"))
		buf := make([]byte, 5)
		if _, err := io.ReadFull(tunnel, buf); err != nil || string(buf) != "ping\n" {
			t.Errorf("echo through the tunnel: %q %v", buf, err)
		}
	})

	t.Run("a hanging command is bounded by its timeout", func(t *testing.T) {
		c, err := dial(t, lab, h, "root", "", keys)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = c.Run(context.Background(), module.Command{Argv: []string{"sleep", "30"}, Timeout: 300 * time.Millisecond})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("timeout: %v after %v", err, time.Since(start))
		}
		if got := run(t, c, module.Command{Argv: []string{"echo", "still fine"}}); got != "still fine\n" {
			t.Errorf("the connection after a timeout: %q", got)
		}
	})

	t.Run("a host that goes away is unreachable", func(t *testing.T) {
		other := lab.Host("timesheets")
		c, err := dial(t, lab, other, "root", "", keys)
		if err != nil {
			t.Fatal(err)
		}
		other.Kill()
		_, err = c.Run(context.Background(), module.Command{Argv: []string{"true"}})
		if !errors.Is(err, conn.ErrUnreachable) {
			t.Errorf("run on a killed host: %v", err)
		}
		if _, err := dial(t, lab, other, "root", "", keys); !errors.Is(err, conn.ErrUnreachable) {
			t.Errorf("dial a stopped host: %v", err)
		}
	})
}

// TestSSHManySessionsAtOnce runs more commands at once than sshd's
// MaxSessions allows on one connection: they queue instead of failing.
func TestSSHManySessionsAtOnce(t *testing.T) {
	lab := sshlab.Start(t, 32, "finance")
	c, err := dial(t, lab, lab.Hosts[0], "root", "", &conn.HostKeys{File: lab.KnownHosts})
	if err != nil {
		t.Fatal(err)
	}
	c.ReadFile(context.Background(), "/etc/hostname") // SFTP holds a slot too
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Run(context.Background(), module.Command{Argv: []string{"sleep", "0.1"}})
			if err == nil && res.RC != 0 {
				err = errors.New(string(res.Stderr))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := lab.Hosts[0].Connections(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestSSHAgent authenticates with a key held only by an ssh-agent.
func TestSSHAgent(t *testing.T) {
	lab := sshlab.Start(t, 33, "finance")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agent.Process.Kill(); agent.Wait() }()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	if out, err := exec.Command("ssh-add", lab.ClientKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	h := lab.Hosts[0]
	c, err := conn.DialSSH(context.Background(), conn.SSHConfig{Name: h.Name, Addr: h.Addr, Port: sshlab.Port, User: "root",
		Agent: true, HostKeys: &conn.HostKeys{File: lab.KnownHosts}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := run(t, c, module.Command{Argv: []string{"id", "-un"}}); got != "root\n" {
		t.Errorf("id -un = %q", got)
	}
}

// TestSSHWriteToABindMountedFile: /etc/hosts in the lab (as in a
// container) is a bind mount that a rename cannot replace; the write goes
// in place, and nothing lands in this machine's /etc.
func TestSSHWriteToABindMountedFile(t *testing.T) {
	lab := sshlab.Start(t, 34, "finance")
	c, err := dial(t, lab, lab.Hosts[0], "root", "", &conn.HostKeys{File: lab.KnownHosts})
	if err != nil {
		t.Fatal(err)
	}
	realHosts, _ := os.ReadFile("/etc/hosts")
	want := "127.0.0.1\tlocalhost\n10.0.10.49\tfinance.thehumanjourney.net\n"
	if err := c.WriteFile(context.Background(), "/etc/hosts", []byte(want), module.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(lab.Dir, "host1", "root", "etc", "hosts")); string(got) != want {
		t.Errorf("the lab host's /etc/hosts: %q", got)
	}
	if after, _ := os.ReadFile("/etc/hosts"); !bytes.Equal(after, realHosts) {
		t.Error("this machine's /etc/hosts changed")
	}
	if stray, _ := filepath.Glob("/etc/.hosts.cutover-*"); len(stray) > 0 {
		t.Errorf("temp files in this machine's /etc: %v", stray)
	}
}
