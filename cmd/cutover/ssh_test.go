package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/sshlab"
)

// The seed's seven hosts, each a real sshd on loopback.
var seedHosts = []string{"finance", "timesheets", "hrdb", "tenders", "archives-db", "mapdata", "rabbitmq"}

// tenTasks touches each host's own folder under root in ten tasks.
const tenTasks = `- hosts: all
  tasks:
    - file: {path: "{{ root }}/{{ inventory_hostname }}", state: directory, mode: "0755"}
    - copy: {dest: "{{ root }}/{{ inventory_hostname }}/hosts", content: "127.0.0.1 localhost\n"}
    - lineinfile: {path: "{{ root }}/{{ inventory_hostname }}/hosts", line: "10.0.10.49 finance.thehumanjourney.net"}
    - blockinfile: {path: "{{ root }}/{{ inventory_hostname }}/sudoers", create: true, block: "www-data ALL=(finance) NOPASSWD:FINANCESCRIPT"}
    - command: "touch {{ root }}/{{ inventory_hostname }}/ready"
      args: {creates: "{{ root }}/{{ inventory_hostname }}/ready"}
    - wait_for: {path: "{{ root }}/go", timeout: 60}
    - shell: echo "$PHASE on $(hostname)" > {{ root }}/{{ inventory_hostname }}/phase
      args: {creates: "{{ root }}/{{ inventory_hostname }}/phase"}
      environment: {PHASE: before}
    - stat: {path: "{{ root }}/{{ inventory_hostname }}/hosts"}
      register: st
    - set_fact: {hosts_mode: "{{ st.stat.mode }}"}
    - copy: {dest: "{{ root }}/{{ inventory_hostname }}/done", content: "{{ hosts_mode }} {{ ansible_distribution }}\n"}
`

func writeLab(t *testing.T, lab *sshlab.Lab, dir string) (inv, book string) {
	t.Helper()
	inv = filepath.Join(dir, "hosts.ini")
	book = filepath.Join(dir, "site.yml")
	os.WriteFile(inv, []byte(lab.Inventory("root", "")), 0o644)
	os.WriteFile(book, []byte(tenTasks), 0o644)
	return inv, book
}

// TestSevenHostsOneConnectionEach: the seed's seven hosts run a ten-task
// playbook in parallel over one SSH connection each, and --forks 1 and
// --forks 10 leave the same state. With Ansible's default ssh_args
// (ControlPersist=60s) the second run rides on the connections the first
// one left with the keeper; without ControlPersist a run opens its own.
func TestSevenHostsOneConnectionEach(t *testing.T) {
	bin := cutoverBinary(t)
	lab := sshlab.Start(t, 41, seedHosts...)
	dir := t.TempDir()
	inv, book := writeLab(t, lab, dir)
	roots := map[string]string{}
	testsControlDir := os.Getenv("ANSIBLE_SSH_CONTROL_PATH_DIR")
	openFolder := filepath.Join(dir, "open-cp")
	os.Mkdir(openFolder, 0o755)
	for _, tc := range []struct {
		name, forks, sshArgs string
		controlDir           string // "": the tests' own
		connections          int
		warning              string
	}{
		{"forks10", "10", conn.DefaultSSHArgs, "", 1, ""},
		{"forks1", "1", conn.DefaultSSHArgs, "", 0, ""},
		{"unkept", "1", "-C", "", 1, ""},
		// A control folder others may enter: no keeper, a warning, and
		// the run connects by itself.
		{"open-folder", "1", conn.DefaultSSHArgs, openFolder, 1, "must be 0700); connecting without it"},
	} {
		t.Setenv("ANSIBLE_SSH_ARGS", tc.sshArgs)
		t.Setenv("ANSIBLE_SSH_CONTROL_PATH_DIR", cmp.Or(tc.controlDir, testsControlDir))
		root := filepath.Join(dir, tc.name)
		os.MkdirAll(root, 0o755)
		os.WriteFile(filepath.Join(root, "go"), nil, 0o644)
		before := map[string]int{}
		for _, h := range lab.Hosts {
			before[h.Name] = h.Connections()
		}
		res := runCommand(t, dir, bin, "run", "-i", inv, book, "-e", "root="+root, "--forks", tc.forks)
		if res.code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", tc.name, res.code, res.stdout, res.stderr)
		}
		if tc.warning != "" && strings.Count(res.stderr, tc.warning) != 1 || tc.warning == "" && res.stderr != "" {
			t.Errorf("%s: stderr %q, want one warning %q", tc.name, res.stderr, tc.warning)
		}
		for host, counts := range recaps(res.stdout) {
			if counts != "ok=11 changed=7 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0" {
				t.Errorf("%s: %s: %s", tc.name, host, counts)
			}
		}
		for _, h := range lab.Hosts {
			if n := h.Connections() - before[h.Name]; n != tc.connections {
				t.Errorf("%s: %s: %d new SSH connections for the run, want %d", tc.name, h.Name, n, tc.connections)
			}
		}
		roots[tc.name] = root
	}
	for _, other := range []string{"forks1", "unkept", "open-folder"} {
		if d := diffTrees(snapshot(t, roots["forks10"]), snapshot(t, roots[other])); len(d) > 0 {
			t.Errorf("forks10 and %s differ:\n  %s", other, strings.Join(d, "\n  "))
		}
	}
	res := runCommand(t, dir, bin, "keeper", "status", "--dir", testsControlDir)
	for _, h := range lab.Hosts {
		if !strings.Contains(res.stdout, fmt.Sprintf("root@%s:2222", h.Addr)) {
			t.Errorf("keeper status does not list %s:\n%s", h.Name, res.stdout)
		}
	}
}

