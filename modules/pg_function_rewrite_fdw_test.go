package modules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// fdwTestDB is rewriteTestDB plus the foreign servers of fdw.sql.
func fdwTestDB(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	name, db := rewriteTestDB(t)
	fixture, err := os.ReadFile(filepath.Join("testdata", "pg_function_rewrite", "fdw.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(context.Background(), string(fixture)); err != nil {
		t.Fatalf("load fdw fixture: %v", err)
	}
	return name, db
}

// fdwState returns every server's and user mapping's options as the
// superuser sees them.
func fdwState(t *testing.T, db *pgx.Conn) string {
	t.Helper()
	var s string
	err := db.QueryRow(context.Background(), `
SELECT coalesce((SELECT string_agg(srvname || ' ' || coalesce(srvoptions::text, ''), E'\n' ORDER BY srvname) FROM pg_foreign_server), '')
    || E'\n' ||
    coalesce((SELECT string_agg(srvname || ' ' || coalesce(usename, '') || ' ' || coalesce(umoptions::text, ''), E'\n' ORDER BY srvname, usename) FROM pg_user_mappings), '')`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPgFunctionRewriteForeignServers(t *testing.T) {
	name, db := fdwTestDB(t)
	ctx := context.Background()
	original := fdwState(t, db)
	originalDefs := allFunctionDefs(t, db)
	rules := append(append([][2]string{}, seedIPToDNS...), [2]string{"old-secret", "new-secret"})
	args := rewriteArgs(name, module.Args{"foreign_servers": true, "backup_dir": t.TempDir()}, rules...)

	c := planRewrite(t, args)
	if c.Action != module.Update || c.Summary != "7 functions and 2 foreign servers/user mappings would change" {
		t.Fatalf("plan = %v %q", c.Action, c.Summary)
	}
	if got := fdwState(t, db); got != original {
		t.Fatalf("check mode changed options:\n%s\nwas\n%s", got, original)
	}
	assertNoSecret(t, "plan diffs", c.Diffs)
	assertNoSecret(t, "plan result", c.Result)
	assertNoSecret(t, "plan summary", c.Summary)
	unified := fmt.Sprint(c.Result.Data["diffs"])
	for _, want := range []string{"-host=10.0.10.130", "+host=archives-db.thehumanjourney.net", "-password=********", "+password=******** (password changed)", " user=finance"} {
		if !strings.Contains(unified, want) {
			t.Errorf("unified diffs lack %q:\n%s", want, unified)
		}
	}
	notes := fmt.Sprint(c.Result.Data["notes"])
	for _, want := range []string{"user mapping for postgres on server archives: password changed", "server mapdata: hostaddr=192.168.98.24 left numeric"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q: %s", want, notes)
		}
	}
	if got := fmt.Sprint(c.Result.Data["foreign_servers"], c.Result.Data["user_mappings"]); got != "[server archives] [user mapping for postgres on server archives]" {
		t.Errorf("changed objects = %s", got)
	}

	res := applyRewrite(t, c)
	assertNoSecret(t, "apply result", res)
	var srvoptions, umoptions []string
	if err := db.QueryRow(ctx, `SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'archives'`).Scan(&srvoptions); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(srvoptions, " "); got != "host=archives-db.thehumanjourney.net port=5432 dbname=archives" {
		t.Errorf("archives options = %s", got)
	}
	if err := db.QueryRow(ctx, `SELECT umoptions FROM pg_user_mappings WHERE srvname = 'archives' AND usename = 'postgres'`).Scan(&umoptions); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(umoptions, " "); got != "user=finance password=new-secret" {
		t.Errorf("archives mapping options = %s", got)
	}
	if got := fdwState(t, db); !strings.Contains(got, "mapdata {hostaddr=192.168.98.24,") {
		t.Errorf("mapdata hostaddr changed:\n%s", got)
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
	if got := fdwState(t, db); got != original {
		t.Errorf("after rollback:\n%s\nwant\n%s", got, original)
	}
	if got := allFunctionDefs(t, db); len(changedKeys(originalDefs, got)) != 0 {
		t.Errorf("after rollback functions differ: %v", changedKeys(originalDefs, got))
	}
}

func TestPgFunctionRewriteForeignServersOff(t *testing.T) {
	name, db := fdwTestDB(t)
	original := fdwState(t, db)
	args := rewriteArgs(name, module.Args{"name": "no_such_function"}, [2]string{"10.0.10.130", "archives-db.thehumanjourney.net"}, [2]string{"old-secret", "new-secret"})
	if c := planRewrite(t, args); c.Action != module.None {
		t.Errorf("plan without foreign_servers = %v %q, want none", c.Action, c.Summary)
	}
	if got := fdwState(t, db); got != original {
		t.Errorf("options changed:\n%s", got)
	}
}

func TestPgFunctionRewriteForeignServersNonSuperuser(t *testing.T) {
	name, db := fdwTestDB(t)
	ctx := context.Background()
	const role = "cutover_rw_nosuper"
	if _, err := db.Exec(ctx, `DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cutover_rw_nosuper') THEN CREATE ROLE cutover_rw_nosuper LOGIN; END IF;
END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "GRANT CONNECT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" TO "+role); err != nil {
		t.Fatal(err)
	}
	original := fdwState(t, db)
	args := rewriteArgs(name, module.Args{"foreign_servers": true, "login_user": role}, [2]string{"old-secret", "new-secret"})

	c := planRewrite(t, args)
	if c.Action != module.None {
		t.Errorf("plan = %v %q, want none (the mapping cannot be read)", c.Action, c.Summary)
	}
	notes := fmt.Sprint(c.Result.Data["notes"])
	if !strings.Contains(notes, "user mapping for postgres on server archives: options not readable by this role") {
		t.Errorf("notes = %s", notes)
	}
	if got := fmt.Sprint(c.Result.Data["unreadable_user_mappings"]); !strings.Contains(got, "user mapping for postgres on server archives") {
		t.Errorf("unreadable_user_mappings = %s", got)
	}
	// The PUBLIC mapping of a server the role does not own is hidden too.
	if !strings.Contains(notes, "user mapping for PUBLIC on server mapdata: options not readable") {
		t.Errorf("notes = %s", notes)
	}
	assertNoSecret(t, "plan result", c.Result)

	// Server options are readable, but altering them needs the owner: the
	// check-mode proof fails clearly and nothing changes.
	args = rewriteArgs(name, module.Args{"foreign_servers": true, "login_user": role, "name": "no_such_function"},
		[2]string{"10.0.10.130", "archives-db.thehumanjourney.net"})
	env := &module.Env{Host: conn.ReadOnly(&conn.Local{Host: "localhost"}, nil), Check: true}
	_, err := PgFunctionRewrite().New().Plan(ctx, env, args)
	if err == nil || !strings.Contains(err.Error(), "new options of server archives are refused") {
		t.Errorf("Plan err = %v, want the refused options", err)
	}
	if got := fdwState(t, db); got != original {
		t.Errorf("options changed:\n%s", got)
	}
}

func TestPgFDWRewriteSQL(t *testing.T) {
	f := pgFDWRewrite{Mapping: true, Server: `we"ird`, UMUser: 10, User: "Finance User", Options: []pgFDWOption{
		{Key: "user", Before: "finance", After: "finance"},
		{Key: "password", Before: `it's\old`, After: "n'ew"},
		{Key: "Odd Key", Before: "a", After: "b"},
	}}
	got := f.alterSQL(true)
	want := `ALTER USER MAPPING FOR "Finance User" SERVER "we""ird" OPTIONS (SET password 'n''ew', SET "Odd Key" 'b')`
	if got != want {
		t.Errorf("alterSQL(true) =\n%s\nwant\n%s", got, want)
	}
	back := f.alterSQL(false)
	if want := `ALTER USER MAPPING FOR "Finance User" SERVER "we""ird" OPTIONS (SET password E'it''s\\old', SET "Odd Key" 'a')`; back != want {
		t.Errorf("alterSQL(false) =\n%s\nwant\n%s", back, want)
	}
	for _, s := range []string{got, back} {
		if m := maskRewriteSecrets(s); strings.Contains(m, "ew") || strings.Contains(m, "old") {
			t.Errorf("mask left a password: %s", m)
		}
	}
	if d := f.diffText(false) + f.diffText(true); strings.Contains(d, "old") || strings.Contains(d, "n'ew") || !strings.Contains(d, "password=******** (password changed)") {
		t.Errorf("diff text:\n%s", d)
	}
	pub := pgFDWRewrite{Mapping: true, Server: "s", Options: []pgFDWOption{{Key: "user", Before: "a", After: "b"}}}
	if got := pub.alterSQL(true); got != `ALTER USER MAPPING FOR PUBLIC SERVER "s" OPTIONS (SET "user" 'b')` && got != `ALTER USER MAPPING FOR PUBLIC SERVER "s" OPTIONS (SET user 'b')` {
		t.Errorf("public alterSQL = %s", got)
	}
	// Passwords change only on a whole-value literal match.
	rules, err := rewriteRulesFrom([]any{map[string]any{"from": "10.0.10.48", "to": "finance.example"}, map[string]any{"from": "old", "to": "new"}})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"old": "new", "x!10.0.10.48": "x!10.0.10.48", "old-pw": "old-pw"} {
		if got, _ := rewriteFDWValue("password", in, rules); got != want {
			t.Errorf("password %q -> %q, want %q", in, got, want)
		}
	}
	if got, _ := rewriteFDWValue("host", "10.0.10.48", rules); got != "finance.example" {
		t.Errorf("host -> %q", got)
	}
	if got, notes := rewriteFDWValue("hostaddr", "10.0.10.48", rules); got != "10.0.10.48" || len(notes) != 1 {
		t.Errorf("hostaddr -> %q %v", got, notes)
	}
}

func TestPgFunctionRewriteForeignServerChangedSincePlan(t *testing.T) {
	name, db := fdwTestDB(t)
	c := planRewrite(t, rewriteArgs(name, module.Args{"foreign_servers": true, "name": "no_such_function"},
		[2]string{"10.0.10.130", "archives-db.thehumanjourney.net"}))
	if _, err := db.Exec(context.Background(), `ALTER SERVER archives OPTIONS (SET dbname 'other')`); err != nil {
		t.Fatal(err)
	}
	_, err := PgFunctionRewrite().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
	if err == nil || !strings.Contains(err.Error(), "server archives changed since the plan") {
		t.Errorf("Apply err = %v, want changed since the plan", err)
	}
}
