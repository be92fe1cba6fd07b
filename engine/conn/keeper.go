package conn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// The keeper holds SSH connections open between runs, as the OpenSSH
// masters of Ansible's ControlPersist do: one background process per
// user and control folder, listening on a Unix socket there. A run
// attaches to a host through it (an SSH handshake over the socket, then
// an "attach" request naming the host and how to log in); every channel
// the run opens (sessions, SFTP, tunnelled TCP) is spliced onto the
// kept connection. A host's connection closes when no run has used it
// for its persist time, and the keeper exits when it holds none.

// KeeperSocket is the keeper's socket in a control folder.
func KeeperSocket(dir string) string { return filepath.Join(dir, "keeper.sock") }

const (
	attachRequest = "attach@cutover"
	stopRequest   = "stop@cutover"
	listRequest   = "list@cutover"
	// handshakeTimeout bounds the local handshake with the keeper.
	handshakeTimeout = 10 * time.Second
)

// attachment is what a run sends to attach: SSHConfig, as JSON, over the
// encrypted local connection (never a command line).
type attachment struct {
	Name        string
	Addr        string
	Port        int
	User        string
	KeyFiles    []string
	Password    string
	AgentSocket string
	KnownHosts  string
	AcceptNew   bool
	Timeout     time.Duration
	Persist     time.Duration // negative: until the keeper is stopped
}

// key tells which runs may share a connection: the same login to the
// same host, checked against the same known_hosts. The credentials are
// part of it, hashed, so a wrong password never rides on a connection
// another one opened.
func (a attachment) key() string {
	h := sha256.New()
	json.NewEncoder(h).Encode([]any{a.User, a.Addr, a.Port, a.KnownHosts, a.KeyFiles, a.Password, a.AgentSocket})
	return hex.EncodeToString(h.Sum(nil))
}

func (a attachment) config() SSHConfig {
	return SSHConfig{Name: a.Name, Addr: a.Addr, Port: a.Port, User: a.User, KeyFiles: a.KeyFiles, Password: a.Password,
		Agent: a.AgentSocket != "", AgentSocket: a.AgentSocket, Timeout: a.Timeout}
}

// Keeper is the background process's state.
type Keeper struct {
	Dir string

	mu        sync.Mutex
	upstreams map[string]*upstream
	clients   int
	hostKeys  hostKeyFiles
	stop      chan struct{}
	stopOnce  sync.Once
	listener  net.Listener
}

// upstream is one kept connection and the runs attached to it.
type upstream struct {
	ready    chan struct{} // closed once dialled
	via      attachment    // the first run's (its password unused after the dial)
	ssh      *SSH
	err      error
	dead     bool
	attached map[*ssh.ServerConn]bool
	pending  int           // runs waiting to attach: the connection is in use
	sessions chan struct{} // open session channels, at most maxSessions+1 (SFTP)
	persist  time.Duration
	lastUsed time.Time
}

// Serve listens on the control folder's socket until the keeper holds no
// connection and serves no run, or until it is stopped. One keeper serves
// a folder: a second one returns an error at once.
func (k *Keeper) Serve() error {
	if err := checkControlDir(k.Dir); err != nil {
		return err
	}
	// The serving lock, held for the keeper's life, so no second keeper
	// ever removes this one's socket.
	lock, err := os.OpenFile(filepath.Join(k.Dir, "keeper.serving"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("a keeper already serves %s", k.Dir)
	}
	k.upstreams, k.stop = map[string]*upstream{}, make(chan struct{})
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return err
	}
	config := &ssh.ServerConfig{NoClientAuth: true}
	config.AddHostKey(signer)
	sock := KeeperSocket(k.Dir)
	os.Remove(sock) // a keeper that died left it
	l, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	// The socket is removed below only while it is still this keeper's:
	// a folder deleted and made again may hold another keeper's by now.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	mine, err := os.Stat(sock)
	if err != nil {
		l.Close()
		return err
	}
	k.listener = l
	go k.expire(sock, mine)
	for {
		c, err := l.Accept()
		if err != nil {
			break
		}
		if !sameUser(c) {
			c.Close()
			continue
		}
		k.mu.Lock()
		k.clients++
		k.mu.Unlock()
		go k.serveClient(c, config)
	}
	<-k.stop
	if st, err := os.Stat(sock); err == nil && os.SameFile(st, mine) {
		os.Remove(sock)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, u := range k.upstreams {
		if u.ssh != nil {
			u.ssh.Close()
		}
	}
	return nil
}

// expire closes connections unused for their persist time, and stops the
// keeper when nothing is left. When its socket was removed or replaced
// (its folder deleted), it takes no new run and stops once the runs it
// serves are done.
func (k *Keeper) expire(sock string, mine os.FileInfo) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	orphaned := false
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
		}
		if st, err := os.Stat(sock); !orphaned && (err != nil || !os.SameFile(st, mine)) {
			orphaned = true
			k.listener.Close()
		}
		k.mu.Lock()
		for key, u := range k.upstreams {
			select {
			case <-u.ready:
			default:
				continue // still dialling
			}
			idle := len(u.attached) == 0 && u.pending == 0
			if u.dead || idle && u.persist >= 0 && time.Since(u.lastUsed) > u.persist {
				if u.ssh != nil {
					u.ssh.Close()
				}
				delete(k.upstreams, key)
			}
		}
		done := k.clients == 0 && (orphaned || len(k.upstreams) == 0)
		k.mu.Unlock()
		if done {
			k.shutdown()
			return
		}
	}
}