// TestSerialBatchesInOrder: with serial: 2 every task of a batch ends
// before the next batch starts, as the JSON events show.
func TestSerialBatchesInOrder(t *testing.T) {
	bin := cutoverBinary(t)
	lab := sshlab.Start(t, 42, seedHosts[:5]...)
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.ini")
	os.WriteFile(inv, []byte(lab.Inventory("root", "")), 0o644)
	book := filepath.Join(dir, "serial.yml")
	os.WriteFile(book, []byte("- hosts: all\n  gather_facts: false\n  serial: 2\n  tasks:\n    - command: hostname\n    - command: id -un\n"), 0o644)
	res := runCommand(t, dir, bin, "run", "-i", inv, book, "--output", "json")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		var ev struct{ Event, Host, Task string }
		json.Unmarshal([]byte(line), &ev)
		if ev.Event == "host_result" {
			order = append(order, ev.Task+"@"+ev.Host)
		}
	}
	want := "command@finance command@timesheets command@finance command@timesheets " +
		"command@hrdb command@tenders command@hrdb command@tenders command@archives-db command@archives-db"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order:\n got %s\nwant %s", got, want)
	}
}

// TestUnreachableHostsSurvive: one host's sshd is down before the run and
// another's dies in the middle; both are UNREACHABLE, the other five
// finish every task, the exit code is Ansible's 4, and --limit @retry
// reruns just the two once they are back.
func TestUnreachableHostsSurvive(t *testing.T) {
	bin := cutoverBinary(t)
	lab := sshlab.Start(t, 43, seedHosts...)
	dir := t.TempDir()
	inv, book := writeLab(t, lab, dir)
	root := filepath.Join(dir, "root")
	os.MkdirAll(root, 0o755)
	retry := filepath.Join(dir, "site.retry")
	lab.Host("hrdb").Kill()

	// Once every live host is waiting at task 6, cut mapdata off, then let
	// the others go on.
	go func() {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			ready, _ := filepath.Glob(filepath.Join(root, "*", "ready"))
			if len(ready) == 6 {
				lab.Host("mapdata").Kill()
				// The kernel ends the namespace's connections a moment after
				// its first process: let them go before the others move on.
				time.Sleep(time.Second)
				os.WriteFile(filepath.Join(root, "go"), nil, 0o644)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	res := runCommand(t, dir, bin, "run", "-i", inv, book, "-e", "root="+root, "--retry-file", retry)
	if res.code != 4 {
		t.Errorf("exit code %d, want 4 (a host unreachable)", res.code)
	}
	got := recaps(res.stdout)
	for _, h := range seedHosts {
		want := "ok=11 changed=7 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
		switch h {
		case "hrdb":
			want = "ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
		case "mapdata":
			want = "ok=6 changed=5 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
		}
		if got[h] != want {
			t.Errorf("%s: %s, want %s", h, got[h], want)
		}
	}
	for _, want := range []string{"fatal: [hrdb]: UNREACHABLE!", "fatal: [mapdata]: UNREACHABLE!", "Failed to connect to the host via ssh", "the connection was lost"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s%s", res.stdout, res.stderr)
	}
	data, _ := os.ReadFile(retry)
	if string(data) != "hrdb\nmapdata\n" {
		t.Fatalf("retry file: %q", data)
	}

	for _, name := range []string{"hrdb", "mapdata"} {
		if err := lab.Host(name).Start(); err != nil {
			t.Fatal(err)
		}
	}
	again := runCommand(t, dir, bin, "run", "-i", inv, book, "-e", "root="+root, "--limit", "@"+retry)
	if again.code != 0 {
		t.Fatalf("rerun: exit %d\n%s%s", again.code, again.stdout, again.stderr)
	}
	rerun := recaps(again.stdout)
	if len(rerun) != 2 || rerun["hrdb"] == "" || rerun["mapdata"] == "" {
		t.Errorf("the rerun ran on %v, want hrdb and mapdata only", rerun)
	}
	if _, err := os.Stat(filepath.Join(root, "hrdb", "done")); err != nil {
		t.Errorf("hrdb did not finish on the rerun: %v", err)
	}
}

// TestHostKeyPolicyFromTheCommandLine: an unknown host is UNREACHABLE with
// its fingerprint and nothing runs; --accept-new-host-keys trusts it and
// writes the key; delegate_to reaches another inventory host.
func TestHostKeyPolicyFromTheCommandLine(t *testing.T) {
	bin := cutoverBinary(t)
	lab := sshlab.Start(t, 44, "finance", "archives-db")
	dir := t.TempDir()
	known := filepath.Join(dir, "known_hosts")
	inv := filepath.Join(dir, "hosts.ini")
	var lines []string
	for _, h := range lab.Hosts {
		lines = append(lines, h.Name+" ansible_host="+h.Addr+" ansible_port=2222 ansible_user=root")
	}
	os.WriteFile(inv, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	book := filepath.Join(dir, "site.yml")
	os.WriteFile(book, []byte(`- hosts: finance
  gather_facts: false
  tasks:
    - command: "touch {{ playbook_dir }}/ran"
    - command: hostname
      delegate_to: archives-db
      register: where
    - debug: var=where.stdout
`), 0o644)
	args := []string{"run", "-i", inv, book, "--private-key", lab.ClientKey, "--known-hosts", known}
	os.WriteFile(known, nil, 0o600)
	res := runCommand(t, dir, bin, args...)
	if res.code != 4 || !strings.Contains(res.stdout, "UNREACHABLE!") || !strings.Contains(res.stdout, "unknown host key ssh-ed25519 SHA256:") {
		t.Fatalf("unknown host: exit %d\n%s", res.code, res.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("a task ran on a host whose key is unknown")
	}
	res = runCommand(t, dir, bin, append(args, "--accept-new-host-keys")...)
	if res.code != 0 {
		t.Fatalf("--accept-new-host-keys: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "changed: [finance -> archives-db]") {
		t.Errorf("delegate_to another host:\n%s", res.stdout)
	}
	data, _ := os.ReadFile(known)
	if strings.Count(string(data), "ssh-ed25519") != 2 {
		t.Errorf("known_hosts after trust on first use:\n%s", data)
	}
	if res := runCommand(t, dir, bin, args...); res.code != 0 {
		t.Errorf("the written keys are not trusted afterwards: exit %d\n%s", res.code, res.stdout)
	}
}
