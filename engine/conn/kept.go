package conn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/melbahja/goph"
	"golang.org/x/crypto/ssh"
)

// Keep reaches hosts through the keeper of a control folder, starting
// it when none runs there.
type Keep struct {
	Dir     string
	Persist time.Duration // how long a connection outlives its last run; negative: until stopped
	// Command returns the command that runs a keeper for the folder
	// (cutover's hidden "keeper" command).
	Command func(dir string) *exec.Cmd
}

// ErrNoKeeper marks a keeper that could not be reached or started: the
// host itself was not tried.
var ErrNoKeeper = errors.New("no connection keeper")

// Dial connects to a host through the keeper.
func (kp *Keep) Dial(ctx context.Context, cfg SSHConfig) (*SSH, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	kp.Dir = absPath(kp.Dir) // the keeper runs in /
	c, err := kp.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %v", ErrNoKeeper, kp.Dir, err)
	}
	client, err := keeperClient(c)
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %v", ErrNoKeeper, kp.Dir, err)
	}
	a := attachment{Name: cfg.Name, Addr: cfg.Addr, Port: cfg.Port, User: cfg.User, KeyFiles: absPaths(cfg.KeyFiles),
		Password: cfg.Password, KnownHosts: absPath(cfg.HostKeys.File), AcceptNew: cfg.HostKeys.AcceptNew,
		Timeout: cfg.Timeout, Persist: kp.Persist}
	if cfg.Agent {
		a.AgentSocket = cfg.AgentSocket
		if a.AgentSocket == "" {
			a.AgentSocket = os.Getenv("SSH_AUTH_SOCK")
		}
	}
	payload, _ := json.Marshal(a)
	type reply struct {
		ok  bool
		msg []byte
		err error
	}
	replied := make(chan reply, 1)
	go func() {
		ok, msg, err := client.SendRequest(attachRequest, true, payload)
		replied <- reply{ok, msg, err}
	}()
	var r reply
	select {
	case <-ctx.Done():
		client.Close()
		return nil, ctx.Err()
	case r = <-replied:
	}
	if r.err != nil {
		// The keeper went away, not the host: the caller connects itself.
		client.Close()
		return nil, fmt.Errorf("%w in %s: %v", ErrNoKeeper, kp.Dir, r.err)
	}
	if !r.ok {
		client.Close()
		return nil, attachError(r.msg)
	}
	s := &SSH{name: cfg.Name, client: &goph.Client{Client: client}, keeperLog: filepath.Join(kp.Dir, "keeper.log"),
		done: make(chan struct{}), slots: make(chan struct{}, maxSessions)}
	go s.keepalive(15 * time.Second) // a keeper that stops answering fails the run instead of hanging it
	return s, nil
}

// attachError rebuilds the keeper's refusal with its kind.
func attachError(msg []byte) error {
	kind, text, _ := strings.Cut(string(msg), "\x00")
	if kind == "hostkey" {
		return &keptError{kind: ErrHostKey, msg: text}
	}
	return &keptError{kind: ErrUnreachable, msg: text}
}

// keptError is an error the keeper met, with its kind for errors.Is.
type keptError struct {
	kind error
	msg  string
}

func (e *keptError) Error() string { return e.msg }
func (e *keptError) Unwrap() error { return e.kind }

// connect reaches the keeper's socket, starting a keeper under the
// folder's lock when none listens there. Nothing in it waits more than
// keeperWait.
func (kp *Keep) connect(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, keeperWait)
	defer cancel()
	sock := KeeperSocket(kp.Dir)
	c, err := dialKeeper(sock)
	if err == nil || !noKeeperListens(err) {
		return c, err // a busy keeper is not replaced
	}
	if err := checkControlDir(kp.Dir); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(kp.Dir, "keeper.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	for syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return nil, fmt.Errorf("waiting for another run to start the keeper: %w", err)
		}
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if c, err := dialKeeper(sock); err == nil || !noKeeperListens(err) {
		return c, err // another run started one meanwhile
	}
	cmd := kp.Command(kp.Dir)
	cmd.Dir = "/"                                        // holds no folder of the run's busy
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // out of the terminal's reach: ^C stops the run, not the keeper
	logf, err := os.OpenFile(filepath.Join(kp.Dir, "keeper.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	for {
		if c, err := dialKeeper(sock); err == nil {
			return c, nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("it exited: %s", strings.TrimSpace(string(log)))
		case <-ctx.Done():
			return nil, fmt.Errorf("it did not listen: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// keeperWait bounds starting and reaching the keeper.
const keeperWait = 10 * time.Second

// noKeeperListens tells a socket nobody listens on (a keeper may be
// started) from a keeper that is there but busy.
func noKeeperListens(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// keeperClient speaks SSH to the keeper over its socket.
func keeperClient(c net.Conn) (*ssh.Client, error) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.SetDeadline(time.Time{})
	sc, chans, reqs, err := ssh.NewClientConn(c, "keeper", &ssh.ClientConfig{
		User: "cutover",
		// The socket sits in a 0700 folder of this user, and the keeper
		// at the other end was checked to run as this user too.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

func dialKeeper(sock string) (net.Conn, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, err
	}
	if !sameUser(c) {
		c.Close()
		return nil, errors.New("the keeper's socket is held by another user")
	}
	return c, nil
}

// StopKeeper asks the keeper of a folder to close its connections and
// exit; it is not an error when none runs.
func StopKeeper(dir string) error {
	_, err := askKeeper(dir, stopRequest)
	if errors.Is(err, ErrNoKeeper) {
		return nil
	}
	return err
}

// KeptHost is one connection a keeper holds.
type KeptHost struct {
	Name, User, Addr string
	Port             int
	Runs             int           // attached now
	Idle             time.Duration // since the last run let go; zero while attached
	Persist          time.Duration
}

// KeptHosts lists the connections the keeper of a folder holds; none
// when no keeper runs.
func KeptHosts(dir string) ([]KeptHost, error) {
	payload, err := askKeeper(dir, listRequest)
	if errors.Is(err, ErrNoKeeper) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var hosts []KeptHost
	return hosts, json.Unmarshal(payload, &hosts)
}

// askKeeper sends one request to a folder's keeper.
func askKeeper(dir, request string) ([]byte, error) {
	c, err := dialKeeper(KeeperSocket(dir))
	if err != nil {
		return nil, ErrNoKeeper
	}
	client, err := keeperClient(c)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	_, payload, err := client.SendRequest(request, true, nil)
	return payload, err
}

// The keeper runs in another folder: paths go absolute.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func absPaths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = absPath(p)
	}
	return out
}
