package modules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/pgamqp"
)

// rewriteTestDB creates a database loaded with the finance fixture and
// returns its name and a connection to it; both go in t.Cleanup.
func rewriteTestDB(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	fixture, err := os.ReadFile(filepath.Join("testdata", "pg_function_rewrite", "finance.sql"))
	if err != nil {
		t.Fatal(err)
	}
	return pgqDatabase(t, pgamqp.Schema, string(fixture))
}

// allFunctionDefs returns pg_get_functiondef of every function and
// procedure outside the system schemas, by schema.name(args).
func allFunctionDefs(t *testing.T, db *pgx.Conn) map[string]string {
	t.Helper()
	rows, err := db.Query(context.Background(), `
SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', pg_get_functiondef(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		defs[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return defs
}

func rewriteArgs(db string, extra module.Args, rules ...[2]string) module.Args {
	list := make([]any, len(rules))
	for i, r := range rules {
		list[i] = map[string]any{"from": r[0], "to": r[1]}
	}
	args := module.Args{"db": db, "login_port": 5432, "login_user": "postgres", "ssl_mode": "disable", "replacements": list}
	for k, v := range extra {
		args[k] = v
	}
	return args
}

func planRewrite(t *testing.T, args module.Args) *module.Change {
	t.Helper()
	env := &module.Env{Host: conn.ReadOnly(&conn.Local{Host: "localhost"}, nil), Check: true, Diff: true}
	c, err := PgFunctionRewrite().New().Plan(context.Background(), env, args)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return c
}

func applyRewrite(t *testing.T, c *module.Change) *module.Result {
	t.Helper()
	res, err := PgFunctionRewrite().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

// changedKeys lists the functions whose definitions differ between a and b.
func changedKeys(a, b map[string]string) []string {
	var keys []string
	for k, v := range a {
		if b[k] != v {
			keys = append(keys, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	return sortedStrings(keys)
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// assertNoSecret fails when the fixture's password shows in anything the
// user could read.
func assertNoSecret(t *testing.T, what string, v any) {
	t.Helper()
	if s := fmt.Sprintf("%+v", v); strings.Contains(s, "secret") {
		t.Errorf("%s shows the password: %s", what, s)
	}
}

func TestPgFunctionRewriteRoutingKeys(t *testing.T) {
	name, db := rewriteTestDB(t)
	ctx := context.Background()
	original := allFunctionDefs(t, db)
	toTest := rewriteArgs(name, module.Args{"schemas": []any{"public"}, "name": "amqp_%", "backup_dir": t.TempDir()},
		[2]string{"'oas.staff'", "'oas.staff.test'"}, [2]string{"'oas.projects'", "'oas.projects.test'"})
	toLive := rewriteArgs(name, module.Args{"schemas": []any{"public"}, "name": "amqp_%"},
		[2]string{"'oas.staff.test'", "'oas.staff'"}, [2]string{"'oas.projects.test'", "'oas.projects'"})

	c := planRewrite(t, toTest)
	if c.Action != module.Update || c.Summary != "2 functions would change" {
		t.Fatalf("plan = %v %q, want update \"2 functions would change\"", c.Action, c.Summary)
	}
	if got := allFunctionDefs(t, db); !cmp.Equal(got, original) {
		t.Fatalf("check mode changed definitions:\n%s", cmp.Diff(original, got))
	}

	applyRewrite(t, c)
	rewritten := allFunctionDefs(t, db)
	want := []string{"public.amqp_project_changed()", "public.amqp_staff_changed()"}
	if diff := cmp.Diff(want, changedKeys(original, rewritten)); diff != "" {
		t.Errorf("rewritten set (-want +got):\n%s", diff)
	}
	if !strings.Contains(rewritten["public.amqp_staff_changed()"], "'oas.staff.test'") {
		t.Errorf("amqp_staff_changed:\n%s", rewritten["public.amqp_staff_changed()"])
	}
	// The trigger now publishes on the test key.
	if _, err := db.Exec(ctx, "INSERT INTO staff (name) VALUES ('Ann')"); err != nil {
		t.Fatal(err)
	}
	var key string
	if err := db.QueryRow(ctx, "SELECT routing_key FROM amqp.published ORDER BY id DESC LIMIT 1").Scan(&key); err != nil {
		t.Fatal(err)
	}
	if key != "oas.staff.test" {
		t.Errorf("published on %q, want oas.staff.test", key)
	}

	// Running the same task again finds nothing: no .test.test.
	if c := planRewrite(t, toTest); c.Action != module.None {
		t.Errorf("second plan = %v %q, want none", c.Action, c.Summary)
	}
	if strings.Contains(fmt.Sprint(allFunctionDefs(t, db)), ".test.test") {
		t.Error(".test.test appeared")
	}

	// Back to the LIVE keys: the originals, byte for byte.
	applyRewrite(t, planRewrite(t, toLive))
	if got := allFunctionDefs(t, db); !cmp.Equal(got, original) {
		t.Errorf("back to LIVE keys differs from the original:\n%s", cmp.Diff(original, got))
	}
}

// seedIPToDNS is the seed's map of former IPs to names.
var seedIPToDNS = [][2]string{
	{"10.0.10.48", "finance.thehumanjourney.net"},
	{"10.0.10.23", "timesheets.thehumanjourney.net"},
	{"10.0.10.42", "hrdb.thehumanjourney.net"},
	{"10.0.10.63", "tenders.thehumanjourney.net"},
	{"10.0.10.130", "archives-db.thehumanjourney.net"},
	{"192.168.98.24", "mapdata.thehumanjourney.net"},
}

func TestPgFunctionRewriteIPToDNS(t *testing.T) {
	name, db := rewriteTestDB(t)
	ctx := context.Background()
	original := allFunctionDefs(t, db)
	backupDir := filepath.Join(t.TempDir(), "backups")
	args := rewriteArgs(name, module.Args{"backup_dir": backupDir}, seedIPToDNS...)

	c := planRewrite(t, args)
	if c.Action != module.Update || c.Summary != "7 functions would change" {
		t.Fatalf("plan = %v %q, want update \"8 functions would change\"", c.Action, c.Summary)
	}
	if got := allFunctionDefs(t, db); !cmp.Equal(got, original) {
		t.Fatalf("check mode changed definitions:\n%s", cmp.Diff(original, got))
	}
	assertNoSecret(t, "plan diffs", c.Diffs)
	assertNoSecret(t, "plan result", c.Result)
	assertNoSecret(t, "plan summary", c.Summary)
	if len(c.Diffs) != 7 || c.Diffs[0].BeforeHeader == "" || !strings.Contains(c.Diffs[0].Before, "CREATE OR REPLACE") {
		t.Errorf("diffs = %+v", c.Diffs)
	}
	if unified := fmt.Sprint(c.Result.Data["diffs"]); !strings.Contains(unified, "-    RETURN 'host=10.0.10.48 dbname=finance user=finance password=********';") ||
		!strings.Contains(unified, "+    RETURN 'host=finance.thehumanjourney.net dbname=finance user=finance password=********';") {
		t.Errorf("unified diffs:\n%s", unified)
	}
	if notes := fmt.Sprint(c.Result.Data["notes"]); !strings.Contains(notes, "public.legacy_conn(): hostaddr=10.0.10.42 left numeric") {
		t.Errorf("notes = %s, want the hostaddr note", notes)
	}

	res := applyRewrite(t, c)
	assertNoSecret(t, "apply result", res)
	rewritten := allFunctionDefs(t, db)
	want := []string{
		"public.archive_push(IN p_project integer)",
		"public.finance_conn()",
		"public.hr_lookup(p_id integer)",
		"public.hr_lookup(p_name text)",
		"public.remote_hosts()",
		"public.tenders_sync(p_episode integer)",
		"public.timesheet_hours(p_staff integer)",
	}
	if diff := cmp.Diff(want, changedKeys(original, rewritten)); diff != "" {
		t.Errorf("rewritten set (-want +got):\n%s", diff)
	}
	if got := rewritten["public.remote_hosts()"]; !strings.Contains(got, "ARRAY['hrdb.thehumanjourney.net,tenders.thehumanjourney.net', 'archives-db.thehumanjourney.net', 'mapdata.thehumanjourney.net', '10.0.10.480']") {
		t.Errorf("remote_hosts:\n%s", got)
	}
	if got := rewritten["public.legacy_conn()"]; got != original["public.legacy_conn()"] {
		t.Errorf("legacy_conn changed (10.0.10.4 is not in the map, hostaddr stays numeric):\n%s", got)
	}

	// Attributes and catalog entries CREATE OR REPLACE must keep.
	var owner, acl, comment, config string
	var secdef bool
	var volatile string
	err := db.QueryRow(ctx, `SELECT pg_get_userbyid(proowner), proacl::text, obj_description(oid, 'pg_proc'),
		array_to_string(proconfig, ','), prosecdef, provolatile::text FROM pg_proc WHERE oid = 'public.tenders_sync(integer)'::regprocedure`).
		Scan(&owner, &acl, &comment, &config, &secdef, &volatile)
	if err != nil {
		t.Fatal(err)
	}
	if owner != "cutover_rw_owner" || !strings.Contains(acl, "cutover_rw_reader=X/") || strings.Contains(acl, "{=X") || strings.Contains(acl, ",=X") ||
		comment != "pushes an episode to mapdata via tenders" || config != "search_path=public, pg_temp" || !secdef || volatile != "s" {
		t.Errorf("tenders_sync: owner %q acl %q comment %q config %q secdef %v volatile %q", owner, acl, comment, config, secdef, volatile)
	}
	var overloads int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_proc WHERE proname = 'hr_lookup'`).Scan(&overloads); err != nil || overloads != 2 {
		t.Errorf("hr_lookup overloads = %d (%v), want 2", overloads, err)
	}

	// A second run changes nothing.
	if c := planRewrite(t, args); c.Action != module.None {
		t.Errorf("second plan = %v %q, want none", c.Action, c.Summary)
	}

	// The rollback file restores the originals.
	file, _ := res.Data["backup_file"].(string)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("backup file %q: %v", file, err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode = %v, want 0600", fi.Mode().Perm())
	}
	rollback, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, string(rollback)); err != nil {
		t.Fatalf("run rollback file: %v", err)
	}
	if got := allFunctionDefs(t, db); !cmp.Equal(got, original) {
		t.Errorf("after rollback file:\n%s", cmp.Diff(original, got))
	}
}

