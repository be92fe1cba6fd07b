package runner

import (
	"bufio"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cutover/cutover/engine/expr"
	"github.com/cutover/cutover/engine/playbook"
)

// inherited carries the keywords a block passes down to its tasks.
type inherited struct {
	play        *playbook.Play
	parent      *inherited
	block       *playbook.Task // the enclosing block, nil at the top
	tags        []string
	rescuable   bool // inside a block that has a rescue section
	alwaysNext  bool // in the block or rescue section of a block that has an always section
	handler     bool
	alwaysRun   bool           // ignores tags (fact gathering)
	gathering   bool           // the implicit fact gathering: once per host per run
	includeVars map[string]any // include_tasks params (item...)
	perHostVars map[string]map[string]any
}

func (in *inherited) child(block *playbook.Task) *inherited {
	c := *in
	c.parent, c.block = in, block
	c.tags = append(slices.Clone(in.tags), block.Tags...)
	return &c
}

// chain lists the enclosing blocks from the outermost.
func (in *inherited) chain() []*playbook.Task {
	var out []*playbook.Task
	for c := in; c != nil; c = c.parent {
		if c.block != nil {
			out = append(out, c.block)
		}
	}
	slices.Reverse(out)
	return out
}

// runTasks runs a task list on hosts, in lockstep.
func (pr *playRun) runTasks(ctx context.Context, tasks []*playbook.Task, hosts []*hostState, in *inherited) {
	for _, t := range tasks {
		if ctx.Err() != nil || pr.ended || pr.aborted {
			return
		}
		hosts = stillActive(hosts)
		if len(hosts) == 0 {
			return
		}
		switch {
		case t.IsBlock():
			pr.runBlock(ctx, t, hosts, in)
		case t.IncludeTasks != "":
			pr.runInclude(ctx, t, hosts, in)
		default:
			pr.runTask(ctx, t, hosts, in)
		}
	}
}

func stillActive(hosts []*hostState) []*hostState {
	out := hosts[:0:0]
	for _, h := range hosts {
		if h.active() {
			out = append(out, h)
		}
	}
	return out
}

// runBlock runs block, then rescue for the hosts that failed in it, then
// always for every host that entered.
func (pr *playRun) runBlock(ctx context.Context, b *playbook.Task, hosts []*hostState, in *inherited) {
	inner := in.child(b)
	inner.rescuable = len(b.Rescue) > 0 || in.rescuable
	blockIn := *inner
	blockIn.rescuable = len(b.Rescue) > 0
	if !blockIn.rescuable {
		blockIn.rescuable = in.rescuable
	}
	blockIn.alwaysNext = len(b.Always) > 0
	pr.runTasks(ctx, b.Block, hosts, &blockIn)
	var failed []*hostState
	for _, h := range hosts {
		if h.failed && !h.unreachable {
			failed = append(failed, h)
		}
	}
	if len(b.Rescue) > 0 && len(failed) > 0 {
		for _, h := range failed {
			h.failed = false
		}
		rescueIn := *inner
		rescueIn.rescuable = in.rescuable
		rescueIn.alwaysNext = len(b.Always) > 0
		pr.runTasks(ctx, b.Rescue, failed, &rescueIn)
	}
	if len(b.Always) > 0 {
		var entered []*hostState
		var stillFailed []*hostState
		for _, h := range hosts {
			if h.unreachable || h.ended {
				continue
			}
			if h.failed {
				stillFailed = append(stillFailed, h)
				h.failed = false
			}
			entered = append(entered, h)
		}
		alwaysIn := *inner
		alwaysIn.rescuable = in.rescuable
		alwaysIn.alwaysNext = false
		pr.runTasks(ctx, b.Always, entered, &alwaysIn)
		for _, h := range stillFailed {
			h.failed = true
		}
	}
}

