package modules

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/cutover/cutover/engine/module"
)

// AmqpExpect is the amqp_expect module: "a change in this database reaches
// the broker on that key" as one task. It binds a temporary queue first,
// then runs the trigger (a pg_query), then waits for the message the
// database publishes (pg_amqp publishes at COMMIT, without mandatory, so
// only a queue bound beforehand can tell a message from silence).
func AmqpExpect() module.Info {
	return module.Info{
		Name: "amqp_expect",
		Doc: "Binds a temporary queue to exchange with routing_key, runs trigger (pg_query's arguments: a SQL change " +
			"whose database triggers publish through pg_amqp), and waits for the message: expect delivered passes on the first " +
			"message whose body matches, expect none passes when no message arrives within timeout. Check mode runs no trigger " +
			"and only checks that the exchange exists.",
		Args: append([]module.Arg{
			{Name: "exchange", Type: module.String, Required: true, Doc: "exchange the database publishes to (must exist)"},
			{Name: "routing_key", Type: module.String, Required: true, Doc: "binding key of the temporary queue (topic wildcards allowed)"},
			{Name: "trigger", Type: module.Dict, Required: true, Doc: "pg_query's arguments (db, query, positional_args, named_args, login_*): the change that makes the database publish; committed before the wait"},
			{Name: "match", Type: module.String, Doc: "a regular expression the message body must match; unset: any message"},
			{Name: "expect", Type: module.String, Default: "delivered", Choices: []string{"delivered", "none"}, Doc: "delivered: a matching message must arrive; none: none may arrive within timeout"},
			{Name: "timeout", Type: module.String, Default: "5s", Doc: "how long to wait for the message (a Go duration)"},
		}, amqpConnArgs()...),
		Check: checkAmqpExpect,
		New:   func() module.Module { return amqpExpectModule{} },
	}
}

type amqpExpectModule struct{}

type amqpExpectPlan struct {
	server     amqpServer
	exchange   string
	routingKey string
	match      *regexp.Regexp
	expect     string
	timeout    time.Duration
	trigger    *pgQueryPlan
}

func checkAmqpExpect(args module.Args) error {
	if _, err := amqpTimeout(args); err != nil {
		return &module.ArgError{Arg: "timeout", Msg: err.Error()}
	}
	if m := argString(args, "match"); m != "" && !module.HasTemplate(m) {
		if _, err := regexp.Compile(m); err != nil {
			return &module.ArgError{Arg: "match", Msg: fmt.Sprintf("match: %v", err)}
		}
	}
	return nil
}

// triggerArgs decodes the trigger mapping as pg_query's arguments, with
// their defaults.
func triggerArgs(args module.Args) (module.Args, error) {
	raw, _ := args["trigger"].(map[string]any)
	info := PgQuery()
	decoded, errs := info.Decode(raw, false)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("trigger: %s", strings.Join(msgs, "; "))
	}
	if argBool(decoded, "read_only") {
		return nil, fmt.Errorf("trigger: a read_only query changes nothing, so it cannot make the database publish")
	}
	return decoded, nil
}

func (amqpExpectModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	if err := checkAmqpExpect(args); err != nil {
		return nil, err
	}
	timeout, _ := amqpTimeout(args)
	targs, err := triggerArgs(args)
	if err != nil {
		return nil, err
	}
	trigger, err := newPgQueryPlan(targs)
	if err != nil {
		return nil, fmt.Errorf("trigger: %w", err)
	}
	p := &amqpExpectPlan{server: amqpServerFrom(args), exchange: argString(args, "exchange"),
		routingKey: argString(args, "routing_key"), expect: argString(args, "expect"), timeout: timeout, trigger: trigger}
	if m := argString(args, "match"); m != "" {
		if p.match, err = regexp.Compile(m); err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
	}
	c, err := amqpConnect(ctx, env.Host, p.server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := amqpCheckExists(c, p.exchange, "", p.server.vhost); err != nil {
		return nil, err
	}
	summary := fmt.Sprintf("run %q in %s, expect %s on exchange %q with key %q", pgQuerySummary(trigger.query),
		argString(targs, "db"), p.expect, p.exchange, p.routingKey)
	return &module.Change{Action: module.Invoke, Summary: summary, Data: p,
		CheckSkip: fmt.Sprintf("exchange %q exists; the trigger is not run in check mode", p.exchange)}, nil
}

// Apply binds, runs the trigger, and waits. The trigger's change is
// committed whatever the outcome: it is the test.
func (amqpExpectModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*amqpExpectPlan)
	conn, err := amqpConnect(ctx, h, p.server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return nil, fmt.Errorf("declare temporary queue: %w", err)
	}
	if err := ch.QueueBind(q.Name, p.routingKey, p.exchange, false, nil); err != nil {
		return nil, fmt.Errorf("bind temporary queue to exchange %q with key %q: %w", p.exchange, p.routingKey, err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("consume: %w", err)
	}

	start := time.Now()
	trig, err := runPgQuery(ctx, h, p.trigger)
	if err != nil {
		return nil, fmt.Errorf("trigger: %w", err)
	}
	data := map[string]any{"trigger": trig.Data, "received": 0}
	wait, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var others []string // messages on the key whose body did not match
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return nil, fmt.Errorf("the consumer on the temporary queue was cancelled")
			}
			data["received"] = data["received"].(int) + 1
			if p.match != nil && !p.match.Match(d.Body) {
				others = append(others, amqpBodyPreview(d.Body))
				continue
			}
			data["latency_ms"] = time.Since(start).Milliseconds()
			data["message"] = map[string]any{"exchange": d.Exchange, "routing_key": d.RoutingKey, "body": string(d.Body)}
			res := &module.Result{Changed: trig.Changed, Data: data}
			if p.expect == "none" {
				res.Failed = true
				res.Msg = fmt.Sprintf("after %q the database published on key %q (exchange %q), expected nothing: %s",
					pgQuerySummary(p.trigger.query), d.RoutingKey, p.exchange, amqpBodyPreview(d.Body))
			} else {
				res.Msg = fmt.Sprintf("after %q the message arrived on key %q in %d ms", pgQuerySummary(p.trigger.query),
					d.RoutingKey, data["latency_ms"])
			}
			return res, nil
		case e := <-closed:
			return nil, fmt.Errorf("the broker closed the channel: %v", e)
		case <-wait.Done():
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res := &module.Result{Changed: trig.Changed, Data: data}
			if p.expect == "none" {
				res.Msg = fmt.Sprintf("no message on key %q within %s, as expected", p.routingKey, p.timeout)
				return res, nil
			}
			res.Failed = true
			res.Msg = fmt.Sprintf("after %q (%s) no message reached exchange %q with key %q within %s", pgQuerySummary(p.trigger.query),
				trig.Msg, p.exchange, p.routingKey, p.timeout)
			if len(others) > 0 {
				res.Msg += fmt.Sprintf("; %d other message(s) did not match %q, the first: %s", len(others), p.match, others[0])
			}
			return res, nil
		}
	}
}

// amqpBodyPreview is the start of a message body, for an error message.
func amqpBodyPreview(b []byte) string {
	const most = 200
	if len(b) > most {
		return fmt.Sprintf("%q...", b[:most])
	}
	return fmt.Sprintf("%q", b)
}
