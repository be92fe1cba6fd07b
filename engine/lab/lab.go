package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cutover/cutover/engine/pglab"
	"github.com/cutover/cutover/scripts"
)

// DefaultDir is where the lab lives unless told otherwise; inventory/lab.yml
// names its key and known_hosts there.
const DefaultDir = "/var/tmp/cutover-lab"

// DNSPort is where the lab's BIND answers on 127.0.0.1 (53 is this
// machine's own business).
const DNSPort = 5353

// Lab is the estate under one folder.
type Lab struct {
	Dir string
	Log io.Writer // progress, one line per step
	// Executable runs the relay ("EXE lab relay DIR"); default: this
	// program.
	Executable string
}

func (l *Lab) logf(format string, args ...any) {
	if l.Log != nil {
		fmt.Fprintf(l.Log, format+"\n", args...)
	}
}

func (l *Lab) hostDir(h Host) string { return filepath.Join(l.Dir, fmt.Sprintf("host%d", h.Index)) }

// Up builds whatever is missing and starts whatever is stopped: the hosts
// (sshd, PostgreSQL), the seeded databases, the broker's vhost, BIND and
// the relay. Running it again on a running lab changes nothing.
func (l *Lab) Up(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errors.New("the lab needs root (namespaces, sshd, initdb as postgres)")
	}
	start := time.Now()
	if err := l.ensurePackages(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return err
	}
	os.Chmod(l.Dir, 0o755) // postgres walks through it to its clusters
	script := filepath.Join(l.Dir, "sshlab.sh")
	if err := os.WriteFile(script, scripts.SSHLab, 0o755); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, script, "prepare", l.Dir, strconv.Itoa(len(Estate)), strconv.Itoa(Net)).CombinedOutput(); err != nil {
		return fmt.Errorf("prepare the hosts: %v\n%s", err, out)
	}
	for _, h := range Estate {
		if err := l.prepareHost(ctx, h); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	for _, h := range Estate {
		if err := l.startHost(ctx, h); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	l.logf("hosts: %d running (sshd on 127.0.%d.1-%d:2222, PostgreSQL on :5432 of each)", len(Estate), Net, len(Estate))
	if err := l.seed(ctx); err != nil {
		return err
	}
	if err := l.broker(ctx); err != nil {
		return fmt.Errorf("RabbitMQ: %w", err)
	}
	if err := l.startDNS(ctx); err != nil {
		return fmt.Errorf("BIND: %w", err)
	}
	if err := l.startRelay(ctx); err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	l.logf("lab up in %.1f s: inventory/lab.yml describes it", time.Since(start).Seconds())
	return nil
}

// labPackages are the Debian packages the lab runs, by a program each
// provides.
var labPackages = map[string][]string{
	"/usr/sbin/sshd":        {"openssh-server"},
	"/usr/sbin/named":       {"bind9"},
	"/usr/sbin/rabbitmqctl": {"rabbitmq-server"},
	"/usr/bin/pg_dump":      {"postgresql", "postgresql-contrib"},
	"/usr/bin/python3":      {"python3"},
	"/usr/sbin/update-rc.d": {"init-system-helpers"},
	"/usr/bin/openssl":      {"openssl"},
	"/usr/bin/crontab":      {"cron"},
	"/usr/sbin/visudo":      {"sudo"},
	"/usr/sbin/ufw":         {"ufw"},
}

// ensurePackages installs what is missing and starts RabbitMQ when it is
// installed but not answering: the lab needs nothing prepared.
func (l *Lab) ensurePackages(ctx context.Context) error {
	var missing []string
	for path, pkgs := range labPackages {
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, pkgs...)
		}
	}
	if _, err := pglab.Bin(); err != nil {
		missing = append(missing, "postgresql")
	}
	if len(missing) > 0 {
		l.logf("installing %s", strings.Join(missing, " "))
		for _, argv := range [][]string{{"apt-get", "update", "-qq"}, append([]string{"apt-get", "install", "-y", "-qq", "--no-install-recommends"}, missing...)} {
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
			}
		}
	}
	if !answers("127.0.0.1:5672") {
		l.logf("starting RabbitMQ")
		if out, err := exec.CommandContext(ctx, "rabbitmq-server", "-detached").CombinedOutput(); err != nil {
			return fmt.Errorf("rabbitmq-server: %v\n%s", err, out)
		}
		for i := 0; i < 300 && !answers("127.0.0.1:5672"); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if !answers("127.0.0.1:5672") {
			return errors.New("RabbitMQ did not start within 30 s")
		}
	}
	return nil
}

