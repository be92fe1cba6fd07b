package playbook

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/yamlx"
)

var taskKeywords = []string{"name", "when", "register", "loop", "loop_control", "with_items", "with_list",
	"with_dict", "with_indexed_items", "with_sequence", "with_fileglob", "tags", "notify", "listen", "check_mode", "diff",
	"changed_when", "failed_when", "ignore_errors", "ignore_unreachable", "until", "retries", "delay", "run_once",
	"delegate_to", "delegate_facts", "no_log", "vars", "environment", "become", "become_user", "become_method",
	"become_flags", "args", "action", "local_action", "block", "rescue", "always", "include_tasks", "import_tasks",
	"timeout", "any_errors_fatal", "throttle", "collections", "connection", "remote_user", "debugger", "module_defaults"}

var withLoops = map[string]bool{"with_items": true, "with_list": true, "with_dict": true, "with_indexed_items": true}

type taskLoader struct {
	l   *Loader
	doc *yamlx.Doc
}

func (tl taskLoader) tasks(n ast.Node, handlers bool) []*Task {
	if n == nil {
		return nil
	}
	if v, _ := tl.doc.Value(n); v == nil {
		return nil
	}
	items, ok := yamlx.Sequence(n)
	if !ok {
		tl.l.add(tl.doc.Errorf(n, "a task list must be a list"))
		return nil
	}
	var out []*Task
	for _, item := range items {
		if t := tl.task(item, handlers); t != nil {
			out = append(out, t)
		}
	}
	return out
}

