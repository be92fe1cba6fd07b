package modules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// dumpSeed is a small database: tables with rows, a trigger and its
// function, a plain function.
var dumpSeed = []string{
	`CREATE TABLE staff (id int PRIMARY KEY, name text NOT NULL, updated int NOT NULL DEFAULT 0)`,
	`CREATE TABLE projects (id int PRIMARY KEY, staff_id int REFERENCES staff(id), title text)`,
	`CREATE TABLE audit (id serial PRIMARY KEY, what text)`,
	`CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
	 BEGIN NEW.updated := NEW.updated + 1; INSERT INTO audit(what) VALUES ('touch ' || NEW.id); RETURN NEW; END $$`,
	`CREATE TRIGGER staff_touch BEFORE INSERT OR UPDATE ON staff FOR EACH ROW EXECUTE FUNCTION touch()`,
	`CREATE FUNCTION staff_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM staff'`,
	`INSERT INTO staff(id, name) SELECT i, 'person ' || i FROM generate_series(1, 500) i`,
	`INSERT INTO projects SELECT i, 1 + i % 500, 'project ' || i FROM generate_series(1, 1200) i`,
	`CREATE TABLE "Odd Name" (note text)`,
	`INSERT INTO "Odd Name" VALUES ('a'), (E'two\nlines')`,
}

// dumpDatabase creates a seeded database cutover_dump_<random>, dropped
// when the test ends.
func dumpDatabase(t *testing.T, setup ...string) (string, *pgx.Conn) {
	t.Helper()
	name := pgqUniqueName("cutover_dump_")
	dumpCreateDatabase(t, name)
	c := pgqAdmin(t, name)
	for _, s := range setup {
		if _, err := c.Exec(context.Background(), s); err != nil {
			t.Fatalf("setup %q: %v", s, err)
		}
	}
	return name, c
}

// dumpCreateDatabase creates name now (when non-empty) and drops it when
// the test ends, whoever created it.
func dumpCreateDatabase(t *testing.T, name string) {
	t.Helper()
	admin := pgqAdmin(t, "postgres")
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database: %v", err)
	}
	dumpDropAtEnd(t, name)
}

func dumpDropAtEnd(t *testing.T, name string) {
	t.Cleanup(func() {
		ctx := context.Background()
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
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// dirNames lists a folder's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestPgDumpFormats(t *testing.T) {
	db, _ := dumpDatabase(t, dumpSeed...)
	tests := []struct {
		name    string
		args    map[string]any
		sumFile string // relative to dest: whose sha256 is reported
		contain string // a plain dump holds this text
	}{
		{name: "custom", args: map[string]any{}},
		{name: "plain", args: map[string]any{"format": "plain"}, contain: "CREATE TRIGGER staff_touch"},
		{name: "directory", args: map[string]any{"format": "directory", "jobs": 2}, sumFile: "toc.dat"},
		{name: "tar", args: map[string]any{"format": "tar"}},
		{name: "schema only", args: map[string]any{"format": "plain", "schema_only": true}, contain: "CREATE FUNCTION public.staff_count()"},
		{name: "one table", args: map[string]any{"format": "plain", "tables": []any{"projects"}}, contain: "COPY public.projects"},
		{name: "globals", args: map[string]any{"globals": true}, contain: "CREATE ROLE postgres"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "finance.dump")
			raw := map[string]any{"db": db, "dest": dest}
			for k, v := range tc.args {
				raw[k] = v
			}
			c, res := pgqRun(t, PgDump(), raw, false)
			if c.Action != module.Invoke {
				t.Fatalf("action = %v, want invoke", c.Action)
			}
			if !strings.Contains(c.Summary, "database "+db) && !strings.Contains(c.Summary, "globals") {
				t.Errorf("summary %q does not name the database", c.Summary)
			}
			if !res.Changed {
				t.Errorf("changed = false, want true")
			}
			sumOf := dest
			if tc.sumFile != "" {
				sumOf = filepath.Join(dest, tc.sumFile)
			}
			if got, want := res.Data["sha256"], fileSHA256(t, sumOf); got != want {
				t.Errorf("sha256 = %v, want %v", got, want)
			}
			if size, _ := res.Data["size"].(int64); size <= 0 {
				t.Errorf("size = %v, want > 0", res.Data["size"])
			}
			if names := dirNames(t, dir); len(names) != 1 {
				t.Errorf("folder holds %v, want only the dump", names)
			}
			if tc.contain != "" {
				b, _ := os.ReadFile(dest)
				if !strings.Contains(string(b), tc.contain) {
					t.Errorf("dump lacks %q", tc.contain)
				}
				if tc.name == "one table" && strings.Contains(string(b), "COPY public.staff") {
					t.Errorf("tables: [projects] dumped staff too")
				}
			}
		})
	}
}