func TestPgFunctionRewriteCompileCheck(t *testing.T) {
	name, db := rewriteTestDB(t)
	original := allFunctionDefs(t, db)
	// Breaks finance_conn's PL/pgSQL; the plan must fail and change nothing.
	args := rewriteArgs(name, module.Args{"name": "finance_conn"}, [2]string{"RETURN", "RETRN"})
	env := &module.Env{Host: conn.ReadOnly(&conn.Local{Host: "localhost"}, nil), Check: true}
	_, err := PgFunctionRewrite().New().Plan(context.Background(), env, args)
	if err == nil || !strings.Contains(err.Error(), "new definition of public.finance_conn() does not compile") {
		t.Fatalf("Plan err = %v, want a compile error", err)
	}
	assertNoSecret(t, "compile error", err)
	if got := allFunctionDefs(t, db); !cmp.Equal(got, original) {
		t.Errorf("compile check changed definitions:\n%s", cmp.Diff(original, got))
	}
}

func TestPgFunctionRewriteChangedSincePlan(t *testing.T) {
	name, db := rewriteTestDB(t)
	c := planRewrite(t, rewriteArgs(name, module.Args{"name": "finance_conn"}, [2]string{"10.0.10.48", "finance.example"}))
	if _, err := db.Exec(context.Background(), `CREATE OR REPLACE FUNCTION finance_conn() RETURNS text LANGUAGE sql AS $$ SELECT 'other' $$`); err != nil {
		t.Fatal(err)
	}
	_, err := PgFunctionRewrite().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
	if err == nil || !strings.Contains(err.Error(), "changed since the plan") {
		t.Errorf("Apply err = %v, want changed since the plan", err)
	}
}

