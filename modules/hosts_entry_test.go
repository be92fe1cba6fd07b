package modules

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/sshlab"
)

// hostsEdits applies old->new line replacements to a text, each of which must
// match exactly once: the expected files below are the base file with
// these edits.
func hostsEdits(t *testing.T, base string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if n := strings.Count(base, pairs[i]); n != 1 {
			t.Fatalf("edit %q matches %d times", pairs[i], n)
		}
		base = strings.Replace(base, pairs[i], pairs[i+1], 1)
	}
	return base
}

// fileTimeline is the check each file case goes through: Plan through the
// read-only gate changes nothing and shows the diff; Apply writes want;
// a second Plan has nothing to do. A case that starts converged must plan
// None and leave the file alone.
func fileTimeline(t *testing.T, info module.Info, root string, raw map[string]any, p, want string, wantChanged bool) (*module.Change, *module.Result) {
	t.Helper()
	before := snapshot(t, root)
	old, _ := os.ReadFile(p)
	c := mustPlan(t, info, raw)
	if diff := cmp.Diff(before, snapshot(t, root)); diff != "" {
		t.Fatalf("plan (check mode) changed the tree (-before +after):\n%s", diff)
	}
	if changed := c.Action != module.None; changed != wantChanged {
		t.Fatalf("plan: action %v (%s), want changed=%v", c.Action, c.Summary, wantChanged)
	}
	if c.Result == nil || c.Result.Changed != wantChanged {
		t.Errorf("plan: check-mode result %+v, want changed=%v", c.Result, wantChanged)
	}
	if !wantChanged {
		if len(c.Diffs) != 0 {
			t.Errorf("plan: diffs without a change: %+v", c.Diffs)
		}
		if got := readFile(t, p); got != want {
			t.Errorf("converged file is not as expected:\n%s", cmp.Diff(want, got))
		}
		return c, c.Result
	}
	if len(c.Diffs) == 0 || c.Diffs[0].Before != string(old) || c.Diffs[0].After != want || c.Diffs[0].BeforeHeader != p {
		t.Errorf("diff is not old -> want under %s: %+v", p, c.Diffs)
	}
	res := applyTask(t, info, c)
	if !res.Changed {
		t.Errorf("apply: result not changed")
	}
	if got := readFile(t, p); got != want {
		t.Errorf("file after apply (-want +got):\n%s", cmp.Diff(want, got))
	}
	if again := mustPlan(t, info, raw); again.Action != module.None {
		t.Errorf("second plan: action %v (%s), want none", again.Action, again.Summary)
	}
	return c, res
}

