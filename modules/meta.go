package modules

import (
	"context"

	"github.com/cutover/cutover/engine/module"
)

// Meta is the meta module: instructions to the engine itself. The runner
// carries them out; the declaration validates the action.
func Meta() module.Info {
	return module.Info{
		Name:     "meta",
		Doc:      "Engine actions: flush_handlers, end_play, end_host, end_batch, clear_facts, clear_host_errors, noop, refresh_inventory, reset_connection.",
		FreeForm: "free_form",
		Args: []module.Arg{
			{Name: "free_form", Type: module.String, Required: true, Aliases: []string{"_raw_params"},
				Choices: []string{"flush_handlers", "end_play", "end_host", "end_batch", "clear_facts", "clear_host_errors", "noop", "refresh_inventory", "reset_connection"},
				Doc:     "the action"},
		},
		New: func() module.Module { return metaModule{} },
	}
}

type metaModule struct{}

func (metaModule) Plan(_ context.Context, _ *module.Env, args module.Args) (*module.Change, error) {
	return &module.Change{Result: &module.Result{Meta: argString(args, "free_form")}}, nil
}

func (metaModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return &module.Result{}, nil
}
