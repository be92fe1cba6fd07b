package playbook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cutover/cutover/engine/vault"
	"github.com/cutover/cutover/engine/work"

	"github.com/goccy/go-yaml/ast"

	"github.com/cutover/cutover/engine/diag"
	"github.com/cutover/cutover/engine/expr"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/yamlx"
)

// Loader parses playbooks and task files, collecting every error.
type Loader struct {
	Registry *module.Registry
	// Vault opens vault-encrypted files and !vault values; nil refuses
	// them with a message saying how to give a password.
	Vault *vault.Opener
	errs  diag.List
	stack []string   // files being loaded, to catch import cycles
	files *fileCache // parsed files, shared by the Loaders of a LoadAll
}

// Load parses and validates a playbook and everything it imports. The
// error, when not nil, is a diag.List holding every problem found.
func (l *Loader) Load(path string) (*Playbook, error) {
	l.errs = nil
	pb := &Playbook{File: path}
	pb.Plays = l.loadPlaybook(path, Pos{File: path})
	return pb, l.errs.Err()
}

// LoadAll loads playbooks on every core: it parses them and the files
// they import, biggest first, along with the alongside jobs (the
// inventory's load, say), then validates each playbook as soon as its
// files are parsed, with Loaders sharing this one's parsed files. It
// returns the playbooks that loaded, in order, and every problem found in
// any of them; a file that cannot be read or parsed is reported by the
// Load that needs it.
func (l *Loader) LoadAll(paths []string, alongside ...work.Job) ([]*Playbook, error) {
	parse := append(l.cache().parseJobs(paths, l.Vault), alongside...)
	books := make([]*Playbook, len(paths))
	errs := make([]error, len(paths))
	var load []work.Job
	for i, path := range paths {
		load = append(load, work.Job{Cost: l.files.cost(path, map[string]bool{}), Do: func() {
			each := &Loader{Registry: l.Registry, Vault: l.Vault, files: l.files}
			books[i], errs[i] = each.Load(path)
		}})
	}
	work.Run(parse, load)
	var loaded []*Playbook
	var all diag.List
	for i, err := range errs {
		var list diag.List
		switch {
		case err == nil:
			loaded = append(loaded, books[i])
		case errors.As(err, &list):
			all = append(all, list...)
		default:
			return nil, err
		}
	}
	return loaded, all.Err()
}

func (l *Loader) cache() *fileCache {
	if l.files == nil {
		l.files = &fileCache{}
	}
	return l.files
}

// LoadTasks parses a task file for include_tasks at run time.
func (l *Loader) LoadTasks(path string) ([]*Task, error) {
	l.errs = nil
	tasks := l.loadTaskFile(path, Pos{File: path})
	return tasks, l.errs.Err()
}

func (l *Loader) add(e *diag.Error) { l.errs = append(l.errs, e) }

func (l *Loader) parseFile(path string, from Pos) *yamlx.Doc {
	for _, f := range l.stack {
		if f == path {
			l.add(diag.Errorf(from.File, from.Line, from.Col, "import cycle: %s imports itself", path))
			return nil
		}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		l.add(diag.Errorf(from.File, from.Line, from.Col, "read %s: %v", path, errorText(err)))
		return nil
	}
	if doc := l.cache().get(path, src); doc != nil {
		return doc
	}
	doc, err := yamlx.ParseVault(path, src, l.Vault)
	if err != nil {
		if de, ok := err.(*diag.Error); ok {
			l.add(de)
		} else {
			l.add(diag.Errorf(path, 0, 0, "%v", err))
		}
		return nil
	}
	l.files.put(path, doc)
	return doc
}

