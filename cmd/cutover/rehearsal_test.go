package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/engine/lab"
)

// TestRehearsal is the runbook end to end on the lab estate: before the
// downtime in check mode (the lab's snapshot stays identical), for real
// (its tests pass on the test keys), again (changed=0); --limit and -t do
// only their part; during the downtime (old databases stopped, DNS on the
// new VMs); after it (the tests pass on the live keys); and lab down
// leaves no process, mount or file behind. It rebuilds the lab at
// lab.DefaultDir, where inventory/lab.yml expects it.
func TestRehearsal(t *testing.T) {
	if os.Geteuid() != 0 {
		if inCI() {
			t.Fatal("the rehearsal lab needs root")
		}
		t.Skip("the rehearsal lab needs root")
	}
	bin := cutoverBinary(t)
	root := repoPath()
	cutover := func(args ...string) runResult {
		t.Helper()
		return runCommand(t, root, bin, args...)
	}
	if r := cutover("lab", "down"); r.code != 0 {
		t.Fatalf("lab down: %s%s", r.stdout, r.stderr)
	}
	if r := cutover("lab", "up"); r.code != 0 {
		t.Fatalf("lab up: %s%s", r.stdout, r.stderr)
	}
	defer func() {
		r := cutover("lab", "down")
		if r.code != 0 {
			t.Errorf("lab down: %s%s", r.stdout, r.stderr)
		}
		assertLabGone(t)
	}()
	snapshot := func() string {
		t.Helper()
		r := cutover("lab", "snapshot")
		if r.code != 0 {
			t.Fatalf("lab snapshot: %s", r.stderr)
		}
		return r.stdout
	}
	run := []string{"run", "-i", "inventory/lab.yml", "-e", "@inventory/lab.vault.yml", "--vault-password-file", "inventory/lab.vault-password"}
	phase := func(book string, extra ...string) runResult {
		t.Helper()
		start := time.Now()
		defer func() { t.Logf("%s %v: %s", book, extra, time.Since(start).Round(time.Millisecond)) }()
		r := cutover(append(append(run, "playbooks/"+book), extra...)...)
		if r.code != 0 {
			t.Fatalf("%s %v: exit %d\n%s\n%s", book, extra, r.code, r.stdout, r.stderr)
		}
		return r
	}

	before := snapshot()
	phase("before-downtime.yml", "--check", "--diff")
	if after := snapshot(); after != before {
		t.Fatalf("before-downtime --check changed the lab:\n%s", lineDiff(before, after))
	}

	r := phase("before-downtime.yml")
	if !strings.Contains(r.stdout, "finance-new") || strings.Contains(r.stdout, "failed=1") {
		t.Fatalf("before-downtime:\n%s", r.stdout)
	}
	// The mail test's messages are in the lab relay's folder.
	mails, _ := filepath.Glob(filepath.Join(lab.DefaultDir, "mail", "*.eml"))
	var senders []string
	for _, m := range mails {
		b, _ := os.ReadFile(m)
		if from, _, ok := strings.Cut(strings.TrimPrefix(string(b), "X-Envelope-From: "), "\r\n"); ok {
			senders = append(senders, from)
		}
	}
	for _, want := range []string{"finance@finance.thehumanjourney.net", "timesheets@timesheets.thehumanjourney.net"} {
		if !slices.Contains(senders, want) {
			t.Errorf("no mail from %s reached the relay (senders: %v)", want, senders)
		}
	}
	r = phase("before-downtime.yml")
	for host, line := range recaps(r.stdout) {
		if !strings.Contains(line, "changed=0 ") {
			t.Errorf("second before-downtime run, %s: %s", host, line)
		}
	}

	// --limit finance touches only finance's VMs; -t functions runs only
	// the function rewrites (JSON events tell).
	events := jsonEvents(t, phase("before-downtime.yml", "--limit", "finance", "--output", "json").stdout)
	for _, e := range events {
		if h, _ := e["host"].(string); e["event"] == "host_result" && !strings.HasPrefix(h, "finance-") {
			t.Errorf("--limit finance ran on %s", h)
		}
	}
	events = jsonEvents(t, phase("before-downtime.yml", "-t", "functions", "--output", "json").stdout)
	ran := map[string]bool{}
	for _, e := range events {
		if e["event"] == "task_start" {
			ran[e["task"].(string)] = true
		}
	}
	for task := range ran {
		if !strings.Contains(task, "functions") && !strings.Contains(task, "amqp.broker") && !strings.HasPrefix(task, "Which databases") {
			t.Errorf("-t functions ran %q", task)
		}
	}
	if len(ran) < 3 {
		t.Errorf("-t functions ran %v", ran)
	}

	start := time.Now()
	phase("during-downtime.yml")
	t.Logf("during-downtime took %s", time.Since(start).Round(time.Millisecond))
	for _, h := range lab.Estate {
		up := labAnswers(h.Addr() + ":5432")
		if h.Role == "old" && up {
			t.Errorf("%s's PostgreSQL still runs after the cutover", h.Name)
		}
		if h.Role != "old" && !up {
			t.Errorf("%s's PostgreSQL is down after the cutover", h.Name)
		}
	}
	state := snapshot()
	for _, want := range []string{"finance.thehumanjourney.net. 300 IN A 127.0.70.5", "timesheets.thehumanjourney.net. 300 IN A 127.0.70.6",
		"hrdb.thehumanjourney.net. 300 IN A 127.0.70.7", "tenders.thehumanjourney.net. 300 IN A 127.0.70.8"} {
		if !strings.Contains(state, "dns "+want) {
			t.Errorf("DNS does not say %s", want)
		}
	}
	r = phase("during-downtime.yml")
	for host, line := range recaps(r.stdout) {
		if !strings.Contains(line, "changed=0 ") {
			t.Errorf("second during-downtime run, %s: %s", host, line)
		}
	}
	phase("after-downtime.yml")
}

// assertLabGone checks that lab down left nothing: no folder, no process
// of the lab, no mount under it.
func assertLabGone(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(lab.DefaultDir); !os.IsNotExist(err) {
		t.Errorf("%s is still there", lab.DefaultDir)
	}
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), lab.DefaultDir) {
			t.Errorf("a lab process still runs: %s", strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	if strings.Contains(string(mounts), lab.DefaultDir) {
		t.Errorf("a lab mount is left")
	}
	for _, h := range lab.Estate {
		if labAnswers(h.Addr() + ":2222") {
			t.Errorf("%s's sshd still answers", h.Name)
		}
	}
	if out, err := exec.Command("rabbitmqctl", "list_vhosts").Output(); err == nil && strings.Contains(string(out), lab.Vhost) {
		t.Errorf("the lab's vhost is left on RabbitMQ")
	}
}

func labAnswers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func jsonEvents(t *testing.T, out string) []map[string]any {
	t.Helper()
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a JSON event: %q", sc.Text())
		}
		events = append(events, e)
	}
	return events
}

// lineDiff lists the lines only in a and only in b.
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	am, bm := in(a), in(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !bm[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !am[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
