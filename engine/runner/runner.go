// Package runner carries out playbooks: hosts by tasks in Ansible's linear
// order, with check mode enforced here (Apply is never called when it is
// on), handlers, blocks, loops, and the recap.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/cutover/cutover/engine/redact"
	"github.com/cutover/cutover/engine/vault"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/expr"
	"github.com/cutover/cutover/engine/inventory"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/playbook"
	"github.com/cutover/cutover/engine/yamlx"
)

// Options are the run's settings, mostly from the command line. The zero
// value of Apply is false: a run changes nothing unless asked to.
type Options struct {
	Check         bool
	Diff          bool
	Forks         int
	Tags          []string
	SkipTags      []string
	ExtraVars     map[string]any
	Limit         string
	StartAtTask   string
	Step          bool
	Verbosity     int
	ForceHandlers bool
	AssumeYes     bool
	Become        bool
	BecomeUser    string
	In            io.Reader // the user's terminal, for pause and --step
	PromptOut     io.Writer // where prompts go
	// Vault opens vault-encrypted vars files and sources; Redact holds
	// the run's secrets (the reporters' writers mask them).
	Vault  *vault.Opener
	Redact *redact.Set
	// Progress is a terminal where long tasks show how they are going on
	// one rewritten line; nil when nobody watches.
	Progress   io.Writer
	Connection string // -c: the connection type where a host sets none
	// BecomePassword is -K's answer (secret); ansible_become_password wins.
	BecomePassword string
}

// Connector opens the connection to a host from its variables.
type Connector func(ctx context.Context, name string, vars map[string]any) (module.MutableHost, error)

// Runner runs playbooks against an inventory.
type Runner struct {
	Registry  *module.Registry
	Inventory *inventory.Inventory
	Loader    *playbook.Loader
	Reporter  Reporter
	Options   Options
	Connect   Connector // nil: conn.Open

	hosts    map[string]*hostState
	progress *progressLine
	stats    map[string]*Stats
	conns    map[string]module.MutableHost
	dialing  map[string]*sync.Mutex // one per host: its first connection is made once
	connMu   sync.Mutex
	statsMu  sync.Mutex
	started  bool // --start-at-task found
	stepAll  bool // --step answered "continue"
	taskVars map[string][]*playbook.Task
}

// Outcome sums up a run for the exit code.
type Outcome struct {
	Stats          map[string]*Stats
	AnyFailed      bool
	AnyUnreachable bool
	FailedHosts    []string // for the retry file
}

// ExitCode maps an outcome to ansible-playbook's exit code.
func (o *Outcome) ExitCode() int {
	switch {
	case o.AnyUnreachable:
		return 4
	case o.AnyFailed:
		return 2
	}
	return 0
}

// Run runs the playbooks in order.
func (r *Runner) Run(ctx context.Context, books []*playbook.Playbook) (*Outcome, error) {
	r.hosts = map[string]*hostState{}
	r.stats = map[string]*Stats{}
	r.conns = map[string]module.MutableHost{}
	r.dialing = map[string]*sync.Mutex{}
	r.started = r.Options.StartAtTask == ""
	r.progress = &progressLine{w: r.Options.Progress}
	if r.Options.Forks <= 0 {
		r.Options.Forks = 10
	}
	if err := r.checkLimit(); err != nil {
		return r.outcome(), err
	}
plays:
	for _, pb := range books {
		for _, play := range pb.Plays {
			if err := ctx.Err(); err != nil {
				return r.outcome(), err
			}
			broken, err := r.runPlay(ctx, play)
			if err != nil {
				return r.outcome(), err
			}
			if broken {
				break plays // as Ansible: a batch that failed whole ends the run
			}
		}
	}
	if !r.started {
		r.Reporter.Warning(fmt.Sprintf("No matching task %q found. Note: --start-at-task can only follow static includes.", r.Options.StartAtTask))
	}
	r.Reporter.Recap(r.stats)
	return r.outcome(), nil
}

func (r *Runner) outcome() *Outcome {
	o := &Outcome{Stats: r.stats}
	for _, h := range sortedHosts(r.stats) {
		s := r.stats[h]
		if s.Failed > 0 {
			o.AnyFailed = true
		}
		if s.Unreachable > 0 {
			o.AnyUnreachable = true
		}
		if s.Failed > 0 || s.Unreachable > 0 {
			o.FailedHosts = append(o.FailedHosts, h)
		}
	}
	return o
}

// Close closes every connection the run opened.
func (r *Runner) Close() {
	r.connMu.Lock()
	defer r.connMu.Unlock()
	for _, c := range r.conns {
		if cl, ok := c.(io.Closer); ok {
			cl.Close()
		}
	}
}

func (r *Runner) state(h *inventory.Host) *hostState {
	if s, ok := r.hosts[h.Name]; ok {
		return s
	}
	s := newHostState(r.Inventory, h)
	r.hosts[h.Name] = s
	return s
}

