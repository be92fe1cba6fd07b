package modules

import (
	"errors"
	"unicode/utf8"

	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/shellwords"

	"github.com/cutover/cutover/engine/module"
)

// Command is the command module: it runs a program with arguments, never
// through a shell.
func Command() module.Info {
	return module.Info{
		Name:     "command",
		Doc:      "Runs a command on the host without a shell. In check mode it never runs: skipped, or changed when creates/removes say it would run.",
		FreeForm: "cmd",
		Args: append([]module.Arg{
			{Name: "cmd", Type: module.String, Aliases: []string{"_raw_params", "free_form"}, Doc: "the command line, split like a POSIX shell would (no pipes, no redirects)"},
			{Name: "argv", Type: module.List, Doc: "the command as a list of words, instead of cmd"},
		}, commonCommandArgs()...),
		New: func() module.Module { return commandModule{} },
	}
}

func commonCommandArgs() []module.Arg {
	return []module.Arg{
		{Name: "chdir", Type: module.Path, Doc: "folder to run the command in"},
		{Name: "creates", Type: module.Path, Doc: "a path; when it exists the command does not run"},
		{Name: "removes", Type: module.Path, Doc: "a path; when it does not exist the command does not run"},
		{Name: "stdin", Type: module.String, Doc: "text sent to the command's standard input"},
		{Name: "stdin_add_newline", Type: module.Bool, Default: true, Doc: "append a newline to stdin"},
		{Name: "strip_empty_ends", Type: module.Bool, Default: true, Doc: "strip trailing empty lines from stdout and stderr"},
	}
}

type commandModule struct{ shell bool }

// commandPlan is what Apply runs.
type commandPlan struct {
	cmd     module.Command
	display any // the "cmd" value registered: a list for command, text for shell
	strip   bool
}

func (m commandModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	c := module.Command{Dir: argString(args, "chdir")}
	var display any
	text := argString(args, "cmd")
	if m.shell {
		if text == "" {
			return nil, fmt.Errorf("no command given")
		}
		c.Shell = text
		if exe := argString(args, "executable"); exe != "" {
			c.Argv, c.Shell = []string{exe, "-c", text}, ""
		}
		display = text
	} else {
		var argv []string
		if list, ok := args["argv"].([]any); ok && len(list) > 0 {
			if text != "" {
				return nil, fmt.Errorf("only one of cmd and argv can be used")
			}
			for _, a := range list {
				argv = append(argv, fmt.Sprint(a))
			}
		} else {
			words, err := shellwords.Split(text)
			if err != nil {
				return nil, err
			}
			argv = words
		}
		if len(argv) == 0 {
			return nil, fmt.Errorf("no command given")
		}
		c.Argv = argv
		display = toAny(argv)
	}
	if s, ok := args["stdin"].(string); ok {
		if argBool(args, "stdin_add_newline") {
			s += "\n"
		}
		c.Stdin = []byte(s)
	}
	would := "Did"
	if env.Check {
		would = "Would"
	}
	// creates/removes decide even in check mode, as in Ansible.
	// A relative creates or removes is relative to chdir: Ansible changes
	// folder before it looks.
	inDir := func(p string) string {
		if c.Dir != "" && !path.IsAbs(p) {
			return path.Join(c.Dir, p)
		}
		return p
	}
	if p := argString(args, "creates"); p != "" {
		if fi, err := statMaybe(ctx, env.Host, inDir(p)); err != nil {
			return nil, err
		} else if fi != nil {
			return &module.Change{Action: module.None, Result: &module.Result{
				Msg:  fmt.Sprintf("%s not run command since '%s' exists", would, p),
				Data: map[string]any{"cmd": display, "rc": 0, "stdout": "skipped, since " + p + " exists", "stdout_lines": []any{"skipped, since " + p + " exists"}, "stderr": "", "stderr_lines": []any{}, "start": nil, "end": nil, "delta": nil}}}, nil
		}
	}
	if p := argString(args, "removes"); p != "" {
		if fi, err := statMaybe(ctx, env.Host, inDir(p)); err != nil {
			return nil, err
		} else if fi == nil {
			return &module.Change{Action: module.None, Result: &module.Result{
				Msg:  fmt.Sprintf("%s not run command since '%s' does not exist", would, p),
				Data: map[string]any{"cmd": display, "rc": 0, "stdout": "skipped, since " + p + " does not exist", "stdout_lines": []any{"skipped, since " + p + " does not exist"}, "stderr": "", "stderr_lines": []any{}, "start": nil, "end": nil, "delta": nil}}}, nil
		}
	}
	// In check mode Ansible registers rc 0 and empty output, so later
	// tasks can read them; with creates or removes it reports changed.
	guarded := argString(args, "creates") != "" || argString(args, "removes") != ""
	checkResult := &module.Result{Data: map[string]any{"cmd": display, "rc": 0, "stdout": "", "stdout_lines": []any{},
		"stderr": "", "stderr_lines": []any{}, "start": nil, "end": nil, "delta": nil}}
	return &module.Change{Action: module.Invoke, Summary: fmt.Sprint(display), Result: checkResult, CheckChanged: guarded,
		Data: commandPlan{cmd: c, display: display, strip: argBool(args, "strip_empty_ends")}}, nil
}

