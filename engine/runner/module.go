package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/expr"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/playbook"
)

// censored is Ansible's text for results hidden by no_log.
const censored = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"

// runOnce runs the module once for a host (one loop item), retrying while
// until says so.
func (pr *playRun) runOnce(ctx context.Context, t *playbook.Task, h *hostState, in *inherited, sc *scope, name string, label *string) *taskOutcome {
	retries, delay := 0, 5
	if t.Until != nil {
		retries = 3
		if t.Retries != nil {
			retries = *t.Retries
		}
		if t.Delay != nil {
			delay = *t.Delay
		}
	}
	// retries of 0 or less run the task once without checking until, as
	// in Ansible.
	until := t.Until != nil && retries > 0
	var out *taskOutcome
	for attempt := 1; ; attempt++ {
		out = pr.invoke(ctx, t, h, in, sc, name)
		if !until {
			break
		}
		out.register["attempts"] = attempt
		usc := sc
		if t.Register != "" {
			usc = sc.with(map[string]any{t.Register: expr.MarkUnsafe(out.register)})
		}
		ok, err := evalCondition(t.Until, usc)
		if err != nil {
			return failedOutcome(h, name, err)
		}
		if ok {
			break
		}
		if attempt > retries || ctx.Err() != nil {
			out.status = StatusFailed
			out.register["failed"] = true
			// Ansible reports the retries asked for, one less than the runs.
			out.register["attempts"] = retries
			if _, has := out.register["msg"]; !has {
				out.register["msg"] = "Retries exhausted"
			}
			out.lines[len(out.lines)-1].Status = StatusFailed
			out.lines[len(out.lines)-1].Result = outputResult(out.register)
			break
		}
		pr.r.Reporter.Retrying(h.name, name, retries-attempt+1)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(delay) * time.Second):
		}
	}
	pr.applyIgnore(t, in, sc, out)
	return out
}

// applyIgnore marks a failure ignored by ignore_errors: the task's own
// value, else the nearest enclosing block's, else the play's.
func (pr *playRun) applyIgnore(t *playbook.Task, in *inherited, sc *scope, out *taskOutcome) {
	if out.status != StatusFailed {
		return
	}
	setting := t.IgnoreErrors
	for c := in; setting == nil && c != nil; c = c.parent {
		if c.block != nil {
			setting = c.block.IgnoreErrors
		}
	}
	ignore := pr.play.IgnoreErrors
	switch v := setting.(type) {
	case bool:
		ignore = v
	case string:
		if s, err := expr.RenderString(v, sc); err == nil {
			ignore, _ = module.ToBool(s)
		}
	}
	if ignore {
		out.ignored = true
		for _, l := range out.lines {
			if l.Status == StatusFailed {
				l.Ignored = true
			}
		}
	}
}