func (r *Runner) count(host string, fn func(*Stats)) {
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	s, ok := r.stats[host]
	if !ok {
		s = &Stats{}
		r.stats[host] = s
	}
	fn(s)
}

// playRun is one play's execution state.
type playRun struct {
	r        *Runner
	play     *playbook.Play
	all      []*hostState // the play's hosts
	batch    []*hostState // the current serial batch
	playVars map[string]any
	ended    bool // meta: end_play
	noHosts  bool // "NO MORE HOSTS LEFT" was printed
	aborted  bool // any_errors_fatal or max_fail_percentage
}

// checkLimit refuses a --limit that leaves no host of the inventory, as
// ansible-playbook does: a mistyped limit must not pass as a run that did
// nothing. An empty inventory is left to the plays.
func (r *Runner) checkLimit() error {
	all := r.Inventory.Hosts()
	if r.Options.Limit == "" || len(all) == 0 {
		return nil
	}
	left, err := r.Inventory.Limit(all, r.Options.Limit)
	if err != nil {
		return fmt.Errorf("--limit: %w", err)
	}
	if len(left) == 0 {
		return errors.New("Specified inventory, host pattern and/or --limit leaves us with no hosts to target.")
	}
	return nil
}

// runPlay runs one play; broken reports that a whole batch failed (or
// any_errors_fatal / max_fail_percentage stopped it), which ends the run.
func (r *Runner) runPlay(ctx context.Context, play *playbook.Play) (broken bool, err error) {
	// hosts and name may use extra vars and the play's own vars; an
	// unnamed play is shown by its rendered pattern.
	playScope := &scope{layers: compact([]map[string]any{r.Options.ExtraVars, play.Vars})}
	pattern, err := expr.RenderString(play.Hosts, playScope)
	if err != nil {
		return false, fmt.Errorf("%s: hosts: %w", play.Pos, err)
	}
	name := play.Name
	switch {
	case name == "":
		name = pattern
	case module.Templated(name):
		if n, err := expr.RenderString(name, playScope); err == nil {
			name = n
		}
	}
	selected, err := r.Inventory.Select(pattern)
	if err != nil {
		return false, fmt.Errorf("%s: hosts: %w", play.Pos, err)
	}
	if r.Options.Limit != "" {
		if selected, err = r.Inventory.Limit(selected, r.Options.Limit); err != nil {
			return false, fmt.Errorf("--limit: %w", err)
		}
	}
	pr := &playRun{r: r, play: play, playVars: play.Vars}
	for _, h := range selected {
		s := r.state(h)
		s.ended = false
		// Hosts that failed or could not be reached in an earlier play
		// sit out the rest of the run, as in Ansible.
		if !s.unreachable && !s.failed {
			pr.all = append(pr.all, s)
		}
	}
	if len(pr.all) == 0 {
		r.Reporter.PlayStart(name)
		r.Reporter.Message("skipping: no hosts matched")
		return false, nil
	}
	for _, batch := range batches(pr.all, play.Serial) {
		pr.batch = batch
		r.Reporter.PlayStart(name)
		if err := pr.runBatch(ctx); err != nil {
			return false, err
		}
		if pr.aborted || len(pr.active()) == 0 && pr.allFailed() {
			return true, nil
		}
		if pr.ended {
			break
		}
	}
	return false, nil
}

// allFailed reports whether every host of the batch failed or was
// unreachable.
func (pr *playRun) allFailed() bool {
	for _, h := range pr.batch {
		if !h.failed && !h.unreachable {
			return false
		}
	}
	return true
}

// batches splits hosts as serial asks: numbers, percentages, or a list of
// them whose last entry repeats.
func batches(hosts []*hostState, serial []any) [][]*hostState {
	if len(serial) == 0 {
		return [][]*hostState{hosts}
	}
	var out [][]*hostState
	i := 0
	for len(hosts) > 0 {
		spec := serial[min(i, len(serial)-1)]
		i++
		n := len(hosts)
		switch s := spec.(type) {
		case int:
			n = s
		case string:
			s = strings.TrimSpace(s)
			if strings.HasSuffix(s, "%") {
				pct, _ := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
				n = int(float64(len(hosts)+countDone(out)) * pct / 100)
			} else {
				n, _ = strconv.Atoi(s)
			}
		}
		if n <= 0 {
			n = 1
		}
		n = min(n, len(hosts))
		out = append(out, hosts[:n])
		hosts = hosts[n:]
	}
	return out
}

func countDone(b [][]*hostState) int {
	n := 0
	for _, x := range b {
		n += len(x)
	}
	return n
}

