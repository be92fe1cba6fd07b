package conn

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"sync"
	"time"

	"github.com/cutover/cutover/engine/module"
)

// Opener opens the connection each host's variables ask for, with the
// command line's defaults where the inventory says nothing.
type Opener struct {
	User       string        // -u: login user where ansible_user is unset
	PrivateKey string        // --private-key
	KnownHosts string        // --known-hosts; default ~/.ssh/known_hosts
	AcceptNew  bool          // --accept-new-host-keys
	Timeout    time.Duration // --timeout: to connect
	Password   string        // -k/--ask-pass: the login password (secret)
	// Keep, when set, keeps connections open between runs for hosts whose
	// ssh options ask for it (ControlMaster and ControlPersist, read from
	// SSHArgs, then the common and extra arguments, as ssh would).
	Keep       *Keep
	SSHArgs    string // ANSIBLE_SSH_ARGS, or DefaultSSHArgs
	CommonArgs string // --ssh-common-args
	ExtraArgs  string // --ssh-extra-args
	Warn       func(string)

	warnOnce sync.Once
	hostKeys hostKeyFiles
}

// Open connects to a host: ansible_connection local runs here; ssh (the
// default, as in Ansible) dials ansible_host:ansible_port.
func (o *Opener) Open(ctx context.Context, name string, vars map[string]any) (module.MutableHost, error) {
	kind := str(vars["ansible_connection"])
	switch kind {
	case "local":
		return &Local{Host: name}, nil
	case "", "ssh", "smart", "paramiko":
	default:
		return nil, fmt.Errorf("%w: %s: unknown connection type %q", ErrUnreachable, name, kind)
	}
	cfg := SSHConfig{
		Name:     name,
		Addr:     first(str(vars["ansible_host"]), str(vars["ansible_ssh_host"]), name),
		User:     first(str(vars["ansible_user"]), str(vars["ansible_ssh_user"]), o.User, currentUserName()),
		Password: first(str(vars["ansible_password"]), str(vars["ansible_ssh_pass"]), o.Password),
		Agent:    true,
		Timeout:  o.Timeout,
	}
	port := first(str(vars["ansible_port"]), str(vars["ansible_ssh_port"]), "22")
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return nil, fmt.Errorf("%w: %s: ansible_port %q is not a port", ErrUnreachable, name, port)
	}
	cfg.Port = p
	if t := str(vars["ansible_ssh_timeout"]); t != "" {
		if secs, err := strconv.Atoi(t); err == nil {
			cfg.Timeout = time.Duration(secs) * time.Second
		}
	}
	if key := first(str(vars["ansible_ssh_private_key_file"]), str(vars["ansible_private_key_file"]), o.PrivateKey); key != "" {
		cfg.KeyFiles = []string{key}
	}
	cfg.HostKeys = o.hostKeys.get(first(str(vars["ansible_ssh_known_hosts_file"]), o.KnownHosts, DefaultKnownHosts()), o.AcceptNew)
	if o.Keep == nil {
		return DialSSH(ctx, cfg)
	}
	persist, keep, err := ControlPersist(first(str(vars["ansible_ssh_args"]), o.SSHArgs),
		first(str(vars["ansible_ssh_common_args"]), o.CommonArgs), first(str(vars["ansible_ssh_extra_args"]), o.ExtraArgs))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, name, err)
	}
	if !keep {
		return DialSSH(ctx, cfg)
	}
	kp := *o.Keep
	kp.Persist = persist
	s, err := kp.Dial(ctx, cfg)
	if errors.Is(err, ErrNoKeeper) {
		// A run never fails for want of a keeper: it connects itself, as
		// ssh does when it cannot set up its control socket.
		o.warnOnce.Do(func() {
			if o.Warn != nil {
				o.Warn(fmt.Sprintf("%v; connecting without it", err))
			}
		})
		return DialSSH(ctx, cfg)
	}
	return s, err
}

// Open is Opener.Open with no command-line defaults.
func Open(ctx context.Context, name string, vars map[string]any) (module.MutableHost, error) {
	return (&Opener{}).Open(ctx, name, vars)
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func currentUserName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}
