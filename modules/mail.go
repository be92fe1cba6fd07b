package modules

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/cutover/cutover/engine/module"
)

// Mail is the mail module: the runbook's "test sending e-mails from
// timesheets and from finance". It sends one message through an SMTP
// server reached from the host's side (the host's own name resolution,
// its own firewall), and passes when the server accepts it.
func Mail() module.Info {
	return module.Info{
		Name:    "mail",
		Aliases: []string{"community.general.mail"},
		Doc: "Sends an e-mail through an SMTP server, dialled from the target host's side, as Ansible's mail module does; " +
			"it passes when the server accepts the message. Check mode connects and greets the server but sends nothing.",
		Args: []module.Arg{
			{Name: "host", Type: module.String, Default: "localhost", Doc: "SMTP server, resolved and dialled from the host's side"},
			{Name: "port", Type: module.Int, Default: 25, Doc: "SMTP port"},
			{Name: "username", Type: module.String, Doc: "log in as (SMTP AUTH PLAIN, only over TLS unless the server is on loopback)"},
			{Name: "password", Type: module.String, Secret: true, Doc: "password (never printed)"},
			{Name: "from", Type: module.String, Default: "root", Aliases: []string{"sender"}, Doc: "the sender address"},
			{Name: "to", Type: module.List, Default: []any{"root"}, Aliases: []string{"recipients"}, Doc: "recipient addresses"},
			{Name: "cc", Type: module.List, Doc: "copy recipients"},
			{Name: "bcc", Type: module.List, Doc: "blind copy recipients (not in the headers)"},
			{Name: "subject", Type: module.String, Required: true, Aliases: []string{"msg"}, Doc: "subject line"},
			{Name: "body", Type: module.String, Doc: "message text; default: the subject"},
			{Name: "headers", Type: module.List, Doc: "extra header lines (Name: value)"},
			{Name: "secure", Type: module.String, Default: "try", Choices: []string{"never", "try", "starttls"}, Doc: "STARTTLS: never, when offered (try), or required"},
			{Name: "timeout", Type: module.Int, Default: 20, Doc: "seconds to wait for the server"},
		},
		New: func() module.Module { return mailModule{} },
	}
}

type mailModule struct{}

type mailPlan struct {
	server     string
	from       string
	rcpt       []string
	message    []byte
	user, pass string
	secure     string
	timeout    time.Duration
}

func (mailModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	p := &mailPlan{server: net.JoinHostPort(argString(args, "host"), strconv.Itoa(argInt(args, "port"))),
		from: argString(args, "from"), user: argString(args, "username"), pass: argString(args, "password"),
		secure: argString(args, "secure"), timeout: time.Duration(max(1, argInt(args, "timeout"))) * time.Second}
	to, cc, bcc := stringList(args["to"]), stringList(args["cc"]), stringList(args["bcc"])
	p.rcpt = append(append(append(p.rcpt, to...), cc...), bcc...)
	if len(p.rcpt) == 0 {
		return nil, fmt.Errorf("no recipient: to, cc or bcc")
	}
	body := argString(args, "body")
	if body == "" {
		body = argString(args, "subject")
	}
	p.message = mailMessage(p.from, to, cc, argString(args, "subject"), body, stringList(args["headers"]))
	// Greeting the server proves it answers from here; nothing is sent.
	c, err := mailConnect(ctx, env.Host, p)
	if err != nil {
		return nil, err
	}
	c.Quit()
	summary := fmt.Sprintf("send %q from %s to %s through %s", argString(args, "subject"), p.from, strings.Join(p.rcpt, ", "), p.server)
	return &module.Change{Action: module.Invoke, Summary: summary, Data: p,
		CheckSkip: fmt.Sprintf("%s answers; no mail sent in check mode", p.server)}, nil
}

func (mailModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*mailPlan)
	client, err := mailConnect(ctx, h, p)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	if err := client.SendMail(p.from, p.rcpt, bytes.NewReader(p.message)); err != nil {
		return &module.Result{Failed: true, Msg: fmt.Sprintf("%s did not accept the mail from %s: %v", p.server, p.from, err)}, nil
	}
	client.Quit()
	return &module.Result{Changed: true, Msg: "Mail sent successfully",
		Data: map[string]any{"server": p.server, "from": p.from, "recipients": toAnyList(p.rcpt)}}, nil
}

// mailConnect dials the server from the host's side, greets it, starts
// TLS as secure says and logs in.
func mailConnect(ctx context.Context, h module.Host, p *mailPlan) (*smtp.Client, error) {
	dial := func() (net.Conn, error) {
		dctx, cancel := context.WithTimeout(ctx, p.timeout)
		defer cancel()
		conn, err := h.Dial(dctx, "tcp", p.server)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", p.server, err)
		}
		_ = conn.SetDeadline(time.Now().Add(p.timeout))
		return conn, nil
	}
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = p.timeout, p.timeout
	if err := c.Hello("cutover.invalid"); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", p.server, err)
	}
	hostName, _, _ := net.SplitHostPort(p.server)
	if tlsOffered, _ := c.Extension("STARTTLS"); p.secure == "starttls" || (p.secure == "try" && tlsOffered) {
		c.Close()
		if conn, err = dial(); err != nil {
			return nil, err
		}
		if c, err = smtp.NewClientStartTLS(conn, &tls.Config{ServerName: hostName}); err != nil {
			return nil, fmt.Errorf("STARTTLS with %s: %w", p.server, err)
		}
	}
	if p.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", p.user, p.pass)); err != nil {
			c.Close()
			return nil, fmt.Errorf("log in to %s as %s: %w", p.server, p.user, err)
		}
	}
	return c, nil
}

// mailMessage is an RFC 5322 message with CRLF line ends.
func mailMessage(from string, to, cc []string, subject, body string, extra []string) []byte {
	id := make([]byte, 12)
	rand.Read(id) //nolint:errcheck // never fails
	_, domain, _ := strings.Cut(from, "@")
	if domain == "" {
		domain = "cutover.invalid"
	}
	lines := []string{
		"From: " + from,
		"To: " + strings.Join(to, ", "),
	}
	if len(cc) > 0 {
		lines = append(lines, "Cc: "+strings.Join(cc, ", "))
	}
	lines = append(lines,
		"Subject: "+subject,
		"Date: "+time.Now().Format(time.RFC1123Z),
		"Message-ID: <"+hex.EncodeToString(id)+"@"+domain+">",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"X-Mailer: cutover",
	)
	lines = append(lines, extra...)
	lines = append(lines, "")
	lines = append(lines, strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")...)
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func toAnyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
