package conn

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/melbahja/goph"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// SSHConfig says how to reach one host.
type SSHConfig struct {
	Name     string // inventory hostname, for messages
	Addr     string // ansible_host
	Port     int
	User     string
	KeyFiles []string // private keys to offer, in order
	Password string   // secret
	Agent    bool     // offer the keys of an ssh-agent
	// AgentSocket is the agent's socket; empty: $SSH_AUTH_SOCK.
	AgentSocket string
	HostKeys    *HostKeys
	Timeout     time.Duration // to connect; zero means 10 s
}

// SSH is one SSH connection to a host, kept for the whole run: every
// command is a session on it and every file moves over its one SFTP
// subsystem.
type SSH struct {
	name      string
	client    *goph.Client
	keeperLog string // set when the connection goes through a keeper

	sftpOnce sync.Once
	sftp     *sftp.Client
	sftpErr  error

	ids idNames

	done      chan struct{} // closed by Close: stops the keepalive
	closeOnce sync.Once
	// slots bounds the sessions open at once: sshd allows MaxSessions
	// (10) per connection, SFTP holds one, and a closed session frees its
	// slot a moment after Close returns.
	slots chan struct{}
}

// maxSessions is how many commands may run at once on one connection.
const maxSessions = 8

var _ module.MutableHost = (*SSH)(nil)

// DialSSH opens the connection, verifying the host key first.
func DialSSH(ctx context.Context, cfg SSHConfig) (*SSH, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(cfg.Addr, strconv.Itoa(cfg.Port))
	callback, algos, err := cfg.HostKeys.callback(cfg.Name, addr)
	if err != nil {
		return nil, err
	}
	auth, closeAgent, err := authMethods(cfg)
	defer closeAgent()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, cfg.Name, err)
	}
	config := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              auth,
		HostKeyCallback:   callback,
		HostKeyAlgorithms: algos,
		Timeout:           cfg.Timeout,
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	tcp, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: Failed to connect to the host via ssh: %v", ErrUnreachable, cfg.Name, err)
	}
	// The handshake honours the context too: closing the socket ends it.
	stop := context.AfterFunc(dctx, func() { tcp.Close() })
	c, chans, reqs, err := ssh.NewClientConn(tcp, addr, config)
	stop()
	if err != nil {
		tcp.Close()
		if errors.Is(err, ErrHostKey) {
			return nil, unwrapHostKey(err)
		}
		return nil, fmt.Errorf("%w: %s: Failed to connect to the host via ssh: %v", ErrUnreachable, cfg.Name, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	s := &SSH{name: cfg.Name, client: &goph.Client{Client: client}, done: make(chan struct{}), slots: make(chan struct{}, maxSessions)}
	go s.keepalive(15 * time.Second)
	return s, nil
}

// withDefaults fills in port 22 and a 10 s timeout, and refuses a
// configuration with no known_hosts to check the host against.
func (cfg SSHConfig) withDefaults() (SSHConfig, error) {
	if cfg.HostKeys == nil || cfg.HostKeys.File == "" {
		return cfg, fmt.Errorf("%w: %s: no known_hosts file to check the host key against", ErrHostKey, cfg.Name)
	}
	if cfg.Port == 0 {
		cfg.Port = 22
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	return cfg, nil
}

// keepalive asks the server for a reply every interval, and closes the
// connection when none comes: a host that vanished (a pulled cable sends
// no reset) then fails its next task as UNREACHABLE instead of hanging.
func (s *SSH) keepalive(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		replied := make(chan error, 1)
		go func() {
			_, _, err := s.client.SendRequest("keepalive@openssh.com", true, nil)
			replied <- err
		}()
		select {
		case <-s.done:
			return
		case err := <-replied:
			if err != nil {
				s.client.Close()
				return
			}
		case <-time.After(interval):
			s.client.Close()
			return
		}
	}
}

// unwrapHostKey drops x/crypto's "ssh: handshake failed:" prefix.
func unwrapHostKey(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, ErrHostKey.Error()); i > 0 {
		msg = msg[i+len(ErrHostKey.Error()):]
	}
	return fmt.Errorf("%w%s", ErrHostKey, msg)
}

// authMethods returns the ways to log in, and what to close once the
// handshake is over (the ssh-agent connection).
func authMethods(cfg SSHConfig) ([]ssh.AuthMethod, func(), error) {
	var methods []ssh.AuthMethod
	done := func() {}
	var signers []ssh.Signer
	for _, f := range cfg.KeyFiles {
		s, err := goph.GetSigner(f, "")
		if err != nil {
			return nil, done, fmt.Errorf("private key %s: %v", f, err)
		}
		signers = append(signers, s)
	}
	if cfg.Agent {
		sock := cfg.AgentSocket
		if sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
		}
		if c, err := net.Dial("unix", sock); sock != "" && err == nil {
			methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(c).Signers))
			done = func() { c.Close() }
		}
	}
	if len(signers) > 0 {
		methods = append([]ssh.AuthMethod{ssh.PublicKeys(signers...)}, methods...)
	}
	if cfg.Password != "" {
		methods = append(methods, goph.Password(cfg.Password)...)
	}
	if len(methods) == 0 {
		return nil, done, errors.New("no way to authenticate: give a private key, a password, or run an ssh-agent")
	}
	return methods, done, nil
}