func errorText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func (l *Loader) loadPlaybook(path string, from Pos) []*Play {
	doc := l.parseFile(path, from)
	if doc == nil {
		return nil
	}
	l.stack = append(l.stack, path)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	if doc.Root == nil {
		return nil
	}
	items, ok := yamlx.Sequence(doc.Root)
	if !ok {
		l.add(doc.Errorf(doc.Root, "a playbook must be a list of plays"))
		return nil
	}
	var plays []*Play
	for _, item := range items {
		entries, ok := yamlx.Mapping(item)
		if !ok {
			l.add(doc.Errorf(item, "a play must be a mapping"))
			continue
		}
		if imp := find(entries, "import_playbook", "ansible.builtin.import_playbook"); imp != nil {
			name, _ := l.scalarString(doc, imp.Value, "import_playbook")
			target := filepath.Join(filepath.Dir(path), name)
			imported := l.loadPlaybook(target, posOf(doc, imp))
			d := decoder{l: l, doc: doc}
			for _, e := range entries {
				switch k := yamlx.KeyString(e); k {
				case "import_playbook", "ansible.builtin.import_playbook", "name":
				case "vars":
					// The import's vars are play vars of every imported
					// play, over the play's own.
					for _, p := range imported {
						p.Vars = MergedVars(p.Vars, d.dict(e))
					}
				case "tags":
					for _, p := range imported {
						p.Tags = append(p.Tags, d.strList(e)...)
					}
				case "when":
					// As in Ansible: the condition applies to every task
					// of the imported plays, fact gathering included.
					cond := d.conditions(e)
					for _, p := range imported {
						p.GatherWhen = append(append([]any{}, cond...), p.GatherWhen...)
						for _, list := range [][]*Task{p.PreTasks, p.Tasks, p.PostTasks} {
							for _, t := range list {
								t.When = append(append([]any{}, cond...), t.When...)
							}
						}
					}
				default:
					l.add(doc.Errorf(e.Key, "%q is not valid beside import_playbook", k))
				}
			}
			plays = append(plays, imported...)
			continue
		}
		if p := l.loadPlay(doc, item, entries); p != nil {
			plays = append(plays, p)
		}
	}
	return plays
}

