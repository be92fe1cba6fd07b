package modules

import (
	"context"

	"github.com/cutover/cutover/engine/module"
)

// Debug is the debug module: it prints a message or a variable.
func Debug() module.Info {
	return module.Info{
		Name: "debug",
		Doc:  "Prints a message or the value of a variable or expression.",
		Args: []module.Arg{
			{Name: "msg", Type: module.Raw, Doc: `the message (default "Hello world!")`},
			{Name: "var", Type: module.String, Doc: "a variable name or expression to print; not with msg"},
			{Name: "verbosity", Type: module.Int, Default: 0, Doc: "print only at this -v level or above"},
		},
		NoTemplate: []string{"var"},
		New:        func() module.Module { return debugModule{} },
	}
}

type debugModule struct{}

func (debugModule) Plan(_ context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	if v, ok := env.Vars("ansible_verbosity"); ok {
		if n, _ := v.(int); n < args["verbosity"].(int) {
			return &module.Change{Result: &module.Result{Skipped: true, Data: map[string]any{"skipped_reason": "Verbosity threshold not met."}}}, nil
		}
	}
	if name, ok := args["var"].(string); ok && name != "" {
		if _, has := args["msg"]; has {
			return nil, errMutuallyExclusive("msg", "var")
		}
		val, err := env.Eval(name)
		if err != nil {
			val = "VARIABLE IS NOT DEFINED!"
		}
		return &module.Change{Result: &module.Result{Verbose: true, Data: map[string]any{name: val}}}, nil
	}
	msg, ok := args["msg"]
	if !ok {
		msg = "Hello world!"
	}
	return &module.Change{Result: &module.Result{Verbose: true, Data: map[string]any{"msg": msg}}}, nil
}

func (debugModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return &module.Result{}, nil // never called: Plan always returns None
}
