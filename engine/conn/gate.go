package conn

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/cutover/cutover/engine/module"
)

// ReadOnly returns the view of h that Plan receives: it forwards reads and
// refuses any probe whose argv does not start with one of the declared
// prefixes. It holds h unexported, so a module cannot type-assert its way
// to the write methods.
func ReadOnly(h module.MutableHost, probes [][]string) module.Host {
	return &gate{h: h, probes: probes}
}

type gate struct {
	h      module.MutableHost
	probes [][]string
}

func (g *gate) Name() string { return g.h.Name() }

func (g *gate) ReadFile(ctx context.Context, path string) ([]byte, error) {
	return g.h.ReadFile(ctx, path)
}

func (g *gate) Stat(ctx context.Context, path string) (*module.FileInfo, error) {
	return g.h.Stat(ctx, path)
}

func (g *gate) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return g.h.Dial(ctx, network, addr)
}

func (g *gate) Probe(ctx context.Context, cmd module.Command) (*module.CommandResult, error) {
	if cmd.Shell != "" || !g.allowed(cmd.Argv) {
		return nil, fmt.Errorf("probe refused: %s is not a declared read-only command", describe(cmd))
	}
	return g.h.Probe(ctx, cmd)
}

// allowed matches argv against the declared prefixes; a "*" element
// stands for any one argument that is not an option (a service's name in
// "service NAME status").
func (g *gate) allowed(argv []string) bool {
	for _, p := range g.probes {
		if len(argv) >= len(p) && slices.EqualFunc(argv[:len(p)], p, func(a, want string) bool {
			return a == want || want == "*" && a != "" && !strings.HasPrefix(a, "-")
		}) {
			return true
		}
	}
	return false
}

// Become describes privilege escalation for a task.
type Become struct {
	Enabled  bool
	User     string // default root
	Method   string // sudo (the only one for now) or su
	Flags    string
	Password string // secret; given on stdin, never on the command line
}

// WithTask wraps h so that every command runs with the task's environment
// and become settings; with become, files are read, described and written
// through sudo as well (sudofiles.go).
func WithTask(h module.MutableHost, env map[string]string, b Become) module.MutableHost {
	if len(env) == 0 && !b.Enabled {
		return h
	}
	return &taskHost{MutableHost: h, env: env, become: b}
}

type taskHost struct {
	module.MutableHost
	env    map[string]string
	become Become
}

func (t *taskHost) prepare(cmd module.Command) module.Command {
	if len(t.env) > 0 {
		merged := make(map[string]string, len(t.env)+len(cmd.Env))
		for k, v := range t.env {
			merged[k] = v
		}
		for k, v := range cmd.Env {
			merged[k] = v
		}
		cmd.Env = merged
	}
	if t.become.Enabled {
		cmd = t.become.wrap(cmd)
	}
	return cmd
}

// wrap prefixes a command with sudo; a password goes first on stdin.
func (b Become) wrap(cmd module.Command) module.Command {
	user := b.User
	if user == "" {
		user = "root"
	}
	argv := []string{"sudo", "-H", "-u", user}
	if b.Password == "" {
		argv = append(argv, "-n")
	} else {
		// The password goes on stdin only if sudo asks for it (a NOPASSWD
		// rule or a cached login asks nothing, and the command would read
		// it): the connection answers the prompt and starts stdin when the
		// marker shows the command has begun.
		nonce := randomSuffix()
		cmd.Prompt = &module.Prompt{Text: "[cutover-sudo-" + nonce + "]:", Answer: b.Password, Marker: "cutover-begin-" + nonce}
		argv = append(argv, "-S", "-p", cmd.Prompt.Text)
	}
	if len(cmd.Env) > 0 {
		// sudo resets the environment; ask it to keep the task's variables,
		// which stay out of argv (they may hold secrets).
		names := make([]string, 0, len(cmd.Env))
		for k := range cmd.Env {
			names = append(names, k)
		}
		slices.Sort(names)
		argv = append(argv, "--preserve-env="+strings.Join(names, ","))
	}
	argv = append(argv, "--")
	if cmd.Prompt != nil {
		argv = append(argv, "/bin/sh", "-c", `echo `+cmd.Prompt.Marker+`; exec "$0" "$@"`)
	}
	if cmd.Shell != "" {
		argv = append(argv, "/bin/sh", "-c", cmd.Shell)
		cmd.Shell = ""
	} else {
		argv = append(argv, cmd.Argv...)
	}
	cmd.Argv = argv
	return cmd
}

func (t *taskHost) Run(ctx context.Context, cmd module.Command) (*module.CommandResult, error) {
	return t.MutableHost.Run(ctx, t.prepare(cmd))
}

func (t *taskHost) Probe(ctx context.Context, cmd module.Command) (*module.CommandResult, error) {
	return t.MutableHost.Probe(ctx, t.prepare(cmd))
}