// runInclude expands include_tasks per host (and loop item), reports
// every expansion, then runs each file on the hosts that included it.
func (pr *playRun) runInclude(ctx context.Context, t *playbook.Task, hosts []*hostState, in *inherited) {
	if !pr.selected(t, in) {
		return
	}
	type expansion struct {
		path  string
		label *string
		vars  map[string]any
		hosts []*hostState
	}
	var order []*expansion
	byKey := map[string]*expansion{}
	taskName := pr.taskName(t, hosts, in)
	pr.r.Reporter.TaskStart(taskName, in.handler)
	for _, h := range hosts {
		sc := pr.scopeFor(h, t, in)
		items, looped, err := pr.loopItems(t, sc)
		if err != nil {
			if skip, err := pr.skipsLoopError(t, sc, in, err); !skip {
				pr.failHost(h, t, in, err)
				continue
			}
			items, looped = nil, false // reported as skipped below
		}
		if !looped {
			items = []any{nil}
		}
		skipped := 0
		for i, item := range items {
			isc := sc
			vars := map[string]any{}
			var label *string
			if looped {
				vars = loopVars(t, item, i, items)
				isc = sc.with(vars)
				l := itemLabel(t, item, isc)
				label = &l
			}
			ok, err := pr.conditionsHold(t, isc, in)
			if err != nil {
				pr.failHost(h, t, in, err)
				break
			}
			if !ok {
				skipped++
				if looped {
					pr.r.Reporter.Result(&HostResult{Host: h.name, Task: taskName, Status: StatusSkipped, Item: label,
						Result: map[string]any{"changed": false, "skip_reason": "Conditional result was False"}})
				}
				continue
			}
			name, err := expr.RenderString(t.IncludeTasks, isc)
			if err != nil {
				pr.failHost(h, t, in, err)
				break
			}
			if !filepath.IsAbs(name) {
				name = filepath.Join(t.Dir, name)
			}
			if abs, err := filepath.Abs(name); err == nil {
				name = abs
			}
			for k, v := range t.Vars {
				vars[k] = v
			}
			key := fmt.Sprintf("%s\x00%d", name, i)
			e, ok := byKey[key]
			if !ok {
				e = &expansion{path: name, label: label, vars: vars}
				byKey[key] = e
				order = append(order, e)
			}
			e.hosts = append(e.hosts, h)
			pr.r.count(h.name, func(s *Stats) { s.OK++ })
		}
		// Skipped items print as they are decided and, when every item
		// (or the only one) is skipped, the include counts as skipped.
		if skipped == len(items) {
			pr.r.Reporter.Result(&HostResult{Host: h.name, Task: taskName, Status: StatusSkipped,
				Result: map[string]any{"changed": false, "skipped": true}})
			pr.r.count(h.name, func(s *Stats) { s.Skipped++ })
		}
	}
	for _, e := range order {
		names := make([]string, len(e.hosts))
		for i, h := range e.hosts {
			names[i] = h.name
		}
		pr.r.Reporter.Included(e.path, names, e.label)
	}
	for _, e := range order {
		tasks, err := pr.loadInclude(e.path)
		if err != nil {
			for _, h := range e.hosts {
				pr.failHost(h, t, in, err)
			}
			continue
		}
		sub := *in
		sub.includeVars = playbook.MergedVars(in.includeVars, e.vars)
		// As in Ansible, the include's own tags select the include, not
		// the tasks it brings; apply: {tags: ...} tags those.
		sub.tags = append(slices.Clone(in.tags), t.ApplyTags...)
		pr.runTasks(ctx, tasks, stillActive(e.hosts), &sub)
	}
}

func (pr *playRun) loadInclude(path string) ([]*playbook.Task, error) {
	r := pr.r
	r.connMu.Lock()
	defer r.connMu.Unlock()
	if r.taskVars == nil {
		r.taskVars = map[string][]*playbook.Task{}
	}
	if tasks, ok := r.taskVars[path]; ok {
		return tasks, nil
	}
	tasks, err := r.Loader.LoadTasks(path)
	if err != nil {
		return nil, err
	}
	r.taskVars[path] = tasks
	return tasks, nil
}

