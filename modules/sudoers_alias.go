package modules

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// SudoersAlias is the sudoers_alias module: it owns one file in
// /etc/sudoers.d holding Cmnd_Alias definitions and the user
// specifications that use them. The file is rendered whole, checked by
// visudo (in Plan, on the rendered text, and again on the temp file before
// it replaces the old one) and installed 0440 root:root, so a bad result
// fails the task and leaves the old file as it was.
//
// The rendered file is a "# Managed by cutover" comment, then one line per
// alias in name order:
//
//	Cmnd_Alias NAME = /path/cmd arg..., /other/cmd
//
// then one line per rule, in the order given:
//
//	user hosts=(runas) TAG: TAG: command, ALIAS
//
// Commands are split on blanks as written; in their words the characters
// sudoers reserves there (`\` `,` `:` `=` `#`) are escaped with a
// backslash, and sudoers wildcards such as `*` are kept.
func SudoersAlias() module.Info {
	return module.Info{
		Name: "sudoers_alias",
		Doc:  "Manage one /etc/sudoers.d file of Cmnd_Alias definitions and the rules using them, checked with visudo and installed 0440 root:root.",
		Args: []module.Arg{
			{Name: "name", Type: module.String, Required: true, Doc: "file name in dir; no '.', '~' or '/' (sudo's #includedir skips such names)"},
			{Name: "aliases", Type: module.Dict, Doc: "Cmnd_Alias name ([A-Z][A-Z0-9_]*) to a list of commands with their arguments"},
			{Name: "rules", Type: module.List, Doc: "user specifications: {user (or %group), hosts (default ALL), runas (user or user:group), tags (NOPASSWD, SETENV...), commands (commands or alias names)}"},
			{Name: "state", Type: module.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present writes the file; absent removes it"},
			{Name: "dir", Type: module.Path, Default: "/etc/sudoers.d", Doc: "folder of the file; change it only for tests and chroots"},
			{Name: "validate", Type: module.Bool, Default: true, Doc: "check the file with visudo -cf before it is put in place"},
		},
		Probes: [][]string{{"visudo", "-cf", "-"}},
		Check:  checkSudoersAlias,
		New:    func() module.Module { return sudoersAliasModule{} },
	}
}

type sudoersAliasModule struct{}

// sudoersPlan is what Apply needs.
type sudoersPlan struct {
	path     string
	data     []byte // nil: remove the file
	mkdir    string
	validate bool
	msg      string
}

// sudoersMode is how sudo wants its files: read-only, root's.
const sudoersMode fs.FileMode = 0o440

var (
	sudoersAliasName = lazyre.New(`^[A-Z][A-Z0-9_]*$`)
	sudoersTag       = lazyre.New(`^[A-Z][A-Z_]*$`)
)

func (sudoersAliasModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	name := argString(args, "name")
	if err := checkSudoersFileName(name); err != nil {
		return nil, err
	}
	p := path.Join(argString(args, "dir"), name)
	present := argString(args, "state") != "absent"
	var want string
	if present {
		var err error
		if want, err = renderSudoers(args["aliases"], args["rules"]); err != nil {
			return nil, err
		}
	}
	fi, err := statMaybe(ctx, env.Host, p)
	if err != nil {
		return nil, err
	}
	if fi != nil && !fi.IsRegular {
		return nil, fmt.Errorf("%s exists and is not a regular file", p)
	}
	var old []byte
	if fi != nil {
		if old, _, err = readMaybe(ctx, env.Host, p); err != nil {
			return nil, err
		}
	}
	plan := &sudoersPlan{path: p, validate: argBool(args, "validate")}
	c := &module.Change{Data: plan}
	switch {
	case !present && fi == nil:
		plan.msg = "file not present"
	case !present:
		c.Action, plan.msg = module.Delete, p+" removed"
		c.Diffs = []module.Diff{{BeforeHeader: p, AfterHeader: p, Before: string(old)}}
	case fi == nil:
		c.Action, plan.msg = module.Create, p+" created"
		c.Diffs = []module.Diff{{BeforeHeader: p, AfterHeader: p, After: want}}
		if parent, err := statMaybe(ctx, env.Host, path.Dir(p)); err != nil {
			return nil, err
		} else if parent == nil {
			plan.mkdir = path.Dir(p)
		}
	default:
		attrsOK := fi.Mode == sudoersMode && fi.UID == 0 && fi.GID == 0
		switch {
		case string(old) != want:
			c.Action, plan.msg = module.Update, p+" updated"
			c.Diffs = []module.Diff{{BeforeHeader: p, AfterHeader: p, Before: string(old), After: want}}
		case !attrsOK:
			c.Action, plan.msg = module.Update, p+" mode and owner set to 0440 root:root"
		default:
			plan.msg = p + " up to date"
		}
		if !attrsOK {
			before := map[string]any{"path": p, "mode": ansibleMode(fi.Mode), "owner": nameOrID(fi.Owner, fi.UID), "group": nameOrID(fi.Group, fi.GID)}
			after := map[string]any{"path": p, "mode": ansibleMode(sudoersMode), "owner": "root", "group": "root"}
			h := p + " (file attributes)"
			c.Diffs = append(c.Diffs, module.Diff{BeforeHeader: h, AfterHeader: h, Before: jsonText(before), After: jsonText(after)})
		}
	}
	if present && c.Action != module.None {
		plan.data = []byte(want)
		if plan.validate {
			if err := visudoCheck(ctx, env.Host, p, plan.data); err != nil {
				return nil, err
			}
		}
	}
	c.Summary = plan.msg
	c.Result = &module.Result{Changed: c.Action != module.None, Msg: plan.msg, Data: map[string]any{"msg": plan.msg, "path": p}}
	return c, nil
}

// Apply writes the file through a validated temp file (or removes it).
// When visudo refuses the temp file, the old file is left untouched and
// the error carries visudo's message.
func (sudoersAliasModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	plan := c.Data.(*sudoersPlan)
	res := &module.Result{Changed: true, Msg: plan.msg, Data: map[string]any{"msg": plan.msg, "path": plan.path}}
	if plan.data == nil {
		if err := runArgv(ctx, h, "rm", "-f", "--", plan.path); err != nil {
			return nil, err
		}
		return res, nil
	}
	if plan.mkdir != "" {
		if err := runArgv(ctx, h, "mkdir", "-p", "-m", "0750", "--", plan.mkdir); err != nil {
			return nil, err
		}
	}
	opt := module.WriteOptions{Mode: sudoersMode, Owner: "root", Group: "root"}
	if plan.validate {
		opt.Validate = []string{"visudo", "-cf", "%s"}
	}
	if err := h.WriteFile(ctx, plan.path, plan.data, opt); err != nil {
		return nil, err
	}
	return res, nil
}

// visudoCheck runs visudo on the rendered text (read from stdin, nothing
// written), so that check mode reports what the real run would refuse.
func visudoCheck(ctx context.Context, h module.Host, p string, data []byte) error {
	r, err := h.Probe(ctx, module.Command{Argv: []string{"visudo", "-cf", "-"}, Stdin: data})
	if err != nil {
		return fmt.Errorf("visudo: %w", err)
	}
	if r.RC != 0 {
		msg := strings.TrimSpace(string(r.Stderr) + string(r.Stdout))
		// visudo names the file "stdin"; name the one it is meant for.
		msg = strings.ReplaceAll(msg, "stdin:", p+":")
		return fmt.Errorf("visudo -cf refused the content for %s (rc=%d): %s", p, r.RC, msg)
	}
	return nil
}

// checkSudoersAlias validates a call before any host is touched: the file
// name, and (for present) that the aliases and rules render.
func checkSudoersAlias(args module.Args) error {
	if err := checkSudoersFileName(argString(args, "name")); err != nil {
		return err
	}
	if argString(args, "state") == "absent" {
		return nil
	}
	_, err := renderSudoers(args["aliases"], args["rules"])
	return err
}

// checkSudoersFileName refuses names sudo's #includedir would skip
// (containing "." or ending in "~") and anything that is not a plain name.
func checkSudoersFileName(name string) error {
	bad := func(why string) error {
		return &module.ArgError{Arg: "name", Msg: fmt.Sprintf("argument \"name\" of sudoers_alias: %q %s", name, why)}
	}
	switch {
	case name == "":
		return bad("is empty")
	case strings.Contains(name, "."):
		return bad("contains a '.': sudo would skip the file")
	case strings.Contains(name, "~"):
		return bad("contains a '~': sudo would skip the file")
	case strings.ContainsAny(name, "/ \t\n"):
		return bad("must be a plain file name")
	}
	return nil
}

// renderSudoers builds the file from the aliases mapping and the rules
// list, or says what is wrong with them.
func renderSudoers(rawAliases, rawRules any) (string, error) {
	var b strings.Builder
	b.WriteString("# Managed by cutover: changes made by hand are overwritten.\n")
	aliases, _ := rawAliases.(map[string]any)
	names := make([]string, 0, len(aliases))
	for n := range aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !sudoersAliasName.MatchString(n) {
			return "", &module.ArgError{Arg: "aliases", Msg: fmt.Sprintf("alias name %q: sudoers wants an upper-case letter, then upper-case letters, digits or _ ([A-Z][A-Z0-9_]*)", n)}
		}
		cmds, err := sudoersList(aliases[n], false)
		if err != nil || len(cmds) == 0 {
			return "", &module.ArgError{Arg: "aliases", Msg: fmt.Sprintf("alias %s: want a non-empty list of commands", n)}
		}
		line := make([]string, len(cmds))
		for i, cmd := range cmds {
			if line[i], err = sudoersCommand(cmd); err != nil {
				return "", &module.ArgError{Arg: "aliases", Msg: fmt.Sprintf("alias %s: %v", n, err)}
			}
		}
		fmt.Fprintf(&b, "Cmnd_Alias %s = %s\n", n, strings.Join(line, ", "))
	}
	rules, _ := rawRules.([]any)
	if len(names) > 0 && len(rules) > 0 {
		b.WriteString("\n")
	}
	for i, r := range rules {
		line, err := sudoersRule(r)
		if err != nil {
			return "", &module.ArgError{Arg: "rules", Msg: fmt.Sprintf("rules[%d]: %v", i, err)}
		}
		b.WriteString(line + "\n")
	}
	return b.String(), nil
}

