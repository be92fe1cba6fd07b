package modules

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// Cron is the cron module: Ansible 2.14's cron semantics on a user's
// crontab (read with `crontab -l`, written with `crontab -u USER -`, never
// by editing the spool) or on a file in /etc/cron.d, with the same
// "#Ansible: NAME" marker lines so either tool can manage what the other
// wrote. state=list (a cutover addition) reads a crontab into
// crontab_entries and crontab_env, for installing the same jobs elsewhere.
func Cron() module.Info {
	return module.Info{
		Name:    "cron",
		Aliases: []string{"ansible.builtin.cron"},
		Doc: "Manage a job or variable in a user's crontab or an /etc/cron.d file, marked '#Ansible: NAME' as Ansible does; " +
			"state=list returns crontab_entries and crontab_env.",
		Args: []module.Arg{
			{Name: "name", Type: module.String, Doc: "the job's marker name, or the variable's name with env=true (required unless state=list)"},
			{Name: "job", Type: module.String, Aliases: []string{"value"}, Doc: "the command to run, or the variable's value with env=true"},
			{Name: "state", Type: module.String, Default: "present", Choices: []string{"present", "absent", "list"}, Doc: "present or absent; list reads the crontab into crontab_entries and crontab_env"},
			{Name: "user", Type: module.String, Doc: "whose crontab (default: the connection's user); the user field of cron_file lines"},
			{Name: "cron_file", Type: module.Path, Doc: "a file in /etc/cron.d (a relative name) or an absolute path, instead of a user's crontab"},
			{Name: "minute", Type: module.String, Default: "*", Doc: "minute field (0-59, *, */5, 1-10, lists)"},
			{Name: "hour", Type: module.String, Default: "*", Doc: "hour field (0-23...)"},
			{Name: "day", Type: module.String, Default: "*", Aliases: []string{"dom"}, Doc: "day of month field (1-31...)"},
			{Name: "month", Type: module.String, Default: "*", Doc: "month field (1-12, jan-dec...)"},
			{Name: "weekday", Type: module.String, Default: "*", Aliases: []string{"dow"}, Doc: "day of week field (0-7, sun-sat...)"},
			{Name: "special_time", Type: module.String, Choices: []string{"reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly"}, Doc: "@reboot, @daily... instead of the time fields"},
			{Name: "disabled", Type: module.Bool, Default: false, Doc: "write the job commented out"},
			{Name: "env", Type: module.Bool, Default: false, Doc: `manage a variable line NAME="job" instead of a job`},
			{Name: "insertafter", Type: module.String, Doc: "with env=true: put a new variable after this variable"},
			{Name: "insertbefore", Type: module.String, Doc: "with env=true: put a new variable before this variable"},
			{Name: "backup", Type: module.Bool, Default: false, Doc: "save the old crontab to a temp file on the host first (reported as backup_file)"},
		},
		// `crontab -l [-u USER]` only: Debian's crontab refuses a second
		// operation (-r, -e) or a file argument after -l.
		Probes: [][]string{{"crontab", "-l"}},
		New:    func() module.Module { return cronModule{} },
	}
}

type cronModule struct{}

// cronPlan is what Apply carries out: write content (or remove the cron
// file), after saving old to a backup when asked.
type cronPlan struct {
	user     string
	cronFile string // absolute; "" for a user crontab
	content  string
	remove   bool
	backup   bool
	old      string // the crontab as Ansible's backup renders it
	result   map[string]any
}

// cronTarget names what the task edits, as Ansible's diff headers do.
func cronTarget(cronFile, user string) string {
	switch {
	case cronFile != "":
		return cronFile
	case user != "":
		return fmt.Sprintf("crontab for user %q", user)
	}
	return "crontab"
}

