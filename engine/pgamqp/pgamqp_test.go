package pgamqp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
)

const brokerURL = "amqp://guest:guest@127.0.0.1:5672/"

func need(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: %v", what, err)
	}
	t.Skipf("%s: %v", what, err)
}

// As pg_amqp: a call is published when its transaction commits, never
// when it rolls back, and a message on an unbound key is lost silently.
func TestBridgePublishesAtCommitOnly(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable")
	need(t, err, "PostgreSQL on 127.0.0.1:5432")
	defer admin.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	suffix := hex.EncodeToString(b)
	dbName := "cutover_pgamqp_" + suffix
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+dbName); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(ctx, "DROP DATABASE "+dbName+" WITH (FORCE)")
	conn := "host=127.0.0.1 port=5432 user=postgres sslmode=disable dbname=" + dbName
	db, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, Schema); err != nil {
		t.Fatal(err)
	}

	broker, err := amqp.Dial(brokerURL)
	need(t, err, "RabbitMQ on 127.0.0.1:5672")
	defer broker.Close()
	ch, err := broker.Channel()
	if err != nil {
		t.Fatal(err)
	}
	exchange := "cutover-pgamqp-" + suffix
	if err := ch.ExchangeDeclare(exchange, amqp.ExchangeTopic, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "oas.#", exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	bctx, cancel := context.WithCancel(ctx)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- Run(bctx, conn, brokerURL, ready) }()
	<-ready
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("bridge: %v", err)
		}
	}()

	publish := func(key, body string, commit bool) {
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT amqp.publish(1, $1, $2, $3)", exchange, key, body); err != nil {
			t.Fatal(err)
		}
		// Nothing leaves before the end of the transaction.
		select {
		case d := <-deliveries:
			t.Fatalf("%q arrived before the transaction ended", d.Body)
		case <-time.After(200 * time.Millisecond):
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	publish("oas.staff.test", "rolled back", false)
	publish("nobody.listens", "lost", true)
	publish("oas.staff.test", "committed", true)
	select {
	case d := <-deliveries:
		if string(d.Body) != "committed" || d.RoutingKey != "oas.staff.test" {
			t.Errorf("got %q on %q, want the committed message", d.Body, d.RoutingKey)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the committed message did not arrive")
	}
	select {
	case d := <-deliveries:
		t.Errorf("an extra message arrived: %q", d.Body)
	case <-time.After(300 * time.Millisecond):
	}
	var calls int
	db.QueryRow(ctx, "SELECT count(*) FROM amqp.published").Scan(&calls)
	if calls != 2 {
		t.Errorf("amqp.published holds %d calls, want the 2 committed", calls)
	}
}