func (k *Keeper) shutdown() {
	k.stopOnce.Do(func() {
		close(k.stop)
		k.listener.Close()
	})
}

// serveClient serves one run's connection to one host.
func (k *Keeper) serveClient(c net.Conn, config *ssh.ServerConfig) {
	defer func() {
		k.mu.Lock()
		k.clients--
		k.mu.Unlock()
	}()
	defer c.Close()
	c.SetDeadline(time.Now().Add(handshakeTimeout)) // a run that never finishes its handshake holds nothing
	sc, chans, reqs, err := ssh.NewServerConn(c, config)
	if err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	defer sc.Close()
	// The run's first request attaches it; channels wait for that.
	var up *upstream
	for req := range reqs {
		switch req.Type {
		case stopRequest:
			req.Reply(true, nil)
			k.shutdown()
			return
		case listRequest:
			list, _ := json.Marshal(k.list())
			req.Reply(true, list)
			continue
		case attachRequest:
			var a attachment
			if err := json.Unmarshal(req.Payload, &a); err != nil {
				req.Reply(false, []byte("unreachable\x00bad attach request"))
				return
			}
			up, err = k.attach(a, sc)
			if err != nil {
				kind := "unreachable"
				if errors.Is(err, ErrHostKey) {
					kind = "hostkey"
				}
				req.Reply(false, []byte(kind+"\x00"+err.Error()))
				return
			}
			req.Reply(true, nil)
		default:
			req.Reply(false, nil)
		}
		if up != nil {
			break
		}
	}
	if up == nil {
		return
	}
	defer k.detach(up, sc)
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		go splice(nc, up, sc)
	}
}

// attach finds or dials the connection a run asks for.
func (k *Keeper) attach(a attachment, sc *ssh.ServerConn) (*upstream, error) {
	key := a.key()
	for try := 1; ; try++ {
		k.mu.Lock()
		u, ok := k.upstreams[key]
		if !ok {
			u = &upstream{ready: make(chan struct{}), attached: map[*ssh.ServerConn]bool{}, via: a,
				sessions: make(chan struct{}, maxSessions+1)}
			u.via.Password = ""
			k.upstreams[key] = u
		}
		u.pending++
		k.mu.Unlock()
		if !ok {
			k.dial(u, a, k.hostKeys.get(a.KnownHosts, a.AcceptNew))
		}
		<-u.ready
		k.mu.Lock()
		u.pending--
		if u.err != nil || u.dead {
			if k.upstreams[key] == u {
				delete(k.upstreams, key)
			}
			k.mu.Unlock()
			if u.err != nil {
				return nil, u.err
			}
			if try == 3 {
				return nil, fmt.Errorf("%w: %s: the connection was lost right after each of 3 logins", ErrUnreachable, a.Name)
			}
			continue // the host went away since: dial again
		}
		u.attached[sc] = true
		u.persist, u.lastUsed = a.Persist, time.Now()
		k.mu.Unlock()
		return u, nil
	}
}

