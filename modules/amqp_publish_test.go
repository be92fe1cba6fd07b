package modules

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

const testBrokerURL = "amqp://guest:guest@127.0.0.1:5672/"

// amqpLab is a topic exchange and a durable queue bound to it with one key,
// named uniquely for one test and deleted at its end.
type amqpLab struct {
	conn     *amqp.Connection
	exchange string
	queue    string
	boundKey string
}

// newAMQPLab needs the RabbitMQ on 127.0.0.1:5672: it skips without one,
// and fails under CI=true.
func newAMQPLab(t *testing.T) *amqpLab {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:5672", 2*time.Second)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("RabbitMQ is not running on 127.0.0.1:5672: %v", err)
		}
		t.Skipf("RabbitMQ is not running on 127.0.0.1:5672: %v", err)
	}
	c.Close()
	ac, err := amqp.Dial(testBrokerURL)
	if err != nil {
		t.Fatalf("connect to RabbitMQ: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	l := &amqpLab{conn: ac, exchange: "cutover-test-x-" + suffix, queue: "cutover-test-q-" + suffix, boundKey: "oas.staff.test"}
	ch := l.channel(t)
	defer ch.Close()
	if err := ch.ExchangeDeclare(l.exchange, amqp.ExchangeTopic, false, false, false, false, nil); err != nil {
		t.Fatalf("declare exchange: %v", err)
	}
	if _, err := ch.QueueDeclare(l.queue, true, false, false, false, nil); err != nil {
		t.Fatalf("declare queue: %v", err)
	}
	if err := ch.QueueBind(l.queue, l.boundKey, l.exchange, false, nil); err != nil {
		t.Fatalf("bind queue: %v", err)
	}
	t.Cleanup(func() {
		if ch, err := ac.Channel(); err == nil {
			if _, err := ch.QueueDelete(l.queue, false, false, false); err != nil {
				t.Errorf("delete queue %s: %v", l.queue, err)
			}
			if err := ch.ExchangeDelete(l.exchange, false, false); err != nil {
				t.Errorf("delete exchange %s: %v", l.exchange, err)
			}
			ch.Close()
		}
		ac.Close()
	})
	return l
}

func (l *amqpLab) channel(t *testing.T) *amqp.Channel {
	t.Helper()
	ch, err := l.conn.Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	return ch
}

// depth is the number of ready messages in the lab's queue, read with a
// passive declare.
func (l *amqpLab) depth(t *testing.T) int {
	t.Helper()
	ch := l.channel(t)
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(l.queue, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("passive declare %s: %v", l.queue, err)
	}
	return q.Messages
}

func TestAmqpPublishTest(t *testing.T) {
	l := newAMQPLab(t)
	unbound := "oas.staff.live-" + l.queue // matches no binding
	for _, tc := range []struct {
		name          string
		raw           map[string]any
		wantFailed    bool
		wantDelivered bool
		wantReturned  bool
		wantMsg       string // in Msg
		wantCopies    int    // messages the named queue gains
	}{
		{
			name:          "key delivered to a temporary queue",
			raw:           map[string]any{"routing_key": "oas.projects.test"},
			wantDelivered: true,
		},
		{
			// The trap of a temporary queue: every real queue bound with
			// the key gets the test message too.
			name:          "temporary queue, real queue bound with the key gets a copy",
			raw:           map[string]any{"routing_key": l.boundKey},
			wantDelivered: true,
			wantCopies:    1,
		},
		{
			name:          "bound key delivered to the named queue",
			raw:           map[string]any{"routing_key": l.boundKey, "queue": l.queue, "body": "hello", "timeout": "3s"},
			wantDelivered: true,
		},
		{
			name:         "unbound key unroutable as expected",
			raw:          map[string]any{"routing_key": unbound, "queue": l.queue, "expect": "unroutable"},
			wantReturned: true,
		},
		{
			name:         "unroutable with a temporary queue, left unbound",
			raw:          map[string]any{"routing_key": unbound, "expect": "unroutable"},
			wantReturned: true,
		},
		{
			name:         "unbound key expected delivered fails",
			raw:          map[string]any{"routing_key": unbound, "queue": l.queue},
			wantFailed:   true,
			wantReturned: true,
			wantMsg:      "expected delivered, but the broker returned the message as unroutable",
		},
		{
			name:          "bound key expected unroutable fails",
			raw:           map[string]any{"routing_key": l.boundKey, "queue": l.queue, "expect": "unroutable"},
			wantFailed:    true,
			wantDelivered: true,
			wantMsg:       "expected unroutable, but the message reached queue",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.raw["exchange"] = l.exchange
			before := l.depth(t)
			c := mustPlan(t, AmqpPublishTest(), tc.raw)
			if c.Action != module.Invoke {
				t.Fatalf("plan: action %v, want invoke", c.Action)
			}
			res := applyTask(t, AmqpPublishTest(), c)
			if res.Failed != tc.wantFailed {
				t.Errorf("failed = %v, want %v (msg %q)", res.Failed, tc.wantFailed, res.Msg)
			}
			if !strings.Contains(res.Msg, tc.wantMsg) {
				t.Errorf("msg = %q, want it to hold %q", res.Msg, tc.wantMsg)
			}
			if got := res.Data["delivered"]; got != tc.wantDelivered {
				t.Errorf("delivered = %v, want %v", got, tc.wantDelivered)
			}
			if got := res.Data["returned"]; got != tc.wantReturned {
				t.Errorf("returned = %v, want %v", got, tc.wantReturned)
			}
			if id, _ := res.Data["message_id"].(string); !strings.HasPrefix(id, "cutover-test-") {
				t.Errorf("message_id = %q, want a cutover-test- id", id)
			}
			if ms, ok := res.Data["latency_ms"].(int64); !ok || ms < 0 {
				t.Errorf("latency_ms = %v, want a non-negative int64", res.Data["latency_ms"])
			}
			// The watched queue's test message is consumed, never left behind.
			if after := l.depth(t); after != before+tc.wantCopies {
				t.Errorf("queue depth %d before, %d after, want %d more", before, after, tc.wantCopies)
			}
		})
	}
}

