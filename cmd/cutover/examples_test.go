package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/engine/sshlab"
)

// TestExamplesAgainstTheLab runs playbooks/examples against two real sshd
// hosts whose /etc and crontabs are private to the lab: the file modules
// for real (then again, changed=0), the ones that would touch this
// machine's shared network or packages in check mode only.
func TestExamplesAgainstTheLab(t *testing.T) {
	bin := cutoverBinary(t)
	lab := sshlab.Start(t, 45, "host1", "host2")
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.ini")
	os.WriteFile(inv, []byte(lab.Inventory("root", "")), 0o644)
	example := func(name string) string { return repoPath("playbooks", "examples", name) }
	run := func(args ...string) runResult {
		return runCommand(t, dir, bin, append([]string{"run", "-i", inv}, args...)...)
	}
	// Host 1 has a crontab to copy: a variable, a managed job, a hand-made one.
	seed := exec.Command("ssh", "-i", lab.ClientKey, "-o", "UserKnownHostsFile="+lab.KnownHosts, "-p", "2222",
		"root@"+lab.Hosts[0].Addr, "crontab -u app -")
	seed.Stdin = strings.NewReader("MAILTO=ops@example.org\n#Ansible: midnight scripts\n0 0 * * * /home/finance/midnightScripts.sh\n*/5 * * * * /home/finance/pullTimeSheets.sh\n")
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("seed crontab: %v %s", err, out)
	}
	converging := []struct {
		book  string
		extra []string
	}{
		{"hosts_entry.yml", nil},
		{"sudoers_alias.yml", nil},
		{"cron.yml", []string{"-e", "cron_old_host=host1", "-e", "cron_new_host=host2", "-e", "cron_user=app"}},
	}
	for _, c := range converging {
		t.Run(c.book, func(t *testing.T) {
			before := snapshot(t, lab.Dir)
			if res := run(append([]string{example(c.book), "--check", "--diff"}, c.extra...)...); res.code != 0 {
				t.Fatalf("--check: exit %d\n%s%s", res.code, res.stdout, res.stderr)
			}
			if d := diffTrees(before, snapshot(t, lab.Dir)); len(stripLogs(d)) > 0 {
				t.Fatalf("--check changed the lab:\n  %s", strings.Join(stripLogs(d), "\n  "))
			}
			if res := run(append([]string{example(c.book)}, c.extra...)...); res.code != 0 {
				t.Fatalf("run: exit %d\n%s%s", res.code, res.stdout, res.stderr)
			}
			res := run(append([]string{example(c.book)}, c.extra...)...)
			for host, counts := range recaps(res.stdout) {
				if !strings.Contains(counts, " changed=0 ") {
					t.Errorf("second run on %s: %s\n%s", host, counts, res.stdout)
				}
			}
		})
	}
	hostsFile, _ := os.ReadFile(filepath.Join(lab.Dir, "host1", "root", "etc", "hosts"))
	if !strings.Contains(string(hostsFile), "rabbitmq.thehumanjourney.net") {
		t.Errorf("host1's /etc/hosts:\n%s", hostsFile)
	}
	if fi, err := os.Stat(filepath.Join(lab.Dir, "host2", "root", "etc", "sudoers.d", "finance-scripts")); err != nil || fi.Mode().Perm() != 0o440 {
		t.Errorf("host2's sudoers file: %v %v", fi, err)
	}
	newCron, _ := os.ReadFile(filepath.Join(lab.Dir, "host2", "root", "var", "spool", "cron", "crontabs", "app"))
	for _, want := range []string{"MAILTO", "midnightScripts.sh", "pullTimeSheets.sh"} {
		if !strings.Contains(string(newCron), want) {
			t.Errorf("host2's crontab lacks %s:\n%s", want, newCron)
		}
	}
	for _, c := range []struct {
		book  string
		extra []string
	}{
		{"ufw_rule.yml", []string{"-e", "target=host1", "-e", "vm_role=finance"}},
		{"service.yml", []string{"-e", "target=host1", "-e", `{"old_services": ["ssh"]}`}},
		{"apt.yml", []string{"-e", "target=host1"}},
	} {
		t.Run(c.book+" in check mode", func(t *testing.T) {
			if res := run(append([]string{example(c.book), "--check"}, c.extra...)...); res.code != 0 {
				t.Errorf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
			}
		})
	}
}

// stripLogs drops the sshd logs from a tree difference: they grow with
// every connection.
func stripLogs(d []string) []string {
	var out []string
	for _, line := range d {
		if !strings.Contains(line, "sshd.log") {
			out = append(out, line)
		}
	}
	return out
}

// TestDatabaseThroughTheSSHTunnel: pg_query and amqp_publish_test on a lab
// host reach PostgreSQL and RabbitMQ at 127.0.0.1 on that host through its
// SSH connection (no port opened to the controller).
func TestDatabaseThroughTheSSHTunnel(t *testing.T) {
	bin := cutoverBinary(t)
	lab := sshlab.Start(t, 46, "finance")
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.ini")
	os.WriteFile(inv, []byte(lab.Inventory("root", "")), 0o644)
	book := filepath.Join(dir, "db.yml")
	os.WriteFile(book, []byte(`- hosts: finance
  gather_facts: false
  tasks:
    - pg_query:
        db: postgres
        query: select current_database() as db, $1::int + 1 as answer
        positional_args: [41]
        read_only: true
      register: q
    - assert:
        that:
          - q.query_result[0].answer == 42
          - q.query_result[0].db == 'postgres'
    - amqp_publish_test: {exchange: amq.topic, routing_key: cutover.tunnel.test, expect: delivered, timeout: 5s}
`), 0o644)
	res := runCommand(t, dir, bin, "run", "-i", inv, book)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if n := lab.Hosts[0].Connections(); n != 1 {
		t.Errorf("%d SSH connections, want 1", n)
	}
}
