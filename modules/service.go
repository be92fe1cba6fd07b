package modules

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// Service is the service module: it starts, stops, restarts or reloads a
// service and enables or disables it at boot, as Ansible's service does.
//
// When systemd is PID 1 (/proc/1/comm reads "systemd") it asks
// `systemctl show` for the unit's state and acts with systemctl. Otherwise
// the service is a SysV init script: its state comes from `service NAME
// status` (the probe declared as "service * status", so Plan cannot run
// `service NAME stop`), whether it is enabled from the S links in
// /etc/rc[2-5S].d, and it is driven with
// `service NAME ACTION` and `update-rc.d NAME enable|disable`.
//
// As in Ansible, restarted always changes, and reloaded starts a stopped
// service and reloads a running one (so it always changes too); check mode
// reports those as changed without doing them.
func Service() module.Info {
	return module.Info{
		Name:    "service",
		Aliases: []string{"ansible.builtin.service"},
		Doc:     "Start, stop, restart or reload a service and enable or disable it at boot, with systemctl when systemd is PID 1, else service and update-rc.d.",
		Args: []module.Arg{
			{Name: "name", Type: module.String, Required: true, Aliases: []string{"service", "unit"}, Doc: "the service (systemd unit or /etc/init.d script)"},
			{Name: "state", Type: module.String, Choices: []string{"started", "stopped", "restarted", "reloaded"}, Doc: "started/stopped only act when needed; restarted and reloaded always act"},
			{Name: "enabled", Type: module.Bool, Doc: "whether the service starts at boot"},
		},
		Probes: [][]string{
			{"systemctl", "show"},
			{"service", "*", "status"},
			append([]string{"ls", "-1", "--"}, rcDirs...),
		},
		New: func() module.Module { return serviceModule{} },
	}
}

// statusCase is what service(8) looks for in a script before it asks for
// its status.
var statusCase = lazyre.New(`(?m)(^|\W)status\)`)

// rcDirs are the SysV runlevel folders update-rc.d keeps links in.
var rcDirs = []string{"/etc/rc0.d", "/etc/rc1.d", "/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d", "/etc/rc6.d", "/etc/rcS.d"}

type serviceModule struct{}

// serviceStatus is what Plan finds.
type serviceStatus struct {
	running bool
	enabled bool
	links   bool // SysV: the script has rc links at all
}

// servicePlan is the commands Apply runs, in order.
type servicePlan struct {
	steps [][]string
	msg   string
	data  map[string]any
}