// Name returns the inventory hostname.
func (s *SSH) Name() string { return s.name }

// Close ends the SFTP subsystem and the connection.
func (s *SSH) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	if s.sftp != nil {
		s.sftp.Close()
	}
	return s.client.Close()
}

// lost turns a transport failure into ErrUnreachable.
func (s *SSH) lost(err error) error {
	if s.keeperLog != "" {
		return fmt.Errorf("%w: %s: the connection was lost: %v (a kept connection: %s may say why)", ErrUnreachable, s.name, err, s.keeperLog)
	}
	return fmt.Errorf("%w: %s: the connection was lost: %v", ErrUnreachable, s.name, err)
}

// Run runs a command in a new session on the connection. The task's
// environment travels on stdin, never in the command line: it may hold
// secrets, and the far side's ps would show them.
func (s *SSH) Run(ctx context.Context, cmd module.Command) (*module.CommandResult, error) {
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cmd.Timeout)
		defer cancel()
	}
	line, stdin, err := remoteCommand(cmd)
	if err != nil {
		return nil, err
	}
	sess, release, err := s.session(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	var d *dialog
	if cmd.Prompt != nil {
		// The environment prelude reads its lines before sudo starts, so it
		// goes first; the dialog's stream follows.
		prelude := stdin[:len(stdin)-len(cmd.Stdin)]
		d = newDialog(cmd.Prompt, cmd.Stdin)
		sess.Stdout, sess.Stderr = d.stdoutWriter(), d.stderrWriter()
		in, err := sess.StdinPipe()
		if err != nil {
			return nil, s.lost(err)
		}
		go func() {
			in.Write(prelude)
			io.Copy(in, d.stdin())
			in.Close()
		}()
	} else if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(line) }()
	select {
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		return &module.CommandResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, fmt.Errorf("%s: %w", describe(cmd), ctx.Err())
	case err = <-done:
	}
	res := &module.CommandResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if d != nil {
		res.Stdout, res.Stderr = d.result()
	}
	var exit *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.RC = exit.ExitStatus()
		if exit.Signal() != "" && res.RC == 0 {
			res.RC = 128 + 9
		}
	default:
		return res, s.lost(err)
	}
	return res, nil
}

var envName = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

// remoteCommand builds the one shell line the session runs, and its stdin.
// With an environment, a small prelude reads NAME=base64 lines from stdin
// up to an empty line, exports them, and execs the command, which then
// reads the rest of stdin as its own.
func remoteCommand(cmd module.Command) (string, []byte, error) {
	var line string
	switch {
	case cmd.Shell != "":
		line = Quote([]string{"/bin/sh", "-c", cmd.Shell})
	case len(cmd.Argv) > 0:
		line = Quote(cmd.Argv)
	default:
		return "", nil, errors.New("run: empty command")
	}
	if cmd.Dir != "" {
		line = "cd " + Quote([]string{cmd.Dir}) + " && exec " + line
	}
	if len(cmd.Env) == 0 {
		return line, cmd.Stdin, nil
	}
	names := make([]string, 0, len(cmd.Env))
	for k := range cmd.Env {
		if !envName.MatchString(k) {
			return "", nil, fmt.Errorf("environment variable name %q is not valid", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	var in bytes.Buffer
	for _, k := range names {
		fmt.Fprintf(&in, "%s=%s\n", k, base64.StdEncoding.EncodeToString([]byte(cmd.Env[k])))
	}
	in.WriteString("\n")
	in.Write(cmd.Stdin)
	prelude := `while IFS= read -r l && [ -n "$l" ]; do export "${l%%=*}=$(printf %s "${l#*=}" | base64 -d)"; done; `
	return "/bin/sh -c " + Quote([]string{prelude + line}), in.Bytes(), nil
}

// Probe runs a read-only command; the gate decides which.
func (s *SSH) Probe(ctx context.Context, cmd module.Command) (*module.CommandResult, error) {
	return s.Run(ctx, cmd)
}

// Dial opens a TCP connection from the host's side, tunnelled through the
// SSH connection (a database on the host's own 127.0.0.1).
func (s *SSH) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := s.client.Dial(network, addr)
		ch <- result{c, err}
	}()
	select {
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	case r := <-ch:
		return r.c, r.err
	}
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// session opens a session within the connection's slots, retrying while
// sshd still counts recently closed ones.
func (s *SSH) session(ctx context.Context) (*ssh.Session, func(), error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	release := func() { <-s.slots }
	for attempt := 0; ; attempt++ {
		sess, err := s.client.NewSession()
		if err == nil {
			return sess, release, nil
		}
		var oc *ssh.OpenChannelError
		if errors.As(err, &oc) && oc.Reason == ssh.ConnectionFailed && attempt < 50 {
			select {
			case <-time.After(20 * time.Millisecond):
				continue
			case <-ctx.Done():
				release()
				return nil, nil, ctx.Err()
			}
		}
		release()
		return nil, nil, s.lost(err)
	}
}
