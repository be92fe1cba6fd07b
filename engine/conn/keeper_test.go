package conn_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/sshlab"
)

// keeperEnv asks the test binary to be a keeper instead of running
// tests: the keeper is its own process, as in real use.
const keeperEnv = "CUTOVER_TEST_KEEPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(keeperEnv); dir != "" {
		if err := (&conn.Keeper{Dir: dir}).Serve(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newKeep returns a Keep on a fresh control folder whose keeper is this
// test binary; the keeper is stopped when the test ends.
func newKeep(t *testing.T, persist time.Duration) *conn.Keep {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cp")
	kp := &conn.Keep{Dir: dir, Persist: persist, Command: func(dir string) *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), keeperEnv+"="+dir)
		return cmd
	}}
	t.Cleanup(func() { conn.StopKeeper(dir) })
	return kp
}

// keptDial is one run's connection to a host through the keeper.
func keptDial(t *testing.T, kp *conn.Keep, lab *sshlab.Lab, h *sshlab.Host, user, password string) (*conn.SSH, error) {
	t.Helper()
	return dialWith(t, kp.Dial, lab, h, user, password, &conn.HostKeys{File: lab.KnownHosts})
}

// TestKeeper: runs one after another share one SSH connection per host,
// and everything a run does over it (commands with stdin, stderr and
// exit codes, SFTP, tunnelled TCP) goes through unchanged.
func TestKeeper(t *testing.T) {
	lab := sshlab.Start(t, 35, "finance", "hrdb")
	kp := newKeep(t, time.Minute)
	ctx := context.Background()
	// A TCP service for the hosts to reach through their connection.
	greeter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer greeter.Close()
	go func() {
		for {
			c, err := greeter.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("greetings\n"))
			c.Close()
		}
	}()
	for round := 1; round <= 3; round++ {
		for _, h := range lab.Hosts {
			c, err := keptDial(t, kp, lab, h, "root", "")
			if err != nil {
				t.Fatalf("run %d, %s: %v", round, h.Name, err)
			}
			res, err := c.Run(ctx, module.Command{Shell: "cat; echo to-stderr >&2; exit 3", Stdin: []byte("from stdin\n"),
				Env: map[string]string{"GREETING": "hello"}})
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Stdout) != "from stdin\n" || string(res.Stderr) != "to-stderr\n" || res.RC != 3 {
				t.Errorf("run %d, %s: stdout %q stderr %q rc %d", round, h.Name, res.Stdout, res.Stderr, res.RC)
			}
			if got := run(t, c, module.Command{Shell: `echo "$GREETING"`, Env: map[string]string{"GREETING": "hello"}}); got != "hello\n" {
				t.Errorf("environment: %q", got)
			}
			file := "/tmp/keeper-test-" + h.Name
			if err := c.WriteFile(ctx, file, []byte(h.Name), module.WriteOptions{Mode: 0o600}); err != nil {
				t.Fatal(err)
			}
			if data, err := c.ReadFile(ctx, file); err != nil || string(data) != h.Name {
				t.Errorf("SFTP read back %q, %v", data, err)
			}
			tcp, err := c.Dial(ctx, "tcp", greeter.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(tcp).ReadString('\n')
			tcp.Close()
			if line != "greetings\n" {
				t.Errorf("through the tunnel: %q", line)
			}
			c.Close()
		}
	}
	for _, h := range lab.Hosts {
		if n := h.Connections(); n != 1 {
			t.Errorf("%s: %d SSH connections over 3 runs, want 1", h.Name, n)
		}
	}
	kept, err := conn.KeptHosts(kp.Dir)
	if err != nil || len(kept) != 2 || kept[0].Name != "finance" || kept[1].Name != "hrdb" || kept[0].Runs != 0 {
		t.Errorf("kept hosts %+v, %v", kept, err)
	}
	if err := conn.StopKeeper(kp.Dir); err != nil {
		t.Fatal(err)
	}
	waitGone(t, conn.KeeperSocket(kp.Dir))
}

// waitGone waits for the keeper to remove its socket as it exits.
func waitGone(t *testing.T, sock string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); errors.Is(err, os.ErrNotExist) {
			return
		}
	}
	t.Fatalf("%s still there: the keeper did not exit", sock)
}

