package modules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/pgamqp"
)

// expectLab is a finance-like database whose triggers publish through
// pg_amqp (pgamqp's stand-in and its bridge, running for the test) to the
// lab's exchange: a project change on the rehearsal key, a staff change on
// the live key.
func expectLab(t *testing.T) (*amqpLab, string) {
	t.Helper()
	l := newAMQPLab(t)
	db, _ := pgqDatabase(t, pgamqp.Schema,
		`INSERT INTO amqp.broker (host, vhost, username, password) VALUES ('rabbitmq', '/', 'finance', 'broker-pw')`,
		`CREATE TABLE projects (id int PRIMARY KEY, code text)`,
		`CREATE TABLE staff (id int PRIMARY KEY, name text)`,
		`CREATE TABLE notes (id int PRIMARY KEY, body text)`,
		fmt.Sprintf(`CREATE FUNCTION amqp_project_changed() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN PERFORM amqp.publish(1, '%s', 'oas.projects.test', row_to_json(NEW)::text); RETURN NEW; END $$`, l.exchange),
		fmt.Sprintf(`CREATE FUNCTION amqp_staff_changed() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN PERFORM amqp.publish(1, '%s', 'oas.staff', row_to_json(NEW)::text); RETURN NEW; END $$`, l.exchange),
		`CREATE TRIGGER project_changed AFTER INSERT OR UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION amqp_project_changed()`,
		`CREATE TRIGGER staff_changed AFTER INSERT OR UPDATE ON staff FOR EACH ROW EXECUTE FUNCTION amqp_staff_changed()`,
		`INSERT INTO projects VALUES (1, 'P-1'), (2, 'P-2')`,
		`INSERT INTO staff VALUES (1, 'Ann')`,
	)
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- pgamqp.Run(ctx, "host=127.0.0.1 port=5432 user=postgres sslmode=disable dbname="+db, testBrokerURL, ready)
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("bridge: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("bridge: %v", err)
		}
	})
	return l, db
}

func TestAmqpExpect(t *testing.T) {
	l, db := expectLab(t)
	code := func(id int) string {
		var s string
		pgqAdmin(t, db).QueryRow(context.Background(), "SELECT code FROM projects WHERE id = $1", id).Scan(&s)
		return s
	}
	for _, tc := range []struct {
		name       string
		raw        map[string]any
		check      bool
		wantFailed bool
		wantMsg    string
		wantCode   string // projects 1's code afterwards
	}{
		{name: "check mode runs no trigger", check: true,
			raw:      map[string]any{"routing_key": "oas.projects.test", "trigger": map[string]any{"query": "UPDATE projects SET code = 'CHECK' WHERE id = 1"}},
			wantMsg:  "the trigger is not run in check mode",
			wantCode: "P-1"},
		{name: "a project change reaches the rehearsal key",
			raw:      map[string]any{"routing_key": "oas.projects.test", "match": `"id":1\b`, "trigger": map[string]any{"query": "UPDATE projects SET code = $1 WHERE id = 1", "positional_args": []any{"P-1b"}}},
			wantMsg:  "the message arrived on key \"oas.projects.test\"",
			wantCode: "P-1b"},
		{name: "a topic pattern binds every project key",
			raw:      map[string]any{"routing_key": "oas.projects.#", "trigger": map[string]any{"query": "UPDATE projects SET code = :c WHERE id = 2", "named_args": map[string]any{"c": "P-2b"}}},
			wantCode: "P-1b"},
		{name: "the live key hears nothing of a rehearsal change", wantFailed: true,
			raw:      map[string]any{"routing_key": "oas.projects", "timeout": "1s", "trigger": map[string]any{"query": "UPDATE projects SET code = 'P-1c' WHERE id = 1"}},
			wantMsg:  "no message reached exchange",
			wantCode: "P-1c"},
		{name: "a change that touches no row publishes nothing", wantFailed: true,
			raw:      map[string]any{"routing_key": "oas.projects.test", "timeout": "1s", "trigger": map[string]any{"query": "UPDATE projects SET code = 'x' WHERE id = 99"}},
			wantMsg:  "(UPDATE 0) no message reached",
			wantCode: "P-1c"},
		{name: "a message that does not match is named", wantFailed: true,
			raw:      map[string]any{"routing_key": "oas.projects.test", "match": `"id":2\b`, "timeout": "1s", "trigger": map[string]any{"query": "UPDATE projects SET code = 'P-1d' WHERE id = 1"}},
			wantMsg:  `1 other message(s) did not match`,
			wantCode: "P-1d"},
		{name: "expect none: a table without a trigger",
			raw:      map[string]any{"routing_key": "oas.#", "expect": "none", "timeout": "1s", "trigger": map[string]any{"query": "INSERT INTO notes VALUES (1, 'quiet')"}},
			wantMsg:  "no message on key",
			wantCode: "P-1d"},
		{name: "expect none fails when the database publishes", wantFailed: true,
			raw:      map[string]any{"routing_key": "oas.staff", "expect": "none", "trigger": map[string]any{"query": "UPDATE staff SET name = 'Bea'"}},
			wantMsg:  `expected nothing`,
			wantCode: "P-1d"},
		{name: "a trigger that fails is an error, nothing waited for", wantFailed: true,
			raw:      map[string]any{"routing_key": "oas.projects.test", "trigger": map[string]any{"query": "UPDATE no_such_table SET x = 1"}},
			wantMsg:  "trigger: query: ERROR: relation \"no_such_table\" does not exist",
			wantCode: "P-1d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.raw["exchange"] = l.exchange
			tc.raw["trigger"].(map[string]any)["db"] = db
			before := l.depth(t)
			ch, err := pgqPlan(t, AmqpExpect(), tc.raw, tc.check)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if ch.Action != module.Invoke {
				t.Fatalf("action %v", ch.Action)
			}
			var res *module.Result
			if tc.check {
				res = &module.Result{Skipped: true, Msg: ch.CheckSkip}
			} else if res, err = AmqpExpect().New().Apply(context.Background(), localHost(), ch); err != nil {
				res = &module.Result{Failed: true, Msg: err.Error()}
			}
			if res.Failed != tc.wantFailed || !strings.Contains(res.Msg, tc.wantMsg) {
				t.Errorf("failed=%v msg=%q, want failed=%v and %q", res.Failed, res.Msg, tc.wantFailed, tc.wantMsg)
			}
			if got := code(1); got != tc.wantCode {
				t.Errorf("project 1's code is %q, want %q", got, tc.wantCode)
			}
			// The lab's own queue (bound with oas.staff.test) hears none
			// of it: the test queue is the module's temporary one.
			if after := l.depth(t); after != before {
				t.Errorf("the lab queue went from %d to %d messages", before, after)
			}
		})
	}
}

func TestAmqpExpectArgumentsChecked(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"exchange": "x", "routing_key": "k", "trigger": map[string]any{"query": "SELECT 1"}, "match": "("}, "match"},
		{map[string]any{"exchange": "x", "routing_key": "k", "trigger": map[string]any{"query": "SELECT 1"}, "timeout": "soon"}, "timeout"},
		{map[string]any{"exchange": "x", "routing_key": "k", "trigger": map[string]any{"qeury": "SELECT 1"}}, "trigger"},
		{map[string]any{"exchange": "x", "routing_key": "k", "trigger": map[string]any{"query": "SELECT 1", "read_only": true}}, "read_only"},
	} {
		_, err := pgqPlan(t, AmqpExpect(), tc.raw, true)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one naming %s", tc.raw, err, tc.want)
		}
	}
}
