// Package mailbox is a small SMTP receiver (emersion/go-smtp's server):
// it accepts every message and keeps it in a folder, one .eml file each.
// The rehearsal lab runs one as the estate's mail relay, and tests use it
// to see what the mail module sent.
package mailbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Server receives mail on one address.
type Server struct {
	Dir  string // where messages go
	Addr string // host:port it listens on
	smtp *smtp.Server
	ln   net.Listener
	n    atomic.Int64
}

// Start listens on addr (host:0 picks a port) and keeps messages in dir.
func Start(addr, dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Addr: ln.Addr().String(), ln: ln}
	s.smtp = smtp.NewServer(backend{s})
	s.smtp.Domain = "mailbox.cutover.invalid"
	s.smtp.ReadTimeout, s.smtp.WriteTimeout = time.Minute, time.Minute
	s.smtp.MaxMessageBytes = 10 << 20
	go s.smtp.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

// Close stops listening.
func (s *Server) Close() error { return s.smtp.Close() }

// Messages returns the kept messages' texts, oldest first.
func (s *Server) Messages() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(s.Dir, "*.eml"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	return out, nil
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

// Data keeps the message with its envelope as the first lines.
func (x *session) Data(r io.Reader) error {
	if x.from == "" || len(x.to) == 0 {
		return errors.New("no envelope")
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	n := x.s.n.Add(1)
	name := filepath.Join(x.s.Dir, fmt.Sprintf("%d-%04d.eml", time.Now().UnixNano(), n))
	text := fmt.Sprintf("X-Envelope-From: %s\r\nX-Envelope-To: %s\r\n%s", x.from, strings.Join(x.to, ", "), body)
	return os.WriteFile(name, []byte(text), 0o644)
}
