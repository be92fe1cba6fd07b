package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

	// Trap: pg_amqp publishes at COMMIT without mandatory, so silence
	// must fail a test. Before the downtime finance publishes on the test
	// keys: the staff test on the live key hears nothing and fails.
	r = cutover(append(run, "playbooks/before-downtime.yml", "-t", "staff", "-e", `{"key_suffix": ""}`)...)
	if r.code != 2 || !strings.Contains(r.stdout, "no message reached exchange") {
		t.Errorf("the staff test on the live key before the downtime: exit %d\n%s", r.code, r.stdout)
	}
	// Trap: copied cron jobs must not run on both VMs: on the new VM they
	// wait, disabled.
	for _, line := range cronJobs(t, "finance-new") {
		if !strings.HasPrefix(line, "#") {
			t.Errorf("before the downtime a finance job is enabled on the new VM: %s", line)
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
	// What may run: the tasks --list-tasks shows with the functions tag
	// (the play's own tags count too).
	tagged := map[string]bool{}
	list := cutover(append(run, "playbooks/before-downtime.yml", "--list-tasks")...)
	for _, line := range strings.Split(list.stdout, "\n") {
		if name, tags, ok := strings.Cut(strings.TrimSpace(line), "\tTAGS: ["); ok && strings.Contains(tags, "functions") {
			tagged[name] = true
		}
	}
	for task := range ran {
		if !tagged[task] {
			t.Errorf("-t functions ran %q, which is not tagged functions", task)
		}
	}
	if len(ran) < 3 {
		t.Errorf("-t functions ran %v", ran)
	}

	// Trap: the writers stop before the final dump. The old finance web
	// app takes writes until its server stops; every write it
	// acknowledged must be on the new VM.
	testQueue := queueDepth(snapshot(), "archives.test")
	stopWriter, acknowledged, refused := startWriter(t, "http://127.0.70.1/cgi-bin/note.sh")
	start := time.Now()
	phase("during-downtime.yml")
	t.Logf("during-downtime took %s", time.Since(start).Round(time.Millisecond))
	stopWriter()
	if len(*acknowledged) == 0 || *refused == 0 {
		t.Errorf("the writer got %d writes acknowledged and %d refused: the test proves nothing", len(*acknowledged), *refused)
	}
	notes := queryInts(t, "finance-new", "finance", "SELECT id FROM web_notes")
	for _, id := range *acknowledged {
		if !slices.Contains(notes, id) {
			t.Errorf("write %d was acknowledged by the old VM but is not on the new one", id)
		}
	}
	t.Logf("%d writes acknowledged during the downtime phase, all on the new VM; %d refused once the web server stopped", len(*acknowledged), *refused)
	// Trap: the data-only restore fires no amqp_* trigger (nothing new
	// on any archives queue) and leaves one broker row, by DNS name.
	if got := queueDepth(snapshot(), "archives.test"); got != testQueue {
		t.Errorf("archives.test went from %d to %d messages during the downtime phase", testQueue, got)
	}
	if rows := queryStrings(t, "finance-new", "finance", "SELECT broker_id || ' ' || host FROM amqp.broker"); len(rows) != 1 || rows[0] != "1 rabbitmq.thehumanjourney.net" {
		t.Errorf("amqp.broker after the cutover: %v", rows)
	}
	// Trap: only data moved, so the rewrites stay: DNS names, live keys.
	defs := strings.Join(queryStrings(t, "finance-new", "finance",
		"SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname IN ('pull_timesheets', 'amqp_staff_changed', 'amqp_project_changed')"), "\n")
	for _, want := range []string{"host=timesheets.thehumanjourney.net", "'oas.staff'", "'oas.projects'"} {
		if !strings.Contains(defs, want) {
			t.Errorf("after the cutover finance's functions lack %s", want)
		}
	}
	if strings.Contains(defs, ".test'") || strings.Contains(defs, "127.0.70.") {
		t.Errorf("after the cutover finance's functions still hold a test key or an old address:\n%s", defs)
	}
	// The cron jobs now run on the new VM, not the old one.
	for _, line := range cronJobs(t, "finance-new") {
		if strings.HasPrefix(line, "#") {
			t.Errorf("after the cutover a finance job is still disabled on the new VM: %s", line)
		}
	}
	if labAnswers("127.0.70.1:80") {
		t.Error("the old finance web server still answers after the cutover")
	}
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

// cronJobs are the job lines (enabled, or disabled with a leading #) of
// finance's crontab on a lab host.
func cronJobs(t *testing.T, host string) []string {
	t.Helper()
	h, _ := lab.Find(host)
	b, err := os.ReadFile(filepath.Join(lab.DefaultDir, "host"+strconv.Itoa(h.Index), "root/var/spool/cron/crontabs/finance"))
	if err != nil {
		t.Fatalf("%s's crontab: %v", host, err)
	}
	var jobs []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "/home/finance/synchCommand.sh") && !strings.HasPrefix(line, "#Ansible:") {
			jobs = append(jobs, line)
		}
	}
	if len(jobs) != 3 {
		t.Fatalf("%s's crontab holds %d finance jobs, want 3:\n%s", host, len(jobs), b)
	}
	return jobs
}

// startWriter requests URL?N with a growing N until stopped; it returns
// the stop function, the Ns whose write was acknowledged ("ok N") and how
// many requests were refused.
func startWriter(t *testing.T, url string) (stop func(), acknowledged *[]int, refused *int) {
	var acks []int
	var refusals int
	done, finished := make(chan struct{}), make(chan struct{})
	client := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(finished)
		for n := 100000; ; n++ {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			resp, err := client.Get(fmt.Sprintf("%s?%d", url, n))
			if err != nil {
				refusals++
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.TrimSpace(string(body)) == fmt.Sprintf("ok %d", n) {
				acks = append(acks, n)
			}
		}
	}()
	return func() { close(done); <-finished }, &acks, &refusals
}

func queryStrings(t *testing.T, host, db, sql string) []string {
	t.Helper()
	h, _ := lab.Find(host)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, lab.ConnString(h, db))
	if err != nil {
		t.Fatalf("%s/%s: %v", host, db, err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s/%s: %v", host, db, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s/%s: %v", host, db, err)
	}
	return out
}

func queryInts(t *testing.T, host, db, sql string) []int {
	t.Helper()
	var out []int
	for _, s := range queryStrings(t, host, db, "SELECT x::text FROM ("+sql+") AS q(x)") {
		n, _ := strconv.Atoi(s)
		out = append(out, n)
	}
	return out
}

// queueDepth reads a queue's depth from a lab snapshot.
func queueDepth(snapshot, queue string) int {
	for _, line := range strings.Split(snapshot, "\n") {
		if rest, ok := strings.CutPrefix(line, "queue "+queue+" messages="); ok {
			n, _ := strconv.Atoi(rest)
			return n
		}
	}
	return -1
}
