package modules

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// pgqAdmin connects to the machine's PostgreSQL as postgres. Without a
// server the test skips, except under CI=true where it fails.
func pgqAdmin(t *testing.T, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, "host=127.0.0.1 port=5432 user=postgres sslmode=disable dbname="+db)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL on 127.0.0.1:5432: %v", err)
		}
		t.Skipf("no PostgreSQL on 127.0.0.1:5432: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// pgqUniqueName is a fresh name for a test database or role.
func pgqUniqueName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b) //nolint:errcheck // never fails
	return prefix + hex.EncodeToString(b)
}

// pgqDatabase creates a database dropped when the test ends and runs
// setup in it; it returns the database's name and a connection to it.
func pgqDatabase(t *testing.T, setup ...string) (string, *pgx.Conn) {
	t.Helper()
	admin := pgqAdmin(t, "postgres")
	name := pgqUniqueName("cutover_test_")
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, "host=127.0.0.1 port=5432 user=postgres sslmode=disable dbname=postgres")
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	c := pgqAdmin(t, name)
	for _, s := range setup {
		if _, err := c.Exec(ctx, s); err != nil {
			t.Fatalf("setup %q: %v", s, err)
		}
	}
	return name, c
}

// pgqPlan decodes raw as the engine does and runs Plan through the
// read-only gate, with env.Check as given.
func pgqPlan(t *testing.T, info module.Info, raw map[string]any, check bool) (*module.Change, error) {
	t.Helper()
	return planOn(t, info, &conn.Local{Host: "localhost"}, raw, check)
}

// pgqRun is the engine's sequence: Plan, then Apply unless the plan is
// None or check mode. It returns the reported result.
func pgqRun(t *testing.T, info module.Info, raw map[string]any, check bool) (*module.Change, *module.Result) {
	t.Helper()
	c, err := pgqPlan(t, info, raw, check)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if c.Action == module.None || check {
		return c, c.Result
	}
	res, err := info.New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return c, res
}

func pgqCount(t *testing.T, c *pgx.Conn, sql string) int {
	t.Helper()
	var n int
	if err := c.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestPgQuery(t *testing.T) {
	db, c := pgqDatabase(t,
		"CREATE TABLE staff (id int PRIMARY KEY, name text, active bool, salary numeric(10,2), born date, seen timestamptz, photo bytea, meta jsonb)",
		"INSERT INTO staff VALUES (1, 'ann', true, 1234.50, '1990-02-03', '2024-05-06 07:08:09+00', '\\x0aff', '{\"k\": [1, \"x\"]}'), (2, 'bob', false, NULL, NULL, NULL, NULL, NULL)",
	)
	cases := []struct {
		name        string
		args        map[string]any
		check       bool
		wantAction  module.Action
		wantChanged bool
		wantData    map[string]any // compared key by key
		wantRows    int            // rows in staff afterwards
	}{
		{
			name:       "select with $1",
			args:       map[string]any{"query": "SELECT id, name, active, salary, born, seen, photo, meta FROM staff WHERE id = $1", "positional_args": []any{1}, "read_only": true},
			wantAction: module.None,
			wantData: map[string]any{
				"query_result": []any{map[string]any{"id": 1, "name": "ann", "active": true, "salary": 1234.5, "born": "1990-02-03",
					"seen": "2024-05-06T07:08:09Z", "photo": `\x0aff`, "meta": map[string]any{"k": []any{float64(1), "x"}}}},
				"rowcount": 1, "statusmessage": "SELECT 1",
			},
			wantRows: 2,
		},
		{
			name:       "select with a string for an int parameter and nulls",
			args:       map[string]any{"query": "SELECT id, salary, born, photo FROM staff WHERE id = $1", "positional_args": []any{"2"}, "read_only": true},
			wantAction: module.None,
			wantData: map[string]any{
				"query_result": []any{map[string]any{"id": 2, "salary": nil, "born": nil, "photo": nil}},
				"rowcount":     1,
			},
			wantRows: 2,
		},
		{
			name:       "named args, :name and %(name)s, literals untouched",
			args:       map[string]any{"query": "SELECT name, ':id' AS lit, 1::int AS cast FROM staff WHERE id = :id OR name = %(who)s -- :nope", "named_args": map[string]any{"id": 1, "who": "bob"}, "read_only": true},
			wantAction: module.None,
			wantData: map[string]any{
				"query_result": []any{map[string]any{"name": "ann", "lit": ":id", "cast": 1}, map[string]any{"name": "bob", "lit": ":id", "cast": 1}},
				"rowcount":     2,
			},
			wantRows: 2,
		},
		{
			name:       "injection in a positional arg stays data",
			args:       map[string]any{"query": "SELECT count(*) AS n FROM staff WHERE name = $1", "positional_args": []any{"x'; DROP TABLE staff; --"}, "read_only": true},
			wantAction: module.None,
			wantData:   map[string]any{"query_result": []any{map[string]any{"n": 0}}},
			wantRows:   2,
		},
		{
			name:        "insert reports changed and rowcount",
			args:        map[string]any{"query": "INSERT INTO staff (id, name) VALUES ($1, $2), ($3, $4)", "positional_args": []any{3, "cy", 4, "x'); DROP TABLE staff; --"}},
			wantAction:  module.Invoke,
			wantChanged: true,
			wantData:    map[string]any{"rowcount": 2, "statusmessage": "INSERT 0 2", "query_result": []any{}},
			wantRows:    4,
		},
		{
			name:       "update touching no row is not changed",
			args:       map[string]any{"query": "UPDATE staff SET name = 'z' WHERE id = $1", "positional_args": []any{999}},
			wantAction: module.Invoke,
			wantData:   map[string]any{"rowcount": 0, "statusmessage": "UPDATE 0"},
			wantRows:   4,
		},
		{
			name:        "delete in autocommit",
			args:        map[string]any{"query": "DELETE FROM staff WHERE id = $1", "positional_args": []any{4}, "autocommit": true},
			wantAction:  module.Invoke,
			wantChanged: true,
			wantData:    map[string]any{"rowcount": 1, "statusmessage": "DELETE 1"},
			wantRows:    3,
		},
		{
			name:       "read_only in check mode returns rows",
			args:       map[string]any{"query": "SELECT id FROM staff ORDER BY id", "read_only": true},
			check:      true,
			wantAction: module.None,
			wantData:   map[string]any{"query_result": []any{map[string]any{"id": 1}, map[string]any{"id": 2}, map[string]any{"id": 3}}, "rowcount": 3},
			wantRows:   3,
		},
		{
			name:       "non-read-only in check mode runs nowhere",
			args:       map[string]any{"query": "DELETE FROM staff"},
			check:      true,
			wantAction: module.Invoke,
			wantRows:   3,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.args["db"] = db
			ch, res := pgqRun(t, PgQuery(), tc.args, tc.check)
			if ch.Action != tc.wantAction {
				t.Fatalf("action %v, want %v", ch.Action, tc.wantAction)
			}
			if tc.check && tc.wantAction == module.Invoke {
				if res != nil {
					t.Errorf("check mode invoke: result %+v, want none (the engine skips it)", res)
				}
			} else {
				if res == nil {
					t.Fatalf("no result")
				}
				if res.Changed != tc.wantChanged {
					t.Errorf("changed %v, want %v", res.Changed, tc.wantChanged)
				}
				for k, want := range tc.wantData {
					if diff := cmp.Diff(want, res.Data[k]); diff != "" {
						t.Errorf("%s (-want +got):\n%s", k, diff)
					}
				}
				if res.Data["query"] != tc.args["query"] {
					t.Errorf("query %q, want %q", res.Data["query"], tc.args["query"])
				}
			}
			if got := pgqCount(t, c, "SELECT count(*) FROM staff"); got != tc.wantRows {
				t.Errorf("staff has %d rows, want %d", got, tc.wantRows)
			}
		})
	}
}