// prepareHost writes a host's own files: home folders, the web app's
// config, its init scripts, and a PostgreSQL cluster made with initdb.
func (l *Lab) prepareHost(ctx context.Context, h Host) error {
	dir := l.hostDir(h)
	root := filepath.Join(dir, "root")
	for _, d := range []string{"home/finance", "var/www", "etc-init"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	os.Chown(filepath.Join(root, "home/finance"), 2003, 2003)
	// sshlab.sh writes a bare hosts file; the host's own line goes in once.
	hosts := filepath.Join(root, "etc/hosts")
	if b, _ := os.ReadFile(hosts); !strings.Contains(string(b), h.Name) {
		if err := os.WriteFile(hosts, []byte(hostsFile(h)), 0o644); err != nil {
			return err
		}
	}
	if err := l.prepareFiles(h, root); err != nil {
		return err
	}
	// The host's own init scripts, in its /etc overlay: "service
	// postgresql stop" there stops its cluster, never this machine's.
	upper := filepath.Join(dir, "etc-upper", "init.d")
	if err := os.MkdirAll(upper, 0o755); err != nil {
		return err
	}
	boot := "/etc/init.d/postgresql start\n/etc/init.d/cron start\n"
	scripts := map[string]string{"postgresql": l.pgInitScript(h), "cron": l.cronInitScript(h)}
	if h.Role == "old" {
		scripts["apache2"] = l.webInitScript(h)
		boot += "/etc/init.d/apache2 start\n"
	}
	for name, text := range scripts {
		if err := os.WriteFile(filepath.Join(upper, name), []byte(text), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "boot"), []byte(boot), 0o644); err != nil {
		return err
	}
	return l.initdb(ctx, h)
}

func hostsFile(h Host) string {
	return fmt.Sprintf("127.0.0.1\tlocalhost\n%s\t%s\n", h.Addr(), h.Name)
}

func writeIfMissing(path, content string, mode os.FileMode) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), mode)
}

// pgDir holds a host's cluster: data/, the socket, the log.
func (l *Lab) pgDir(h Host) string { return filepath.Join(l.hostDir(h), "pg") }

func (l *Lab) pgInitScript(h Host) string {
	bin, _ := pglab.Bin()
	pg := l.pgDir(h)
	return initHeader("postgresql") + fmt.Sprintf(`# The lab host's PostgreSQL (%[1]s:5432), as "service postgresql" sees it.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
ctl() { runuser -u postgres -- %[2]s/pg_ctl -D %[3]s/data "$@"; }
case "$1" in
  start) ctl -l %[3]s/server.log -w -t 60 -o "-c listen_addresses=%[1]s -p 5432 -k %[3]s" start ;;
  stop) ctl -m fast -w stop ;;
  restart) ctl -m fast -w stop; ctl -l %[3]s/server.log -w -t 60 -o "-c listen_addresses=%[1]s -p 5432 -k %[3]s" start ;;
  reload) ctl reload ;;
  status) ctl status >/dev/null ;;
  *) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 2 ;;
esac
`, h.Addr(), bin, pg)
}

// initHeader starts a lab init script: the LSB block update-rc.d needs to
// enable or disable it.
func initHeader(name string) string {
	return fmt.Sprintf(`#!/bin/sh
### BEGIN INIT INFO
# Provides:          %[1]s
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: lab %[1]s
### END INIT INFO
`, name)
}

// daemonScript is an init script for a process the lab runs in the
// host's namespace, tracked by a pid file in the host's folder.
func (l *Lab) daemonScript(h Host, name, what, command string) string {
	pid := filepath.Join(l.hostDir(h), name+".pid")
	return initHeader(name) + fmt.Sprintf(`# The lab host's %[1]s (%[2]s), as "service %[1]s" sees it.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
pidfile=%[3]s
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
case "$1" in
  start) running || { nohup %[4]s >/dev/null 2>&1 & echo $! > "$pidfile"; } ;;
  stop) if running; then kill "$(cat "$pidfile")"; fi; rm -f "$pidfile" ;;
  restart) "$0" stop; "$0" start ;;
  status) running ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
`, name, what, pid, command)
}

// webInitScript serves the host's /var/www on its address, port 80: the
// old VMs' web server, which the cutover stops.
func (l *Lab) webInitScript(h Host) string {
	return l.daemonScript(h, "apache2", "a web server: python3's http.server over /var/www, CGI in /var/www/cgi-bin",
		fmt.Sprintf("python3 -m http.server --cgi --bind %s --directory /var/www 80", h.Addr()))
}