// MergedVars is base with over's keys set over it, as a new map (either
// may be nil).
func MergedVars(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func find(entries []*ast.MappingValueNode, keys ...string) *ast.MappingValueNode {
	for _, e := range entries {
		k := yamlx.KeyString(e)
		for _, want := range keys {
			if k == want {
				return e
			}
		}
	}
	return nil
}

func posOf(doc *yamlx.Doc, n ast.Node) Pos {
	line, col := yamlx.Pos(n)
	return Pos{File: doc.File, Line: line, Col: col}
}

var playKeywords = []string{"name", "hosts", "vars", "vars_files", "tasks", "pre_tasks", "post_tasks", "handlers",
	"become", "become_user", "become_method", "become_flags", "serial", "any_errors_fatal", "max_fail_percentage",
	"gather_facts", "tags", "force_handlers", "ignore_errors", "ignore_unreachable", "check_mode", "diff",
	"environment", "no_log", "connection", "remote_user", "order", "strategy", "collections", "run_once",
	"module_defaults", "roles", "vars_prompt", "gather_subset", "gather_timeout", "fact_path", "port", "timeout",
	"throttle", "debugger"}

func (l *Loader) loadPlay(doc *yamlx.Doc, node ast.Node, entries []*ast.MappingValueNode) *Play {
	p := &Play{Pos: posOf(doc, node), Dir: filepath.Dir(doc.File)}
	d := decoder{l: l, doc: doc}
	var taskLists [4]ast.Node
	for _, e := range entries {
		key := yamlx.KeyString(e)
		switch key {
		case "name":
			p.Name = d.str(e)
		case "hosts":
			p.Hosts = d.hostPattern(e)
		case "vars":
			p.Vars = d.dict(e)
		case "vars_files":
			p.VarsFiles = d.list(e)
		case "tasks":
			taskLists[0] = e.Value
		case "pre_tasks":
			taskLists[1] = e.Value
		case "post_tasks":
			taskLists[2] = e.Value
		case "handlers":
			taskLists[3] = e.Value
		case "become":
			p.Become = d.boolPtr(e)
		case "become_user":
			p.BecomeUser = d.str(e)
		case "become_method":
			p.BecomeMethod = d.str(e)
			if p.BecomeMethod != "sudo" && !module.Templated(p.BecomeMethod) {
				l.add(doc.Errorf(e.Value, "become_method %q is not supported (sudo is)", p.BecomeMethod))
			}
		case "serial":
			p.Serial = d.serial(e)
		case "any_errors_fatal":
			p.AnyErrorsFatal = d.boolean(e)
		case "max_fail_percentage":
			p.MaxFailPercentage = d.percent(e)
		case "gather_facts":
			p.GatherFacts = d.boolPtr(e)
		case "tags":
			p.Tags = d.strList(e)
		case "force_handlers":
			p.ForceHandlers = d.boolean(e)
		case "ignore_errors":
			p.IgnoreErrors = d.boolean(e)
		case "ignore_unreachable":
			p.IgnoreUnreachable = d.boolean(e)
		case "check_mode":
			p.CheckMode = d.boolPtr(e)
		case "diff":
			p.Diff = d.boolPtr(e)
		case "environment":
			p.Environment = d.dict(e)
		case "no_log":
			p.NoLog = d.boolean(e)
		case "connection":
			p.Connection = d.str(e)
		case "remote_user":
			p.RemoteUser = d.str(e)
		case "order":
			p.Order = d.str(e)
		case "strategy":
			if s := d.str(e); s != "linear" {
				l.add(doc.Errorf(e.Value, "strategy %q is not supported (linear is)", s))
			}
		case "roles", "vars_prompt", "module_defaults":
			l.add(doc.Errorf(e.Key, "play keyword %q is not supported by cutover", key))
		case "collections", "gather_subset", "gather_timeout", "fact_path", "port", "timeout", "throttle", "debugger", "run_once", "become_flags":
			// accepted and ignored: they change nothing cutover does
		default:
			l.add(doc.Errorf(e.Key, "unknown play keyword %q%s", key, suggestion(key, playKeywords)))
		}
	}
	if p.Hosts == "" && find(entries, "hosts") == nil {
		l.add(doc.Errorf(node, "play has no \"hosts\""))
	}
	tl := taskLoader{l: l, doc: doc}
	p.Tasks = tl.tasks(taskLists[0], false)
	p.PreTasks = tl.tasks(taskLists[1], false)
	p.PostTasks = tl.tasks(taskLists[2], false)
	p.Handlers = tl.tasks(taskLists[3], true)
	l.checkNotify(doc, p)
	return p
}

// checkNotify reports notify entries that name no handler.
func (l *Loader) checkNotify(doc *yamlx.Doc, p *Play) {
	known := map[string]bool{}
	walk(p.Handlers, func(t *Task) {
		if t.Name != "" {
			known[t.Name] = true
		}
		for _, topic := range t.Listen {
			known[topic] = true
		}
	})
	for _, list := range [][]*Task{p.PreTasks, p.Tasks, p.PostTasks, p.Handlers} {
		walk(list, func(t *Task) {
			for _, n := range t.Notify {
				if !known[n] && !module.Templated(n) {
					l.add(&diag.Error{File: t.Pos.File, Line: t.Pos.Line, Col: t.Pos.Col,
						Msg: fmt.Sprintf("notify names no handler: %q%s", n, suggestion(n, keys(known)))})
				}
			}
		})
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// walk visits every task in a tree, blocks included.
func walk(tasks []*Task, fn func(*Task)) {
	for _, t := range tasks {
		fn(t)
		walk(t.Block, fn)
		walk(t.Rescue, fn)
		walk(t.Always, fn)
	}
}

// Walk visits every task of a play, handlers included.
func (p *Play) Walk(fn func(*Task)) {
	for _, list := range [][]*Task{p.PreTasks, p.Tasks, p.PostTasks, p.Handlers} {
		walk(list, fn)
	}
}

func suggestion(word string, candidates []string) string {
	if best := module.Closest(word, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// checkExpr validates a bare expression's syntax (when, changed_when...).
func (l *Loader) checkExpr(doc *yamlx.Doc, n ast.Node, v any) {
	switch x := v.(type) {
	case string:
		var err error
		if strings.Contains(x, "{{") || strings.Contains(x, "{%") {
			err = expr.CheckTemplate(x)
		} else {
			err = expr.Check(x)
		}
		if err != nil {
			l.add(exprError(doc, n, x, "bad expression", err))
		}
	case []any:
		for _, e := range x {
			l.checkExpr(doc, n, e)
		}
	}
}

// checkTemplates validates the syntax of every {{ }} string in a value.
func (l *Loader) checkTemplates(doc *yamlx.Doc, n ast.Node, v any) {
	switch x := v.(type) {
	case string:
		if expr.IsTemplate(x) {
			if err := expr.CheckTemplate(x); err != nil {
				l.add(exprError(doc, n, x, "bad template", err))
			}
		}
	case []any:
		for _, e := range x {
			l.checkTemplates(doc, n, e)
		}
	case map[string]any:
		for _, e := range x {
			l.checkTemplates(doc, n, e)
		}
	}
}

// exprError places an expression's syntax error at its column when the
// expression is written on one line.
func exprError(doc *yamlx.Doc, n ast.Node, text, what string, err error) *diag.Error {
	var se *expr.SyntaxError
	if errors.As(err, &se) {
		return doc.ErrorAt(n, text, se.Offset, "%s %q: %s", what, text, se.Msg)
	}
	return doc.Errorf(n, "%s %q: %v", what, text, err)
}