func TestPgQueryReadOnlyRefusesWrites(t *testing.T) {
	db, c := pgqDatabase(t, "CREATE TABLE t (n int)")
	_, err := pgqPlan(t, PgQuery(), map[string]any{"db": db, "query": "INSERT INTO t VALUES (1)", "read_only": true}, true)
	if err == nil || !strings.Contains(err.Error(), "read-only transaction") {
		t.Fatalf("plan: %v, want a read-only transaction error", err)
	}
	if n := pgqCount(t, c, "SELECT count(*) FROM t"); n != 0 {
		t.Errorf("t has %d rows after a read_only insert, want 0", n)
	}
}

func TestPgQueryTransaction(t *testing.T) {
	db, c := pgqDatabase(t, "CREATE TABLE t (n int)")
	// One statement is atomic anyway; a failing statement leaves nothing.
	c0, err := pgqPlan(t, PgQuery(), map[string]any{"db": db, "query": "INSERT INTO t VALUES (1), ($1)", "positional_args": []any{"not a number"}}, false)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if _, err := PgQuery().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c0); err == nil {
		t.Fatalf("apply: no error for a bad value")
	}
	if n := pgqCount(t, c, "SELECT count(*) FROM t"); n != 0 {
		t.Errorf("t has %d rows, want 0", n)
	}
}

func TestPgQuerySecrets(t *testing.T) {
	db, _ := pgqDatabase(t)
	secret := "s3cr3t-" + pgqUniqueName("")
	_, res := pgqRun(t, PgQuery(), map[string]any{"db": db, "query": "SELECT 1 AS one", "read_only": true, "login_password": secret}, false)
	if got := fmt.Sprintf("%+v", res); strings.Contains(got, secret) {
		t.Errorf("the password appears in the result: %s", got)
	}
	_, err := pgqPlan(t, PgQuery(), map[string]any{"db": db + "_missing", "query": "SELECT 1", "read_only": true, "login_password": secret}, false)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error %v: want one that does not hold the password", err)
	}
}

func TestBindNamedArgs(t *testing.T) {
	cases := []struct {
		name, query, want string
		named             map[string]any
		wantParams        []any
		wantErr           string
	}{
		{name: "colon", query: "SELECT :a, :b, :a", named: map[string]any{"a": 1, "b": "x"}, want: "SELECT $1, $2, $1", wantParams: []any{1, "x"}},
		{name: "pyformat", query: "SELECT %(a)s || 'x%'", named: map[string]any{"a": 1}, want: "SELECT $1 || 'x%'", wantParams: []any{1}},
		{name: "skips literals comments casts", query: "SELECT ':a', \":a\", E'\\':a', $$ :a $$, $t$:a$t$, 1::int /* :a /* :a */ */ -- :a\n, :a", named: map[string]any{"a": 1},
			want: "SELECT ':a', \":a\", E'\\':a', $$ :a $$, $t$:a$t$, 1::int /* :a /* :a */ */ -- :a\n, $1", wantParams: []any{1}},
		{name: "missing", query: "SELECT :a", named: map[string]any{"b": 1}, wantErr: `no "a"`},
		{name: "unused", query: "SELECT :a", named: map[string]any{"a": 1, "b": 2}, wantErr: `"b" is not used`},
		{name: "unterminated", query: "SELECT ':a", named: map[string]any{"a": 1}, wantErr: "unterminated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, params, err := bindNamedArgs(tc.query, tc.named)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("query\n got %q\nwant %q", got, tc.want)
			}
			if diff := cmp.Diff(tc.wantParams, params); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}
