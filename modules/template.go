package modules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	if env.Template == nil {
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
	if raw, err = openVaulted(env, found, raw); err != nil {
		return nil, err
	}
	text := string(raw)
	out, err := env.Template(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", src, err)
	}
	s := copySource{data: []byte(keepTrailingNewlines(text, out)), name: filepath.Base(found), path: found, mode: st.Mode()}
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
