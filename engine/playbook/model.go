// Package playbook loads Ansible-style playbooks into a checked model.
// Everything is parsed and validated before any host is touched: YAML
// syntax, keywords, modules and their arguments, expression syntax, and
// notify targets; all errors come back together, each at file:line:col.
package playbook

import (
	"fmt"

	"github.com/cutover/cutover/engine/module"
)

// Pos is a place in a source file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Playbook is a list of plays from one file and the files it imports.
type Playbook struct {
	File  string
	Plays []*Play
}

// Play maps a host pattern to tasks.
type Play struct {
	Pos               Pos
	Dir               string // folder of the playbook file: relative paths start here
	Name              string
	Hosts             string
	Vars              map[string]any
	VarsFiles         []any // strings, or lists of alternatives (first found)
	PreTasks          []*Task
	Tasks             []*Task
	PostTasks         []*Task
	Handlers          []*Task
	Become            *bool
	BecomeUser        string
	BecomeMethod      string
	Serial            []any // ints or "30%" strings; empty: all hosts in one batch
	AnyErrorsFatal    bool
	MaxFailPercentage *float64
	GatherFacts       *bool
	GatherWhen        []any // an import_playbook's when, which fact gathering obeys too
	Tags              []string
	ForceHandlers     bool
	IgnoreErrors      bool
	IgnoreUnreachable bool
	CheckMode         *bool
	Diff              *bool
	Environment       map[string]any
	NoLog             bool
	Connection        string
	RemoteUser        string
	Order             string
}

// Task is one task, a block, or an include.
type Task struct {
	Pos  Pos
	Dir  string // folder of the file the task came from
	Name string

	// A module call.
	Module string
	Info   *module.Info
	Args   map[string]any // raw: values may hold {{ }}

	// A block.
	Block, Rescue, Always []*Task

	// include_tasks (dynamic, resolved when it runs) and import_tasks
	// (static: already expanded into Block at load time).
	IncludeTasks string
	Imported     bool
	// ApplyTags are include_tasks' apply: {tags: ...}, given to the
	// included tasks; the include's own tags select only the include.
	ApplyTags []string

	When              []any // expressions; several are ANDed
	Register          string
	Loop              any // a list, or a string template that yields one
	LoopWith          string
	LoopControl       LoopControl
	Tags              []string
	Notify            []string
	Listen            []string
	CheckMode         *bool
	Diff              *bool
	ChangedWhen       []any
	FailedWhen        []any
	IgnoreErrors      any // bool or template
	IgnoreUnreachable bool
	Until             any
	Retries           *int
	Delay             *int
	RunOnce           bool
	DelegateTo        string
	DelegateFacts     bool
	NoLog             bool
	Vars              map[string]any
	Environment       map[string]any
	Become            *bool
	BecomeUser        string
	BecomeMethod      string
	Timeout           int
	AnyErrorsFatal    *bool
	Throttle          int
}

// LoopControl is loop_control.
type LoopControl struct {
	Label    string
	LoopVar  string // default "item"
	IndexVar string
	Extended bool
	Pause    float64
}

// IsBlock reports whether t is a block (or a static import expanded into one).
func (t *Task) IsBlock() bool { return t.Module == "" && t.IncludeTasks == "" }

// DisplayName is the task's name, or its module as Ansible shows it.
func (t *Task) DisplayName() string {
	if t.Name != "" {
		return t.Name
	}
	if t.IncludeTasks != "" {
		return "include_tasks"
	}
	return t.Module
}
