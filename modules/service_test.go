package modules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/module"
)

// The service tests drive Debian's real service(8) and update-rc.d on a
// fake SysV init script. /etc/init.d, /etc/rc?.d and /etc/systemd/system
// are temp folders bind-mounted in a private mount namespace for each
// command, so this machine's own services and boot links are never seen
// nor touched.

const testService = "cutover-test-svc"

// testInitScript is an LSB init script whose daemon is a sleep with a pid
// file; every action it takes is appended to a log the test reads.
const testInitScript = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          cutover-test-svc
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: cutover's test service
### END INIT INFO
PIDFILE=@DIR@/svc.pid
LOG=@DIR@/svc.log
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
start() {
	running && return 0
	setsid sleep 100000 </dev/null >/dev/null 2>&1 &
	echo $! > "$PIDFILE"
}
stop() {
	if running; then kill "$(cat "$PIDFILE")"; fi
	rm -f "$PIDFILE"
}
case "$1" in
start) start; echo start >> "$LOG" ;;
stop) stop; echo stop >> "$LOG" ;;
restart) stop; start; echo restart >> "$LOG" ;;
reload) running || { echo "not running" >&2; exit 7; }; echo reload >> "$LOG" ;;
status) if running; then echo "$0 is running"; exit 0; else echo "$0 is not running"; exit 3; fi ;;
*) echo "Usage: $0 {start|stop|restart|reload|status}" >&2; exit 3 ;;
esac
`

// serviceNS is a private /etc/init.d, /etc/rc?.d and /etc/systemd/system.
type serviceNS struct {
	dir  string
	host *nsHost
}

func newServiceNS(t *testing.T, script string) *serviceNS {
	t.Helper()
	needTools(t, "service", "update-rc.d", "unshare", "setsid")
	if comm, _ := os.ReadFile("/proc/1/comm"); strings.TrimSpace(string(comm)) == "systemd" {
		// The module would take its systemctl path; these tests are for SysV.
		t.Skip("systemd is PID 1 here: the SysV tests need a machine (or container) without it")
	}
	dir := t.TempDir()
	mounts := []string{}
	for _, d := range append([]string{"/etc/init.d", "/etc/systemd/system"}, rcDirs...) {
		local := filepath.Join(dir, "etc", filepath.Base(d))
		if err := os.MkdirAll(local, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		mounts = append(mounts, fmt.Sprintf("mount --bind %s %s", local, d))
	}
	if script != "" {
		writeFile(t, filepath.Join(dir, "etc/init.d", testService), strings.ReplaceAll(script, "@DIR@", dir), 0o755)
	}
	t.Cleanup(func() { // the daemon outlives the test's commands
		if data, err := os.ReadFile(filepath.Join(dir, "svc.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	})
	sh := strings.Join(mounts, " && ") + ` && exec "$@"`
	return &serviceNS{dir: dir, host: &nsHost{prefix: []string{"unshare", "-m", "--propagation", "private", "sh", "-c", sh, "sh"}}}
}

func (s *serviceNS) log(t *testing.T) string {
	data, _ := os.ReadFile(filepath.Join(s.dir, "svc.log"))
	return string(data)
}

func (s *serviceNS) running() bool {
	data, err := os.ReadFile(filepath.Join(s.dir, "svc.pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return err == nil && syscall.Kill(pid, 0) == nil
}

// links lists the boot links of the test service, e.g. "rc2.d/S01".
func (s *serviceNS) links(t *testing.T) []string {
	var out []string
	for _, d := range rcDirs {
		entries, err := os.ReadDir(filepath.Join(s.dir, "etc", filepath.Base(d)))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), testService) {
				out = append(out, filepath.Base(d)+"/"+strings.TrimSuffix(e.Name(), testService))
			}
		}
	}
	return out
}

func (s *serviceNS) plan(t *testing.T, raw map[string]any) (*module.Change, error) {
	t.Helper()
	return planOn(t, Service(), s.host, raw, true)
}

var (
	enabledLinks  = []string{"rc0.d/K01", "rc1.d/K01", "rc2.d/S01", "rc3.d/S01", "rc4.d/S01", "rc5.d/S01", "rc6.d/K01"}
	disabledLinks = []string{"rc0.d/K01", "rc1.d/K01", "rc2.d/K01", "rc3.d/K01", "rc4.d/K01", "rc5.d/K01", "rc6.d/K01"}
)

func TestServiceTimeline(t *testing.T) {
	cases := []struct {
		name        string
		running     bool     // start the daemon first
		setup       []string // update-rc.d arguments run first
		args        map[string]any
		changed     bool
		again       bool   // restarted and reloaded change every time
		wantLog     string // actions the script logged during the run
		wantRunning bool
		wantLinks   []string
		before      string // diff before/after
		after       string
	}{
		{name: "start a stopped service", args: map[string]any{"name": testService, "state": "started"},
			changed: true, wantLog: "start\n", wantRunning: true,
			before: "state: stopped\nenabled: false\n", after: "state: started\nenabled: false\n"},
		{name: "a service already started is ok", running: true, args: map[string]any{"name": testService, "state": "started"},
			wantRunning: true},
		{name: "stop a running service", running: true, args: map[string]any{"name": testService, "state": "stopped"},
			changed: true, wantLog: "stop\n",
			before: "state: started\nenabled: false\n", after: "state: stopped\nenabled: false\n"},
		{name: "a stopped service stays stopped", args: map[string]any{"name": testService, "state": "stopped"}},
		{name: "restarted always restarts", running: true, args: map[string]any{"name": testService, "state": "restarted"},
			changed: true, again: true, wantLog: "restart\n", wantRunning: true,
			before: "state: started\nenabled: false\n", after: "state: started\nenabled: false\n"},
		{name: "reloaded reloads a running service", running: true, args: map[string]any{"name": testService, "state": "reloaded"},
			changed: true, again: true, wantLog: "reload\n", wantRunning: true,
			before: "state: started\nenabled: false\n", after: "state: started\nenabled: false\n"},
		{name: "reloaded starts a stopped one", args: map[string]any{"name": testService, "state": "reloaded"},
			changed: true, again: true, wantLog: "start\n", wantRunning: true,
			before: "state: stopped\nenabled: false\n", after: "state: started\nenabled: false\n"},
		{name: "enable a script without links", args: map[string]any{"name": testService, "enabled": true},
			changed: true, wantLinks: enabledLinks,
			before: "state: stopped\nenabled: false\n", after: "state: stopped\nenabled: true\n"},
		{name: "disable an enabled one", setup: []string{"defaults"}, args: map[string]any{"name": testService, "enabled": "no"},
			changed: true, wantLinks: disabledLinks,
			before: "state: stopped\nenabled: true\n", after: "state: stopped\nenabled: false\n"},
		{name: "disabling a script without links is ok", args: map[string]any{"name": testService, "enabled": false},
			changed: false},
		{name: "enable and start, a disabled one", setup: []string{"defaults", "disable"}, args: map[string]any{"name": testService, "enabled": true, "state": "started"},
			changed: true, wantLog: "start\n", wantRunning: true, wantLinks: enabledLinks,
			before: "state: stopped\nenabled: false\n", after: "state: started\nenabled: true\n"},
		{name: "already enabled and started", running: true, setup: []string{"defaults"}, args: map[string]any{"name": testService, "enabled": true, "state": "started"},
			wantRunning: true, wantLinks: enabledLinks},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServiceNS(t, testInitScript)
			if tc.running {
				s.host.mustRun(t, "service", testService, "start")
			}
			for _, a := range tc.setup {
				s.host.mustRun(t, "update-rc.d", testService, a)
			}
			if tc.wantLinks == nil {
				tc.wantLinks = s.links(t)
			}
			startLog := s.log(t)
			before := snapshot(t, s.dir)
			c, err := s.plan(t, tc.args)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if diff := cmp.Diff(before, snapshot(t, s.dir)); diff != "" {
				t.Fatalf("check mode changed the namespace (-before +after):\n%s", diff)
			}
			if got := c.Action != module.None; got != tc.changed {
				t.Fatalf("changed = %v (%s), want %v", got, c.Summary, tc.changed)
			}
			if tc.changed {
				want := []module.Diff{{BeforeHeader: "service " + testService, AfterHeader: "service " + testService, Before: tc.before, After: tc.after}}
				if diff := cmp.Diff(want, c.Diffs); diff != "" {
					t.Errorf("diff (-want +got):\n%s", diff)
				}
				res, err := Service().New().Apply(context.Background(), s.host, c)
				if err != nil || res.Failed || !res.Changed {
					t.Fatalf("apply: %v %+v", err, res)
				}
			}
			if got := strings.TrimPrefix(s.log(t), startLog); got != tc.wantLog {
				t.Errorf("script log = %q, want %q", got, tc.wantLog)
			}
			if got := s.running(); got != tc.wantRunning {
				t.Errorf("running = %v, want %v", got, tc.wantRunning)
			}
			if diff := cmp.Diff(tc.wantLinks, s.links(t)); diff != "" {
				t.Errorf("boot links (-want +got):\n%s", diff)
			}
			again, err := s.plan(t, tc.args)
			if err != nil {
				t.Fatalf("second plan: %v", err)
			}
			if got := again.Action != module.None; got != tc.again {
				t.Errorf("second run changed = %v (%s), want %v", got, again.Summary, tc.again)
			}
		})
	}
}

func TestServiceErrors(t *testing.T) {
	noStatus := strings.Replace(testInitScript, "status)", "nostatus)", 1)
	cases := []struct {
		name   string
		script string
		args   map[string]any
		want   string
	}{
		{"no such service", "", map[string]any{"name": testService, "state": "started"},
			"could not find the requested service cutover-test-svc: no /etc/init.d/cutover-test-svc (and systemd is not PID 1)"},
		{"a script without status", noStatus, map[string]any{"name": testService, "state": "started"},
			"failed determining service state of cutover-test-svc: its init script has no status action"},
		{"neither state nor enabled", testInitScript, map[string]any{"name": testService},
			"one of the following is required: state, enabled"},
		{"a name with a slash", testInitScript, map[string]any{"name": "../x", "state": "started"},
			`name "../x": not a service name`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServiceNS(t, tc.script)
			_, err := s.plan(t, tc.args)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %s", err, tc.want)
			}
		})
	}
}

// TestServiceFailedStartReportsOutput: a start that fails is a failed task
// with the script's words.
func TestServiceFailedStart(t *testing.T) {
	broken := strings.Replace(testInitScript, "start) start;", `start) echo "cannot bind port 5432" >&2; exit 1;`, 1)
	s := newServiceNS(t, broken)
	c, err := s.plan(t, map[string]any{"name": testService, "state": "started"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Service().New().Apply(context.Background(), s.host, c)
	if err != nil {
		t.Fatal(err)
	}
	if want := "service cutover-test-svc start: rc 1: cannot bind port 5432"; !res.Failed || res.Msg != want {
		t.Errorf("result = %+v, want failed with %q", res, want)
	}
}