func TestAmqpPublishTestKeepsOtherMessages(t *testing.T) {
	l := newAMQPLab(t)
	ch := l.channel(t)
	defer ch.Close()
	if err := ch.PublishWithContext(context.Background(), l.exchange, l.boundKey, false, false, amqp.Publishing{Body: []byte("real")}); err != nil {
		t.Fatal(err)
	}
	waitDepth(t, l, 1)
	c := mustPlan(t, AmqpPublishTest(), map[string]any{"exchange": l.exchange, "routing_key": l.boundKey, "queue": l.queue})
	if res := applyTask(t, AmqpPublishTest(), c); res.Failed {
		t.Fatalf("apply failed: %s", res.Msg)
	}
	waitDepth(t, l, 1)
	d, ok, err := ch.Get(l.queue, true)
	if err != nil || !ok || string(d.Body) != "real" {
		t.Errorf("queue's own message: %q, %v, %v; want \"real\"", d.Body, ok, err)
	}
}

// waitDepth waits briefly for the queue to hold want messages (a requeue
// or a publish lands asynchronously).
func waitDepth(t *testing.T, l *amqpLab, want int) {
	t.Helper()
	var got int
	for range 50 {
		if got = l.depth(t); got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("queue depth %d, want %d", got, want)
}

func TestAmqpPublishTestPlanErrors(t *testing.T) {
	l := newAMQPLab(t)
	for _, tc := range []struct {
		name    string
		raw     map[string]any
		wantErr string
	}{
		{"missing exchange", map[string]any{"exchange": l.exchange + "-missing", "routing_key": "k"},
			`exchange "` + l.exchange + `-missing" does not exist on vhost "/"`},
		{"missing queue", map[string]any{"exchange": l.exchange, "routing_key": "k", "queue": l.queue + "-missing"},
			`queue "` + l.queue + `-missing" does not exist`},
		{"wrong password", map[string]any{"exchange": l.exchange, "routing_key": "k", "login_password": "s3cret-never-shown"},
			"connect to RabbitMQ at 127.0.0.1:5672 as guest"},
		{"direct login_host, closed port", map[string]any{"exchange": l.exchange, "routing_key": "k", "login_host": "127.0.0.1", "login_port": 1},
			"connect to RabbitMQ at 127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planTask(t, AmqpPublishTest(), tc.raw)
			if err == nil {
				t.Fatalf("plan: no error, want %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("plan error %q, want it to hold %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("plan error shows the password: %q", err)
			}
		})
	}
}

// TestAmqpPublishTestCheckMode proves check mode publishes nothing: Plan,
// all the engine runs in check mode, leaves the bound queue's depth alone.
func TestAmqpPublishTestCheckMode(t *testing.T) {
	l := newAMQPLab(t)
	before := l.depth(t)
	info := AmqpPublishTest()
	args, errs := info.Decode(map[string]any{"exchange": l.exchange, "routing_key": l.boundKey, "login_password": "guest"}, false)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	env := &module.Env{Host: conn.ReadOnly(&conn.Local{Host: "localhost"}, nil), Check: true}
	c, err := info.New().Plan(context.Background(), env, args)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if c.Action != module.Invoke {
		t.Errorf("action %v, want invoke (skipped in check mode)", c.Action)
	}
	for _, s := range []string{c.Summary, c.CheckSkip} {
		if strings.Contains(s, "guest") && strings.Contains(s, "password") {
			t.Errorf("plan text mentions the password: %q", s)
		}
	}
	time.Sleep(200 * time.Millisecond) // a stray publish would have landed by now
	if after := l.depth(t); after != before {
		t.Errorf("queue depth %d before plan, %d after: check mode published", before, after)
	}
}

func TestAmqpPublishTestTimeoutArg(t *testing.T) {
	info := AmqpPublishTest()
	for _, tc := range []struct {
		timeout string
		ok      bool
	}{{"5s", true}, {"250ms", true}, {"5", false}, {"-1s", false}, {"soon", false}} {
		err := info.Check(module.Args{"timeout": tc.timeout})
		if (err == nil) != tc.ok {
			t.Errorf("timeout %q: error %v, want ok=%v", tc.timeout, err, tc.ok)
		}
	}
}