func TestHostsEntry(t *testing.T) {
	base := readFile(t, "testdata/hosts_entry.hosts")
	for _, tc := range []struct {
		name    string
		before  *string // nil: no file
		args    map[string]any
		want    func(t *testing.T) string
		changed bool
		msg     string
	}{
		{
			name: "a name moves to a new IP: the new line takes the old one's place, the old keeps its alias",
			args: map[string]any{"ip": "192.168.98.51", "names": []any{"timesheets.thehumanjourney.net"}},
			want: func(t *testing.T) string {
				return hostsEdits(t, base, "10.0.10.23 timesheets.thehumanjourney.net trs\n",
					"192.168.98.51\ttimesheets.thehumanjourney.net\n10.0.10.23 trs\n")
			},
			changed: true,
			msg:     "192.168.98.51 timesheets.thehumanjourney.net added; timesheets.thehumanjourney.net removed from 10.0.10.23",
		},
		{
			name: "an IP that is a prefix of another: 10.0.10.4 never touches 10.0.10.48, tab kept",
			args: map[string]any{"ip": "10.0.10.4", "names": []any{"pdc", "pdc.thehumanjourney.net"}},
			want: func(t *testing.T) string {
				return hostsEdits(t, base, "10.0.10.4\tpdc\n", "10.0.10.4\tpdc pdc.thehumanjourney.net\n")
			},
			changed: true,
			msg:     "10.0.10.4 set to pdc pdc.thehumanjourney.net",
		},
		{
			name: "10.0.10.48 already right: starts converged",
			args: map[string]any{"ip": "10.0.10.48", "names": []any{"finance-old", "legacy"}},
			want: func(*testing.T) string { return base },
			msg:  "10.0.10.48 finance-old legacy already present",
		},
		{
			name: "a rewritten line keeps its blanks and its comment",
			args: map[string]any{"ip": "10.0.10.48", "names": []any{"legacy", "finance-old", "old"}},
			want: func(t *testing.T) string {
				return hostsEdits(t, base, "10.0.10.48   finance-old   legacy # keep",
					"10.0.10.48   legacy   finance-old   old # keep")
			},
			changed: true,
		},
		{
			name: "a name on two lines: both cleaned, the emptied one dropped",
			args: map[string]any{"ip": "10.0.10.43", "names": []any{"hrdb.thehumanjourney.net"}},
			want: func(t *testing.T) string {
				return hostsEdits(t, base, "10.0.10.42 hrdb.thehumanjourney.net\n10.0.10.99 hrdb.thehumanjourney.net hr\n",
					"10.0.10.43\thrdb.thehumanjourney.net\n10.0.10.99 hr\n")
			},
			changed: true,
			msg:     `10.0.10.43 hrdb.thehumanjourney.net added; line "10.0.10.42 hrdb.thehumanjourney.net" removed; hrdb.thehumanjourney.net removed from 10.0.10.99`,
		},
		{
			name: "a name moving off a tab-separated line keeps the tabs of what stays",
			args: map[string]any{"ip": "10.0.10.49", "names": []any{"finance.thehumanjourney.net"}},
			want: func(t *testing.T) string {
				return hostsEdits(t, base, "127.0.1.1\tfinance.thehumanjourney.net\tfinance\n",
					"10.0.10.49\tfinance.thehumanjourney.net\n127.0.1.1\tfinance\n")
			},
			changed: true,
		},
		{
			name: "IPv6: a new address is written in canonical form at the end",
			args: map[string]any{"ip": "2001:DB8:0::10", "names": []any{"finance6.thehumanjourney.net"}},
			want: func(*testing.T) string {
				return base + "2001:db8::10\tfinance6.thehumanjourney.net\n"
			},
			changed: true,
		},
		{
			name: "IPv6: ::1 spelt out matches the ::1 line, which keeps its spelling and blanks",
			args: map[string]any{"ip": "0:0:0:0:0:0:0:1", "names": []any{"ip6-localhost", "ip6-loopback"}},
			want: func(t *testing.T) string {
				return hostsEdits(t, base, "::1     localhost ip6-localhost ip6-loopback\n", "::1     ip6-localhost ip6-loopback\n")
			},
			changed: true,
		},
		{
			name: "names match without regard to case",
			args: map[string]any{"ip": "10.0.10.24", "names": []any{"TRS"}},
			want: func(t *testing.T) string {
				return hostsEdits(t, base, "10.0.10.23 timesheets.thehumanjourney.net trs\n",
					"10.0.10.24\tTRS\n10.0.10.23 timesheets.thehumanjourney.net\n")
			},
			changed: true,
		},
		{
			name: "absent by names: from every line",
			args: map[string]any{"state": "absent", "names": []any{"trs", "hr", "ip6-allnodes"}},
			want: func(t *testing.T) string {
				return hostsEdits(t, base, "10.0.10.23 timesheets.thehumanjourney.net trs\n", "10.0.10.23 timesheets.thehumanjourney.net\n",
					"10.0.10.99 hrdb.thehumanjourney.net hr\n", "10.0.10.99 hrdb.thehumanjourney.net\n",
					"ff02::1 ip6-allnodes\n", "")
			},
			changed: true,
		},
		{
			name:    "absent by ip: only that ip's line, not its prefix-sharing neighbour",
			args:    map[string]any{"state": "absent", "ip": "10.0.10.4"},
			want:    func(t *testing.T) string { return hostsEdits(t, base, "10.0.10.4\tpdc\n", "") },
			changed: true,
			msg:     `line "10.0.10.4\tpdc" removed`,
		},
		{
			name: "absent by ip and names: only from that ip's line",
			args: map[string]any{"state": "absent", "ip": "10.0.10.99", "names": []any{"hrdb.thehumanjourney.net"}},
			want: func(t *testing.T) string {
				return hostsEdits(t, base, "10.0.10.99 hrdb.thehumanjourney.net hr\n", "10.0.10.99 hr\n")
			},
			changed: true,
		},
		{
			name: "absent with nothing to remove",
			args: map[string]any{"state": "absent", "ip": "10.0.10.5", "names": []any{"nobody"}},
			want: func(*testing.T) string { return base },
			msg:  "nothing to remove",
		},
		{
			name:    "a missing file (and folder) is created",
			before:  nil,
			args:    map[string]any{"ip": "10.0.10.49", "names": []any{"finance.thehumanjourney.net", "finance"}},
			want:    func(*testing.T) string { return "10.0.10.49\tfinance.thehumanjourney.net finance\n" },
			changed: true,
		},
		{
			name:    "no newline at the end of the file",
			before:  hostsBefore("127.0.0.1 localhost"),
			args:    map[string]any{"ip": "10.0.0.1", "names": []any{"x"}},
			want:    func(*testing.T) string { return "127.0.0.1 localhost\n10.0.0.1\tx\n" },
			changed: true,
		},
		{
			name:    "two lines for one IP become one",
			before:  hostsBefore("10.0.0.5 a\n# between\n10.0.0.5 b\n"),
			args:    map[string]any{"ip": "10.0.0.5", "names": []any{"c"}},
			want:    func(*testing.T) string { return "10.0.0.5 c\n# between\n" },
			changed: true,
		},
		{
			name:    "lines that are not addresses are never touched",
			before:  hostsBefore("not-an-ip trs\n#10.0.10.23 trs\n\t\n10.0.10.23 trs\r\n"),
			args:    map[string]any{"ip": "10.0.10.23", "names": []any{"trs", "timesheets"}},
			want:    func(*testing.T) string { return "not-an-ip trs\n#10.0.10.23 trs\n\t\n10.0.10.23 trs timesheets\r\n" },
			changed: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "etc", "hosts")
			switch {
			case tc.before != nil:
				writeFile(t, p, *tc.before, 0o644)
			case !strings.HasPrefix(tc.name, "a missing file"):
				writeFile(t, p, base, 0o644)
			}
			raw := map[string]any{"path": p}
			for k, v := range tc.args {
				raw[k] = v
			}
			_, res := fileTimeline(t, HostsEntry(), dir, raw, p, tc.want(t), tc.changed)
			if tc.msg != "" && res.Msg != tc.msg {
				t.Errorf("msg = %q, want %q", res.Msg, tc.msg)
			}
			if res.Data["msg"] != res.Msg {
				t.Errorf("result data msg = %v, want %q", res.Data["msg"], res.Msg)
			}
		})
	}
}

