package modules

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/cutover/cutover/engine/module"
)

// WaitFor is the wait_for module: it waits until a port opens or closes,
// or a file appears, disappears or holds a pattern.
func WaitFor() module.Info {
	return module.Info{
		Name: "wait_for",
		Doc:  "Waits for a TCP port (dialled from the host's side) or a file on the host to reach a state.",
		Args: []module.Arg{
			{Name: "host", Type: module.String, Default: "127.0.0.1", Doc: "address to dial, from the host"},
			{Name: "port", Type: module.Int, Doc: "TCP port"},
			{Name: "path", Type: module.Path, Doc: "a file on the host"},
			{Name: "state", Type: module.String, Default: "started", Choices: []string{"started", "stopped", "present", "absent"}, Doc: "what to wait for"},
			{Name: "search_regex", Type: module.String, Doc: "with path: wait until the file matches"},
			{Name: "timeout", Type: module.Int, Default: 300, Doc: "seconds before failing"},
			{Name: "delay", Type: module.Int, Default: 0, Doc: "seconds to wait before the first check"},
			{Name: "sleep", Type: module.Int, Default: 1, Doc: "seconds between checks"},
			{Name: "connect_timeout", Type: module.Int, Default: 5, Doc: "seconds for each connection attempt"},
			{Name: "msg", Type: module.String, Doc: "message on timeout"},
		},
		New: func() module.Module { return waitForModule{} },
	}
}

type waitForModule struct{}

// Plan waits: it only dials, stats and reads, so check mode waits too.
func (waitForModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	start := time.Now()
	port, hasPort := args["port"].(int)
	path := argString(args, "path")
	if hasPort && path != "" {
		return nil, errMutuallyExclusive("port", "path")
	}
	state := argString(args, "state")
	var re *regexp.Regexp
	if s := argString(args, "search_regex"); s != "" {
		var err error
		if re, err = regexp.Compile("(?m)" + s); err != nil {
			return nil, fmt.Errorf("search_regex: %v", err)
		}
	}
	timeout := time.Duration(args["timeout"].(int)) * time.Second
	sleep := time.Duration(args["sleep"].(int)) * time.Second
	if err := sleepCtx(ctx, time.Duration(args["delay"].(int))*time.Second); err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(argString(args, "host"), strconv.Itoa(port))
	check := func() (bool, error) {
		switch {
		case hasPort:
			dctx, cancel := context.WithTimeout(ctx, time.Duration(args["connect_timeout"].(int))*time.Second)
			c, err := env.Host.Dial(dctx, "tcp", addr)
			cancel()
			if err == nil {
				c.Close()
			}
			return (err == nil) == (state == "started" || state == "present"), nil
		case path != "":
			data, err := env.Host.ReadFile(ctx, path)
			exists := err == nil
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				fi, serr := env.Host.Stat(ctx, path)
				if serr != nil && !errors.Is(serr, fs.ErrNotExist) {
					return false, serr // the host is gone, or the path unreadable
				}
				exists = serr == nil && fi.Exists
			}
			if state == "absent" || state == "stopped" {
				return !exists, nil
			}
			return exists && (re == nil || re.Match(data)), nil
		}
		return true, nil
	}
	for {
		done, err := check()
		if err != nil {
			return nil, err
		}
		elapsed := time.Since(start)
		if done {
			data := map[string]any{"elapsed": int(elapsed.Seconds()), "state": state}
			if hasPort {
				data["port"] = port
			}
			if path != "" {
				data["path"] = path
			}
			return &module.Change{Result: &module.Result{Data: data}}, nil
		}
		if elapsed >= timeout {
			msg := argString(args, "msg")
			if msg == "" {
				if hasPort {
					msg = fmt.Sprintf("Timeout when waiting for %s", addr)
				} else {
					msg = fmt.Sprintf("Timeout when waiting for file %s", path)
				}
			}
			return &module.Change{Result: &module.Result{Failed: true, Msg: msg, Data: map[string]any{"elapsed": int(elapsed.Seconds())}}}, nil
		}
		if err := sleepCtx(ctx, min(sleep, timeout-elapsed)); err != nil {
			return nil, err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (waitForModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return &module.Result{}, nil
}