// sudoersRule renders one user specification.
func sudoersRule(raw any) (string, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return "", fmt.Errorf("want a mapping with user and commands, got %s", module.TypeName(raw))
	}
	for k := range m {
		switch k {
		case "user", "hosts", "runas", "tags", "commands":
		default:
			msg := fmt.Sprintf("unknown key %q", k)
			if s := module.Closest(k, []string{"user", "hosts", "runas", "tags", "commands"}); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return "", fmt.Errorf("%s", msg)
		}
	}
	user, _ := m["user"].(string)
	if err := sudoersWord("user", user); err != nil {
		return "", err
	}
	hosts := []string{"ALL"}
	if v, ok := m["hosts"]; ok && v != nil {
		var err error
		if hosts, err = sudoersList(v, true); err != nil || len(hosts) == 0 {
			return "", fmt.Errorf("hosts: want a host, a list of hosts or ALL")
		}
	}
	for _, h := range hosts {
		if err := sudoersWord("hosts", h); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s=", user, strings.Join(hosts, ", "))
	if v, ok := m["runas"]; ok && v != nil {
		runas, _ := v.(string)
		if runas == "" || strings.ContainsAny(runas, "()\n\r") {
			return "", fmt.Errorf("runas: want user, user:group or :group, got %v", v)
		}
		fmt.Fprintf(&b, "(%s) ", runas)
	}
	tags, err := sudoersList(m["tags"], true)
	if err != nil {
		return "", fmt.Errorf("tags: %v", err)
	}
	for _, t := range tags {
		t = strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(t)), ":")
		if !sudoersTag.MatchString(t) {
			return "", fmt.Errorf("tag %q: want a sudoers tag such as NOPASSWD or SETENV", t)
		}
		b.WriteString(t + ": ")
	}
	cmds, err := sudoersList(m["commands"], false)
	if err != nil || len(cmds) == 0 {
		return "", fmt.Errorf("commands: want a non-empty list of commands or alias names")
	}
	for i, c := range cmds {
		if i > 0 {
			b.WriteString(", ")
		}
		// An alias name (or ALL) goes as is; anything else is a command.
		if s := strings.TrimPrefix(c, "!"); sudoersAliasName.MatchString(s) {
			b.WriteString(c)
			continue
		}
		cmd, err := sudoersCommand(c)
		if err != nil {
			return "", err
		}
		b.WriteString(cmd)
	}
	return b.String(), nil
}