func hostsBefore(s string) *string { return &s }

// TestHostsEntrySeedLoop runs the runbook's seven name/IP pairs, as the
// looped task does, over the old VM's hosts file: each item converges,
// and a second pass over the loop changes nothing.
func TestHostsEntrySeedLoop(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	writeFile(t, p, "127.0.0.1\tlocalhost\n10.0.10.48\tfinance.thehumanjourney.net\n10.0.10.130 archives-db.thehumanjourney.net\n", 0o644)
	pairs := [][2]string{
		{"10.0.10.49", "finance.thehumanjourney.net"}, {"192.168.98.51", "timesheets.thehumanjourney.net"},
		{"10.0.10.43", "hrdb.thehumanjourney.net"}, {"10.0.10.180", "tenders.thehumanjourney.net"},
		{"10.0.10.130", "archives-db.thehumanjourney.net"}, {"192.168.98.24", "mapdata.thehumanjourney.net"},
		{"10.0.10.107", "rabbitmq.thehumanjourney.net"},
	}
	for pass := range 2 {
		for _, pair := range pairs {
			raw := map[string]any{"path": p, "ip": pair[0], "names": []any{pair[1]}}
			c := mustPlan(t, HostsEntry(), raw)
			if pass == 1 || pair[0] == "10.0.10.130" {
				if c.Action != module.None {
					t.Errorf("pass %d, %s: action %v (%s), want none", pass, pair[0], c.Action, c.Summary)
				}
				continue
			}
			applyTask(t, HostsEntry(), c)
		}
	}
	want := "127.0.0.1\tlocalhost\n10.0.10.49\tfinance.thehumanjourney.net\n10.0.10.130 archives-db.thehumanjourney.net\n" +
		"192.168.98.51\ttimesheets.thehumanjourney.net\n10.0.10.43\thrdb.thehumanjourney.net\n10.0.10.180\ttenders.thehumanjourney.net\n" +
		"192.168.98.24\tmapdata.thehumanjourney.net\n10.0.10.107\trabbitmq.thehumanjourney.net\n"
	if got := readFile(t, p); got != want {
		t.Errorf("hosts file (-want +got):\n%s", cmp.Diff(want, got))
	}
}