var serviceName = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9_.@:+-]*$`)

func (serviceModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	name := argString(args, "name")
	state := argString(args, "state")
	wantEnabled, hasEnabled := args["enabled"].(bool)
	if state == "" && !hasEnabled {
		return nil, fmt.Errorf("one of the following is required: state, enabled")
	}
	if !serviceName.MatchString(name) {
		return nil, fmt.Errorf("name %q: not a service name", name)
	}
	systemd, err := systemdIsInit(ctx, env.Host)
	if err != nil {
		return nil, err
	}
	var st serviceStatus
	if systemd {
		st, err = systemdStatus(ctx, env.Host, name)
	} else {
		st, err = sysvStatus(ctx, env.Host, name)
	}
	if err != nil {
		return nil, err
	}
	ctl := func(action string) []string {
		if systemd {
			return []string{"systemctl", action, name}
		}
		return []string{"service", name, action}
	}
	var steps [][]string
	var did []string
	if hasEnabled && wantEnabled != st.enabled {
		verb := map[bool]string{true: "enable", false: "disable"}[wantEnabled]
		switch {
		case systemd:
			steps = append(steps, []string{"systemctl", verb, name})
		case !st.links:
			// update-rc.d enable/disable only toggle existing links.
			steps = append(steps, []string{"update-rc.d", name, "defaults"})
			if !wantEnabled {
				steps = append(steps, []string{"update-rc.d", name, "disable"})
			}
		default:
			steps = append(steps, []string{"update-rc.d", name, verb})
		}
		did = append(did, verb+"d")
	}
	afterRunning := st.running
	switch {
	case state == "started" && !st.running, state == "reloaded" && !st.running:
		steps, did, afterRunning = append(steps, ctl("start")), append(did, "started"), true
	case state == "stopped" && st.running:
		steps, did, afterRunning = append(steps, ctl("stop")), append(did, "stopped"), false
	case state == "restarted":
		steps, did, afterRunning = append(steps, ctl("restart")), append(did, "restarted"), true
	case state == "reloaded":
		steps, did = append(steps, ctl("reload")), append(did, "reloaded")
	}
	afterEnabled := st.enabled
	if hasEnabled {
		afterEnabled = wantEnabled
	}
	data := map[string]any{"name": name, "state": runState(afterRunning), "enabled": afterEnabled}
	if len(steps) == 0 {
		return &module.Change{Action: module.None, Result: &module.Result{Data: data}}, nil
	}
	msg := name + " " + strings.Join(did, ", ")
	header := "service " + name
	return &module.Change{
		Action:  module.Update,
		Summary: msg,
		Diffs: []module.Diff{{BeforeHeader: header, AfterHeader: header,
			Before: fmt.Sprintf("state: %s\nenabled: %t\n", runState(st.running), st.enabled),
			After:  fmt.Sprintf("state: %s\nenabled: %t\n", runState(afterRunning), afterEnabled)}},
		Result: &module.Result{Changed: true, Msg: msg, Data: data},
		Data:   &servicePlan{steps: steps, msg: msg, data: data},
	}, nil
}

func runState(running bool) string {
	if running {
		return "started"
	}
	return "stopped"
}

// systemdIsInit reports whether systemd is PID 1.
func systemdIsInit(ctx context.Context, h module.Host) (bool, error) {
	comm, err := h.ReadFile(ctx, "/proc/1/comm")
	if err != nil {
		return false, fmt.Errorf("read /proc/1/comm: %w", err)
	}
	return strings.TrimSpace(string(comm)) == "systemd", nil
}

func systemdStatus(ctx context.Context, h module.Host, name string) (serviceStatus, error) {
	argv := []string{"systemctl", "show", "--property=LoadState,ActiveState,UnitFileState", "--", name}
	res, err := h.Probe(ctx, module.Command{Argv: argv})
	if err != nil {
		return serviceStatus{}, fmt.Errorf("systemctl show %s: %w", name, err)
	}
	if res.RC != 0 {
		return serviceStatus{}, fmt.Errorf("systemctl show %s: rc %d: %s", name, res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	props := map[string]string{}
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			props[k] = v
		}
	}
	if props["LoadState"] == "not-found" {
		return serviceStatus{}, fmt.Errorf("could not find the requested service %s", name)
	}
	switch props["ActiveState"] {
	case "active", "reloading", "activating":
		return serviceStatus{running: true, enabled: systemdEnabled(props["UnitFileState"])}, nil
	}
	return serviceStatus{enabled: systemdEnabled(props["UnitFileState"])}, nil
}

func systemdEnabled(s string) bool {
	switch s {
	case "enabled", "enabled-runtime", "alias", "static", "indirect", "generated":
		return true
	}
	return false
}

func sysvStatus(ctx context.Context, h module.Host, name string) (serviceStatus, error) {
	script := "/etc/init.d/" + name
	if _, err := h.Stat(ctx, script); errors.Is(err, fs.ErrNotExist) {
		return serviceStatus{}, fmt.Errorf("could not find the requested service %s: no %s (and systemd is not PID 1)", name, script)
	} else if err != nil {
		return serviceStatus{}, fmt.Errorf("stat %s: %w", script, err)
	}
	// As service --status-all decides (without running every other
	// script's status, which takes a minute on a full machine): a script
	// with no "status)" case has no status action.
	text, err := h.ReadFile(ctx, script)
	if err != nil {
		return serviceStatus{}, fmt.Errorf("read %s: %w", script, err)
	}
	if !statusCase.Match(text) {
		return serviceStatus{}, fmt.Errorf("failed determining service state of %s: its init script has no status action", name)
	}
	res, err := h.Probe(ctx, module.Command{Argv: []string{"service", name, "status"}})
	if err != nil {
		return serviceStatus{}, fmt.Errorf("service %s status: %w", name, err)
	}
	var st serviceStatus
	// LSB: 0 running; 1 to 3 not running; 4 (or anything else) unknown.
	switch res.RC {
	case 0:
		st.running = true
	case 1, 2, 3:
	default:
		return st, fmt.Errorf("failed determining service state of %s: service %s status exited with %d: %s", name, name, res.RC,
			strings.TrimSpace(string(res.Stdout)+" "+string(res.Stderr)))
	}
	ls, err := h.Probe(ctx, module.Command{Argv: append([]string{"ls", "-1", "--"}, rcDirs...)})
	if err != nil {
		return st, fmt.Errorf("list %s: %w", strings.Join(rcDirs, " "), err)
	}
	link := regexp.MustCompile(`^([SK])\d\d` + regexp.QuoteMeta(name) + `$`)
	dir := ""
	for _, line := range strings.Split(string(ls.Stdout), "\n") {
		if d, ok := strings.CutSuffix(line, ":"); ok {
			dir = d
			continue
		}
		m := link.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		st.links = true
		if m[1] == "S" && regexp.MustCompile(`^/etc/rc[2-5S]\.d$`).MatchString(dir) {
			st.enabled = true
		}
	}
	return st, nil
}

func (serviceModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*servicePlan)
	var stdout, stderr strings.Builder
	for _, argv := range p.steps {
		res, err := h.Run(ctx, module.Command{Argv: argv})
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", strings.Join(argv, " "), err)
		}
		stdout.Write(res.Stdout)
		stderr.Write(res.Stderr)
		if res.RC != 0 {
			out := strings.TrimSpace(string(res.Stdout) + "\n" + string(res.Stderr))
			return &module.Result{Failed: true, Msg: fmt.Sprintf("%s: rc %d: %s", strings.Join(argv, " "), res.RC, out),
				Data: map[string]any{"name": p.data["name"], "rc": res.RC, "stdout": stdout.String(), "stderr": stderr.String()}}, nil
		}
	}
	data := map[string]any{}
	for k, v := range p.data {
		data[k] = v
	}
	return &module.Result{Changed: true, Msg: p.msg, Data: data}, nil
}
