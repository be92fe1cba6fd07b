package runner

import (
	"context"

	"github.com/cutover/cutover/engine/playbook"
)

// Handlers and meta tasks: what runs at the end of a section, and the
// engine's own actions.

// flushHandlers runs notified handlers in the order they are defined.
func (pr *playRun) flushHandlers(ctx context.Context) {
	handlers := pr.play.Handlers
	if len(handlers) == 0 {
		return
	}
	// Handlers in blocks keep their blocks' when, vars and other keywords.
	type handler struct {
		task *playbook.Task
		in   *inherited
	}
	var flat []handler
	var flatten func([]*playbook.Task, *inherited)
	flatten = func(ts []*playbook.Task, in *inherited) {
		for _, t := range ts {
			if t.IsBlock() {
				flatten(t.Block, in.child(t))
				continue
			}
			flat = append(flat, handler{t, in})
		}
	}
	flatten(handlers, &inherited{play: pr.play, tags: pr.play.Tags, handler: true, alwaysRun: true})
	// A listen topic wakes every handler that listens to it, so topics are
	// cleared only once all handlers have had their turn.
	topics := map[*hostState][]string{}
	defer func() {
		for hs, ls := range topics {
			for _, l := range ls {
				delete(hs.notified, l)
			}
		}
	}()
	for _, f := range flat {
		h, in := f.task, f.in
		var hosts []*hostState
		for _, hs := range pr.batch {
			if !hs.active() && !(pr.play.ForceHandlers || pr.r.Options.ForceHandlers) || hs.unreachable {
				continue
			}
			if handlerNotified(h, hs) {
				hosts = append(hosts, hs)
			}
		}
		if len(hosts) == 0 {
			continue
		}
		for _, hs := range hosts {
			delete(hs.notified, h.Name)
			topics[hs] = append(topics[hs], h.Listen...)
		}
		if h.IncludeTasks != "" {
			pr.runInclude(ctx, h, hosts, in)
		} else {
			pr.runTask(ctx, h, hosts, in)
		}
	}
}

func handlerNotified(h *playbook.Task, hs *hostState) bool {
	if h.Name != "" && hs.notified[h.Name] {
		return true
	}
	for _, l := range h.Listen {
		if hs.notified[l] {
			return true
		}
	}
	return false
}

// runMeta carries out meta actions, which print no banner.
func (pr *playRun) runMeta(ctx context.Context, t *playbook.Task, hosts []*hostState, in *inherited) {
	action := ""
	for _, k := range []string{"_raw_params", "free_form"} {
		if s, ok := t.Args[k].(string); ok {
			action = s
		}
	}
	// holds checks when for a host; a false one prints a skip line (not
	// counted in the recap), as Ansible's meta does.
	holds := func(h *hostState) bool {
		ok, _ := pr.conditionsHold(t, pr.scopeFor(h, t, in), in)
		if !ok {
			pr.r.Reporter.Result(&HostResult{Host: h.name, Task: t.DisplayName(), Module: "meta", Status: StatusSkipped,
				Result: map[string]any{"msg": action, "skipped": true, "skip_reason": action + " conditional evaluated to False"}})
		}
		return ok
	}
	// The others run once for all hosts, decided by the first.
	first := func() bool { return len(hosts) > 0 && (len(t.When) == 0 || holds(hosts[0])) }
	switch action {
	case "flush_handlers":
		pr.flushHandlers(ctx)
	case "end_play", "end_batch":
		if first() {
			pr.ended = true
		}
	case "end_host":
		for _, h := range hosts {
			if holds(h) {
				h.ended = true
			}
		}
	case "clear_facts":
		if first() {
			for _, h := range hosts {
				h.facts = map[string]any{}
			}
		}
	case "clear_host_errors":
		if first() {
			for _, h := range pr.batch {
				h.failed = false
			}
		}
	case "noop", "refresh_inventory", "reset_connection":
	}
}
