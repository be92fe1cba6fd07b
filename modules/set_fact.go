package modules

import (
	"context"
	"fmt"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// SetFact is the set_fact module: it sets host variables for the rest of
// the run.
func SetFact() module.Info {
	return module.Info{
		Name:    "set_fact",
		Doc:     "Sets host variables (any key: value) for the rest of the run; values are templated first.",
		RawArgs: true,
		Args: []module.Arg{
			{Name: "cacheable", Type: module.Bool, Doc: "accepted for Ansible compatibility; facts are not cached between runs"},
		},
		New: func() module.Module { return setFactModule{} },
	}
}

var identifier = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

type setFactModule struct{}

func (setFactModule) Plan(_ context.Context, _ *module.Env, args module.Args) (*module.Change, error) {
	facts := map[string]any{}
	for k, v := range args {
		if k == "cacheable" {
			continue
		}
		if !identifier.MatchString(k) {
			return nil, fmt.Errorf("the variable name '%s' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores.", k)
		}
		facts[k] = v
	}
	if len(facts) == 0 {
		return nil, fmt.Errorf("No key/value pairs provided, at least one is required for this action to succeed")
	}
	return &module.Change{Result: &module.Result{Vars: facts, Data: map[string]any{"ansible_facts": facts}}}, nil
}

func (setFactModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return &module.Result{}, nil
}

func errMutuallyExclusive(a, b string) error {
	return fmt.Errorf("parameters are mutually exclusive: %s|%s", a, b)
}
