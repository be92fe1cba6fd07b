package modules

import (
	"context"
	"fmt"

	"github.com/cutover/cutover/engine/module"
)

// Fail is the fail module: it fails the task with a message.
func Fail() module.Info {
	return module.Info{
		Name: "fail",
		Doc:  "Fails the task with a message, usually under a when condition.",
		Args: []module.Arg{
			{Name: "msg", Type: module.Raw, Default: "Failed as requested from task", Doc: "the failure message"},
		},
		New: func() module.Module { return failModule{} },
	}
}

type failModule struct{}

func (failModule) Plan(_ context.Context, _ *module.Env, args module.Args) (*module.Change, error) {
	msg, ok := args["msg"].(string)
	if !ok {
		msg = fmt.Sprint(args["msg"])
	}
	return &module.Change{Result: &module.Result{Failed: true, Msg: msg}}, nil
}

func (failModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return &module.Result{}, nil
}