// sudoersWord refuses what would break the line a user or host goes on.
// A leading %, # or + (group, uid, netgroup) is sudoers syntax.
func sudoersWord(what, s string) error {
	name := strings.TrimLeft(s, "%#+")
	if name == "" || strings.ContainsAny(name, " \t\r\n,=:()#\\") {
		return fmt.Errorf("%s: %q is not a single sudoers name", what, s)
	}
	return nil
}

// sudoersCommand escapes a command line's words for a sudoers command
// list. A leading "!" (negation) is kept.
func sudoersCommand(cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\r\n\x00") {
		return "", fmt.Errorf("command %q: a command must be one line", cmd)
	}
	neg := ""
	if strings.HasPrefix(cmd, "!") {
		neg, cmd = "!", cmd[1:]
	}
	words := strings.Fields(cmd)
	if len(words) == 0 {
		return "", fmt.Errorf("empty command")
	}
	for i, w := range words {
		var e strings.Builder
		for _, r := range w {
			if strings.ContainsRune(`\,:=#`, r) {
				e.WriteByte('\\')
			}
			e.WriteRune(r)
		}
		words[i] = e.String()
	}
	return neg + strings.Join(words, " "), nil
}

// sudoersList reads a list of strings; a lone string is a list of one
// (split on commas when split is set).
func sudoersList(v any, split bool) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if !split {
			return []string{x}, nil
		}
		var out []string
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %s", module.TypeName(e))
			}
			out = append(out, strings.TrimSpace(s))
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %s", module.TypeName(v))
}
