package modules

import (
	"context"
	"fmt"
	"strings"

	"github.com/cutover/cutover/engine/expr"
	"github.com/cutover/cutover/engine/module"
)

// Assert is the assert module: it checks that expressions hold.
func Assert() module.Info {
	return module.Info{
		Name: "assert",
		Doc:  "Checks that every expression in that holds; fails with fail_msg otherwise.",
		Args: []module.Arg{
			{Name: "that", Type: module.Raw, Required: true, Doc: "expressions, as in when (one, or a list)"},
			{Name: "fail_msg", Type: module.Raw, Aliases: []string{"msg"}, Doc: "message when an assertion fails"},
			{Name: "success_msg", Type: module.Raw, Doc: "message when all hold"},
			{Name: "quiet", Type: module.Bool, Default: false, Doc: "print less"},
		},
		NoTemplate: []string{"that"},
		New:        func() module.Module { return assertModule{} },
	}
}

type assertModule struct{}

func (assertModule) Plan(_ context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	// A single string is one expression: commas inside it are not list
	// separators, as in Ansible's assert.
	thats, ok := args["that"].([]any)
	if !ok {
		thats = []any{args["that"]}
	}
	for _, c := range thats {
		text := fmt.Sprint(c)
		ok, err := holds(env, c)
		if err != nil {
			return nil, fmt.Errorf("The conditional check '%s' failed. The error was: %v", text, err)
		}
		if !ok {
			msg := "Assertion failed"
			if m, has := args["fail_msg"]; has && m != nil {
				msg = fmt.Sprint(m)
			}
			return &module.Change{Result: &module.Result{Failed: true, Msg: msg, Verbose: true,
				Data: map[string]any{"assertion": text, "evaluated_to": false}}}, nil
		}
	}
	msg := "All assertions passed"
	if m, has := args["success_msg"]; has && m != nil {
		msg = fmt.Sprint(m)
	}
	return &module.Change{Result: &module.Result{Msg: msg, Verbose: !argBool(args, "quiet")}}, nil
}

// holds evaluates a condition as when does: a bare expression, a template,
// or a literal.
func holds(env *module.Env, c any) (bool, error) {
	switch v := c.(type) {
	case bool:
		return v, nil
	case string:
		if strings.Contains(v, "{{") {
			s, err := env.Template(v)
			if err != nil {
				return false, err
			}
			if b, ok := module.ToBool(s); ok {
				return b, nil
			}
			v = s
		}
		val, err := env.Eval(v)
		if err != nil {
			return false, err
		}
		return expr.Truthy(val)
	}
	return expr.Truthy(c)
}

func (assertModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return &module.Result{}, nil
}
