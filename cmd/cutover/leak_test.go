package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/engine/pglab"
	"github.com/cutover/cutover/engine/sshlab"
	"github.com/cutover/cutover/engine/vault"
)

// leakSecrets are the passwords of the leak test, each kept in a vault.
var leakSecrets = map[string]string{
	"vault_pg_admin_password":   "PgAdmin-Leak-9q",
	"vault_role_password":       "Role-Leak-7w",
	"vault_dblink_password":     "Dblink-Old-Leak-3e",
	"vault_dblink_new_password": "Dblink-New-Leak-4r",
	"vault_amqp_password":       "Amqp-Leak-5t",
	"vault_deploy_password":     "deploy-pw", // the lab user's login and sudo password
}

// TestNoSecretLeaks runs a playbook over an SSH lab host, logged in and
// becoming root with a password, in which every module that takes a
// password uses one from a vault, a dblink connection string's password is
// rewritten, a command prints a password, and a task fails with a password
// in its message. Text and JSON runs, with -vvv and --diff, are searched
// byte by byte (stdout, stderr, the retry file), and so is every process's
// command line, sampled during the runs: no secret may appear.
func TestNoSecretLeaks(t *testing.T) {
	bin := cutoverBinary(t)
	lab := sshlab.Start(t, 47, "finance")
	pg, err := pglab.Start(pglab.Options{Password: leakSecrets["vault_pg_admin_password"]})
	if err != nil {
		t.Fatalf("the database host's cluster: %v", err)
	}
	t.Cleanup(func() { pg.Stop() })
	amqpUser := fmt.Sprintf("cutover_leak_%d", os.Getpid())
	rabbitUser(t, amqpUser, leakSecrets["vault_amqp_password"])

	dir := t.TempDir()
	os.Chmod(dir, 0o755) // the lab's deploy user reads nothing here, but pg_dump runs as root
	vaultPW := filepath.Join(dir, "vault-pw")
	os.WriteFile(vaultPW, []byte("leak-test-vault-pw\n"), 0o600)
	var plain strings.Builder
	for k, v := range leakSecrets {
		fmt.Fprintf(&plain, "%s: %q\n", k, v)
	}
	enc, err := vault.Encrypt([]byte(plain.String()), []byte("leak-test-vault-pw"), vault.DefaultLabel)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "group_vars", "all"), 0o755)
	os.WriteFile(filepath.Join(dir, "group_vars", "all", "vault.yml"), enc, 0o600)
	os.WriteFile(filepath.Join(dir, "group_vars", "all", "main.yml"), []byte(fmt.Sprintf(`pg_port: %d
pg_admin_password: "{{ vault_pg_admin_password }}"
ansible_password: "{{ vault_deploy_password }}"
ansible_become_password: "{{ vault_deploy_password }}"
amqp_user: %s
`, pg.Port, amqpUser)), 0o644)
	h := lab.Hosts[0]
	os.WriteFile(filepath.Join(dir, "hosts.ini"), []byte(fmt.Sprintf(
		"finance ansible_host=%s ansible_port=%d ansible_user=deploy ansible_ssh_known_hosts_file=%s\n",
		h.Addr, sshlab.Port, lab.KnownHosts)), 0o644)
	os.WriteFile(filepath.Join(dir, "leak.yml"), []byte(leakPlaybook), 0o644)

	for _, mode := range [][]string{{"--output", "text"}, {"--output", "json"}} {
		t.Run(mode[1], func(t *testing.T) {
			retry := filepath.Join(dir, "retry-"+mode[1])
			args := append([]string{"run", "-i", "hosts.ini", "leak.yml", "-vvv", "--diff", "--vault-password-file", vaultPW,
				"--retry-file", retry, "-e", "dump_dir=" + filepath.Join(dir, "dumps-"+mode[1]), "-e", "n=" + mode[1]}, mode...)
			stopSampling, cmdlines := sampleCommandLines()
			res := runCommand(t, dir, bin, args...)
			samples := stopSampling()
			// The run did what it says: it reached the failing task at the
			// end, having run every module before it.
			recap := regexp.MustCompile(`ok=17 .*failed=1 |"failed":1,.*"ok":17,`)
			if res.code != 2 || !recap.MatchString(res.stdout) {
				t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, "********") {
				t.Error("nothing was masked: the test proves nothing")
			}
			retried, _ := os.ReadFile(retry)
			if string(retried) != "finance\n" {
				t.Errorf("retry file: %q", retried)
			}
			if *cmdlines < 10 {
				t.Errorf("only %d command lines sampled during the run", *cmdlines)
			}
			places := map[string]string{"stdout": res.stdout, "stderr": res.stderr, "the retry file": string(retried), "process command lines": samples}
			for name, secret := range leakSecrets {
				for where, text := range places {
					if i := strings.Index(text, secret); i >= 0 {
						t.Errorf("%s (%s) appears in %s: ...%s...", name, secret, where, text[max(0, i-200):min(len(text), i+100)])
					}
				}
			}
		})
	}
}

