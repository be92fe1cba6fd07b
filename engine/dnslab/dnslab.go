// Package dnslab runs a throw-away BIND server (Debian's named) on a
// loopback address, authoritative for one zone that accepts dynamic
// updates (RFC 2136) signed with a TSIG key: the rehearsal's DNS server
// and the dns_record module's test peer.
package dnslab

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Server is one running named.
type Server struct {
	Dir     string
	Addr    string // 127.x.y.z
	Port    int
	Zone    string // without the final dot
	KeyName string
	Secret  string // base64, as named.conf and TSIG want it
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Options say where named listens and what its zone holds. Records are
// zone-file lines relative to the zone ("finance IN A 10.0.10.48").
type Options struct {
	Addr    string // default 127.0.0.1 (named listens only on addresses an interface holds)
	Port    int    // default: a free port
	Zone    string // default thehumanjourney.net
	Records []string
	Parent  string // folder for the server's folder; default os.TempDir()
}

// Start writes the configuration and zone, starts named in the foreground
// and returns once it answers.
func Start(o Options) (*Server, error) {
	named, err := exec.LookPath("named")
	if err != nil {
		return nil, errors.New("named is not installed (Debian package bind9)")
	}
	s := &Server{Addr: o.Addr, Port: o.Port, Zone: o.Zone, KeyName: "cutover-key"}
	if s.Addr == "" {
		s.Addr = "127.0.0.1"
	}
	if s.Port == 0 {
		l, err := net.Listen("tcp", net.JoinHostPort(s.Addr, "0"))
		if err != nil {
			return nil, err
		}
		s.Port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	if s.Zone == "" {
		s.Zone = "thehumanjourney.net"
	}
	key := make([]byte, 32)
	rand.Read(key) //nolint:errcheck // never fails
	s.Secret = base64.StdEncoding.EncodeToString(key)
	if s.Dir, err = os.MkdirTemp(o.Parent, "dnslab-"); err != nil {
		return nil, err
	}
	if err := WriteConfig(s.Dir, s.Addr, s.Port, s.Zone, s.KeyName, s.Secret, o.Records); err != nil {
		os.RemoveAll(s.Dir)
		return nil, err
	}
	s.cmd = exec.Command(named, "-f", "-c", filepath.Join(s.Dir, "named.conf"), "-L", filepath.Join(s.Dir, "named.log"))
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(s.Dir)
		return nil, err
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// WriteConfig writes named.conf and db.zone into dir: one primary zone
// that takes updates signed with the key, served on addr:port; named's
// pid file and log go there too. Records are zone-file lines relative to
// the zone.
func WriteConfig(dir, addr string, port int, zone, keyName, secret string, records []string) error {
	s := &Server{Dir: dir, Addr: addr, Port: port, Zone: zone, KeyName: keyName, Secret: secret}
	conf := fmt.Sprintf(`options {
	directory %q;
	pid-file %q;
	listen-on port %d { %s; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
	allow-transfer { 127.0.0.1; };
};
controls { };
key %q { algorithm hmac-sha256; secret %q; };
zone %q { type master; file %q; allow-update { key %q; }; };
`, s.Dir, filepath.Join(s.Dir, "named.pid"), s.Port, s.Addr, s.KeyName, s.Secret, s.Zone, filepath.Join(s.Dir, "db.zone"), s.KeyName)
	zoneText := fmt.Sprintf("$TTL 300\n@ IN SOA ns1.%[1]s. admin.%[1]s. 1 3600 600 86400 300\n@ IN NS ns1.%[1]s.\nns1 IN A %s\n%s\n",
		s.Zone, s.Addr, strings.Join(records, "\n"))
	if err := os.WriteFile(filepath.Join(s.Dir, "named.conf"), []byte(conf), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "db.zone"), []byte(zoneText), 0o644)
}

// waitReady waits for "running" in the log, or named's end.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		log, _ := os.ReadFile(filepath.Join(s.Dir, "named.log"))
		if strings.Contains(string(log), "running") {
			c, err := net.DialTimeout("tcp", s.Endpoint(), time.Second)
			if err == nil {
				c.Close()
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("named stopped:\n%s", log)
		case <-time.After(50 * time.Millisecond):
		}
	}
	log, _ := os.ReadFile(filepath.Join(s.Dir, "named.log"))
	return fmt.Errorf("named did not start within 20 s:\n%s", log)
}

// Endpoint is host:port.
func (s *Server) Endpoint() string { return net.JoinHostPort(s.Addr, fmt.Sprint(s.Port)) }

// Stop ends named and removes its folder.
func (s *Server) Stop() error {
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.exited:
			// Reaped already: its pid, and so its group id, may belong
			// to another process by now, which must not be signalled.
		default:
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-s.exited
			}
		}
	}
	return os.RemoveAll(s.Dir)
}
