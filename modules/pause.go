package modules

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cutover/cutover/engine/module"
)

// Pause is the pause module: it waits for a time or for the user to press
// Enter. With --yes, or without a terminal, a prompt is answered at once
// and the output says so.
func Pause() module.Info {
	return module.Info{
		Name: "pause",
		Doc:  "Waits for seconds/minutes, or asks the user to press Enter (--yes or no terminal answers it and says so).",
		Args: []module.Arg{
			{Name: "seconds", Type: module.Int, Doc: "seconds to wait"},
			{Name: "minutes", Type: module.Int, Doc: "minutes to wait"},
			{Name: "prompt", Type: module.String, Doc: "text shown to the user"},
			{Name: "echo", Type: module.Bool, Default: true, Doc: "show what the user types"},
		},
		New: func() module.Module { return pauseModule{} },
	}
}

type pauseModule struct{}

// Plan waits: pausing reads nothing and writes nothing, and Ansible pauses
// in check mode too.
func (pauseModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	start := time.Now()
	wait := time.Duration(0)
	if s, ok := args["seconds"].(int); ok {
		wait = time.Duration(s) * time.Second
	}
	if m, ok := args["minutes"].(int); ok {
		wait += time.Duration(m) * time.Minute
	}
	data := map[string]any{"start": pyTime(start), "echo": argBool(args, "echo"), "user_input": ""}
	prompt := argString(args, "prompt")
	out := env.Out
	if wait > 0 {
		if out != nil {
			fmt.Fprintf(out, "Pausing for %d seconds\n", int(wait.Seconds()))
			if prompt != "" {
				fmt.Fprintln(out, prompt)
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	} else {
		if prompt == "" {
			prompt = "Press enter to continue, Ctrl+C to interrupt"
		}
		switch {
		case env.AssumeYes || env.In == nil:
			reason := "--yes"
			if !env.AssumeYes {
				reason = "no terminal"
			}
			data["msg"] = fmt.Sprintf("%s: answered automatically (%s)", prompt, reason)
			if out != nil {
				fmt.Fprintf(out, "[pause]\n%s: answered automatically (%s)\n", prompt, reason)
			}
		default:
			if out != nil {
				fmt.Fprintf(out, "[pause]\n%s:\n", prompt)
			}
			line, err := readLine(ctx, env)
			if err != nil {
				return nil, err
			}
			data["user_input"] = line
		}
	}
	stop := time.Now()
	data["stop"] = pyTime(stop)
	data["delta"] = int(stop.Sub(start).Seconds())
	return &module.Change{Result: &module.Result{Data: data}}, nil
}

func readLine(ctx context.Context, env *module.Env) (string, error) {
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(env.In).ReadString('\n')
		got <- strings.TrimRight(line, "\r\n")
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case line := <-got:
		return line, nil
	}
}

func (pauseModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return &module.Result{}, nil
}