func (cronModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	name, hasName := argOpt(args, "name")
	job, hasJob := argOpt(args, "job")
	user := argString(args, "user")
	state := argString(args, "state")
	after, before := argString(args, "insertafter"), argString(args, "insertbefore")
	special := argString(args, "special_time")
	isEnv := argBool(args, "env")
	times := [5]string{argString(args, "minute"), argString(args, "hour"), argString(args, "day"), argString(args, "month"), argString(args, "weekday")}
	var warnings []string

	switch {
	case !hasName && state != "list":
		return failedPlan("missing required arguments: name", nil), nil
	case after != "" && before != "":
		return failedPlan("parameters are mutually exclusive: insertafter|insertbefore", nil), nil
	}
	cronFile := argString(args, "cron_file")
	fullPath := ""
	if cronFile != "" {
		if cronFile == "/etc/crontab" {
			return failedPlan("Will not manage /etc/crontab via cron_file, see documentation.", nil), nil
		}
		fullPath = cronFile
		if !path.IsAbs(cronFile) {
			fullPath = path.Join("/etc/cron.d", cronFile)
		}
		if base := path.Base(cronFile); !cronFileName.MatchString(base) {
			warnings = append(warnings, fmt.Sprintf(`Filename portion of cron_file ("%s") should consist solely of upper- and lower-case letters, digits, underscores, and hyphens`, base))
		}
	}

	tab := &crontab{user: user, cronFile: fullPath != ""}
	existing, exists, err := readCrontab(ctx, env.Host, fullPath, user, tab)
	if err != nil {
		return nil, err
	}
	target := cronTarget(fullPath, user)
	if state == "list" {
		entries, vars, w := tab.entries(user)
		res := map[string]any{"crontab_entries": entries, "crontab_env": vars, "jobs": tab.jobNames(), "envs": tab.envNames()}
		addCronInfo(res, cronFile, append(warnings, w...))
		return &module.Change{Action: module.None, Summary: "read " + target, Result: &module.Result{Data: res}}, nil
	}

	present := state == "present"
	if special != "" && times != anyTime {
		return failedPlan("You must specify time and date fields or special time.", nil), nil
	}
	if present {
		switch {
		case fullPath != "" && user == "":
			return failedPlan("To use cron_file=... parameter you must specify user=... as well", nil), nil
		case !hasJob:
			return failedPlan("You must specify 'job' to install a new cron job or variable", nil), nil
		case (after != "" || before != "") && !isEnv:
			return failedPlan("Insertafter and insertbefore parameters are valid only with env=yes", nil), nil
		}
		if !isEnv && special == "" {
			for i, f := range cronFields {
				if err := checkCronField(f, times[i]); err != nil {
					return failedPlan(err.Error(), nil), nil
				}
			}
		}
	}
	old := tab.render()

	var summary string
	if isEnv {
		if strings.Contains(name, " ") {
			return failedPlan("Invalid name for environment variable", nil), nil
		}
		re, err := envRegexp(name)
		if err != nil {
			return nil, err
		}
		decl := fmt.Sprintf(`%s="%s"`, name, job)
		at, line := tab.findEnv(re)
		switch {
		case present && at < 0:
			msg, err := tab.addEnv(decl, after, before)
			if err != nil {
				return nil, err
			}
			if msg != "" {
				return failedPlan(msg, nil), nil
			}
			summary = "add variable " + name
		case present && line != decl:
			tab.updateEnv(re, decl)
			summary = "update variable " + name
		case !present && at >= 0:
			tab.updateEnv(re, "")
			summary = "remove variable " + name
		}
	} else if present {
		if strings.ContainsAny(strings.Trim(job, "\r\n"), "\r\n") {
			warnings = append(warnings, "Job should not contain line breaks")
		}
		line := tab.jobLine(times[0], times[1], times[2], times[3], times[4], job, special, argBool(args, "disabled"))
		m := tab.findJob(name, line)
		switch {
		case !m.found:
			tab.addJob(name, line)
			summary = fmt.Sprintf("add job %q", name)
		case m.adopted:
			tab.updateJob(name, line)
			summary = fmt.Sprintf("mark the existing line as job %q", name)
		case m.line != line:
			tab.updateJob(name, line)
			summary = fmt.Sprintf("update job %q", name)
		}
	} else if tab.findJob(name, "").found {
		tab.removeJob(name)
		summary = fmt.Sprintf("remove job %q", name)
		if fullPath != "" && tab.isEmpty() {
			return removeCronFilePlan(fullPath, cronFile, existing, name, argBool(args, "backup"), old), nil
		}
	}
	if summary == "" && existing != "" && !strings.HasSuffix(existing, "\n") && !strings.HasSuffix(existing, "\r") {
		summary = "end the last line with a newline"
	}

	res := map[string]any{"jobs": tab.jobNames(), "envs": tab.envNames()}
	addCronInfo(res, cronFile, warnings)
	if summary == "" {
		return &module.Change{Action: module.None, Summary: target + " is as asked", Result: &module.Result{Data: res}}, nil
	}
	p := &cronPlan{user: user, cronFile: fullPath, content: tab.render(), backup: argBool(args, "backup"), old: old, result: res}
	action := module.Update
	if !exists {
		action = module.Create
	}
	return &module.Change{
		Action:  action,
		Summary: summary + " in " + target,
		Diffs:   []module.Diff{{BeforeHeader: target, AfterHeader: target, Before: existing, After: p.content}},
		Result:  &module.Result{Changed: true, Data: res},
		Data:    p,
	}, nil
}

