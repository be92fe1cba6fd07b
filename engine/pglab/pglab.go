// Package pglab starts throw-away PostgreSQL clusters on loopback: initdb
// into a fresh folder (as the postgres user when run as root, as initdb
// refuses root), password logins over TCP checked with SCRAM-SHA-256, and
// the cluster's own socket folder, so several clusters live side by side.
// Tests use one as the "new" host beside the machine's server; the
// rehearsal lab uses one per database host.
package pglab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Cluster is one running PostgreSQL server.
type Cluster struct {
	Dir      string // holds data/, the socket and the log
	Addr     string // listen address, 127.x.y.z
	Port     int
	Password string // the postgres role's password
	bin      string
	owner    *user.User // nil: the current user
}

// Options say where a cluster listens. Zero values pick 127.0.0.1 and a
// free port.
type Options struct {
	Addr     string
	Port     int
	Password string // default: a fixed test password
	Parent   string // folder to create the cluster's folder in; default os.TempDir()
}

// Bin is the newest installed PostgreSQL's program folder.
func Bin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(dirs) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", errors.New("no PostgreSQL server programs (initdb): install postgresql")
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	return dirs[len(dirs)-1], nil
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start runs initdb and starts the server; it returns once the server
// accepts connections.
func Start(o Options) (*Cluster, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Addr: o.Addr, Port: o.Port, Password: o.Password, bin: bin}
	if c.Addr == "" {
		c.Addr = "127.0.0.1"
	}
	if c.Password == "" {
		c.Password = "lab-postgres-pw"
	}
	if c.Port == 0 {
		if c.Port, err = freePort(c.Addr); err != nil {
			return nil, err
		}
	}
	if os.Geteuid() == 0 {
		if c.owner, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("initdb cannot run as root and there is no postgres user: %w", err)
		}
	}
	if c.Dir, err = os.MkdirTemp(o.Parent, "pglab-"); err != nil {
		return nil, err
	}
	if err := c.init(); err != nil {
		os.RemoveAll(c.Dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) init() error {
	// The folder must be reachable by the postgres user: MkdirTemp makes
	// it 0700, owned by us.
	if err := os.Chmod(c.Dir, 0o755); err != nil {
		return err
	}
	if err := c.chown(c.Dir); err != nil {
		return err
	}
	pwfile := filepath.Join(c.Dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o600); err != nil {
		return err
	}
	if err := c.chown(pwfile); err != nil {
		return err
	}
	err := c.run("initdb", "-D", c.DataDir(), "-U", "postgres", "--pwfile="+pwfile, "-N",
		"--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8", "--locale=C")
	os.Remove(pwfile)
	if err != nil {
		return err
	}
	// fsync off: a test cluster need not survive a crash, and loading a
	// database is several times faster without it.
	opts := fmt.Sprintf("-p %d -c listen_addresses=%s -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
		c.Port, c.Addr, c.Dir)
	return c.run("pg_ctl", "-D", c.DataDir(), "-o", opts, "-l", c.LogFile(), "-w", "-t", "60", "start")
}

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return filepath.Join(c.Dir, "data") }

// LogFile is the server's log.
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, "server.log") }

// ConnString is a libpq key=value string for db as postgres, password
// included: for tests and the lab, whose passwords are not secrets.
func (c *Cluster) ConnString(db string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres password=%s dbname=%s sslmode=disable", c.Addr, c.Port, c.Password, db)
}

// Stop stops the server at once and removes its folder.
func (c *Cluster) Stop() error {
	err := c.run("pg_ctl", "-D", c.DataDir(), "-m", "immediate", "-w", "stop")
	if rmErr := os.RemoveAll(c.Dir); err == nil {
		err = rmErr
	}
	return err
}

// run runs one of the server's programs as the cluster's owner.
func (c *Cluster) run(prog string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{filepath.Join(c.bin, prog)}, args...)
	if c.owner != nil {
		argv = append([]string{"runuser", "-u", c.owner.Username, "--"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(c.LogFile())
		return fmt.Errorf("%s: %v\n%s%s", prog, err, strings.TrimSpace(out.String()), tail(string(log)))
	}
	return nil
}

func (c *Cluster) chown(path string) error {
	if c.owner == nil {
		return nil
	}
	uid, _ := strconv.Atoi(c.owner.Uid)
	gid, _ := strconv.Atoi(c.owner.Gid)
	return os.Chown(path, uid, gid)
}

func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return "\nserver log:\n" + strings.Join(lines, "\n")
}