// invoke templates the arguments, plans, and applies unless in check mode.
func (pr *playRun) invoke(ctx context.Context, t *playbook.Task, h *hostState, in *inherited, sc *scope, name string) *taskOutcome {
	r := pr.r
	info := t.Info
	raw := map[string]any{}
	for k, v := range t.Args {
		if slices.Contains(info.NoTemplate, k) {
			raw[k] = v
			continue
		}
		rv, err := expr.RenderValue(v, sc)
		if err != nil {
			return failedOutcome(h, name, undefinedMsg(t, err))
		}
		if rv == expr.Omit {
			continue
		}
		raw[k] = rv
	}
	noteSecrets(r.Options.Redact, info, raw)
	args, errs := info.Decode(raw, false)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Msg
		}
		return failedOutcome(h, name, errors.New(strings.Join(msgs, "; ")))
	}
	// The innermost setting wins: task, then its blocks, then the play.
	check := r.Options.Check
	if pr.play.CheckMode != nil {
		check = *pr.play.CheckMode
	}
	diff := r.Options.Diff
	if pr.play.Diff != nil {
		diff = *pr.play.Diff
	}
	for _, b := range append(in.chain(), t) {
		if b.CheckMode != nil {
			check = *b.CheckMode
		}
		if b.Diff != nil {
			diff = *b.Diff
		}
	}
	target, delegate := h.name, ""
	connVars := h.inventory
	if t.DelegateTo != "" {
		d, err := expr.RenderString(t.DelegateTo, sc)
		if err != nil {
			return failedOutcome(h, name, undefinedMsg(t, err))
		}
		target, delegate = d, d
		connVars = pr.delegateVars(d)
	}
	connVars, err := connectionVars(connVars, sc)
	noteSecretKeys(r.Options.Redact, connVars, 0)
	if err != nil {
		return failedOutcome(h, name, undefinedMsg(t, err))
	}
	base, err := r.connection(ctx, target, connVars)
	if err != nil {
		return unreachableOutcome(h, name, err)
	}
	_, local := base.(*conn.Local)
	become, err := pr.becomeFor(t, in, sc, local)
	if err != nil {
		return failedOutcome(h, name, undefinedMsg(t, err))
	}
	env, err := pr.environment(t, in, sc)
	if err != nil {
		return failedOutcome(h, name, undefinedMsg(t, err))
	}
	host := conn.WithTask(base, env, become)
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(t.Timeout)*time.Second)
		defer cancel()
	}
	menv := &module.Env{
		Host:      conn.ReadOnly(host, info.Probes),
		Check:     check,
		Diff:      diff,
		Eval:      func(s string) (any, error) { return expr.Eval(s, sc) },
		Template:  func(s string) (string, error) { return expr.RenderString(s, sc) },
		Vars:      sc.Lookup,
		Dir:       t.Dir,
		Out:       r.Options.PromptOut,
		In:        r.Options.In,
		AssumeYes: r.Options.AssumeYes,
		Vault:     r.Options.Vault,
	}
	mod := info.New()
	change, err := mod.Plan(ctx, menv, args)
	var res *module.Result
	status := StatusOK
	switch {
	case err != nil:
		if errors.Is(err, conn.ErrUnreachable) {
			return unreachableOutcome(h, name, err)
		}
		res = &module.Result{Failed: true, Msg: err.Error()}
	case change.Action == module.None:
		res = orEmpty(change.Result)
	case check && change.Action == module.Invoke:
		msg := change.CheckSkip
		if msg == "" {
			msg = "Command would have run if not in check mode"
		}
		// Result carries what register stores (command's rc and stdout);
		// Apply is never reached.
		res = orEmpty(change.Result)
		res.Msg = msg
		if change.CheckChanged {
			res.Changed = true
		} else {
			res.Skipped = true
		}
	case check:
		// Check mode: report the plan; Apply is never reached.
		res = orEmpty(change.Result)
		res.Changed = true
	default:
		res, err = mod.Apply(r.progress.context(ctx, h.name), host, change)
		r.progress.clear()
		if err != nil {
			if errors.Is(err, conn.ErrUnreachable) {
				return unreachableOutcome(h, name, err)
			}
			res = &module.Result{Failed: true, Msg: err.Error(), Data: orEmpty(res).Data}
		}
		res = orEmpty(res)
		if change.Action != module.Invoke && !res.Failed {
			res.Changed = true
		}
	}
	// set_fact, include_vars and facts may bring secret-named values.
	for _, vars := range []map[string]any{res.Vars, res.IncludedVars, res.Facts} {
		noteSecretKeys(r.Options.Redact, vars, 0)
	}
	reg := registerValue(res)
	if ctx.Err() != nil && t.Timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		reg["failed"] = true
		reg["msg"] = fmt.Sprintf("The %s action failed to execute in the expected time frame (%d) and was terminated", info.Name, t.Timeout)
	}
	// changed_when and failed_when see the result under its register name.
	csc := sc
	if t.Register != "" {
		csc = sc.with(map[string]any{t.Register: expr.MarkUnsafe(reg)})
	}
	// As in Ansible, a skipped result (check mode) is not judged.
	judged := reg["skipped"] != true
	if judged && len(t.ChangedWhen) > 0 {
		changed, err := allHold(t.ChangedWhen, csc)
		if err != nil {
			return failedOutcome(h, name, err)
		}
		reg["changed"] = changed
	}
	if judged && len(t.FailedWhen) > 0 {
		failed, err := anyHolds(t.FailedWhen, csc)
		if err != nil {
			return failedOutcome(h, name, err)
		}
		reg["failed"] = failed
		if failed {
			reg["failed_when_result"] = true
		} else {
			reg["failed_when_result"] = false
		}
	}
	changed, _ := reg["changed"].(bool)
	failed, _ := reg["failed"].(bool)
	skipped, _ := reg["skipped"].(bool)
	switch {
	case failed:
		status = StatusFailed
	case skipped:
		status = StatusSkipped
	case changed:
		status = StatusChanged
	}
	noLog := pr.noLog(t, in)
	shown := outputResult(reg)
	if noLog {
		shown = map[string]any{"censored": censored, "changed": changed}
	}
	line := &HostResult{Host: h.name, Delegate: delegate, Task: name, Module: info.Name, Status: status, Result: shown,
		Verbose: res.Verbose && !noLog, ShowDiffs: diff && !noLog && (changed || check), Diffs: planDiffs(change)}
	return &taskOutcome{status: status, register: reg, facts: res.Facts, vars: res.Vars, included: res.IncludedVars,
		changed: changed, meta: res.Meta, lines: []*HostResult{line}}
}

