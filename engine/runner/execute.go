package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/expr"
	"github.com/cutover/cutover/engine/inventory"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/playbook"
)

// taskOutcome is a task's result on one host, loop items included.
type taskOutcome struct {
	status   Status
	ignored  bool
	rescued  bool
	lines    []*HostResult // what to print, in order
	register map[string]any
	facts    map[string]any
	vars     map[string]any // set_fact
	included map[string]any
	changed  bool
	meta     string
	// delegated holds, under delegate_facts in a loop, each delegate
	// host's facts and set_fact values apart (facts and vars stay empty).
	delegated map[string]*taskOutcome
}

// scopeFor builds the variable scope of a task on a host.
func (pr *playRun) scopeFor(h *hostState, t *playbook.Task, in *inherited) *scope {
	r := pr.r
	magic := hostMagic(r, h.host)
	maps.Copy(magic, map[string]any{
		"ansible_check_mode":     r.Options.Check,
		"ansible_diff_mode":      r.Options.Diff,
		"ansible_play_hosts":     hostNames(pr.activeAll()),
		"ansible_play_hosts_all": hostNames(pr.all),
		"play_hosts":             hostNames(pr.active()),
		"ansible_play_batch":     hostNames(pr.active()),
		"ansible_play_name":      pr.play.Name,
		"playbook_dir":           pr.play.Dir,
		"ansible_run_tags":       toAnyList(orAll(r.Options.Tags)),
		"ansible_skip_tags":      toAnyList(r.Options.SkipTags),
		"ansible_version":        map[string]any{"full": "2.14.0", "major": 2, "minor": 14, "revision": 0, "string": "2.14.0 (cutover)"},
		"ansible_forks":          r.Options.Forks,
		"ansible_verbosity":      r.Options.Verbosity,
	})
	layers := []map[string]any{r.Options.ExtraVars, in.includeVars}
	h.mu.Lock()
	layers = append(layers, maps.Clone(h.registered), maps.Clone(h.includedVars))
	h.mu.Unlock()
	layers = append(layers, t.Vars)
	chain := in.chain()
	for i := len(chain) - 1; i >= 0; i-- {
		layers = append(layers, chain[i].Vars)
	}
	h.mu.Lock()
	facts := maps.Clone(h.facts)
	h.mu.Unlock()
	layers = append(layers, pr.playVars, facts, h.inventory, magic)
	return &scope{layers: compact(layers), redact: r.Options.Redact, lazy: map[string]func() any{
		"hostvars": pr.hostvars,
		"groups":   func() any { return groupsVar(r) },
		"ansible_facts": func() any {
			af := map[string]any{}
			for k, v := range facts {
				af[strings.TrimPrefix(k, "ansible_")] = v
			}
			return af
		},
	}}
}

