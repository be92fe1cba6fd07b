package modules

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/module"
)

// TestPgRestoreGlobalsSkipsExistingRoles replays a real pg_dumpall
// --globals-only file: the role missing on the server is created with its
// attributes, postgres (which exists) is left alone, and a second run has
// nothing to do.
func TestPgRestoreGlobalsSkipsExistingRoles(t *testing.T) {
	role := pgqUniqueName("cutover_glob_")
	admin := pgqAdmin(t, "postgres")
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN CREATEDB"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pgqAdmin(t, "postgres").Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize())
	})
	out, err := exec.Command("pg_dumpall", "--globals-only", "--host=127.0.0.1", "--username=postgres").Output()
	if err != nil {
		t.Fatalf("pg_dumpall: %v", err)
	}
	src := filepath.Join(t.TempDir(), "globals.sql")
	os.WriteFile(src, out, 0o600)
	if !strings.Contains(string(out), "CREATE ROLE postgres;") || !strings.Contains(string(out), `\restrict`) {
		t.Fatalf("unexpected globals file:\n%s", out)
	}
	if _, err := admin.Exec(ctx, "DROP ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	raw := map[string]any{"src": src, "globals": true}

	c, res := pgqRun(t, PgRestore(), raw, true) // check mode
	if c.Action != module.Update || !strings.Contains(c.Summary, role) || !strings.Contains(c.Summary, "postgres") {
		t.Fatalf("plan: %v %q", c.Action, c.Summary)
	}
	_ = res
	var exists bool
	admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists)
	if exists {
		t.Fatal("check mode created the role")
	}

	c, res = pgqRun(t, PgRestore(), raw, false)
	if !res.Changed {
		t.Fatalf("apply: %+v", res)
	}
	var login, createdb bool
	if err := admin.QueryRow(ctx, "SELECT rolcanlogin, rolcreatedb FROM pg_roles WHERE rolname = $1", role).Scan(&login, &createdb); err != nil || !login || !createdb {
		t.Errorf("the role came back as login=%v createdb=%v (%v)", login, createdb, err)
	}
	if c, _ := pgqRun(t, PgRestore(), raw, false); c.Action != module.None {
		t.Errorf("second run: %v %q", c.Action, c.Summary)
	}
}

func TestGlobalsStatements(t *testing.T) {
	text := "--\n-- Roles\n--\n\\restrict abc\nSET x = 1;\nCREATE ROLE \"Odd One\";\nALTER ROLE \"Odd One\" WITH LOGIN;\nCREATE ROLE plain;\n\\unrestrict abc\n"
	got := globalsStatements(text)
	want := []string{"SET x = 1;", `CREATE ROLE "Odd One";`, `ALTER ROLE "Odd One" WITH LOGIN;`, "CREATE ROLE plain;"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("statements:\n got %q\nwant %q", got, want)
	}
	for stmt, role := range map[string]string{`CREATE ROLE "Odd One";`: "Odd One", "ALTER ROLE plain WITH LOGIN;": "plain", "CREATE ROLE plain;": "plain"} {
		if r, ok := roleOf(stmt); !ok || r != role {
			t.Errorf("roleOf(%q) = %q %v", stmt, r, ok)
		}
	}
}
