package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/cutover/cutover/engine/mailbox"
	"github.com/cutover/cutover/engine/pgamqp"
)

// MailPort is where the lab's mail relay (engine/mailbox) accepts mail on
// 127.0.0.1, keeping it in the lab's mail/ folder.
const MailPort = 2525

// Relay stands in for pg_amqp and the archives' consumer, and is the
// estate's mail relay, until ctx ends.
// Every few seconds it looks for lab databases with amqp.publish and
// bridges each one: a committed call is published to the broker its
// amqp.broker row names, resolved as the publishing host would (its
// /etc/hosts), and only ever on loopback: a name or address outside the
// lab is refused and logged. It also consumes archives.live and writes
// what arrives into archives-db, as the LIVE archives do.
func (l *Lab) Relay(ctx context.Context, logger *log.Logger) error {
	r := &relay{lab: l, log: logger, bridged: map[string]bool{}, brokers: map[string]*amqp.Channel{}}
	box, err := mailbox.Start(fmt.Sprintf("127.0.0.1:%d", MailPort), filepath.Join(l.Dir, "mail"))
	if err != nil {
		return fmt.Errorf("the mail relay: %w", err)
	}
	defer box.Close()
	go r.consumeArchives(ctx)
	for {
		r.scan(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

type relay struct {
	lab     *Lab
	log     *log.Logger
	mu      sync.Mutex
	bridged map[string]bool          // host/db being bridged
	brokers map[string]*amqp.Channel // by URL without password
}

// scan bridges every database that has amqp.publish and no bridge yet.
func (r *relay) scan(ctx context.Context) {
	for _, h := range Estate {
		if !answers(h.Addr() + ":5432") {
			continue
		}
		for _, db := range amqpDatabases(ctx, h, r.isBridged) {
			key := h.Name + "/" + db
			r.mu.Lock()
			busy := r.bridged[key]
			r.bridged[key] = true
			r.mu.Unlock()
			if busy {
				continue
			}
			go r.bridge(ctx, h, db, key)
		}
	}
}

func (r *relay) isBridged(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bridged[key]
}

// amqpDatabases lists a host's databases where amqp.publish exists,
// looking only into those not bridged already (a scan every two seconds
// would otherwise connect to every database each time).
func amqpDatabases(ctx context.Context, h Host, bridged func(key string) bool) []string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, ConnString(h, "postgres"))
	if err != nil {
		return nil
	}
	defer admin.Close(context.WithoutCancel(ctx))
	rows, err := admin.Query(ctx, "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres'")
	if err != nil {
		return nil
	}
	names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	var out []string
	for _, name := range names {
		if bridged(h.Name + "/" + name) {
			continue
		}
		c, err := pgx.Connect(ctx, ConnString(h, name))
		if err != nil {
			continue
		}
		var has bool
		c.QueryRow(ctx, "SELECT to_regprocedure('amqp.publish(integer,varchar,varchar,varchar)') IS NOT NULL").Scan(&has)
		c.Close(ctx)
		if has {
			out = append(out, name)
		}
	}
	return out
}

func (r *relay) bridge(ctx context.Context, h Host, db, key string) {
	defer func() {
		r.mu.Lock()
		delete(r.bridged, key)
		r.mu.Unlock()
	}()
	listen, err := pgx.Connect(ctx, ConnString(h, db))
	if err != nil {
		return
	}
	defer listen.Close(context.WithoutCancel(ctx))
	lookup, err := pgx.Connect(ctx, ConnString(h, db))
	if err != nil {
		return
	}
	defer lookup.Close(context.WithoutCancel(ctx))
	r.log.Printf("bridging %s", key)
	err = pgamqp.Bridge(ctx, listen, func(ctx context.Context, m pgamqp.Message) error {
		if err := r.publish(ctx, h, lookup, m); err != nil {
			// pg_amqp logs and goes on: the transaction has committed.
			r.log.Printf("%s: %s %s not published: %v", key, m.Exchange, m.RoutingKey, err)
		}
		return nil
	})
	if ctx.Err() == nil {
		r.log.Printf("%s: bridge ended: %v", key, err)
	}
}

// publish sends one call to the broker its row names.
func (r *relay) publish(ctx context.Context, h Host, db *pgx.Conn, m pgamqp.Message) error {
	rows, err := db.Query(ctx, "SELECT host, port, coalesce(vhost, '/'), coalesce(username, 'guest'), coalesce(password, 'guest') FROM amqp.broker WHERE broker_id = $1", m.BrokerID)
	if err != nil {
		return err
	}
	type broker struct {
		host                  string
		port                  int
		vhost, user, password string
	}
	brokers, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (broker, error) {
		var b broker
		err := row.Scan(&b.host, &b.port, &b.vhost, &b.user, &b.password)
		return b, err
	})
	if err != nil {
		return err
	}
	if len(brokers) == 0 {
		return fmt.Errorf("no amqp.broker row %d", m.BrokerID)
	}
	if len(brokers) > 1 {
		r.log.Printf("%s: %d amqp.broker rows for broker %d: using the first (%s)", h.Name, len(brokers), m.BrokerID, brokers[0].host)
	}
	b := brokers[0]
	addr, err := r.lab.resolve(h, b.host)
	if err != nil {
		return err
	}
	ch, err := r.channel(fmt.Sprintf("amqp://%s@%s/%s", b.user, net.JoinHostPort(addr, fmt.Sprint(b.port)), b.vhost), b.password)
	if err != nil {
		return err
	}
	return pgamqp.ChannelPublisher(ch)(ctx, m)
}

