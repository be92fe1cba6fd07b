// Package sshlab starts real OpenSSH servers on loopback for tests: one
// sshd per host on 127.0.NET.i port 2222, with generated host and client
// keys and a known_hosts file, each in its own mount and pid namespace
// (scripts/sshlab.sh holds the setup; this package runs and stops the
// servers). It needs root; under CI=true a missing privilege fails the
// test instead of skipping it.
package sshlab

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Port is where every lab sshd listens.
const Port = 2222

// Lab is a set of running sshd.
type Lab struct {
	Dir        string // keys, configs, logs
	KnownHosts string
	ClientKey  string
	Hosts      []*Host
	script     string
}

// Host is one sshd, known to tests by an inventory name.
type Host struct {
	Name   string
	Addr   string // 127.0.NET.i
	Index  int    // 1-based
	lab    *Lab
	cmd    *exec.Cmd
	exited chan error // receives the process's end; Kill waits on it
	log    string
}

// Script is the path of scripts/sshlab.sh.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "sshlab.sh")
}

// Start prepares a lab for the named hosts on 127.0.NET.1... and starts
// every sshd; they are stopped when the test ends. Tests running at the
// same time must use different nets.
func Start(t testing.TB, net int, names ...string) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the SSH lab needs root")
		}
		t.Skip("the SSH lab needs root")
	}
	dir := filepath.Join(t.TempDir(), "lab")
	l := &Lab{Dir: dir, KnownHosts: filepath.Join(dir, "known_hosts"), ClientKey: filepath.Join(dir, "id_ed25519"), script: Script()}
	out, err := exec.Command(l.script, "prepare", dir, fmt.Sprint(len(names)), fmt.Sprint(net)).CombinedOutput()
	if err != nil {
		t.Fatalf("sshlab prepare: %v\n%s", err, out)
	}
	for i, name := range names {
		h := &Host{Name: name, Index: i + 1, Addr: fmt.Sprintf("127.0.%d.%d", net, i+1), lab: l,
			log: filepath.Join(dir, fmt.Sprintf("host%d", i+1), "sshd.log")}
		l.Hosts = append(l.Hosts, h)
	}
	t.Cleanup(l.Stop)
	for _, h := range l.Hosts {
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// Host returns a host by name.
func (l *Lab) Host(name string) *Host {
	for _, h := range l.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Stop kills every sshd of the lab.
func (l *Lab) Stop() {
	for _, h := range l.Hosts {
		h.Kill()
	}
}

// Inventory returns an INI inventory of the lab's hosts logging in as
// user with the lab's key and known_hosts, plus extra vars on each line.
func (l *Lab) Inventory(user, extra string) string {
	var b strings.Builder
	for _, h := range l.Hosts {
		fmt.Fprintf(&b, "%s ansible_host=%s ansible_port=%d ansible_user=%s ansible_ssh_private_key_file=%s ansible_ssh_known_hosts_file=%s %s\n",
			h.Name, h.Addr, Port, user, l.ClientKey, l.KnownHosts, extra)
	}
	return b.String()
}

// Start runs the host's sshd and waits until it listens.
func (h *Host) Start() error {
	logf, err := os.OpenFile(h.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	before := h.count("Server listening on")
	cmd := exec.Command(h.lab.script, "run", h.lab.Dir, fmt.Sprint(h.Index))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start sshd for %s: %w", h.Name, err)
	}
	h.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for h.count("Server listening on") == before {
		select {
		case err := <-exited:
			h.cmd = nil
			log, _ := os.ReadFile(h.log)
			return fmt.Errorf("sshd for %s exited (%v) before listening:\n%s", h.Name, err, log)
		case <-deadline:
			h.Kill()
			log, _ := os.ReadFile(h.log)
			return fmt.Errorf("sshd for %s did not start in 30 s:\n%s", h.Name, log)
		case <-time.After(10 * time.Millisecond):
		}
	}
	h.exited = exited
	return nil
}

// Kill ends the host's sshd and every connection to it, as a host that
// crashes would (the namespace's first process takes all with it).
func (h *Host) Kill() {
	if h.cmd == nil || h.cmd.Process == nil {
		return
	}
	// The whole process group: unshare, and the namespace's sshd, which
	// --kill-child would otherwise only signal once unshare is gone. Not
	// once unshare is reaped: its pid, and so the group id, may belong to
	// another process by then (a keeper, another lab's host).
	select {
	case <-h.exited:
	default:
		syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		if h.exited != nil {
			<-h.exited
		}
	}
	h.cmd, h.exited = nil, nil
	h.waitPortFree()
}

// waitPortFree returns once the host's address and port can be bound
// again: the killed sshd's listening socket closes only when the kernel
// has reaped it, after unshare's own exit, and a lab started next on the
// same address would otherwise find it in use.
func (h *Host) waitPortFree() {
	addr := net.JoinHostPort(h.Addr, fmt.Sprint(Port))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return
		}
	}
}

// Connections counts the SSH connections the host's sshd accepted, over
// all its starts.
func (h *Host) Connections() int { return h.count("Connection from") }

// Sessions counts the sessions (commands, SFTP) opened on the host.
func (h *Host) Sessions() int { return h.count("Starting session") }

func (h *Host) count(marker string) int {
	data, _ := os.ReadFile(h.log)
	return bytes.Count(data, []byte(marker))
}