func (tl taskLoader) task(n ast.Node, handler bool) *Task {
	doc, l := tl.doc, tl.l
	entries, ok := yamlx.Mapping(n)
	if !ok {
		l.add(doc.Errorf(n, "a task must be a mapping, got %q", strings.TrimSpace(n.String())))
		return nil
	}
	d := decoder{l: l, doc: doc}
	t := &Task{Pos: posOf(doc, n), Dir: filepath.Dir(doc.File)}
	var moduleKeys []*ast.MappingValueNode
	var extraArgs *ast.MappingValueNode
	var importNode, includeNode *ast.MappingValueNode
	for _, e := range entries {
		key := yamlx.KeyString(e)
		switch key {
		case "name":
			t.Name = d.str(e)
		case "when":
			t.When = d.conditions(e)
		case "register":
			t.Register = d.str(e)
		case "loop":
			t.Loop = d.value(e)
			l.checkTemplates(doc, e.Value, t.Loop)
		case "with_items", "with_list", "with_dict", "with_indexed_items":
			if t.LoopWith != "" || t.Loop != nil {
				l.add(doc.Errorf(e.Key, "only one loop keyword may be used in a task"))
			}
			t.LoopWith, t.Loop = key, d.value(e)
		case "loop_control":
			t.LoopControl = d.loopControl(e)
		case "tags":
			t.Tags = d.strList(e)
		case "notify":
			t.Notify = d.strList(e)
		case "listen":
			t.Listen = d.strList(e)
			if !handler {
				l.add(doc.Errorf(e.Key, "listen is only valid in handlers"))
			}
		case "check_mode":
			t.CheckMode = d.boolPtr(e)
		case "diff":
			t.Diff = d.boolPtr(e)
		case "changed_when":
			t.ChangedWhen = d.conditions(e)
		case "failed_when":
			t.FailedWhen = d.conditions(e)
		case "ignore_errors":
			t.IgnoreErrors = d.boolOrTemplate(e)
		case "ignore_unreachable":
			t.IgnoreUnreachable = d.boolean(e)
		case "until":
			t.Until = d.value(e)
			l.checkExpr(doc, e.Value, t.Until)
		case "retries":
			t.Retries = d.intPtr(e)
		case "delay":
			t.Delay = d.intPtr(e)
		case "run_once":
			t.RunOnce = d.boolean(e)
		case "delegate_to":
			t.DelegateTo = d.str(e)
		case "delegate_facts":
			t.DelegateFacts = d.boolean(e)
		case "no_log":
			t.NoLog = d.boolean(e)
		case "vars":
			t.Vars = d.dict(e)
		case "environment":
			t.Environment = d.dict(e)
		case "become":
			t.Become = d.boolPtr(e)
		case "become_user":
			t.BecomeUser = d.str(e)
		case "become_method":
			t.BecomeMethod = d.str(e)
		case "timeout":
			if p := d.intPtr(e); p != nil {
				t.Timeout = *p
			}
		case "any_errors_fatal":
			t.AnyErrorsFatal = d.boolPtr(e)
		case "throttle":
			if p := d.intPtr(e); p != nil {
				t.Throttle = *p
			}
		case "args":
			extraArgs = e
		case "block":
			t.Block = tl.tasks(e.Value, handler)
			if t.Block == nil {
				l.add(doc.Errorf(e.Key, "block is empty"))
			}
		case "rescue":
			t.Rescue = tl.tasks(e.Value, handler)
		case "always":
			t.Always = tl.tasks(e.Value, handler)
		case "import_tasks", "ansible.builtin.import_tasks":
			importNode = e
		case "include_tasks", "ansible.builtin.include_tasks", "include":
			includeNode = e
		case "action", "local_action":
			moduleKeys = append(moduleKeys, e)
		case "become_flags", "collections", "connection", "remote_user", "debugger", "module_defaults", "with_sequence", "with_fileglob":
			if key == "with_sequence" || key == "with_fileglob" || key == "module_defaults" {
				l.add(doc.Errorf(e.Key, "task keyword %q is not supported by cutover", key))
			}
		default:
			moduleKeys = append(moduleKeys, e)
		}
	}
	hasBlock := find(entries, "block") != nil
	if !hasBlock && (find(entries, "rescue") != nil || find(entries, "always") != nil) {
		l.add(doc.Errorf(n, "rescue and always need a block"))
	}
	switch {
	case importNode != nil:
		tl.importTasks(t, importNode, handler)
		if includeNode != nil || len(moduleKeys) > 0 || hasBlock {
			l.add(doc.Errorf(n, "import_tasks cannot be combined with another action"))
		}
	case includeNode != nil:
		tl.includeTasks(t, includeNode, handler)
		if yamlx.KeyString(includeNode) == "include" {
			// The old include hands its tags to what it brings, as in
			// Ansible; include_tasks' own select only the include.
			t.ApplyTags = append(t.ApplyTags, t.Tags...)
		}
		if len(moduleKeys) > 0 || hasBlock {
			l.add(doc.Errorf(n, "include_tasks cannot be combined with another action"))
		}
	case hasBlock:
		if len(moduleKeys) > 0 {
			l.add(doc.Errorf(moduleKeys[0].Key, "unknown keyword %q in a block%s", yamlx.KeyString(moduleKeys[0]), suggestion(yamlx.KeyString(moduleKeys[0]), taskKeywords)))
		}
	default:
		tl.moduleCall(t, n, moduleKeys, extraArgs)
	}
	if t.Loop != nil && (t.IsBlock() && !t.Imported) {
		l.add(doc.Errorf(n, "a block cannot loop"))
	}
	if handler && t.Name == "" && len(t.Listen) == 0 && !t.IsBlock() {
		l.add(doc.Errorf(n, "a handler needs a name or listen"))
	}
	return t
}

func (d decoder) conditions(e *ast.MappingValueNode) []any {
	v := d.value(e)
	var out []any
	switch x := v.(type) {
	case []any:
		out = x
	case nil:
		return nil
	default:
		out = []any{x}
	}
	for _, c := range out {
		switch c.(type) {
		case string, bool, int, float64:
		default:
			d.fail(e, "want an expression, got %s", module.TypeName(c))
		}
	}
	d.l.checkExpr(d.doc, e.Value, out)
	return out
}