func planDiffs(c *module.Change) []module.Diff {
	if c == nil {
		return nil
	}
	return c.Diffs
}

func orEmpty(r *module.Result) *module.Result {
	if r == nil {
		return &module.Result{}
	}
	return r
}

// registerValue is what register stores, named as Ansible names it.
func registerValue(res *module.Result) map[string]any {
	reg := make(map[string]any, len(res.Data)+4)
	maps.Copy(reg, res.Data)
	reg["changed"] = res.Changed
	reg["failed"] = res.Failed
	if res.Msg != "" {
		reg["msg"] = res.Msg
	}
	if res.Skipped {
		reg["skipped"] = true
	}
	return reg
}

// outputResult is the result as printed: without the "failed" flag, which
// the status word already says.
func outputResult(reg map[string]any) map[string]any {
	out := maps.Clone(reg)
	delete(out, "failed")
	if out["failed_when_result"] == false {
		delete(out, "failed_when_result")
	}
	return out
}

func unreachableOutcome(h *hostState, task string, err error) *taskOutcome {
	msg := err.Error()
	res := map[string]any{"changed": false, "msg": msg, "unreachable": true}
	return &taskOutcome{status: StatusUnreachable, register: res,
		lines: []*HostResult{{Host: h.name, Task: task, Status: StatusUnreachable, Result: res}}}
}

func undefinedMsg(t *playbook.Task, err error) error {
	return fmt.Errorf("The task includes an option with an undefined variable. The error was: %s\n\nThe error appears to be in '%s': line %d, column %d",
		errText(err), t.Pos.File, t.Pos.Line, t.Pos.Col)
}