func (m commandModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(commandPlan)
	start := time.Now()
	res, err := h.Run(ctx, p.cmd)
	end := time.Now()
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, conn.ErrUnreachable) {
			return nil, err
		}
		// A missing program is a failed task with rc 2 and empty output,
		// as in Ansible, so a failed_when reading stderr still works; cmd
		// is the command line as one string there.
		return &module.Result{Failed: true, Changed: false, Msg: "[Errno 2] " + err.Error(),
			Data: map[string]any{"cmd": cmdString(p.display), "rc": 2, "stdout": "", "stderr": "",
				"stdout_lines": []any{}, "stderr_lines": []any{}}}, nil
	}
	stdout, stderr := string(res.Stdout), string(res.Stderr)
	if p.strip {
		stdout, stderr = strings.TrimRight(stdout, "\r\n"), strings.TrimRight(stderr, "\r\n")
	}
	out := &module.Result{Changed: true, Data: map[string]any{
		"cmd": p.display, "rc": res.RC,
		"stdout": stdout, "stderr": stderr,
		"stdout_lines": lines(stdout), "stderr_lines": lines(stderr),
		"start": pyTime(start), "end": pyTime(end), "delta": pyDelta(end.Sub(start)), "msg": "",
	}}
	if res.RC != 0 {
		out.Failed = true
		out.Msg = "non-zero return code"
	}
	return out, nil
}

// cmdString is a command's display as one line: argv words joined.
func cmdString(display any) string {
	if words, ok := display.([]any); ok {
		parts := make([]string, len(words))
		for i, w := range words {
			parts[i] = fmt.Sprint(w)
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprint(display)
}

// lines splits output as Python's str.splitlines does: at \n, \r\n,
// \r, \v, \f, \x1c-\x1e, \x85, U+2028 and U+2029.
func lines(s string) []any {
	out := []any{}
	start := 0
	for i, r := range s {
		switch r {
		case '\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\u0085', '\u2028', '\u2029':
		default:
			continue
		}
		if r == '\n' && i > 0 && s[i-1] == '\r' {
			start = i + 1 // the second half of \r\n
			continue
		}
		out = append(out, s[start:i])
		start = i + utf8.RuneLen(r)
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func pyTime(t time.Time) string { return t.Format("2006-01-02 15:04:05.000000") }

func pyDelta(d time.Duration) string {
	s := d.Seconds()
	h := int(s) / 3600
	m := int(s) % 3600 / 60
	return fmt.Sprintf("%d:%02d:%09.6f", h, m, s-float64(h*3600+m*60))
}