// cronInitScript stands for the host's cron daemon. The lab runs no job
// (its crontabs are data the playbooks read and write); what counts is
// whether the service runs, which the cutover changes.
func (l *Lab) cronInitScript(h Host) string {
	return l.daemonScript(h, "cron", "a stand-in: a process whose life is the service's state", "sleep 1000000000")
}

// initdb makes the host's cluster once: password logins (SCRAM) from
// loopback, the postgres role's password the lab's.
func (l *Lab) initdb(ctx context.Context, h Host) error {
	pg := l.pgDir(h)
	if _, err := os.Stat(filepath.Join(pg, "data", "PG_VERSION")); err == nil {
		return nil
	}
	bin, err := pglab.Bin()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(pg, 0o755); err != nil {
		return err
	}
	pwfile := filepath.Join(pg, "pwfile")
	if err := os.WriteFile(pwfile, []byte(PostgresPassword+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	if err := chownPostgres(pg, pwfile); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "runuser", "-u", "postgres", "--", filepath.Join(bin, "initdb"), "-D", filepath.Join(pg, "data"),
		"-U", "postgres", "--pwfile="+pwfile, "-N", "--auth-host=scram-sha-256", "--auth-local=peer", "--encoding=UTF8", "--locale=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// fsync off: the lab need not survive a crash of this machine.
	conf := "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n"
	f, err := os.OpenFile(filepath.Join(pg, "data", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(conf)
	return err
}

func chownPostgres(paths ...string) error {
	out, err := exec.Command("id", "-u", "postgres").Output()
	if err != nil {
		return errors.New("no postgres user: install postgresql")
	}
	uid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	for _, p := range paths {
		if err := os.Chown(p, uid, uid); err != nil {
			return err
		}
	}
	return nil
}

// startHost runs the host's namespace (its boot starts PostgreSQL, then
// sshd) unless it runs already.
func (l *Lab) startHost(ctx context.Context, h Host) error {
	dir := l.hostDir(h)
	if pidAlive(filepath.Join(dir, "pid")) {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(dir, "sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(l.Dir, "sshlab.sh"), "run", l.Dir, strconv.Itoa(h.Index))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return err
	}
	cmd.Process.Release()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		log, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
		if bytes.Contains(log, []byte("Server listening")) {
			return nil
		}
		if !pidAlive(filepath.Join(dir, "pid")) {
			return fmt.Errorf("the host stopped while starting:\n%s", log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("sshd did not start within 90 s")
}

// pidAlive reports whether the process in a pid file runs.
func pidAlive(pidFile string) bool {
	pid := readPid(pidFile)
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func readPid(pidFile string) int {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Down stops everything of the lab and removes its folder, its vhost and
// broker user: nothing of it stays behind.
func (l *Lab) Down(ctx context.Context) error {
	var errs []error
	stopPidFile(filepath.Join(l.Dir, "relay.pid"))
	stopPidFile(filepath.Join(l.Dir, "dns", "named.pid"))
	for _, h := range Estate {
		stopPidFile(filepath.Join(l.hostDir(h), "pid"))
	}
	if err := l.removeBroker(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(l.Dir); err != nil {
		errs = append(errs, err)
	}
	l.logf("lab down: processes stopped, %s removed", l.Dir)
	return errors.Join(errs...)
}

// stopPidFile kills a process (a host's namespace init takes every
// process of the namespace with it) and waits for its end.
func stopPidFile(pidFile string) {
	pid := readPid(pidFile)
	if pid <= 0 {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		if i == 50 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.Remove(pidFile)
}

// HostStatus is what Status reports of a host.
type HostStatus struct {
	Host       Host
	Running    bool // its namespace runs
	SSH, Pgsql bool // its sshd and PostgreSQL answer
}

// Status probes every part of the lab.
func (l *Lab) Status() ([]HostStatus, map[string]bool) {
	var hosts []HostStatus
	for _, h := range Estate {
		hosts = append(hosts, HostStatus{Host: h, Running: pidAlive(filepath.Join(l.hostDir(h), "pid")),
			SSH: answers(h.Addr() + ":2222"), Pgsql: answers(h.Addr() + ":5432")})
	}
	return hosts, map[string]bool{
		"relay": pidAlive(filepath.Join(l.Dir, "relay.pid")),
		"bind":  answers(fmt.Sprintf("127.0.0.1:%d", DNSPort)),
	}
}

func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