// runTask runs one module task on hosts: banner, parallel execution up to
// --forks, results in host order, then any_errors_fatal and
// max_fail_percentage.
func (pr *playRun) runTask(ctx context.Context, t *playbook.Task, hosts []*hostState, in *inherited) {
	if !pr.selected(t, in) {
		return
	}
	if t.Module == "meta" {
		pr.r.Reporter.TaskStart(pr.taskName(t, hosts, in), in.handler)
		pr.runMeta(ctx, t, hosts, in)
		return
	}
	name := pr.taskName(t, hosts, in)
	if pr.r.Options.Step && !pr.r.stepAll && !in.alwaysRun {
		if !pr.confirmStep(name) {
			return
		}
	}
	pr.r.Reporter.TaskStart(name, in.handler)
	targets := hosts
	if t.RunOnce {
		targets = hosts[:1]
	}
	outcomes := make([]*taskOutcome, len(targets))
	limit := pr.r.Options.Forks
	if t.Throttle > 0 && t.Throttle < limit {
		limit = t.Throttle
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, h := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outcomes[i] = pr.execute(ctx, t, h, in, name)
		}()
	}
	wg.Wait()
	for i, h := range targets {
		pr.finish(t, h, in, outcomes[i])
	}
	if t.RunOnce {
		// run_once: the other hosts share the result.
		for _, h := range hosts[1:] {
			if t.Register != "" {
				h.mu.Lock()
				h.registered[t.Register] = expr.MarkUnsafe(outcomes[0].register)
				h.mu.Unlock()
			}
			h.mu.Lock()
			for k, v := range outcomes[0].facts {
				h.facts[k] = expr.MarkUnsafe(v)
			}
			for k, v := range outcomes[0].vars {
				h.registered[k] = expr.MarkUnsafe(v)
			}
			h.mu.Unlock()
		}
	}
	pr.afterTask(t, targets, outcomes, in)
}

func (pr *playRun) confirmStep(name string) bool {
	out, in := pr.r.Options.PromptOut, pr.r.Options.In
	if out == nil || in == nil {
		return true
	}
	fmt.Fprintf(out, "Perform task: TASK: %s (N)o/(y)es/(c)ontinue: ", name)
	line, _ := bufio.NewReader(in).ReadString('\n') // in is already buffered: this reuses it
	fmt.Fprintln(out)
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	case "c", "continue":
		pr.r.stepAll = true
		return true
	}
	return false
}

// taskName renders a templated task name with the first host's vars, as
// Ansible does; an undefined variable leaves the name as written.
func (pr *playRun) taskName(t *playbook.Task, hosts []*hostState, in *inherited) string {
	name := t.DisplayName()
	if !strings.Contains(name, "{{") || len(hosts) == 0 {
		return name
	}
	if s, err := expr.RenderString(name, pr.scopeFor(hosts[0], t, in)); err == nil {
		return s
	}
	return name
}

func (pr *playRun) afterTask(t *playbook.Task, hosts []*hostState, outs []*taskOutcome, in *inherited) {
	anyFailed := false
	for i := range hosts {
		if outs[i] != nil && outs[i].status == StatusFailed && !outs[i].ignored {
			anyFailed = true
		}
	}
	// A failure that a rescue or an always section handles next does not
	// count for any_errors_fatal (Ansible's iterator does not call the
	// host failed yet).
	if in.rescuable || in.alwaysNext {
		anyFailed = false
	}
	fatal := pr.play.AnyErrorsFatal
	if t.AnyErrorsFatal != nil {
		fatal = *t.AnyErrorsFatal
	}
	if anyFailed && fatal {
		for _, h := range pr.batch {
			if h.active() {
				h.failed = true
			}
		}
		pr.aborted = true
		pr.noMoreHosts()
		return
	}
	if pr.failurePercentExceeded() {
		pr.aborted = true
		pr.noMoreHosts()
		// ansible-playbook prints the banner a second time here (its
		// strategy and its executor both do); keep the output identical.
		pr.r.Reporter.Message("\nNO MORE HOSTS LEFT " + strings.Repeat("*", 61))
	}
}

// noMoreHosts prints Ansible's banner for a play that has no hosts left.
func (pr *playRun) noMoreHosts() {
	if !pr.noHosts {
		pr.noHosts = true
		pr.r.Reporter.Message("\nNO MORE HOSTS LEFT " + strings.Repeat("*", 61))
	}
}