func TestPgFunctionRewriteTables(t *testing.T) {
	name, db := rewriteTestDB(t)
	ctx := context.Background()
	brokerHost := func() string {
		var h string
		if err := db.QueryRow(ctx, "SELECT host FROM amqp.broker WHERE broker_id = 1").Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	args := rewriteArgs(name, module.Args{"name": "no_such_function", "backup_dir": t.TempDir(),
		"tables": []any{map[string]any{"table": "amqp.broker", "column": "host"}}},
		[2]string{"10.0.10.107", "rabbitmq.thehumanjourney.net"})
	c := planRewrite(t, args)
	if c.Action != module.Update || c.Summary != "0 functions and 1 table values would change" {
		t.Fatalf("plan = %v %q", c.Action, c.Summary)
	}
	if got := brokerHost(); got != "10.0.10.107" {
		t.Fatalf("check mode changed the broker host to %q", got)
	}
	res := applyRewrite(t, c)
	if got := brokerHost(); got != "rabbitmq.thehumanjourney.net" {
		t.Errorf("broker host = %q", got)
	}
	if c := planRewrite(t, args); c.Action != module.None {
		t.Errorf("second plan = %v %q, want none", c.Action, c.Summary)
	}
	rollback, err := os.ReadFile(res.Data["backup_file"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, string(rollback)); err != nil {
		t.Fatalf("run rollback file: %v", err)
	}
	if got := brokerHost(); got != "10.0.10.107" {
		t.Errorf("after rollback broker host = %q", got)
	}
	if _, err := rewriteColumnsFrom([]any{map[string]any{"table": "amqp.broker"}}); err == nil {
		t.Error("tables without column: no error")
	}
}
