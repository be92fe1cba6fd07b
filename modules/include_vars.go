package modules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/yamlx"
)

// IncludeVars is the include_vars module: it loads variables from a YAML
// or JSON file on the controller.
func IncludeVars() module.Info {
	return module.Info{
		Name:     "include_vars",
		Doc:      "Loads variables from a YAML or JSON file on the controller (relative to the playbook, or its vars/ folder).",
		FreeForm: "file",
		Args: []module.Arg{
			{Name: "file", Type: module.Path, Aliases: []string{"_raw_params", "free_form"}, Required: true, Doc: "the file to load"},
			{Name: "name", Type: module.String, Doc: "put the variables under this one name instead of at the top"},
		},
		New: func() module.Module { return includeVarsModule{} },
	}
}

type includeVarsModule struct{}

func (includeVarsModule) Plan(_ context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	name := argString(args, "file")
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(env.Dir, "vars", name)
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join(env.Dir, name)
		}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("Could not find or access '%s'", name)
	}
	v, err := yamlx.LoadVault(path, src, env.Vault)
	if err != nil {
		return nil, err
	}
	vars, ok := v.(map[string]any)
	if v == nil {
		vars, ok = map[string]any{}, true
	}
	if !ok {
		return nil, fmt.Errorf("%s must hold a mapping, not %s", path, module.TypeName(v))
	}
	if n := argString(args, "name"); n != "" {
		vars = map[string]any{n: vars}
	}
	return &module.Change{Result: &module.Result{IncludedVars: vars,
		Data: map[string]any{"ansible_facts": vars, "ansible_included_var_files": []any{path}}}}, nil
}

func (includeVarsModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return &module.Result{}, nil
}
