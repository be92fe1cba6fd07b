// Package pgamqp stands in for the pg_amqp extension, which the finance
// databases use to publish RabbitMQ messages from PL/pgSQL and which
// Debian does not package. Schema creates pg_amqp's objects (amqp.broker,
// amqp.publish with the extension's signature); amqp.publish records the
// call and sends a NOTIFY, and Bridge, listening, publishes each one to
// the broker. NOTIFY is delivered only when the transaction commits and
// the bridge publishes without mandatory, so a message behaves as
// pg_amqp's does: sent at COMMIT, never on ROLLBACK, and silently lost when
// no queue is bound for its key.
package pgamqp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Channel is the NOTIFY channel amqp.publish sends on.
const Channel = "cutover_amqp_publish"

// Schema creates pg_amqp's schema in a database: amqp.broker as the
// extension declares it (the host is part of the primary key), and
// amqp.publish(broker_id, exchange, routing_key, message). Calls are also
// kept in amqp.published, so tests can count them.
const Schema = `
CREATE SCHEMA IF NOT EXISTS amqp;
CREATE TABLE IF NOT EXISTS amqp.broker (
    broker_id serial NOT NULL,
    host text NOT NULL,
    port integer NOT NULL DEFAULT 5672,
    vhost text,
    username text,
    password text,
    PRIMARY KEY (broker_id, host, port)
);
CREATE TABLE IF NOT EXISTS amqp.published (
    id serial PRIMARY KEY,
    broker_id integer,
    exchange varchar,
    routing_key varchar,
    message varchar,
    at timestamptz DEFAULT now()
);
CREATE OR REPLACE FUNCTION amqp.publish(broker_id integer, exchange varchar, routing_key varchar, message varchar)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO amqp.published (broker_id, exchange, routing_key, message)
    VALUES (broker_id, exchange, routing_key, message);
    PERFORM pg_notify('` + Channel + `', json_build_object('broker_id', broker_id,
        'exchange', exchange, 'routing_key', routing_key, 'message', message)::text);
    RETURN true;
END
$$;
`

// Message is one amqp.publish call, as the NOTIFY carries it.
type Message struct {
	BrokerID   int    `json:"broker_id"`
	Exchange   string `json:"exchange"`
	RoutingKey string `json:"routing_key"`
	Message    string `json:"message"`
}

// Publisher sends one amqp.publish call on to a broker.
type Publisher func(ctx context.Context, m Message) error

// ChannelPublisher publishes on one broker channel, without mandatory, as
// pg_amqp does: an unroutable message is dropped.
func ChannelPublisher(ch *amqp.Channel) Publisher {
	return func(ctx context.Context, m Message) error {
		return ch.PublishWithContext(ctx, m.Exchange, m.RoutingKey, false, false, amqp.Publishing{
			ContentType: "text/plain",
			Body:        []byte(m.Message),
		})
	}
}

// Bridge listens on db's connection and hands every committed
// amqp.publish call to publish until ctx ends. It returns ctx's error, or
// the first failure to listen or publish. A payload above NOTIFY's 8000
// bytes never arrives (pg_notify fails the transaction instead).
func Bridge(ctx context.Context, db *pgx.Conn, publish Publisher) error {
	if _, err := db.Exec(ctx, "LISTEN "+Channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	for {
		n, err := db.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("wait for amqp.publish: %w", err)
		}
		var m Message
		if err := json.Unmarshal([]byte(n.Payload), &m); err != nil {
			return fmt.Errorf("notification %q: %w", n.Payload, err)
		}
		if err := publish(ctx, m); err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			return fmt.Errorf("publish to %q with key %q: %w", m.Exchange, m.RoutingKey, err)
		}
	}
}

// Run connects to the database and the broker and runs Bridge. Ready, when
// not nil, is closed once the bridge listens: a call committed after that
// is published.
func Run(ctx context.Context, dbConn, brokerURL string, ready chan<- struct{}) error {
	db, err := pgx.Connect(ctx, dbConn)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	broker, err := amqp.Dial(brokerURL)
	if err != nil {
		return fmt.Errorf("connect to the broker: %w", err)
	}
	defer broker.Close()
	ch, err := broker.Channel()
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, "LISTEN "+Channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if ready != nil {
		close(ready)
	}
	return Bridge(ctx, db, ChannelPublisher(ch))
}