func TestHostsEntryBackup(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	writeFile(t, p, "10.0.10.48 finance\n", 0o600)
	_, res := fileTimeline(t, HostsEntry(), dir, map[string]any{"path": p, "ip": "10.0.10.49", "names": []any{"finance"}, "backup": true},
		p, "10.0.10.49\tfinance\n", true)
	b, _ := res.Data["backup_file"].(string)
	if !strings.HasPrefix(b, p+".") || readFile(t, b) != "10.0.10.48 finance\n" {
		t.Errorf("backup_file %q does not hold the old content", b)
	}
	if got := fileMode(t, p).Perm(); got != 0o600 {
		t.Errorf("mode = %v, want the old file's 0600", got)
	}
	// No backup without a change.
	c := mustPlan(t, HostsEntry(), map[string]any{"path": p, "ip": "10.0.10.49", "names": []any{"finance"}, "backup": true})
	if _, ok := c.Result.Data["backup_file"]; ok || c.Action != module.None {
		t.Errorf("converged plan: %v %+v", c.Action, c.Result.Data)
	}
}

func TestHostsEntryBadArgs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hosts")
	for _, tc := range []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"ip out of range", map[string]any{"ip": "10.0.10.300", "names": []any{"x"}}, `"10.0.10.300" is not an IPv4 or IPv6 address`},
		{"a network is not an ip", map[string]any{"ip": "10.0.10.0/24", "names": []any{"x"}}, "not an IPv4 or IPv6 address"},
		{"a name is not an ip", map[string]any{"ip": "finance", "names": []any{"x"}}, "not an IPv4 or IPv6 address"},
		{"present without names", map[string]any{"ip": "10.0.0.1"}, "names is required with state=present"},
		{"present without ip", map[string]any{"names": []any{"x"}}, "ip is required with state=present"},
		{"absent with nothing", map[string]any{"state": "absent"}, "one of ip or names is required"},
		{"a name with a blank", map[string]any{"ip": "10.0.0.1", "names": []any{"a b"}}, `"a b" is not a host name`},
		{"a name with a comment sign", map[string]any{"ip": "10.0.0.1", "names": []any{"a#b"}}, "is not a host name"},
		{"a name twice", map[string]any{"ip": "10.0.0.1", "names": []any{"a", "A"}}, `lists "A" twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.raw["path"] = p
			_, err := planTask(t, HostsEntry(), tc.raw)
			var argErr *module.ArgError
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !errors.As(err, &argErr) {
				t.Errorf("err %v is not an *module.ArgError", err)
			}
		})
	}
}

// TestHostsEntryReadOnlyGate proves Plan gets by with the read-only view
// and its declared probe alone.
func TestHostsEntryReadOnlyGate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	writeFile(t, p, "10.0.0.1 a\n", 0o644)
	info := HostsEntry()
	args, errs := info.Decode(map[string]any{"path": p, "ip": "10.0.0.2", "names": []any{"a"}}, false)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	env := &module.Env{Host: conn.ReadOnly(&conn.Local{Host: "localhost"}, info.Probes), Check: true}
	c, err := info.New().Plan(context.Background(), env, args)
	if err != nil || c.Action != module.Update {
		t.Fatalf("plan: %v %v", c, err)
	}
	if c.Data.(*hostsEntryPlan).inPlace {
		t.Error("a plain file was taken for a mount point")
	}
}

// startFinanceLab starts a one-host SSH lab ("finance") on 127.0.NET.1 and
// returns it with a root connection to it.
func startFinanceLab(t *testing.T, net int) (*sshlab.Lab, *conn.SSH) {
	t.Helper()
	lab := sshlab.Start(t, net, "finance")
	h := lab.Host("finance")
	c, err := conn.DialSSH(context.Background(), conn.SSHConfig{Name: h.Name, Addr: h.Addr, Port: sshlab.Port, User: "root",
		KeyFiles: []string{lab.ClientKey}, HostKeys: &conn.HostKeys{File: lab.KnownHosts}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return lab, c
}

// planViaGate runs Plan against a remote host through the read-only gate, as
// check mode does.
func planViaGate(t *testing.T, h module.MutableHost, info module.Info, raw map[string]any) (*module.Change, error) {
	t.Helper()
	return planOn(t, info, h, raw, false)
}

// TestHostsEntryOverSSH edits the real /etc/hosts of a lab host (its own,
// bind-mounted in its namespace, so written in place) and checks the
// result from outside through the lab's folder.
func TestHostsEntryOverSSH(t *testing.T) {
	lab, host := startFinanceLab(t, 51)
	outside := filepath.Join(lab.Dir, "host1", "root", "etc", "hosts")
	original := readFile(t, outside)
	info := HostsEntry()
	items := [][2]string{{"10.0.10.49", "finance.thehumanjourney.net"}, {"192.168.98.51", "timesheets.thehumanjourney.net"}}
	for _, it := range items {
		raw := map[string]any{"ip": it[0], "names": []any{it[1]}}
		c, err := planViaGate(t, host, info, raw)
		if err != nil {
			t.Fatal(err)
		}
		if c.Action != module.Update || !c.Data.(*hostsEntryPlan).inPlace {
			t.Fatalf("plan: %v, in place %v; want an update in place of the bind-mounted file", c.Action, c.Data.(*hostsEntryPlan).inPlace)
		}
		if got := readFile(t, outside); got != c.Diffs[0].Before {
			t.Fatalf("check mode changed the file, or the diff's before is wrong:\n%s", cmp.Diff(c.Diffs[0].Before, got))
		}
		if _, err := info.New().Apply(context.Background(), host, c); err != nil {
			t.Fatal(err)
		}
		if again, err := planViaGate(t, host, info, raw); err != nil || again.Action != module.None {
			t.Errorf("second plan: %v %v", again, err)
		}
	}
	want := original + "10.0.10.49\tfinance.thehumanjourney.net\n192.168.98.51\ttimesheets.thehumanjourney.net\n"
	if got := readFile(t, outside); got != want {
		t.Errorf("lab host's /etc/hosts (-want +got):\n%s", cmp.Diff(want, got))
	}
	// The host resolves the name through the file it now has.
	res, err := host.Run(context.Background(), module.Command{Argv: []string{"getent", "hosts", "finance.thehumanjourney.net"}})
	if err != nil || !strings.HasPrefix(string(res.Stdout), "10.0.10.49 ") {
		t.Errorf("getent on the host: %v %q %q", err, res.Stdout, res.Stderr)
	}
	if own, _ := os.ReadFile("/etc/hosts"); strings.Contains(string(own), "thehumanjourney") {
		t.Error("this machine's /etc/hosts was changed")
	}
}

// TestHostsEntryFollowsSymlink: a hosts file that is a link (as
// systemd-resolved or a container may set up) is edited where it points;
// the link stays a link.
func TestHostsEntryFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "run", "hosts")
	writeFile(t, target, "127.0.0.1 localhost\n", 0o644)
	link := filepath.Join(dir, "hosts")
	if err := os.Symlink("run/hosts", link); err != nil {
		t.Fatal(err)
	}
	fileTimeline(t, HostsEntry(), dir, map[string]any{"path": link, "ip": "10.0.10.49", "names": []any{"finance"}},
		link, "127.0.0.1 localhost\n10.0.10.49\tfinance\n", true)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symlink: %v", link, err)
	}
}