func (pr *playRun) runBatch(ctx context.Context) error {
	play := pr.play
	if err := pr.loadVarsFiles(); err != nil {
		return err
	}
	// Gathering Facts carries the play's tags, or always when the play has
	// none (ansible-core 2.14's play iterator).
	factTags := play.Tags
	if len(factTags) == 0 {
		factTags = []string{"always"}
	}
	gather := (play.GatherFacts == nil || *play.GatherFacts) &&
		TagsSelected(factTags, pr.r.Options.Tags, pr.r.Options.SkipTags)
	if gather && pr.r.Registry.Get("setup") != nil {
		facts := &playbook.Task{Name: "Gathering Facts", Module: "setup", Info: pr.r.Registry.Get("setup"),
			Args: map[string]any{}, Pos: play.Pos, Dir: play.Dir, When: play.GatherWhen}
		pr.runTask(ctx, facts, pr.active(), &inherited{play: play, alwaysRun: true, gathering: true})
	}
	base := &inherited{play: play, tags: play.Tags}
	for _, section := range [][]*playbook.Task{play.PreTasks, play.Tasks, play.PostTasks} {
		if len(section) == 0 {
			continue
		}
		pr.runTasks(ctx, section, pr.active(), base)
		if pr.ended || pr.aborted {
			break
		}
		pr.flushHandlers(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (pr *playRun) active() []*hostState {
	var out []*hostState
	for _, h := range pr.batch {
		if h.active() {
			out = append(out, h)
		}
	}
	return out
}

// loadVarsFiles reads vars_files: a name, or a list of names of which the
// first that exists is used. Names are templated with extra and play vars.
func (pr *playRun) loadVarsFiles() error {
	if len(pr.play.VarsFiles) == 0 {
		return nil
	}
	merged := map[string]any{}
	for k, v := range pr.play.Vars {
		merged[k] = v
	}
	sc := &scope{layers: []map[string]any{pr.r.Options.ExtraVars, merged}, redact: pr.r.Options.Redact}
	for _, entry := range pr.play.VarsFiles {
		candidates, ok := entry.([]any)
		if !ok {
			candidates = []any{entry}
		}
		var loaded bool
		var lastErr error
		for _, c := range candidates {
			name, err := expr.RenderString(fmt.Sprint(c), sc)
			if err != nil {
				return fmt.Errorf("%s: vars_files: %w", pr.play.Pos, err)
			}
			path := name
			if !filepath.IsAbs(path) {
				path = filepath.Join(pr.play.Dir, name)
			}
			vars, err := readVarsFile(path, pr.r.Options.Vault)
			if errors.Is(err, os.ErrNotExist) {
				lastErr = fmt.Errorf("%s: vars_files: %s not found", pr.play.Pos, path)
				continue
			}
			if err != nil {
				return err
			}
			for k, v := range vars {
				merged[k] = v
			}
			loaded = true
			break
		}
		if !loaded {
			return lastErr
		}
	}
	pr.playVars = merged
	return nil
}

// readVarsFile loads a YAML or JSON file of variables.
func readVarsFile(path string, opener *vault.Opener) (map[string]any, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := yamlx.LoadVault(path, src, opener)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a vars file must hold a mapping, not %s", path, module.TypeName(v))
	}
	return m, nil
}

// failurePercentExceeded applies max_fail_percentage to the batch.
func (pr *playRun) failurePercentExceeded() bool {
	p := pr.play.MaxFailPercentage
	if p == nil || len(pr.batch) == 0 {
		return false
	}
	failed := 0
	for _, h := range pr.batch {
		if h.failed || h.unreachable {
			failed++
		}
	}
	return float64(failed)*100/float64(len(pr.batch)) > *p+1e-9*math.Abs(*p)
}

// connection returns the host's connection, opening it once per run.
func (r *Runner) connection(ctx context.Context, name string, vars map[string]any) (module.MutableHost, error) {
	// The global lock only finds the host's own: hosts connect in
	// parallel (an SSH handshake is hundreds of milliseconds), while the
	// tasks of one host wait for its single connection.
	r.connMu.Lock()
	if c, ok := r.conns[name]; ok {
		r.connMu.Unlock()
		return c, nil
	}
	mu, ok := r.dialing[name]
	if !ok {
		mu = &sync.Mutex{}
		r.dialing[name] = mu
	}
	r.connMu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	r.connMu.Lock()
	c, ok := r.conns[name]
	r.connMu.Unlock()
	if ok {
		return c, nil
	}
	if _, set := vars["ansible_connection"]; !set && r.Options.Connection != "" {
		vars = maps.Clone(vars)
		vars["ansible_connection"] = r.Options.Connection
	}
	connect := r.Connect
	if connect == nil {
		connect = conn.Open
	}
	c, err := connect(ctx, name, vars)
	if err != nil {
		return nil, err // not kept: a later task tries again
	}
	r.connMu.Lock()
	r.conns[name] = c
	r.connMu.Unlock()
	return c, nil
}
