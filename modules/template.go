package modules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cutover/cutover/engine/expr"
	"github.com/cutover/cutover/engine/module"
)

// Template is the template module: it renders a controller file with the
// task's variables and puts the result on the host with copy's rules.
func Template() module.Info {
	return module.Info{
		Name:    "template",
		Aliases: []string{"ansible.builtin.template"},
		Doc:     "Render a template file from the controller with the task's variables and write it on the host.",
		Args: append([]module.Arg{
			{Name: "src", Type: module.Path, Required: true, Doc: "template; relative paths are looked up in the playbook's templates/ folder, then the playbook's folder"},
			{Name: "dest", Type: module.Path, Required: true, Doc: "destination path; an existing folder means dest/basename(src)"},
			{Name: "backup", Type: module.Bool, Default: false, Doc: "keep a timestamped copy of the old file"},
			{Name: "force", Type: module.Bool, Default: true, Doc: "replace a different file; false only creates a missing one"},
			{Name: "follow", Type: module.Bool, Default: false, Doc: "if dest is a symlink, write through it instead of replacing it"},
			{Name: "validate", Type: module.String, Doc: `command checking the new file before it is put in place ("%s" is its path)`},
		}, copyAttrArgs()...),
		New: func() module.Module { return templateModule{} },
	}
}

type templateModule struct{}

func (templateModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	src := argString(args, "src")
	if src == "" || argString(args, "dest") == "" {
		return nil, errors.New("src and dest are required")
	}
	if env.Template == nil && env.Vars == nil {
		return nil, errors.New("template: the engine gave no template renderer")
	}
	found, err := findSource(env.Dir, "templates", src)
	if err != nil {
		return failedPlan(err.Error(), nil), nil
	}
	st, err := os.Stat(found)
	if err != nil {
		return nil, fmt.Errorf("src: %w", err)
	}
	raw, err := os.ReadFile(found)
	if err != nil {
		return nil, fmt.Errorf("src: %w", err)
	}
	raw, vaulted, err := openVaulted(env, found, raw)
	if err != nil {
		return nil, err
	}
	text := string(raw)
	out, err := renderTemplateFile(env, text, templateVars(src, found, argString(args, "dest"), st))
	if err != nil {
		return nil, renderError(src, vaulted, err)
	}
	s := copySource{data: []byte(keepTrailingNewlines(text, out)), name: filepath.Base(found), path: found, mode: st.Mode(), vaulted: vaulted}
	return planCopy(ctx, env, args, s, found)
}

func (templateModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	return c.Data.(*copyPlan).apply(ctx, h)
}

// keepTrailingNewlines gives the rendered text as many trailing newlines as
// the source had: Jinja drops one (keep_trailing_newline is false) and
// Ansible's template action adds back the difference
// (preserve_trailing_newlines), so "a\n\n" renders to "a\n\n" and "a" to
// "a" (checked against ansible-core 2.14).
func keepTrailingNewlines(source, rendered string) string {
	want := len(source) - len(strings.TrimRight(source, "\n"))
	have := len(rendered) - len(strings.TrimRight(rendered, "\n"))
	if want > have {
		rendered += strings.Repeat("\n", want-have)
	}
	return rendered
}

// renderError words a failed rendering. Syntax and evaluation errors quote
// the template's text, so for a vaulted source only an undefined
// variable's message (which names it) is kept.
func renderError(src string, vaulted bool, err error) error {
	var undef *expr.UndefinedError
	switch {
	case !vaulted:
		return fmt.Errorf("template %s: %w", src, err)
	case errors.As(err, &undef):
		return fmt.Errorf("template %s: %s", src, undef.Msg)
	}
	return fmt.Errorf("template %s: the vaulted source does not render (details hidden, as they quote it)", src)
}

// renderTemplateFile renders a template file's text as Ansible's template
// module does: backslash escapes in its {{ }} string literals are Jinja's
// ("\n" is a newline), unlike in playbook strings, and Ansible's template
// variables are set over the task's. A bare Env without variables (no
// engine) falls back to its string renderer.
func renderTemplateFile(env *module.Env, text string, vars map[string]any) (string, error) {
	if env.Vars == nil {
		return env.Template(text)
	}
	t, err := expr.CompileTemplateFile(text)
	if err != nil {
		return "", err
	}
	v, err := t.Render(templateScope{vars: vars, task: env.Vars})
	if err != nil || v == nil { // None renders as "", as in RenderString
		return "", err
	}
	return expr.PyStr(v), nil
}

// templateScope puts the template variables over the task's variables:
// Ansible's template action updates the task vars with them.
type templateScope struct {
	vars map[string]any
	task func(name string) (any, bool)
}

func (s templateScope) Lookup(name string) (any, bool) {
	if v, ok := s.vars[name]; ok {
		return v, true
	}
	return s.task(name)
}

// templateVars are the variables Ansible 2.14 adds for a template (its
// generate_ansible_template_vars): src and dest as the task gave them, the
// source's full path and owner, the controller's name, and ansible_managed
// with its default text. template_mtime and template_run_date, Python
// datetimes, are left out.
func templateVars(src, found, dest string, st os.FileInfo) map[string]any {
	host, _ := os.Hostname()
	full, err := filepath.Abs(found)
	if err != nil {
		full = found
	}
	return map[string]any{
		"ansible_managed":   "Ansible managed",
		"template_path":     src,
		"template_fullpath": full,
		"template_destpath": dest,
		"template_host":     host,
		"template_uid":      fileOwner(st),
	}
}

// fileOwner is the name of a controller file's owner, or its uid when the
// name is unknown (as Ansible falls back).
func fileOwner(st os.FileInfo) string {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	uid := strconv.FormatUint(uint64(sys.Uid), 10)
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}