func (d decoder) loopControl(e *ast.MappingValueNode) LoopControl {
	lc := LoopControl{}
	m, ok := d.value(e).(map[string]any)
	if !ok {
		d.fail(e, "want a mapping")
		return lc
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := m[k]
		switch k {
		case "label":
			lc.Label = fmt.Sprint(v)
		case "loop_var":
			lc.LoopVar = fmt.Sprint(v)
		case "index_var":
			lc.IndexVar = fmt.Sprint(v)
		case "extended":
			lc.Extended, _ = module.ToBool(v)
		case "pause":
			switch p := v.(type) {
			case int:
				lc.Pause = float64(p)
			case float64:
				lc.Pause = p
			default:
				d.fail(e, "pause wants a number")
			}
		case "extended_allitems":
		default:
			d.fail(e, "unknown loop_control option %q%s", k, suggestion(k, []string{"label", "loop_var", "index_var", "extended", "pause"}))
		}
	}
	return lc
}

func (tl taskLoader) importTasks(t *Task, e *ast.MappingValueNode, handler bool) {
	name, ok := tl.taskFileName(e)
	if !ok {
		return
	}
	if module.Templated(name) {
		tl.l.add(tl.doc.Errorf(e.Value, "import_tasks is static: its file name cannot be templated (use include_tasks)"))
		return
	}
	path := tl.resolve(name)
	t.Imported = true
	t.Block = tl.l.loadTaskFileAs(path, posOf(tl.doc, e), handler)
	if t.Loop != nil {
		tl.l.add(tl.doc.Errorf(e.Key, "import_tasks cannot loop (use include_tasks)"))
	}
}

func (tl taskLoader) includeTasks(t *Task, e *ast.MappingValueNode, handler bool) {
	name, ok := tl.taskFileName(e)
	if !ok {
		return
	}
	t.IncludeTasks = name
	tl.applyKeywords(t, e)
	if !module.Templated(name) {
		// Validate now what will run later.
		path := tl.resolve(name)
		t.IncludeTasks = path
		tl.l.loadTaskFileAs(path, posOf(tl.doc, e), handler)
	}
}

// applyKeywords reads include_tasks' apply: only tags are supported; other
// keywords are refused rather than ignored.
func (tl taskLoader) applyKeywords(t *Task, e *ast.MappingValueNode) {
	entries, ok := yamlx.Mapping(e.Value)
	if !ok {
		return
	}
	apply := find(entries, "apply")
	if apply == nil {
		return
	}
	keys, ok := yamlx.Mapping(apply.Value)
	if !ok {
		tl.l.add(tl.doc.Errorf(apply.Value, "apply must be a mapping of keywords"))
		return
	}
	d := decoder{l: tl.l, doc: tl.doc}
	for _, k := range keys {
		if yamlx.KeyString(k) != "tags" {
			tl.l.add(tl.doc.Errorf(k.Key, "apply: only tags is supported, not %q", yamlx.KeyString(k)))
			continue
		}
		t.ApplyTags = d.strList(k)
	}
}

func (tl taskLoader) taskFileName(e *ast.MappingValueNode) (string, bool) {
	if entries, ok := yamlx.Mapping(e.Value); ok {
		if f := find(entries, "file"); f != nil {
			return tl.l.scalarString(tl.doc, f.Value, "include_tasks")
		}
		tl.l.add(tl.doc.Errorf(e.Value, "%s needs a file", yamlx.KeyString(e)))
		return "", false
	}
	return tl.l.scalarString(tl.doc, e.Value, yamlx.KeyString(e))
}

// resolve finds a task file relative to the including file, as Ansible does.
func (tl taskLoader) resolve(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(tl.doc.File), name)
}

func (l *Loader) loadTaskFile(path string, from Pos) []*Task {
	return l.loadTaskFileAs(path, from, false)
}

func (l *Loader) loadTaskFileAs(path string, from Pos, handlers bool) []*Task {
	doc := l.parseFile(path, from)
	if doc == nil || doc.Root == nil {
		return nil
	}
	l.stack = append(l.stack, path)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	return taskLoader{l: l, doc: doc}.tasks(doc.Root, handlers)
}
