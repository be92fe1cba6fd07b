// Package module is the one contract every cutover module implements.
//
// A module declares its arguments once (Info.Args); the same declaration drives
// load-time validation, `cutover doc` and the README's module table. Work is
// split in two: Plan observes the host through a read-only view and says what
// would change; Apply carries out exactly that change. The runner never calls
// Apply in check mode, so check mode is safe by construction rather than by
// each module remembering a flag.
package module

import (
	"context"
	"github.com/cutover/cutover/engine/vault"
	"io"
	"io/fs"
	"net"
	"time"
)

// Module plans and applies one task's work on one host.
type Module interface {
	// Plan reads the host (never writes) and returns the change the task
	// would make. It is safe to call any number of times.
	Plan(ctx context.Context, env *Env, args Args) (*Change, error)
	// Apply carries out c, which Plan returned, and reports the outcome.
	// It is never called in check mode nor when c.Action is None.
	Apply(ctx context.Context, h MutableHost, c *Change) (*Result, error)
}

// Info describes a module: its playbook key, documentation and arguments.
type Info struct {
	Name    string   // playbook key, e.g. "hosts_entry"
	Aliases []string // other keys that name it, e.g. "ansible.builtin.copy"
	Doc     string   // one paragraph
	Args    []Arg
	// FreeForm names the argument that takes a bare string (command's
	// "cmd"): `command: ls -l` or `command: ls -l chdir=/tmp`.
	FreeForm string
	// Probes lists the argv prefixes Plan may run through Host.Probe
	// (e.g. {"crontab", "-l"}); anything else is refused.
	Probes [][]string
	// RawArgs marks modules whose arguments are validated by the module
	// itself (set_fact, include_vars take arbitrary keys).
	RawArgs bool
	// NoTemplate lists arguments that hold raw expressions and must not be
	// templated before Plan (assert's "that").
	NoTemplate []string
	// Check, when set, validates a whole call beyond what each argument's
	// declaration says (an IP that must parse, a file name sudo accepts).
	// The loader runs it before any host is touched when no argument is
	// templated; Plan runs the same rules for templated calls.
	Check func(Args) error
	New   func() Module
}

// Type is the declared type of an argument.
type Type int

// Argument types. Values are converted the way Ansible converts module
// arguments: "yes"/"no" become bools, "0644" stays a string for modes, etc.
const (
	String Type = iota
	Int
	Bool
	List // a list of any; a comma-separated string is split
	Dict
	Raw  // any value, unchanged
	Path // a string; "~" is not expanded
	Mode // a string or int file mode ("0644", "u+x", 420)
)

func (t Type) String() string {
	return [...]string{"str", "int", "bool", "list", "dict", "raw", "path", "mode"}[t]
}

// Arg declares one module argument.
type Arg struct {
	Name     string
	Type     Type
	Required bool
	Default  any
	Choices  []string
	Secret   bool     // never printed, logged or put on a command line
	Aliases  []string // other keys accepted for this argument
	Doc      string   // one line
}

// Args holds a task's arguments after validation, defaults applied and
// values converted to their declared types (string, int, bool, []any,
// map[string]any).
type Args map[string]any

// Env is what Plan gets: the read-only host and the task's context.
type Env struct {
	Host  Host
	Check bool // check mode: Plan must still only read
	Diff  bool // the user asked for diffs
	// Eval evaluates a bare expression (assert's "that") with the task's
	// variables.
	Eval func(expr string) (any, error)
	// Template renders a string holding {{ }} expressions (the template
	// module) with the task's variables.
	Template func(text string) (string, error)
	// Vars returns a variable's value as the task sees it, and whether it
	// is defined (debug's "var").
	Vars func(name string) (any, bool)
	// Dir is the folder of the playbook or task file, where relative
	// "src" paths are found.
	Dir string
	// Out is where a module may speak to the user (pause's prompt).
	Out io.Writer
	// In is the user's terminal, or nil when there is none.
	In io.Reader
	// AssumeYes answers prompts (--yes).
	AssumeYes bool
	// Vault opens controller-side files that are vault-encrypted
	// (include_vars, copy and template sources); nil refuses them.
	Vault *vault.Opener
}

// Action says what kind of change a plan holds.
type Action int

// Actions. None means the host is already as asked; Invoke means the module
// runs something every time (command, pg_dump) and so cannot be previewed.
const (
	None Action = iota
	Create
	Update
	Delete
	Invoke
)

func (a Action) String() string {
	return [...]string{"none", "create", "update", "delete", "invoke"}[a]
}