func (r *relay) channel(url, password string) (*amqp.Channel, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.brokers[url]; ok && !ch.IsClosed() {
		return ch, nil
	}
	user, rest, _ := strings.Cut(strings.TrimPrefix(url, "amqp://"), "@")
	addr, vhost, _ := strings.Cut(rest, "/")
	c, err := amqp.DialConfig("amqp://"+addr+"/", amqp.Config{
		SASL:  []amqp.Authentication{&amqp.PlainAuth{Username: user, Password: password}},
		Vhost: vhost,
	})
	if err != nil {
		return nil, err
	}
	ch, err := c.Channel()
	if err != nil {
		return nil, err
	}
	r.brokers[url] = ch
	return ch, nil
}

// resolve turns a broker's host into a loopback address the way the
// host h would (its /etc/hosts), refusing anything outside 127.0.0.0/8:
// the lab never reaches a production address, even one a row still holds.
func (l *Lab) resolve(h Host, name string) (string, error) {
	if ip := net.ParseIP(name); ip != nil {
		if !ip.IsLoopback() {
			return "", fmt.Errorf("broker %s is not a lab address: refused", name)
		}
		return name, nil
	}
	f, err := os.Open(filepath.Join(l.hostDir(h), "root", "etc", "hosts"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.SplitN(sc.Text(), "#", 2)[0])
		for _, n := range fields[min(1, len(fields)):] {
			if strings.EqualFold(n, name) {
				return l.resolve(h, fields[0])
			}
		}
	}
	return "", fmt.Errorf("broker %s is not in %s's /etc/hosts", name, h.Name)
}

// consumeArchives writes what reaches archives.live into archives-db,
// reconnecting while ctx lasts.
func (r *relay) consumeArchives(ctx context.Context) {
	for ctx.Err() == nil {
		if err := r.consumeOnce(ctx); err != nil && ctx.Err() == nil {
			r.log.Printf("archives consumer: %v", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

func (r *relay) consumeOnce(ctx context.Context) error {
	archives, _ := Find("archives-db")
	db, err := pgx.Connect(ctx, ConnString(archives, "archives"))
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	c, ch, err := brokerChannel()
	if err != nil {
		return err
	}
	defer c.Close()
	deliveries, err := ch.Consume("archives.live", "lab-archives", false, false, false, false, nil)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("the consumer was cancelled")
			}
			if err := storeArchive(ctx, db, d.RoutingKey, d.Body); err != nil {
				d.Nack(false, true)
				return err
			}
			d.Ack(false)
		}
	}
}

// storeArchive records a message and upserts its row by id.
func storeArchive(ctx context.Context, db *pgx.Conn, key string, body []byte) error {
	if _, err := db.Exec(ctx, "INSERT INTO received (routing_key, body) VALUES ($1, $2)", key, string(body)); err != nil {
		return err
	}
	var row struct {
		ID *int `json:"id"`
	}
	if json.Unmarshal(body, &row) != nil || row.ID == nil {
		return nil
	}
	table := map[string]string{"oas.staff": "staff", "oas.projects": "projects"}[key]
	if table == "" {
		return nil
	}
	_, err := db.Exec(ctx, "INSERT INTO "+table+" (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, received_at = now()",
		*row.ID, string(body))
	return err
}