// leakPlaybook uses every password-taking module; the last task fails
// with a password in its message.
const leakPlaybook = `- hosts: finance
  gather_facts: false
  vars:
    role_password: "{{ vault_role_password }}"
    db: {login_host: 127.0.0.1, login_port: "{{ pg_port }}", login_password: "{{ pg_admin_password }}", ssl_mode: disable}
  tasks:
    - name: a role with a password
      pg_user: {name: leak_role, password: "{{ role_password }}", login_port: "{{ pg_port }}", login_password: "{{ pg_admin_password }}", ssl_mode: disable}
    - name: log in as the role
      pg_query: {query: "SELECT current_user AS who", login_user: leak_role, login_password: "{{ role_password }}", login_port: "{{ pg_port }}", ssl_mode: disable}
      register: who
    - assert: {that: ["who.query_result[0].who == 'leak_role'"]}
    - name: a database with dblink functions
      pg_query: {query: "CREATE DATABASE leak_{{ n }}", autocommit: true, login_port: "{{ pg_port }}", login_password: "{{ pg_admin_password }}", ssl_mode: disable}
    - pg_query:
        db: "leak_{{ n }}"
        login_port: "{{ pg_port }}"
        login_password: "{{ pg_admin_password }}"
        ssl_mode: disable
        query: |
          CREATE FUNCTION pull_timesheets() RETURNS text LANGUAGE sql AS $$
            SELECT 'host=10.0.10.23 dbname=timesheets user=finance password={{ vault_dblink_password }}'::text $$
    - name: rewrite the dblink host and password
      pg_function_rewrite:
        db: "leak_{{ n }}"
        login_port: "{{ pg_port }}"
        login_password: "{{ pg_admin_password }}"
        ssl_mode: disable
        replacements:
          - {from: 10.0.10.23, to: timesheets.example.org}
          - {from: "{{ vault_dblink_password }}", to: "{{ vault_dblink_new_password }}"}
    - name: a folder for the dump
      become: true
      file: {path: "{{ dump_dir }}", state: directory, mode: "0700"}
    - name: dump
      become: true
      pg_dump: {db: "leak_{{ n }}", dest: "{{ dump_dir }}/leakdb.dump", login_port: "{{ pg_port }}", login_password: "{{ pg_admin_password }}", ssl_mode: disable}
    - name: restore
      become: true
      pg_restore: {db: "leak_{{ n }}_restored", create: true, src: "{{ dump_dir }}/leakdb.dump", login_port: "{{ pg_port }}", login_password: "{{ pg_admin_password }}", ssl_mode: disable}
    - name: copy
      pg_copy:
        db: "leak_{{ n }}_copied"
        create: true
        login_port: "{{ pg_port }}"
        login_password: "{{ pg_admin_password }}"
        ssl_mode: disable
        source: {db: "leak_{{ n }}", login_host: 127.0.0.1, login_port: "{{ pg_port }}", login_password: "{{ pg_admin_password }}", ssl_mode: disable}
    - name: the broker with a password
      amqp_publish_test: {exchange: amq.topic, routing_key: cutover.leak.test, login_user: "{{ amqp_user }}", login_password: "{{ vault_amqp_password }}"}
    - name: a database change and the broker, both with passwords
      amqp_expect:
        exchange: amq.topic
        routing_key: cutover.leak.none
        expect: none
        timeout: 1s
        login_user: "{{ amqp_user }}"
        login_password: "{{ vault_amqp_password }}"
        trigger: {db: "leak_{{ n }}", query: "CREATE TABLE note (x int)", login_port: "{{ pg_port }}", login_password: "{{ pg_admin_password }}", ssl_mode: disable}
    - name: a command that prints a password it got in its environment
      shell: echo "connecting with $PGPASSWORD"
      environment: {PGPASSWORD: "{{ pg_admin_password }}"}
    - name: as root, with the sudo password
      become: true
      command: id -un
      register: root
    - assert: {that: ["root.stdout == 'root'"]}
    - debug: {msg: "the role's password is {{ role_password }}"}
    - name: hidden
      debug: {msg: "{{ vault_amqp_password }}"}
      no_log: true
    - name: a failure that carries a password
      fail: {msg: "could not log in as leak_role with {{ role_password }} (dblink {{ vault_dblink_new_password }})"}
`

// sampleCommandLines reads every process's command line until stopped;
// it returns the stop function (giving all that was seen) and a counter
// of the processes read.
func sampleCommandLines() (stop func() string, count *int) {
	var mu sync.Mutex
	var seen strings.Builder
	n := 0
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range paths {
				b, err := os.ReadFile(p)
				if err != nil || len(b) == 0 {
					continue
				}
				mu.Lock()
				seen.Write(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
				seen.WriteByte('\n')
				n++
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() string {
		close(done)
		<-finished
		return seen.String()
	}, &n
}

// rabbitUser adds a broker user for the test (its password on stdin,
// never in an argument) and deletes it at the end.
func rabbitUser(t *testing.T, name, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	add := exec.CommandContext(ctx, "rabbitmqctl", "add_user", name)
	add.Stdin = strings.NewReader(password)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("rabbitmqctl add_user: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("rabbitmqctl", "delete_user", name).Run() })
	if out, err := exec.CommandContext(ctx, "rabbitmqctl", "set_permissions", "-p", "/", name, ".*", ".*", ".*").CombinedOutput(); err != nil {
		t.Fatalf("rabbitmqctl set_permissions: %v\n%s", err, out)
	}
}