// Change is the outcome of Plan.
type Change struct {
	Action  Action
	Summary string // one line, e.g. "add 10.0.10.49 finance.example"
	Diffs   []Diff
	// Result is reported as is when Action is None or in check mode; it
	// carries what register stores (stat's "stat", debug's "msg").
	Result *Result
	// CheckSkip, for Invoke plans, is the message shown when the task is
	// skipped in check mode; empty means the default message.
	CheckSkip string
	// CheckChanged, for Invoke plans, reports changed rather than skipped
	// in check mode: Ansible's command with creates or removes, whose
	// condition said it would run.
	CheckChanged bool
	// Data is private to the module, for Apply.
	Data any
}

// Diff is a before/after pair shown under --diff. The headers name what
// is compared (usually a path); they print as "before: HEADER", or just
// "before" when empty, as in Ansible.
type Diff struct {
	BeforeHeader, AfterHeader string
	Before, After             string
}

// Result is what a task reports: changed/failed/msg and the values register
// stores, named as Ansible names them (rc, stdout, stderr, stdout_lines...).
type Result struct {
	Changed bool
	Failed  bool
	Skipped bool
	Msg     string
	Data    map[string]any
	// Facts are gathered facts: host variables of low precedence, also
	// seen under ansible_facts.
	Facts map[string]any
	// Vars are set_fact's host variables: above task vars, as high as
	// registered results.
	Vars map[string]any
	// IncludedVars become host variables just below set_fact's
	// (include_vars), as in Ansible's precedence.
	IncludedVars map[string]any
	// Verbose asks for the result to be printed even without -v (debug).
	Verbose bool
	// Meta is an engine instruction from the meta module (flush_handlers,
	// end_play, end_host, noop, clear_facts, refresh_inventory, clear_host_errors).
	Meta string
}

// Host is the read-only view of a host that Plan receives.
type Host interface {
	// Name is the inventory hostname.
	Name() string
	// ReadFile returns a file's content; a missing file is fs.ErrNotExist.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Stat describes a path without following a final symlink; a missing
	// path is fs.ErrNotExist.
	Stat(ctx context.Context, path string) (*FileInfo, error)
	// Probe runs a command that only reads, among the prefixes the module
	// declared in Info.Probes.
	Probe(ctx context.Context, cmd Command) (*CommandResult, error)
	// Dial opens a TCP connection from the host's side (a database on the
	// host's own 127.0.0.1).
	Dial(ctx context.Context, network, addr string) (net.Conn, error)
}

// MutableHost is the view Apply receives.
type MutableHost interface {
	Host
	// WriteFile replaces path atomically: a temp file in the same folder,
	// validated if asked, synced, then renamed; mode and owner are kept
	// unless opt sets them.
	WriteFile(ctx context.Context, path string, data []byte, opt WriteOptions) error
	// Run runs a command; a non-zero exit is reported in RC, not as error.
	Run(ctx context.Context, cmd Command) (*CommandResult, error)
}

// WriteOptions tune MutableHost.WriteFile.
type WriteOptions struct {
	Mode  fs.FileMode // 0: keep the old file's mode, or 0644 for a new one
	Owner string      // "": keep
	Group string      // "": keep
	// Validate is a command run on the temp file before it replaces path;
	// "%s" in it is replaced by the temp file's path (visudo -cf %s).
	Validate []string
}

// Command is a program to run on a host. Argv is never joined into a shell
// string except by the one quoting function in engine/conn.
type Command struct {
	Argv  []string
	Shell string // when set, run by /bin/sh -c (Argv is ignored)
	Stdin []byte
	Env   map[string]string
	Dir   string
	// Timeout bounds the command; zero means the context's deadline.
	Timeout time.Duration
	// Prompt, when set, is a dialog with the command (sudo's password):
	// see Prompt.
	Prompt *Prompt
}

// Prompt describes a command that may ask for a secret on stderr before it
// starts. The connection answers the prompt once, when and only when it
// appears, then sends Stdin once Marker shows on stdout (the real command
// has started); Marker's line is removed from stdout and the prompt from
// stderr. The answer never reaches the command when nothing asks for it.
type Prompt struct {
	Text   string // the prompt, as the command prints it on stderr
	Answer string // secret
	Marker string // a line the command prints on stdout when it starts
}

// CommandResult is what a command did.
type CommandResult struct {
	RC     int
	Stdout []byte
	Stderr []byte
}

// FileInfo is what Stat reports.
type FileInfo struct {
	Path       string
	Exists     bool
	IsDir      bool
	IsLink     bool
	IsRegular  bool
	Mode       fs.FileMode // permission bits only
	Size       int64
	UID, GID   int
	Owner      string
	Group      string
	LinkTarget string
	ModTime    time.Time
}
