package modules

import (
	"context"
	"strings"
	"testing"

	"github.com/cutover/cutover/engine/mailbox"
	"github.com/cutover/cutover/engine/module"
)

func TestMailIsAcceptedAndKept(t *testing.T) {
	box, err := mailbox.Start("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	host, port, _ := strings.Cut(box.Addr, ":")
	raw := map[string]any{"host": host, "port": port, "from": "finance@finance.thehumanjourney.net",
		"to": []any{"ops@thehumanjourney.net"}, "bcc": []any{"audit@thehumanjourney.net"},
		"subject": "cutover rehearsal", "body": "sent from finance\nsecond line", "headers": []any{"X-Test: yes"}}

	c, err := pgqPlan(t, Mail(), raw, true)
	if err != nil {
		t.Fatalf("check mode: %v", err)
	}
	if c.Action != module.Invoke || !strings.Contains(c.CheckSkip, "no mail sent") {
		t.Fatalf("check mode plan: %v %q", c.Action, c.CheckSkip)
	}
	if msgs, _ := box.Messages(); len(msgs) != 0 {
		t.Fatalf("check mode sent %d messages", len(msgs))
	}

	res, err := Mail().New().Apply(context.Background(), localHost(), c)
	if err != nil || res.Failed {
		t.Fatalf("send: %v %+v", err, res)
	}
	msgs, _ := box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages kept, want 1", len(msgs))
	}
	m := msgs[0]
	for _, want := range []string{"X-Envelope-From: finance@finance.thehumanjourney.net", "X-Envelope-To: ops@thehumanjourney.net, audit@thehumanjourney.net",
		"Subject: cutover rehearsal\r\n", "To: ops@thehumanjourney.net\r\n", "X-Test: yes\r\n", "\r\n\r\nsent from finance\r\nsecond line\r\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("the message lacks %q:\n%s", want, m)
		}
	}
	_, sent, _ := strings.Cut(m, "X-Envelope-To: ops@thehumanjourney.net, audit@thehumanjourney.net\r\n")
	if headers, _, _ := strings.Cut(sent, "\r\n\r\n"); strings.Contains(headers, "audit@") {
		t.Errorf("a bcc recipient shows in the headers:\n%s", headers)
	}
}

func TestMailServerAbsent(t *testing.T) {
	_, err := pgqPlan(t, Mail(), map[string]any{"host": "127.0.0.1", "port": 1, "subject": "x"}, true)
	if err == nil || !strings.Contains(err.Error(), "connect to 127.0.0.1:1") {
		t.Errorf("err = %v", err)
	}
}