func compact(layers []map[string]any) []map[string]any {
	out := layers[:0]
	for _, l := range layers {
		if len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

func orAll(tags []string) []string {
	if len(tags) == 0 {
		return []string{"all"}
	}
	return tags
}

func (pr *playRun) activeAll() []*hostState {
	var out []*hostState
	for _, h := range pr.all {
		if h.active() {
			out = append(out, h)
		}
	}
	return out
}

func (pr *playRun) hostvars() any {
	out := map[string]any{}
	for _, h := range pr.r.Inventory.Hosts() {
		var vars map[string]any
		if s, ok := pr.r.hosts[h.Name]; ok {
			vars = s.persistentVars()
		} else {
			vars = maps.Clone(pr.r.Inventory.HostVars(h))
		}
		out[h.Name] = pr.bindTemplates(h, vars)
	}
	return out
}

// bindTemplates makes a host's templated variables render with that
// host's own variables wherever they are read, as Ansible's hostvars do:
// hostvars['b'].url is b's url, never the reader's ansible_host in it.
// Like Ansible's, that scope has no play vars: extra vars, the host's
// set_fact and registered values, facts, inventory and magic variables.
func (pr *playRun) bindTemplates(h *inventory.Host, vars map[string]any) map[string]any {
	var sc *scope
	for k, v := range vars {
		s, ok := v.(string)
		if !ok || !expr.IsTemplate(s) {
			continue
		}
		if sc == nil {
			r := pr.r
			sc = &scope{layers: compact([]map[string]any{r.Options.ExtraVars, vars, hostMagic(r, h)}), redact: r.Options.Redact,
				lazy: map[string]func() any{"hostvars": pr.hostvars, "groups": func() any { return groupsVar(r) }}}
		}
		vars[k] = expr.Bound{Text: s, Scope: sc}
	}
	return vars
}

// hostMagic are the magic variables that name a host.
func hostMagic(r *Runner, h *inventory.Host) map[string]any {
	return map[string]any{
		"inventory_hostname":       h.Name,
		"inventory_hostname_short": strings.SplitN(h.Name, ".", 2)[0],
		"group_names":              toAnyList(r.Inventory.GroupNames(h)),
	}
}

func groupsVar(r *Runner) any {
	out := map[string]any{}
	for g, hosts := range r.Inventory.GroupsVar() {
		out[g] = toAnyList(hosts)
	}
	return out
}

func hostNames(hs []*hostState) []any {
	out := make([]any, len(hs))
	for i, h := range hs {
		out[i] = h.name
	}
	return out
}

func toAnyList(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// conditionsHold evaluates the when conditions of enclosing blocks and the
// task, all ANDed.
func (pr *playRun) conditionsHold(t *playbook.Task, sc *scope, in *inherited) (bool, error) {
	var conds []any
	for _, b := range in.chain() {
		conds = append(conds, b.When...)
	}
	conds = append(conds, t.When...)
	for _, c := range conds {
		ok, err := evalCondition(c, sc)
		if err != nil {
			return false, fmt.Errorf("The conditional check '%v' failed. The error was: error while evaluating conditional (%v): %v", c, c, errText(err))
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// evalCondition evaluates one when/changed_when/failed_when entry: a bare
// expression, a "{{ }}" template, or a literal boolean.
func evalCondition(c any, sc expr.Scope) (bool, error) {
	switch v := c.(type) {
	case bool:
		return v, nil
	case int:
		return v != 0, nil
	case float64:
		return v != 0, nil
	case string:
		var val any
		var err error
		if expr.IsTemplate(v) {
			val, err = expr.Render(v, sc)
			if s, ok := val.(string); ok && err == nil {
				if b, ok := module.ToBool(s); ok {
					return b, nil
				}
				val, err = expr.Eval(s, sc)
			}
		} else {
			val, err = expr.Eval(v, sc)
		}
		if err != nil {
			return false, err
		}
		return expr.Truthy(val)
	}
	return false, fmt.Errorf("cannot use %s as a condition", module.TypeName(c))
}

func errText(err error) string {
	var ue *expr.UndefinedError
	if errors.As(err, &ue) {
		return ue.Error()
	}
	return err.Error()
}

// explained is an error shown as msg that still unwraps to its cause
// (skipsLoopError looks for an undefined variable below Ansible's words).
type explained struct {
	msg   string
	cause error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.cause }

// loopItems renders loop/with_* into a list.
func (pr *playRun) loopItems(t *playbook.Task, sc *scope) ([]any, bool, error) {
	if t.Loop == nil {
		return nil, false, nil
	}
	v, err := expr.RenderValue(t.Loop, sc)
	if err != nil {
		return nil, true, &explained{"The task includes an option with an undefined variable. The error was: " + errText(err), err}
	}
	switch t.LoopWith {
	case "with_dict":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, true, fmt.Errorf("with_dict expects a dict")
		}
		out := []any{}
		for _, k := range playbook.SortedKeys(m) {
			out = append(out, map[string]any{"key": k, "value": m[k]})
		}
		return out, true, nil
	case "with_items":
		// with_items flattens one level.
		list, ok := v.([]any)
		if !ok {
			return []any{v}, true, nil
		}
		var out []any
		for _, e := range list {
			if sub, ok := e.([]any); ok {
				out = append(out, sub...)
			} else {
				out = append(out, e)
			}
		}
		return out, true, nil
	case "with_indexed_items":
		list, _ := v.([]any)
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = []any{i, e}
		}
		return out, true, nil
	}
	switch list := v.(type) {
	case []any:
		return list, true, nil
	case nil:
		return nil, true, nil
	case string:
		return nil, true, fmt.Errorf("Invalid data passed to 'loop', it requires a list, got this instead: %s. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.", list)
	default:
		return nil, true, fmt.Errorf("Invalid data passed to 'loop', it requires a list, got this instead: %v", v)
	}
}

func loopVars(t *playbook.Task, item any, i int, items []any) map[string]any {
	lc := t.LoopControl
	name := lc.LoopVar
	if name == "" {
		name = "item"
	}
	vars := map[string]any{name: item, "ansible_loop_var": name}
	if lc.IndexVar != "" {
		vars[lc.IndexVar] = i
		vars["ansible_index_var"] = lc.IndexVar
	}
	if lc.Extended {
		n := len(items)
		loop := map[string]any{"index": i + 1, "index0": i, "revindex": n - i, "revindex0": n - i - 1,
			"first": i == 0, "last": i == n-1, "length": n, "allitems": items}
		if i > 0 {
			loop["previtem"] = items[i-1]
		}
		if i < n-1 {
			loop["nextitem"] = items[i+1]
		}
		vars["ansible_loop"] = loop
	}
	return vars
}

// failHost records an engine-side failure (bad loop, bad condition).
func (pr *playRun) failHost(h *hostState, t *playbook.Task, in *inherited, err error) {
	out := &taskOutcome{status: StatusFailed, register: map[string]any{"failed": true, "msg": err.Error(), "changed": false}}
	out.lines = []*HostResult{{Host: h.name, Task: t.DisplayName(), Status: StatusFailed, Result: map[string]any{"msg": err.Error()}}}
	pr.finish(t, h, in, out)
}

// skipsLoopError decides a loop that could not be rendered as Ansible
// does: an undefined variable in the loop counts only if the task's when
// holds without the item, so `loop: "{{ x }}"` with `when: x is defined`
// skips. It reports whether the task is skipped, or the error to fail with.
func (pr *playRun) skipsLoopError(t *playbook.Task, sc *scope, in *inherited, loopErr error) (bool, error) {
	var undefined *expr.UndefinedError
	if !errors.As(loopErr, &undefined) {
		return false, loopErr
	}
	// A when that cannot be evaluated either: the loop's error wins, as
	// in Ansible.
	if ok, err := pr.conditionsHold(t, sc, in); err != nil || ok {
		return false, loopErr
	}
	return true, nil
}

// conditionSkipped is the outcome of a task whose when is false.
func conditionSkipped(h *hostState, name string) *taskOutcome {
	res := map[string]any{"changed": false, "skip_reason": "Conditional result was False"}
	reg := maps.Clone(res)
	reg["skipped"] = true
	return &taskOutcome{status: StatusSkipped, register: reg,
		lines: []*HostResult{{Host: h.name, Task: name, Status: StatusSkipped, Result: res}}}
}

// execute runs a task on one host: conditions, loop, module, register.
func (pr *playRun) execute(ctx context.Context, t *playbook.Task, h *hostState, in *inherited, name string) *taskOutcome {
	if in.gathering && h.gathered {
		// Facts are gathered once per host per run; later plays reuse them.
		return &taskOutcome{status: StatusOK, register: map[string]any{"changed": false},
			lines: []*HostResult{{Host: h.name, Task: name, Module: t.Module, Status: StatusOK, Result: map[string]any{"changed": false}}}}
	}
	sc := pr.scopeFor(h, t, in)
	// A loop or when that cannot be evaluated fails the task, and
	// ignore_errors covers that failure too, as in Ansible.
	failed := func(err error) *taskOutcome {
		out := failedOutcome(h, name, err)
		pr.applyIgnore(t, in, sc, out)
		return out
	}
	items, looped, err := pr.loopItems(t, sc)
	if err != nil {
		if skip, err := pr.skipsLoopError(t, sc, in, err); !skip {
			return failed(err)
		}
		return conditionSkipped(h, name)
	}
	if !looped {
		ok, err := pr.conditionsHold(t, sc, in)
		if err != nil {
			return failed(err)
		}
		if !ok {
			return conditionSkipped(h, name)
		}
		return pr.runOnce(ctx, t, h, in, sc, name, nil)
	}
	if len(items) == 0 {
		res := map[string]any{"changed": false, "skipped_reason": "No items in the list"}
		return &taskOutcome{status: StatusSkipped, register: map[string]any{"changed": false, "skipped": true, "results": []any{}, "skipped_reason": "No items in the list"},
			lines: []*HostResult{{Host: h.name, Task: name, Status: StatusSkipped, Result: res}}}
	}
	agg := &taskOutcome{status: StatusSkipped}
	hidden := pr.noLog(t, in)
	var results []any
	allSkipped := true
	for i, item := range items {
		if ctx.Err() != nil {
			break
		}
		vars := loopVars(t, item, i, items)
		isc := sc.with(vars)
		label := itemLabel(t, item, isc)
		if hidden {
			label = "None" // Ansible hides the item itself under no_log
		}
		var one *taskOutcome
		ok, err := pr.conditionsHold(t, isc, in)
		switch {
		case err != nil:
			one = failed(err)
		case !ok:
			one = conditionSkipped(h, name)
		default:
			one = pr.runOnce(ctx, t, h, in, isc, name, &label)
		}
		// Each result holds the item under its loop_var name, as in Ansible.
		for k, v := range vars {
			one.register[k] = v
		}
		for _, l := range one.lines {
			l.Item = &label
			if l.Module == "" {
				l.Module = t.Module
			}
			if !hidden {
				l.Result = playbook.MergedVars(l.Result, map[string]any{vars["ansible_loop_var"].(string): item, "ansible_loop_var": vars["ansible_loop_var"]})
			}
		}
		agg.lines = append(agg.lines, one.lines...)
		results = append(results, one.register)
		if one.status != StatusSkipped {
			allSkipped = false
		}
		if one.changed {
			agg.changed = true
		}
		if one.status == StatusFailed && !one.ignored {
			agg.status = StatusFailed
		} else if one.status == StatusFailed && agg.status != StatusFailed {
			agg.status, agg.ignored = StatusFailed, true
		}
		if d := delegateOf(one); t.DelegateFacts && d != "" {
			if agg.delegated == nil {
				agg.delegated = map[string]*taskOutcome{}
			}
			to := agg.delegated[d]
			if to == nil {
				to = &taskOutcome{}
				agg.delegated[d] = to
			}
			to.facts = playbook.MergedVars(to.facts, one.facts)
			to.vars = playbook.MergedVars(to.vars, one.vars)
		} else {
			agg.facts = playbook.MergedVars(agg.facts, one.facts)
			agg.vars = playbook.MergedVars(agg.vars, one.vars)
		}
		agg.included = playbook.MergedVars(agg.included, one.included)
		// The next item sees what this one set (set_fact accumulating
		// over a loop), as Ansible updates the task's vars per item.
		// set_fact values are data from then on, as finish stores them:
		// never templated again.
		if len(one.vars)+len(one.included) > 0 {
			sc = sc.with(playbook.MergedVars(one.included, expr.MarkUnsafe(one.vars).(map[string]any)))
		}
		if lc := t.LoopControl.Pause; lc > 0 && i < len(items)-1 {
			time.Sleep(time.Duration(lc * float64(time.Second)))
		}
	}
	if agg.status != StatusFailed {
		switch {
		case allSkipped:
			agg.status = StatusSkipped
		case agg.changed:
			agg.status = StatusChanged
		default:
			agg.status = StatusOK
		}
	}
	agg.register = map[string]any{"results": results, "changed": agg.changed, "msg": "All items completed"}
	if agg.status == StatusFailed {
		agg.register["failed"] = true
		agg.register["msg"] = "One or more items failed"
	}
	agg.register["skipped"] = allSkipped
	// "...ignoring" follows the items once, for the whole task.
	for _, l := range agg.lines {
		l.Ignored = false
	}
	switch {
	case hidden && !allSkipped:
		// Under no_log Ansible's callback also prints the whole task's result.
		agg.lines = append(agg.lines, &HostResult{Host: h.name, Task: name, Module: t.Module, Status: agg.status,
			Ignored: agg.ignored, Result: map[string]any{"censored": censored, "changed": agg.changed}})
	case agg.status == StatusFailed:
		agg.lines = append(agg.lines, &HostResult{Host: h.name, Task: name, Module: t.Module, Status: StatusFailed,
			Ignored: agg.ignored, LoopSummary: true, Result: outputResult(agg.register)})
	}
	if allSkipped {
		agg.register["msg"] = "All items skipped"
		// Ansible's callback prints the whole task's skip after the items.
		agg.lines = append(agg.lines, &HostResult{Host: h.name, Task: name, Module: t.Module, Status: StatusSkipped,
			Result: map[string]any{"changed": false, "skipped": true, "msg": "All items skipped"}})
	}
	return agg
}

func itemLabel(t *playbook.Task, item any, sc *scope) string {
	if t.LoopControl.Label != "" {
		if s, err := expr.RenderString(t.LoopControl.Label, sc); err == nil {
			return s
		}
		return t.LoopControl.Label
	}
	if s, ok := item.(string); ok {
		return s
	}
	return expr.PyRepr(item)
}

func failedOutcome(h *hostState, task string, err error) *taskOutcome {
	msg := err.Error()
	return &taskOutcome{status: StatusFailed,
		register: map[string]any{"failed": true, "changed": false, "msg": msg},
		lines:    []*HostResult{{Host: h.name, Task: task, Status: StatusFailed, Result: map[string]any{"changed": false, "msg": msg}}}}
}

// currentUser is who cutover runs as; become to this user needs no sudo.
// Looked up on first use: reading the user database at start would cost
// every run, a syntax check included.
var currentUser = sync.OnceValue(func() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
})

// becomeFor resolves become settings: CLI, play, blocks, task, then the
// host's ansible_become* variables.
func (pr *playRun) becomeFor(t *playbook.Task, in *inherited, sc *scope, local bool) (conn.Become, error) {
	b := conn.Become{Enabled: pr.r.Options.Become, User: pr.r.Options.BecomeUser}
	if v, ok := sc.Lookup("ansible_become"); ok {
		b.Enabled, _ = module.ToBool(v)
	}
	if v, ok := sc.Lookup("ansible_become_user"); ok {
		b.User = fmt.Sprint(v)
	}
	apply := func(become *bool, user string) {
		if become != nil {
			b.Enabled = *become
		}
		if user != "" {
			b.User = user
		}
	}
	apply(pr.play.Become, pr.play.BecomeUser)
	for _, blk := range in.chain() {
		apply(blk.Become, blk.BecomeUser)
	}
	apply(t.Become, t.BecomeUser)
	b.Password = pr.r.Options.BecomePassword
	if v, ok := sc.Lookup("ansible_become_password"); ok {
		pw, err := expr.RenderString(fmt.Sprint(v), sc)
		if err != nil {
			return b, err
		}
		b.Password = pw
	} else if v, ok := sc.Lookup("ansible_become_pass"); ok {
		pw, err := expr.RenderString(fmt.Sprint(v), sc)
		if err != nil {
			return b, err
		}
		b.Password = pw
	}
	if module.Templated(b.User) {
		u, err := expr.RenderString(b.User, sc)
		if err != nil {
			return b, err
		}
		b.User = u
	}
	if local && b.Enabled && (b.User == "" && currentUser() == "root" || b.User == currentUser()) {
		b.Enabled = false // already that user here: sudo would add nothing
	}
	return b, nil
}
