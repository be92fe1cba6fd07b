// Package conn holds the ways cutover reaches a host: the local connection,
// the read-only gate that Plan sees, and the decorators (become, task
// environment) that wrap them.
package conn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/cutover/cutover/engine/module"
)

// ErrUnreachable marks errors that mean the host could not be reached.
var ErrUnreachable = errors.New("host unreachable")

// Local runs everything on the machine cutover runs on.
type Local struct {
	Host string // inventory hostname
}

var _ module.MutableHost = (*Local)(nil)

// Name returns the inventory hostname.
func (l *Local) Name() string { return l.Host }

// ReadFile reads a local file.
func (l *Local) ReadFile(_ context.Context, path string) ([]byte, error) {
	return os.ReadFile(path)
}

// Stat describes a local path without following a final symlink.
func (l *Local) Stat(_ context.Context, path string) (*module.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	return fileInfo(path, fi), nil
}

func fileInfo(path string, fi fs.FileInfo) *module.FileInfo {
	info := &module.FileInfo{
		Path:      path,
		Exists:    true,
		IsDir:     fi.IsDir(),
		IsLink:    fi.Mode()&fs.ModeSymlink != 0,
		IsRegular: fi.Mode().IsRegular(),
		Mode:      fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
		Size:      fi.Size(),
		ModTime:   fi.ModTime(),
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.UID, info.GID = int(st.Uid), int(st.Gid)
		if u, err := user.LookupId(strconv.Itoa(info.UID)); err == nil {
			info.Owner = u.Username
		}
		if g, err := user.LookupGroupId(strconv.Itoa(info.GID)); err == nil {
			info.Group = g.Name
		}
	}
	if info.IsLink {
		info.LinkTarget, _ = os.Readlink(path)
	}
	return info
}

// Probe runs a command; the gate decides which commands Plan may probe.
func (l *Local) Probe(ctx context.Context, cmd module.Command) (*module.CommandResult, error) {
	return l.Run(ctx, cmd)
}

// Dial connects from this machine.
func (l *Local) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Run runs a command locally. A non-zero exit is reported in RC.
func (l *Local) Run(ctx context.Context, cmd module.Command) (*module.CommandResult, error) {
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cmd.Timeout)
		defer cancel()
	}
	var c *exec.Cmd
	switch {
	case cmd.Shell != "":
		c = exec.CommandContext(ctx, "/bin/sh", "-c", cmd.Shell)
	case len(cmd.Argv) > 0:
		c = exec.CommandContext(ctx, cmd.Argv[0], cmd.Argv[1:]...)
	default:
		return nil, errors.New("run: empty command")
	}
	c.Dir = cmd.Dir
	if len(cmd.Env) > 0 {
		c.Env = os.Environ()
		for k, v := range cmd.Env {
			c.Env = append(c.Env, k+"="+v)
		}
	}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	var d *dialog
	if cmd.Prompt != nil {
		d = newDialog(cmd.Prompt, cmd.Stdin)
		c.Stdout, c.Stderr = d.stdoutWriter(), d.stderrWriter()
		// Wait does not wait for a reader it does not own: feed stdin from
		// our own goroutine, which the dialog ends.
		in, err := c.StdinPipe()
		if err != nil {
			return nil, err
		}
		go func() {
			io.Copy(in, d.stdin())
			in.Close()
		}()
	} else if cmd.Stdin != nil {
		c.Stdin = bytes.NewReader(cmd.Stdin)
	}
	// Its own process group, so a timeout kills the whole pipeline.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	err := c.Run()
	res := &module.CommandResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if d != nil {
		res.Stdout, res.Stderr = d.result()
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s: %w", describe(cmd), ctx.Err())
	case errors.As(err, &exit):
		res.RC = exit.ExitCode()
		if res.RC < 0 {
			res.RC = 128 + int(exit.Sys().(syscall.WaitStatus).Signal())
		}
	default:
		return res, fmt.Errorf("%s: %w", describe(cmd), err)
	}
	return res, nil
}

func describe(cmd module.Command) string {
	if cmd.Shell != "" {
		return "/bin/sh -c " + Quote([]string{cmd.Shell})
	}
	return Quote(cmd.Argv)
}

// processUmask is this process's umask, read from /proc: umask(2) can
// only read it by setting it, which other goroutines would see.
var processUmask = sync.OnceValue(func() fs.FileMode {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o022
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if u, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return fs.FileMode(u)
			}
		}
	}
	return 0o022
})

// WriteFile replaces path atomically, keeping the old file's mode and owner
// unless opt says otherwise.
func (l *Local) WriteFile(ctx context.Context, path string, data []byte, opt module.WriteOptions) error {
	mode := 0o666 &^ processUmask() // a new file's, as Ansible's modules make it
	uid, gid := -1, -1
	if old, err := os.Stat(path); err == nil {
		mode = old.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if st, ok := old.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if opt.Mode != 0 {
		mode = opt.Mode
	}
	if opt.Owner != "" {
		id, err := lookupUID(opt.Owner)
		if err != nil {
			return err
		}
		uid = id
	}
	if opt.Group != "" {
		id, err := lookupGID(opt.Group)
		if err != nil {
			return err
		}
		gid = id
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".cutover-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if uid >= 0 || gid >= 0 {
		if err := os.Lchown(tmpName, uid, gid); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	// chmod after chown: chown clears setuid bits.
	if err := os.Chmod(tmpName, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if len(opt.Validate) > 0 {
		argv := make([]string, len(opt.Validate))
		for i, a := range opt.Validate {
			argv[i] = strings.ReplaceAll(a, "%s", tmpName)
		}
		res, err := l.Run(ctx, module.Command{Argv: argv})
		if err != nil {
			return fmt.Errorf("validate %s: %w", path, err)
		}
		if res.RC != 0 {
			return fmt.Errorf("validate %s: %s failed (rc=%d): %s", path, argv[0], res.RC, strings.TrimSpace(string(res.Stderr)+string(res.Stdout)))
		}
	}
	if err := os.Rename(tmpName, path); err != nil {
		if !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("write %s: %w", path, err)
		}
		// A bind-mounted file (a container's /etc/hosts) cannot be
		// replaced: write it in place, as Ansible's unsafe_writes does.
		if err := writeInPlace(path, data, mode, uid, gid); err != nil {
			return fmt.Errorf("write %s in place: %w", path, err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func lookupUID(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("unknown user %q", name)
	}
	return strconv.Atoi(u.Uid)
}

func lookupGID(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("unknown group %q", name)
	}
	return strconv.Atoi(g.Gid)
}

// Quote joins argv into one POSIX shell string, each word single-quoted
// where needed. It is the one place commands become shell text.
func Quote(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = quoteWord(a)
	}
	return strings.Join(parts, " ")
}

func quoteWord(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeInPlace overwrites a file that cannot be renamed over, keeping its
// inode: not atomic, the one way to change a bind-mounted file.
func writeInPlace(path string, data []byte, mode fs.FileMode, uid, gid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if uid >= 0 || gid >= 0 {
		if err := os.Chown(path, uid, gid); err != nil {
			return err
		}
	}
	return os.Chmod(path, mode)
}