func allHold(conds []any, sc *scope) (bool, error) {
	for _, c := range conds {
		ok, err := evalCondition(c, sc)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func anyHolds(conds []any, sc *scope) (bool, error) {
	// Ansible ANDs a list of failed_when conditions too.
	return allHold(conds, sc)
}

// environment renders the play's, blocks' and task's environment.
func (pr *playRun) environment(t *playbook.Task, in *inherited, sc *scope) (map[string]string, error) {
	layers := []map[string]any{pr.play.Environment}
	for _, b := range in.chain() {
		layers = append(layers, b.Environment)
	}
	layers = append(layers, t.Environment)
	var out map[string]string
	for _, l := range layers {
		for k, v := range l {
			s, err := expr.RenderValue(v, sc)
			if err != nil {
				return nil, err
			}
			if out == nil {
				out = map[string]string{}
			}
			out[k] = expr.PyStr(s)
		}
	}
	return out, nil
}

// delegateVars are the connection variables of a delegate_to host.
func (pr *playRun) delegateVars(name string) map[string]any {
	if h := pr.r.Inventory.Host(name); h != nil {
		return pr.r.Inventory.HostVars(h)
	}
	if name == "localhost" || name == "127.0.0.1" {
		return map[string]any{"ansible_connection": "local"}
	}
	return map[string]any{}
}

// notifyNames renders the task's notify list for h: `notify: restart
// {{ svc }}` names its handler once rendered. A name that does not render
// (one using a loop's item) is kept as written, matching no handler, with
// a warning.
func (pr *playRun) notifyNames(t *playbook.Task, h *hostState, in *inherited) []string {
	names := slices.Clone(t.Notify)
	var sc *scope
	for i, n := range names {
		if !module.Templated(n) {
			continue
		}
		if sc == nil {
			sc = pr.scopeFor(h, t, in)
		}
		s, err := expr.RenderString(n, sc)
		if err != nil {
			// Rendered once per host, without a loop's item: say so
			// rather than notify nothing in silence.
			pr.r.Reporter.Warning(fmt.Sprintf("notify %q does not render (%v); no handler is notified by it", n, errText(err)))
			continue
		}
		names[i] = s
	}
	return names
}

// factsHost is where a task's facts belong: h, or the inventory host
// named by delegate_to when delegate_facts is set.
func (pr *playRun) factsHost(t *playbook.Task, h *hostState, delegate string) *hostState {
	if !t.DelegateFacts || delegate == "" {
		return h
	}
	if ih := pr.r.Inventory.Host(delegate); ih != nil {
		return pr.r.state(ih)
	}
	return h
}

// delegateOf names the host an outcome's task was delegated to, if any.
func delegateOf(out *taskOutcome) string {
	for _, l := range out.lines {
		if l.Delegate != "" {
			return l.Delegate
		}
	}
	return ""
}

// setFacts records an outcome's facts and set_fact values.
func (h *hostState) setFacts(out *taskOutcome) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, v := range out.facts {
		h.facts[k] = expr.MarkUnsafe(v)
	}
	for k, v := range out.vars {
		h.registered[k] = expr.MarkUnsafe(v)
	}
}

// finish reports a host's outcome and records its effects: stats,
// register, facts, notifications, failure.
func (pr *playRun) finish(t *playbook.Task, h *hostState, in *inherited, out *taskOutcome) {
	r := pr.r
	for _, l := range out.lines {
		r.Reporter.Result(l)
	}
	notify := pr.notifyNames(t, h, in)
	h.mu.Lock()
	if t.Register != "" {
		h.registered[t.Register] = expr.MarkUnsafe(out.register)
	}
	if in.gathering && out.status == StatusOK {
		h.gathered = true
	}
	for k, v := range out.included {
		h.includedVars[k] = v
	}
	h.mu.Unlock()
	// Facts and set_fact values go to the host the task ran for, or with
	// delegate_facts to the host it was delegated to (per loop item).
	pr.factsHost(t, h, delegateOf(out)).setFacts(out)
	for d, o := range out.delegated {
		pr.factsHost(t, h, d).setFacts(o)
	}
	switch out.status {
	case StatusOK, StatusChanged:
		r.count(h.name, func(s *Stats) {
			s.OK++
			if out.changed {
				s.Changed++
			}
		})
		if out.changed && out.status != StatusFailed {
			for _, n := range notify {
				h.notified[n] = true
			}
		}
	case StatusSkipped:
		r.count(h.name, func(s *Stats) { s.Skipped++ })
	case StatusUnreachable:
		r.count(h.name, func(s *Stats) { s.Unreachable++ })
		h.unreachable = true
	case StatusFailed:
		switch {
		case out.ignored:
			r.count(h.name, func(s *Stats) {
				s.OK++
				s.Ignored++
				if out.changed {
					s.Changed++
				}
			})
		case in.rescuable:
			r.count(h.name, func(s *Stats) { s.Rescued++ })
			h.failed = true
			h.mu.Lock()
			h.registered["ansible_failed_task"] = map[string]any{"name": t.Name, "action": t.Module}
			h.registered["ansible_failed_result"] = expr.MarkUnsafe(out.register)
			h.mu.Unlock()
		default:
			r.count(h.name, func(s *Stats) { s.Failed++ })
			h.failed = true
		}
	}
	switch out.meta {
	case "end_host":
		h.ended = true
	}
}

// noLog reports whether a task's results must be hidden: no_log on the
// task, an enclosing block, or the play.
func (pr *playRun) noLog(t *playbook.Task, in *inherited) bool {
	if t.NoLog || pr.play.NoLog {
		return true
	}
	for _, b := range in.chain() {
		if b.NoLog {
			return true
		}
	}
	return false
}

// connectionVars renders the ansible_* variables a connection reads: an
// ansible_password may well be "{{ vault_finance_password }}".
func connectionVars(vars map[string]any, sc *scope) (map[string]any, error) {
	out, cloned := vars, false
	for k, v := range vars {
		if !strings.HasPrefix(k, "ansible_") || !module.Templated(v) {
			continue
		}
		rv, err := expr.RenderValue(v, sc)
		if err != nil {
			return nil, err
		}
		if !cloned {
			out, cloned = maps.Clone(vars), true
		}
		out[k] = rv
	}
	return out, nil
}