func TestPgDumpExistingDest(t *testing.T) {
	db, _ := dumpDatabase(t, dumpSeed...)
	dest := filepath.Join(t.TempDir(), "old.dump")
	if err := os.WriteFile(dest, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, res := pgqRun(t, PgDump(), map[string]any{"db": db, "dest": dest}, false)
	if c.Action != module.None || !strings.Contains(res.Msg, "dump exists") {
		t.Fatalf("plan = %v %q, want none with \"dump exists\"", c.Action, res.Msg)
	}
	if b, _ := os.ReadFile(dest); string(b) != "keep me" {
		t.Fatalf("dest was overwritten without force")
	}
	_, res = pgqRun(t, PgDump(), map[string]any{"db": db, "dest": dest, "force": true}, false)
	if got, want := res.Data["sha256"], fileSHA256(t, dest); got != want || !res.Changed {
		t.Fatalf("force: sha256 = %v (changed %v), want %v", got, res.Changed, want)
	}
}

func TestPgDumpCheckModeWritesNothing(t *testing.T) {
	db, _ := dumpDatabase(t, dumpSeed...)
	dir := t.TempDir()
	c, err := pgqPlan(t, PgDump(), map[string]any{"db": db, "dest": filepath.Join(dir, "x.dump")}, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != module.Invoke || !strings.Contains(c.CheckSkip, "would dump") {
		t.Errorf("plan = %v %q, want invoke with a check-mode message", c.Action, c.CheckSkip)
	}
	if size, _ := c.Result.Data["database_size"].(int64); size <= 0 {
		t.Errorf("database_size = %v, want > 0", c.Result.Data["database_size"])
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("check mode wrote %v", names)
	}
}

func TestPgDumpArgsRefused(t *testing.T) {
	tests := []struct {
		name string
		args map[string]any
	}{
		{"jobs without directory", map[string]any{"jobs": 4}},
		{"schema and data only", map[string]any{"schema_only": true, "data_only": true}},
		{"globals with tables", map[string]any{"globals": true, "tables": []any{"t"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]any{"dest": "/tmp/x"}
			for k, v := range tc.args {
				raw[k] = v
			}
			info := PgDump()
			args, errs := info.Decode(raw, false)
			if len(errs) > 0 {
				t.Fatalf("decode: %v", errs[0])
			}
			if _, err := newPgDumpPlan(args); err == nil {
				t.Errorf("no error")
			}
		})
	}
}

func TestPgDumpPasswordNotOnCommandLine(t *testing.T) {
	info := PgDump()
	args, errs := info.Decode(map[string]any{"dest": "/tmp/x", "login_password": "s3cret-pw"}, false)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	p, err := newPgDumpPlan(args)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(p.argv, " "), "s3cret-pw") {
		t.Errorf("password on the command line: %v", p.argv)
	}
	if p.env["PGPASSWORD"] != "s3cret-pw" {
		t.Errorf("PGPASSWORD not set")
	}
}

// TestPgDumpInterrupted proves a dump that does not complete leaves
// nothing under the final name nor a temp file: one truncated before its
// verification (as a killed pg_dump leaves it), one killed while it runs.
func TestPgDumpInterrupted(t *testing.T) {
	db, seeded := dumpDatabase(t, dumpSeed...)
	tests := []struct {
		name   string
		format string
		run    func(t *testing.T, c *module.Change) error
	}{
		{name: "truncated custom archive", format: "custom", run: func(t *testing.T, c *module.Change) error {
			pgDumpBeforeVerify = func(temp string) { truncateHalf(t, temp) }
			defer func() { pgDumpBeforeVerify = nil }()
			_, err := PgDump().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
			return err
		}},
		{name: "truncated plain dump", format: "plain", run: func(t *testing.T, c *module.Change) error {
			pgDumpBeforeVerify = func(temp string) { truncateHalf(t, temp) }
			defer func() { pgDumpBeforeVerify = nil }()
			_, err := PgDump().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
			return err
		}},
		{name: "killed while dumping", format: "custom", run: func(t *testing.T, c *module.Change) error {
			// A lock the dump waits for keeps pg_dump running (with its
			// output file open) until the context is cancelled.
			ctx := context.Background()
			tx, err := seeded.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			if _, err := tx.Exec(ctx, "LOCK TABLE projects IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			runCtx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
			defer cancel()
			_, err = PgDump().New().Apply(runCtx, &conn.Local{Host: "localhost"}, c)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "finance.dump")
			c, err := pgqPlan(t, PgDump(), map[string]any{"db": db, "dest": dest, "format": tc.format}, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.run(t, c); err == nil {
				t.Fatalf("apply succeeded, want an error")
			} else {
				t.Logf("apply: %v", err)
			}
			if names := dirNames(t, dir); len(names) != 0 {
				t.Errorf("left behind %v, want nothing", names)
			}
		})
	}
}

func truncateHalf(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// TestPgDumpVerifyReadsWholeArchive: pg_restore --list alone may accept a
// truncated archive; verifyPgDump must not.
func TestPgDumpVerifyReadsWholeArchive(t *testing.T) {
	db, _ := dumpDatabase(t, dumpSeed...)
	dest := filepath.Join(t.TempDir(), "full.dump")
	pgqRun(t, PgDump(), map[string]any{"db": db, "dest": dest}, false)
	h := &conn.Local{Host: "localhost"}
	ctx := context.Background()
	if err := verifyPgDump(ctx, h, dest, "custom", false); err != nil {
		t.Fatalf("complete archive: %v", err)
	}
	truncateHalf(t, dest)
	if res, err := h.Run(ctx, module.Command{Argv: []string{"pg_restore", "--list", dest}}); err == nil && res.RC == 0 {
		t.Logf("pg_restore --list accepts the truncated archive (the known trap)")
	}
	if err := verifyPgDump(ctx, h, dest, "custom", false); err == nil {
		t.Fatalf("truncated archive passed verification")
	}
}