// cronFileName is what Ansible recommends for a cron file's name (cron
// ignores files in /etc/cron.d with other characters, such as a dot).
var cronFileName = lazyre.New(`(?i)^[A-Z0-9_-]+$`)

// removeCronFilePlan deletes a cron file whose last job went, as Ansible
// does; its result holds only cron_file and state.
func removeCronFilePlan(fullPath, cronFile, existing, name string, backup bool, old string) *module.Change {
	res := map[string]any{"cron_file": cronFile, "state": "absent"}
	return &module.Change{
		Action:  module.Delete,
		Summary: fmt.Sprintf("remove job %q and with it %s", name, fullPath),
		Diffs:   []module.Diff{{BeforeHeader: fullPath, AfterHeader: "/dev/null", Before: existing, After: ""}},
		Result:  &module.Result{Changed: true, Data: res},
		Data:    &cronPlan{cronFile: fullPath, remove: true, backup: backup, old: old, result: res},
	}
}

func addCronInfo(res map[string]any, cronFile string, warnings []string) {
	if cronFile != "" {
		res["cron_file"] = cronFile
	}
	if len(warnings) > 0 {
		w := make([]any, len(warnings))
		for i, s := range warnings {
			w[i] = s
		}
		res["warnings"] = w
	}
}

// readCrontab fills tab with the cron file's lines, or those of the user's
// crontab (`crontab -l [-u USER]`, "no crontab for" being empty), and
// returns the text the diff shows as before and whether it exists.
func readCrontab(ctx context.Context, h module.Host, cronFile, user string, tab *crontab) (string, bool, error) {
	if cronFile != "" {
		data, ok, err := readMaybe(ctx, h, cronFile)
		if err != nil {
			return "", false, err
		}
		tab.lines = pySplitLines(string(data))
		return string(data), ok, nil
	}
	argv := []string{"crontab", "-l"}
	if user != "" {
		argv = append(argv, "-u", user)
	}
	res, err := h.Probe(ctx, module.Command{Argv: argv})
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", cronTarget("", user), err)
	}
	if res.RC != 0 {
		if strings.Contains(string(res.Stderr), "no crontab for") {
			return "", false, nil
		}
		return "", false, fmt.Errorf("read %s: %s", cronTarget("", user), strings.TrimSpace(string(res.Stderr)))
	}
	lines, existing := parseCrontabOutput(string(res.Stdout))
	tab.lines = lines
	return existing, true, nil
}

func (cronModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*cronPlan)
	res := map[string]any{}
	for k, v := range p.result {
		res[k] = v
	}
	if p.backup {
		file, err := cronBackup(ctx, h, p.old)
		if err != nil {
			return nil, err
		}
		res["backup_file"] = file
	}
	switch {
	case p.remove:
		if err := runArgv(ctx, h, "rm", "-f", "--", p.cronFile); err != nil {
			return nil, err
		}
	case p.cronFile != "":
		if err := h.WriteFile(ctx, p.cronFile, []byte(p.content), module.WriteOptions{}); err != nil {
			return nil, fmt.Errorf("write %s: %w", p.cronFile, err)
		}
	default:
		argv := []string{"crontab", "-"}
		if p.user != "" {
			argv = []string{"crontab", "-u", p.user, "-"}
		}
		out, err := h.Run(ctx, module.Command{Argv: argv, Stdin: []byte(p.content)})
		if err != nil {
			return nil, fmt.Errorf("install %s: %w", cronTarget("", p.user), err)
		}
		if out.RC != 0 {
			msg := strings.TrimSpace(string(out.Stderr))
			return &module.Result{Failed: true, Msg: msg, Data: res}, nil
		}
	}
	return &module.Result{Changed: true, Data: res}, nil
}

// cronBackup saves the old crontab to a new /tmp/crontabXXXXXXXX file on
// the host (mode 0600), as Ansible's tempfile.mkstemp(prefix='crontab').
func cronBackup(ctx context.Context, h module.MutableHost, old string) (string, error) {
	out, err := h.Run(ctx, module.Command{Argv: []string{"mktemp", "/tmp/crontabXXXXXXXX"}})
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	if out.RC != 0 {
		return "", fmt.Errorf("backup: mktemp: %s", strings.TrimSpace(string(out.Stderr)))
	}
	file := strings.TrimSpace(string(out.Stdout))
	if err := h.WriteFile(ctx, file, []byte(old), module.WriteOptions{Mode: 0o600}); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	return file, nil
}