// keptFinance starts a one-host lab and a keeper, and attaches a run to
// the host as root.
func keptFinance(t *testing.T) (*sshlab.Lab, *sshlab.Host, *conn.Keep, *conn.SSH) {
	t.Helper()
	lab := sshlab.Start(t, 35, "finance")
	h := lab.Hosts[0]
	kp := newKeep(t, time.Minute)
	c, err := keptDial(t, kp, lab, h, "root", "")
	if err != nil {
		t.Fatal(err)
	}
	return lab, h, kp, c
}

// TestKeeperHostGoesAway: a host that dies under a run fails that run as
// unreachable; when it is back, the next run connects to it anew.
func TestKeeperHostGoesAway(t *testing.T) {
	lab, h, kp, c := keptFinance(t)
	run(t, c, module.Command{Argv: []string{"true"}})
	h.Kill()
	_, err := c.Run(context.Background(), module.Command{Argv: []string{"true"}})
	if !errors.Is(err, conn.ErrUnreachable) || !strings.Contains(err.Error(), "keeper.log may say why") {
		t.Errorf("a run on a dead host: %v, want unreachable, pointing at the keeper's log", err)
	}
	if log, _ := os.ReadFile(filepath.Join(kp.Dir, "keeper.log")); !strings.Contains(string(log), "finance (root@"+h.Addr+":2222): the connection ended under 1 runs") {
		t.Errorf("keeper.log does not tell the connection's end:\n%s", log)
	}
	if _, err := keptDial(t, kp, lab, h, "root", ""); !errors.Is(err, conn.ErrUnreachable) {
		t.Errorf("attaching to a dead host: %v, want unreachable", err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	c, err = keptDial(t, kp, lab, h, "root", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := run(t, c, module.Command{Argv: []string{"echo", "back"}}); got != "back\n" {
		t.Errorf("after the restart: %q", got)
	}
	if n := h.Connections(); n != 2 {
		t.Errorf("%d connections, want 2 (one per life of the host)", n)
	}
}

// TestKeeperRefusals: what a host or the keeper refuses, it refuses
// through the keeper too, and a kept login never lends itself to another.
func TestKeeperRefusals(t *testing.T) {
	lab := sshlab.Start(t, 35, "finance")
	h := lab.Hosts[0]
	kp := newKeep(t, time.Minute)
	if _, err := keptDial(t, kp, lab, h, "deploy", "deploy-pw"); err != nil {
		t.Fatal(err)
	}
	_, err := keptDial(t, kp, lab, h, "deploy", "wrong-password")
	if !errors.Is(err, conn.ErrUnreachable) || strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("a wrong password next to a kept login: %v", err)
	}
	other := *lab
	other.KnownHosts = filepath.Join(t.TempDir(), "empty_known_hosts")
	os.WriteFile(other.KnownHosts, nil, 0o600)
	if _, err := keptDial(t, kp, &other, h, "deploy", "deploy-pw"); !errors.Is(err, conn.ErrHostKey) {
		t.Errorf("a known_hosts without the host: %v, want a host key error", err)
	}

	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o755)
	wide := *kp
	wide.Dir = open
	_, err = keptDial(t, &wide, lab, h, "root", "")
	if !errors.Is(err, conn.ErrNoKeeper) || !strings.Contains(err.Error(), "must be 0700") {
		t.Errorf("a control folder others may enter: %v", err)
	}
}

// TestKeeperPersist: a connection closes once no run has used it for its
// persist time, and the keeper exits with the last one.
func TestKeeperPersist(t *testing.T) {
	lab := sshlab.Start(t, 35, "finance")
	kp := newKeep(t, 300*time.Millisecond)
	c, err := keptDial(t, kp, lab, lab.Hosts[0], "root", "")
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, module.Command{Argv: []string{"true"}})
	time.Sleep(time.Second) // attached runs hold the connection
	run(t, c, module.Command{Argv: []string{"true"}})
	c.Close()
	waitGone(t, conn.KeeperSocket(kp.Dir))
	if n := lab.Hosts[0].Connections(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestControlPersist(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		persist time.Duration
		keep    bool
		err     string
	}{
		{[]string{conn.DefaultSSHArgs}, time.Minute, true, ""},
		{[]string{""}, 0, false, ""},
		{[]string{"-C"}, 0, false, ""},
		{[]string{"-o ControlMaster=auto"}, 0, false, ""}, // the master ends with its run
		{[]string{"-o ControlMaster=auto -o ControlPersist=no"}, 0, false, ""},
		{[]string{"-o ControlMaster=no -o ControlPersist=60s"}, 0, false, ""},
		{[]string{"-oControlMaster=yes -o 'ControlPersist 1h30m'"}, 90 * time.Minute, true, ""},
		{[]string{"-o controlmaster=auto -o controlpersist=yes"}, conn.Forever, true, ""},
		{[]string{"-o ControlMaster=auto -o ControlPersist=120"}, 2 * time.Minute, true, ""},
		{[]string{"-o ControlMaster=auto -o ControlPersist=0s"}, conn.Forever, true, ""},
		// ssh takes the first value of an option: ssh_args before the rest.
		{[]string{conn.DefaultSSHArgs, "-o ControlPersist=no"}, time.Minute, true, ""},
		{[]string{"-o ControlMaster=auto", "", "-o ControlPersist=5m"}, 5 * time.Minute, true, ""},
		{[]string{"-o ControlMaster=auto -o ControlPersist=soon"}, 0, false, "ControlPersist=soon"},
		{[]string{"-o 'ControlMaster=auto"}, 0, false, "unclosed quote"},
	} {
		persist, keep, err := conn.ControlPersist(tc.args...)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one naming %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || persist != tc.persist || keep != tc.keep {
			t.Errorf("%q: %v %v %v, want %v %v", tc.args, persist, keep, err, tc.persist, tc.keep)
		}
	}
}

// TestKeeperOneServesAFolder: a second keeper for the same folder refuses
// to start and leaves the first one's socket alone.
func TestKeeperOneServesAFolder(t *testing.T) {
	lab := sshlab.Start(t, 35, "finance")
	h := lab.Hosts[0]
	kp := newKeep(t, time.Minute)
	if _, err := keptDial(t, kp, lab, h, "root", ""); err != nil {
		t.Fatal(err)
	}
	err := (&conn.Keeper{Dir: kp.Dir}).Serve()
	if err == nil || !strings.Contains(err.Error(), "already serves") {
		t.Fatalf("a second keeper: %v", err)
	}
	c, err := keptDial(t, kp, lab, h, "root", "")
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, module.Command{Argv: []string{"true"}})
	if n := h.Connections(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestKeeperFolderRemoved: a run attached when the control folder goes
// keeps its connection to the end; the next run starts a new keeper.
func TestKeeperFolderRemoved(t *testing.T) {
	lab, h, kp, c := keptFinance(t)
	os.RemoveAll(kp.Dir)
	time.Sleep(time.Second) // the keeper notices within a quarter of that
	if got := run(t, c, module.Command{Argv: []string{"echo", "still"}}); got != "still\n" {
		t.Errorf("the attached run after the folder went: %q", got)
	}
	c.Close()
	c, err := keptDial(t, kp, lab, h, "root", "")
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, module.Command{Argv: []string{"true"}})
	if _, err := os.Stat(conn.KeeperSocket(kp.Dir)); err != nil {
		t.Errorf("no new keeper: %v", err)
	}
}

// TestKeeperRunsShareMaxSessions: two runs on one kept connection, each
// with as many sessions at once as a run allows, stay within sshd's
// MaxSessions (10): the keeper queues the excess instead of sshd refusing
// it.
func TestKeeperRunsShareMaxSessions(t *testing.T) {
	lab := sshlab.Start(t, 35, "finance")
	h := lab.Hosts[0]
	kp := newKeep(t, time.Minute)
	var runs []*conn.SSH
	for range 2 {
		c, err := keptDial(t, kp, lab, h, "root", "")
		if err != nil {
			t.Fatal(err)
		}
		c.ReadFile(context.Background(), "/etc/hostname") // each run's SFTP holds a session
		runs = append(runs, c)
	}
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			// Longer than a run's own retry window (about a second).
			res, err := runs[i%2].Run(context.Background(), module.Command{Argv: []string{"sleep", "1.5"}})
			if err == nil && res.RC != 0 {
				err = errors.New(string(res.Stderr))
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestKeeperQuickCommands: a command that ends at once has its exec
// request answered before its channel closes (the host's reply and its
// close arrive together; the run must see the first).
func TestKeeperQuickCommands(t *testing.T) {
	_, _, _, c := keptFinance(t)
	errs := make(chan error, 400)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := c.Run(context.Background(), module.Command{Argv: []string{"true"}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
