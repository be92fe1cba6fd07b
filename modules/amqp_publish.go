package modules

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/cutover/cutover/engine/module"
)

// amqpMarkerHeader is the header that carries a test message's unique id,
// besides its message id and correlation id.
const amqpMarkerHeader = "x-cutover-test-id"

// amqpHandshakeTimeout bounds the TCP dial and the AMQP handshake.
const amqpHandshakeTimeout = 10 * time.Second

// AmqpPublishTest is the amqp_publish_test module: it proves that a routing
// key reaches a queue (or reaches none) by publishing one uniquely marked
// message with mandatory and publisher confirms and watching for it.
func AmqpPublishTest() module.Info {
	return module.Info{
		Name: "amqp_publish_test",
		Doc: "Publishes one uniquely marked test message to an exchange with mandatory and publisher confirms, " +
			"and reports whether it was delivered (consumed from a temporary queue bound with the routing key, " +
			"or from a named queue) or returned as unroutable. Check mode publishes nothing: it only checks " +
			"that the exchange exists.",
		Args: append([]module.Arg{
			{Name: "exchange", Type: module.String, Required: true, Doc: "exchange to publish to (must exist)"},
			{Name: "routing_key", Type: module.String, Required: true, Doc: "routing key of the test message"},
			{Name: "queue", Type: module.String, Doc: "watch this existing queue instead of a temporary one bound with routing_key; other messages in it are left in place"},
			{Name: "expect", Type: module.String, Default: "delivered", Choices: []string{"delivered", "unroutable"}, Doc: "outcome that passes; with unroutable and no queue, the temporary queue is not bound"},
			{Name: "timeout", Type: module.String, Default: "5s", Doc: "how long to wait for the confirm and the message (a Go duration: 5s, 1m)"},
			{Name: "body", Type: module.String, Doc: "message body (text); the marker header and ids are always added"},
		}, amqpConnArgs()...),
		Check: func(args module.Args) error {
			_, err := amqpTimeout(args)
			return err
		},
		New: func() module.Module { return amqpPublishTestModule{} },
	}
}

type amqpPublishTestModule struct{}

// amqpTestPlan is what Apply needs: the settings Plan validated.
type amqpTestPlan struct {
	server     amqpServer
	exchange   string
	routingKey string
	queue      string // "": a temporary queue
	expect     string
	timeout    time.Duration
	body       string
}

// amqpServer says how to reach a broker. The password stays here and in
// the AMQP handshake, never in a message.
type amqpServer struct {
	host     string // resolved and dialled from the host's side
	port     int
	user     string
	password string
	vhost    string
}

// amqpConnArgs are the broker arguments every AMQP module takes.
func amqpConnArgs() []module.Arg {
	return []module.Arg{
		{Name: "login_host", Type: module.String, Default: "127.0.0.1", Doc: "broker to connect to, resolved and dialled from the target host's side through its connection"},
		{Name: "login_port", Type: module.Int, Default: 5672, Aliases: []string{"port"}, Doc: "broker port"},
		{Name: "login_user", Type: module.String, Default: "guest", Doc: "user to log in as"},
		{Name: "login_password", Type: module.String, Default: "guest", Secret: true, Doc: "password (never printed)"},
		{Name: "vhost", Type: module.String, Default: "/", Doc: "virtual host"},
	}
}

func amqpServerFrom(args module.Args) amqpServer {
	port := argInt(args, "login_port")
	if port == 0 {
		port = 5672
	}
	return amqpServer{host: argString(args, "login_host"), port: port,
		user: argString(args, "login_user"), password: argString(args, "login_password"), vhost: argString(args, "vhost")}
}

func amqpTimeout(args module.Args) (time.Duration, error) {
	s := argString(args, "timeout")
	if s == "" {
		return 5 * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout: %q is not a positive duration (e.g. 5s)", s)
	}
	return d, nil
}