func (k *Keeper) dial(u *upstream, a attachment, hk *HostKeys) {
	cfg := a.config()
	cfg.HostKeys = hk
	s, err := DialSSH(context.Background(), cfg)
	k.mu.Lock()
	u.ssh, u.err = s, err
	k.mu.Unlock()
	close(u.ready)
	if err != nil {
		return
	}
	// When the host goes, every run on it loses its connection too, as
	// it would have on a connection of its own.
	go func() {
		err := s.client.Wait()
		k.mu.Lock()
		u.dead = true
		runs := make([]*ssh.ServerConn, 0, len(u.attached))
		for sc := range u.attached {
			runs = append(runs, sc)
		}
		k.mu.Unlock()
		if len(runs) > 0 {
			// What ended a connection in use goes to keeper.log (the
			// keeper's stderr): the runs only see their connection end.
			log.Printf("%s (%s@%s:%d): the connection ended under %d runs: %v", a.Name, a.User, a.Addr, a.Port, len(runs), err)
		}
		for _, sc := range runs {
			sc.Close()
		}
	}()
}

func (k *Keeper) list() []KeptHost {
	k.mu.Lock()
	defer k.mu.Unlock()
	var hosts []KeptHost
	for _, u := range k.upstreams {
		if u.ssh == nil || u.dead {
			continue
		}
		h := KeptHost{Name: u.via.Name, User: u.via.User, Addr: u.via.Addr, Port: u.via.Port, Runs: len(u.attached), Persist: u.persist}
		if h.Runs == 0 {
			h.Idle = time.Since(u.lastUsed).Round(time.Second)
		}
		hosts = append(hosts, h)
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Name < hosts[j].Name })
	return hosts
}

func (k *Keeper) detach(u *upstream, sc *ssh.ServerConn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(u.attached, sc)
	u.lastUsed = time.Now()
}

// splice opens the run's channel on the host's connection and copies
// both ways: data, stderr, and requests (exec, subsystem, signals one
// way; exit-status the other). The run's side closes only after all the
// host's output has reached it.
func splice(nc ssh.NewChannel, u *upstream, run *ssh.ServerConn) {
	if nc.ChannelType() == "session" {
		// Runs sharing the connection share sshd's MaxSessions too: the
		// keeper queues sessions beyond it (each run bounds its own).
		u.sessions <- struct{}{}
		defer func() { <-u.sessions }()
	}
	up, upReqs, err := u.ssh.client.OpenChannel(nc.ChannelType(), nc.ExtraData())
	if err != nil {
		var oc *ssh.OpenChannelError
		if errors.As(err, &oc) {
			nc.Reject(oc.Reason, oc.Message)
			return
		}
		nc.Reject(ssh.ConnectionFailed, err.Error())
		log.Printf("%s: opening a %s channel: %v", u.via.Name, nc.ChannelType(), err)
		run.Close() // the host's connection is gone
		return
	}
	down, downReqs, err := nc.Accept()
	if err != nil {
		go ssh.DiscardRequests(upReqs)
		up.Close()
		return
	}
	go func() {
		io.Copy(up, down)
		up.CloseWrite()
	}()
	go io.Copy(up.Stderr(), down.Stderr())
	// A request of the run's (exec) is answered before its channel
	// closes: a quick command's close can follow the host's reply at once.
	var replying sync.Mutex
	go func() {
		forwardRequests(up, downReqs, &replying)
		up.Close() // the run closed its side
	}()
	var output sync.WaitGroup
	output.Add(2)
	go func() {
		defer output.Done()
		io.Copy(down, up)
	}()
	go func() {
		defer output.Done()
		io.Copy(down.Stderr(), up.Stderr())
	}()
	forwardRequests(down, upReqs, nil)
	output.Wait()
	replying.Lock()
	down.CloseWrite()
	down.Close()
	replying.Unlock()
}

// forwardRequests passes channel requests on and their replies back;
// with inFlight, it holds the lock from a request to its reply.
func forwardRequests(to ssh.Channel, reqs <-chan *ssh.Request, inFlight *sync.Mutex) {
	for r := range reqs {
		if inFlight != nil {
			inFlight.Lock()
		}
		ok, err := to.SendRequest(r.Type, r.WantReply, r.Payload)
		if r.WantReply {
			r.Reply(ok && err == nil, nil)
		}
		if inFlight != nil {
			inFlight.Unlock()
		}
	}
}

// checkControlDir makes the folder if needed and refuses one that others
// may enter: its socket hands out logged-in connections.
func checkControlDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("control folder %s belongs to another user", dir)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("control folder %s is open to other users (mode %04o; it must be 0700)", dir, st.Mode().Perm())
	}
	return nil
}

// sameUser tells whether the process at the other end of a Unix socket
// runs as this process's user.
func sameUser(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	return err == nil && cred != nil && int(cred.Uid) == os.Getuid()
}