// Plan connects and checks with passive declares that the exchange (and the
// named queue) exist. It publishes nothing; the engine skips the Invoke
// plan in check mode.
func (amqpPublishTestModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	timeout, err := amqpTimeout(args)
	if err != nil {
		return nil, err
	}
	p := amqpTestPlan{
		server:   amqpServerFrom(args),
		exchange: argString(args, "exchange"), routingKey: argString(args, "routing_key"),
		queue: argString(args, "queue"), expect: argString(args, "expect"),
		timeout: timeout, body: argString(args, "body"),
	}
	if p.expect == "" {
		p.expect = "delivered"
	}
	c, err := amqpConnect(ctx, env.Host, p.server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := amqpCheckExists(c, p.exchange, p.queue, p.server.vhost); err != nil {
		return nil, err
	}
	where := "a temporary queue"
	if p.queue != "" {
		where = fmt.Sprintf("queue %q", p.queue)
	}
	summary := fmt.Sprintf("publish a test message to exchange %q with routing key %q, expect %s (watching %s)",
		p.exchange, p.routingKey, p.expect, where)
	return &module.Change{
		Action:    module.Invoke,
		Summary:   summary,
		CheckSkip: fmt.Sprintf("exchange %q exists; no test message published in check mode", p.exchange),
		Data:      p,
	}, nil
}

// Apply publishes the marked message and reports what became of it. It
// fails when the outcome differs from expect.
func (amqpPublishTestModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(amqpTestPlan)
	conn, err := amqpConnect(ctx, h, p.server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Checked again: a publish to a missing exchange only closes the
	// channel later, which would read as a lost message.
	if err := amqpCheckExists(conn, p.exchange, p.queue, p.server.vhost); err != nil {
		return nil, err
	}
	out, err := amqpRoundTrip(ctx, conn, p)
	if err != nil {
		return nil, err
	}
	res := &module.Result{Changed: true, Data: map[string]any{
		"delivered":  out.delivered,
		"returned":   out.returned,
		"latency_ms": out.latency.Milliseconds(),
		"message_id": out.id,
		"outcome":    out.outcome(),
	}}
	if out.outcome() != p.expect {
		res.Failed = true
		res.Msg = amqpMismatch(p, out)
	} else {
		res.Msg = fmt.Sprintf("routing key %q on exchange %q: %s", p.routingKey, p.exchange, out.outcome())
	}
	return res, nil
}

// amqpOutcome is what became of one test message.
type amqpOutcome struct {
	id        string
	delivered bool // consumed from the watched queue
	returned  bool // the broker returned it: no queue took it
	latency   time.Duration
}

func (o amqpOutcome) outcome() string {
	switch {
	case o.delivered:
		return "delivered"
	case o.returned:
		return "unroutable"
	}
	return "not received"
}

func amqpMismatch(p amqpTestPlan, o amqpOutcome) string {
	where := "the temporary queue"
	if p.queue != "" {
		where = fmt.Sprintf("queue %q", p.queue)
	}
	head := fmt.Sprintf("routing key %q on exchange %q: expected %s, but ", p.routingKey, p.exchange, p.expect)
	switch o.outcome() {
	case "delivered":
		return head + fmt.Sprintf("the message reached %s", where)
	case "unroutable":
		return head + "the broker returned the message as unroutable (no queue is bound for this key)"
	}
	return head + fmt.Sprintf("the broker routed the message to some queue and it did not reach %s within %s", where, p.timeout)
}

// amqpConnect opens an AMQP connection, dialled (and the broker's name
// resolved) from the host's side, through the host's connection.
func amqpConnect(ctx context.Context, h module.Host, s amqpServer) (*amqp.Connection, error) {
	host := s.host
	if host == "" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, strconv.Itoa(s.port))
	cfg := amqp.Config{
		SASL:  []amqp.Authentication{&amqp.PlainAuth{Username: s.user, Password: s.password}},
		Vhost: s.vhost,
		Dial: func(_, _ string) (net.Conn, error) {
			dctx, cancel := context.WithTimeout(ctx, amqpHandshakeTimeout)
			defer cancel()
			c, err := h.Dial(dctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			// The library clears the deadline once the handshake is done;
			// a tunnelled connection may not support one.
			_ = c.SetDeadline(time.Now().Add(amqpHandshakeTimeout))
			return c, nil
		},
	}
	// The URL carries no credentials: they travel in cfg.SASL only.
	c, err := amqp.DialConfig("amqp://"+addr+"/", cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to RabbitMQ at %s as %s (vhost %q): %w", addr, s.user, s.vhost, err)
	}
	return c, nil
}

// amqpCheckExists checks with passive declares, each on its own channel
// (a failed declare closes its channel), that the exchange and the named
// queue exist.
func amqpCheckExists(c *amqp.Connection, exchange, queue, vhost string) error {
	if exchange != "" { // the default exchange always exists and refuses declares
		ch, err := c.Channel()
		if err != nil {
			return fmt.Errorf("open channel: %w", err)
		}
		err = ch.ExchangeDeclarePassive(exchange, amqp.ExchangeTopic, false, false, false, false, nil)
		if err != nil {
			if isAMQPNotFound(err) {
				return fmt.Errorf("exchange %q does not exist on vhost %q", exchange, vhost)
			}
			return fmt.Errorf("check exchange %q: %w", exchange, err)
		}
		ch.Close()
	}
	if queue != "" {
		ch, err := c.Channel()
		if err != nil {
			return fmt.Errorf("open channel: %w", err)
		}
		if _, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil); err != nil {
			if isAMQPNotFound(err) {
				return fmt.Errorf("queue %q does not exist on vhost %q", queue, vhost)
			}
			return fmt.Errorf("check queue %q: %w", queue, err)
		}
		ch.Close()
	}
	return nil
}

func isAMQPNotFound(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && ae.Code == amqp.NotFound
}

// amqpRoundTrip publishes one marked message with mandatory and confirms,
// then waits for the confirm, a return, and the message on the watched
// queue.
func amqpRoundTrip(ctx context.Context, c *amqp.Connection, p amqpTestPlan) (amqpOutcome, error) {
	out := amqpOutcome{id: amqpMessageID()}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	ch, err := c.Channel()
	if err != nil {
		return out, fmt.Errorf("open channel: %w", err)
	}
	// Closing the channel requeues what we received but did not ack: other
	// messages of a named queue stay where they were.
	defer ch.Close()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))

	queue := p.queue
	if queue == "" {
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return out, fmt.Errorf("declare temporary queue: %w", err)
		}
		queue = q.Name
		// Bound only when delivery is expected: a queue bound with the
		// key would make every key routable.
		if p.expect == "delivered" && p.exchange != "" {
			if err := ch.QueueBind(queue, p.routingKey, p.exchange, false, nil); err != nil {
				return out, fmt.Errorf("bind temporary queue to exchange %q with key %q: %w", p.exchange, p.routingKey, err)
			}
		}
	}
	deliveries, err := ch.Consume(queue, "cutover-"+out.id, false, false, false, false, nil)
	if err != nil {
		return out, fmt.Errorf("consume from queue %q: %w", queue, err)
	}
	if err := ch.Confirm(false); err != nil {
		return out, fmt.Errorf("enable publisher confirms: %w", err)
	}
	// Buffered: the library delivers a return before the confirm that
	// follows it, so once the confirm is here the return is too.
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))

	start := time.Now()
	err = ch.PublishWithContext(ctx, p.exchange, p.routingKey, true, false, amqp.Publishing{
		Headers:       amqp.Table{amqpMarkerHeader: out.id},
		ContentType:   "text/plain",
		DeliveryMode:  amqp.Transient,
		MessageId:     out.id,
		CorrelationId: out.id,
		Timestamp:     start,
		AppId:         "cutover",
		Body:          []byte(p.body),
	})
	if err != nil {
		return out, fmt.Errorf("publish: %w", err)
	}
	for confirmed := false; !confirmed; {
		select {
		case r := <-returns:
			if r.MessageId == out.id {
				out.returned = true
			}
		case conf := <-confirms:
			if !conf.Ack {
				return out, fmt.Errorf("the broker refused the message (publisher confirm nack)")
			}
			confirmed = true
		case d := <-deliveries:
			if amqpIsMarked(d, out.id) {
				out.delivered, out.latency = true, time.Since(start)
				_ = d.Ack(false)
			}
		case e := <-closed:
			return out, fmt.Errorf("the broker closed the channel: %v", e)
		case <-ctx.Done():
			return out, fmt.Errorf("no publisher confirm within %s", p.timeout)
		}
	}
	select {
	case r := <-returns:
		if r.MessageId == out.id {
			out.returned = true
		}
	default:
	}
	if out.returned {
		out.latency = time.Since(start)
	}
	for !out.delivered && !out.returned {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return out, fmt.Errorf("consumer on queue %q was cancelled", queue)
			}
			if amqpIsMarked(d, out.id) {
				out.delivered, out.latency = true, time.Since(start)
				_ = d.Ack(false)
			}
			// Others stay unacked, and return to the queue when the
			// channel closes.
		case e := <-closed:
			return out, fmt.Errorf("the broker closed the channel: %v", e)
		case <-ctx.Done():
			out.latency = time.Since(start)
			return out, nil
		}
	}
	return out, nil
}

func amqpIsMarked(d amqp.Delivery, id string) bool {
	return d.MessageId == id || d.Headers[amqpMarkerHeader] == id
}

// amqpMessageID returns a random id marking one test message.
func amqpMessageID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "cutover-test-" + hex.EncodeToString(b)
}
