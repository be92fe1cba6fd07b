package modules

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// copyApply plans and applies pg_copy on this machine (source and target
// are databases of the local server).
func copyApply(t *testing.T, raw map[string]any) *module.Result {
	t.Helper()
	c, err := pgqPlan(t, PgCopy(), raw, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != module.Invoke {
		t.Fatalf("action = %v, want invoke", c.Action)
	}
	res, err := PgCopy().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func schemaDump(t *testing.T, db string) string {
	t.Helper()
	return schemaDumpAt(t, 5432, "", db)
}

// schemaDumpAt is pg_dump --schema-only of db on 127.0.0.1:port as
// postgres, with password when the server asks for one.
func schemaDumpAt(t *testing.T, port int, password, db string) string {
	t.Helper()
	cmd := exec.Command("pg_dump", "--schema-only", "--host=127.0.0.1", "--port="+strconv.Itoa(port), "--username=postgres", "--dbname="+db)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump --schema-only %s: %v", db, err)
	}
	// Newer pg_dump brackets its output with \restrict KEY ... \unrestrict
	// KEY, a random key per run: not part of the schema.
	var kept []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "\\restrict ") && !strings.HasPrefix(line, "\\unrestrict ") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

func TestPgCopyStreamsAndVerifies(t *testing.T) {
	src, _ := dumpDatabase(t, dumpSeed...)
	dst := pgqUniqueName("cutover_copy_")
	dumpDropAtEnd(t, dst)
	source := map[string]any{"db": src, "login_host": "127.0.0.1", "login_password": "s3cret-src"}

	// Check mode: planned only, nothing created.
	c, err := pgqPlan(t, PgCopy(), map[string]any{"db": dst, "create": true, "source": source}, true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.Data.(*pgCopyPlan).script, "s3cret") {
		t.Error("a password is in the command line")
	}
	if exists, _ := pgDatabaseExists(context.Background(), &conn.Local{}, module.Args{"db": dst, "login_port": 5432, "login_user": "postgres", "ssl_mode": "disable"}); exists {
		t.Fatal("check mode created the target database")
	}

	res := copyApply(t, map[string]any{"db": dst, "create": true, "source": source})
	if res.Failed {
		t.Fatalf("copy failed: %s", res.Msg)
	}
	if res.Data["verified_tables"] != 4 || res.Data["bytes"].(int64) <= 0 {
		t.Errorf("result: %v", res.Data)
	}
	if got, want := schemaDump(t, dst), schemaDump(t, src); got != want {
		t.Errorf("the copied schema differs from the source's:\n%s", firstDiff(got, want))
	}
	for name, q := range restoreCounts {
		var a, b int64
		pgqAdmin(t, src).QueryRow(context.Background(), q).Scan(&a)
		pgqAdmin(t, dst).QueryRow(context.Background(), q).Scan(&b)
		if a != b {
			t.Errorf("%s: %d rows copied, source has %d", name, b, a)
		}
	}
}

// The runbook's copy: from the old host's server (the machine's, trust)
// into the new host's (a cluster of its own, SCRAM passwords), streamed
// or with jobs (streamed schema and data, post-data built by 3 jobs).
func TestPgCopyOldHostToNewHost(t *testing.T) {
	newHost := newCluster(t)
	src, srcConn := dumpDatabase(t, dumpSeed...)
	for _, tc := range []struct {
		name string
		jobs int
	}{{"stream", 1}, {"jobs", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			dst := pgqUniqueName("cutover_copy_")
			work := t.TempDir()
			raw := map[string]any{"db": dst, "create": true, "jobs": tc.jobs, "work_dir": work,
				"login_host": "127.0.0.1", "login_port": newHost.Port, "login_password": newHost.Password,
				"source": map[string]any{"db": src, "login_host": "127.0.0.1", "login_port": 5432}}
			res := copyApply(t, raw)
			if res.Failed {
				t.Fatalf("copy failed: %s", res.Msg)
			}
			if res.Data["verified_tables"] != 4 || res.Data["bytes"].(int64) <= 0 {
				t.Errorf("result: %v", res.Data)
			}
			if got, want := schemaDumpAt(t, newHost.Port, newHost.Password, dst), schemaDump(t, src); got != want {
				t.Errorf("the new host's schema differs from the old one's:\n%s", firstDiff(got, want))
			}
			dstConn, err := pgx.Connect(context.Background(), newHost.ConnString(dst))
			if err != nil {
				t.Fatal(err)
			}
			defer dstConn.Close(context.Background())
			for name, q := range restoreCounts {
				if got, want := pgqCount(t, dstConn, q), pgqCount(t, srcConn, q); got != want {
					t.Errorf("%s: %d rows on the new host, %d on the old", name, got, want)
				}
			}
			if left, _ := os.ReadDir(work); len(left) != 0 {
				t.Errorf("the work folder keeps %d entries", len(left))
			}
		})
	}
}

func TestPgCopyDataOnlyIntoASchemaWithTriggers(t *testing.T) {
	src, _ := dumpDatabase(t, dumpSeed...)
	dst := pgqUniqueName("cutover_copy_")
	dumpDropAtEnd(t, dst)
	source := map[string]any{"db": src, "login_host": "127.0.0.1"}
	if res := copyApply(t, map[string]any{"db": dst, "create": true, "schema_only": true, "source": source}); res.Failed {
		t.Fatalf("schema: %s", res.Msg)
	}
	res := copyApply(t, map[string]any{"db": dst, "data_only": true, "disable_triggers": true, "source": source})
	if res.Failed {
		t.Fatalf("data: %s", res.Msg)
	}
	var audit int64
	pgqAdmin(t, dst).QueryRow(context.Background(), "SELECT count(*) FROM audit").Scan(&audit)
	var srcAudit int64
	pgqAdmin(t, src).QueryRow(context.Background(), "SELECT count(*) FROM audit").Scan(&srcAudit)
	if audit != srcAudit {
		t.Errorf("audit rows %d, source %d: the trigger fired during the load", audit, srcAudit)
	}
}

// A restore that breaks midway (a table of the source already exists in
// the target) leaves the target as it was: one transaction.
func TestPgCopyFailureLeavesTheTargetAsItWas(t *testing.T) {
	src, _ := dumpDatabase(t, dumpSeed...)
	dst, _ := dumpDatabase(t, `CREATE TABLE audit (kept text)`)
	res := copyApply(t, map[string]any{"db": dst, "source": map[string]any{"db": src, "login_host": "127.0.0.1"}})
	if !res.Failed || !strings.Contains(res.Msg, "audit") {
		t.Fatalf("result: %v %s", res.Failed, res.Msg)
	}
	var tables int64
	pgqAdmin(t, dst).QueryRow(context.Background(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables)
	if tables != 1 {
		t.Errorf("%d tables in the target after a failed copy, want the one it had", tables)
	}
}

func TestPgCopyMissingSourceFailsBeforeTouchingTheTarget(t *testing.T) {
	dst := pgqUniqueName("cutover_copy_")
	c, err := pgqPlan(t, PgCopy(), map[string]any{"db": dst, "create": true, "source": map[string]any{"db": "cutover_no_such_db", "login_host": "127.0.0.1"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	dumpDropAtEnd(t, dst)
	_, err = PgCopy().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
	if err == nil || !strings.Contains(err.Error(), "cutover_no_such_db") {
		t.Fatalf("err = %v", err)
	}
	if exists, _ := pgDatabaseExists(context.Background(), &conn.Local{}, module.Args{"db": dst, "login_port": 5432, "login_user": "postgres", "ssl_mode": "disable"}); exists {
		t.Error("the target was created although the source is missing")
	}
}

func TestPgCopyArgumentsChecked(t *testing.T) {
	for _, raw := range []map[string]any{
		{"db": "x", "source": map[string]any{"login_host": "h"}},
		{"db": "x", "source": map[string]any{"db": "y", "hots": "h"}},
		{"db": "x", "source": map[string]any{"db": "y"}, "schema_only": true, "data_only": true},
		{"db": "x", "source": map[string]any{"db": "y"}, "disable_triggers": true},
		{"db": "x", "source": map[string]any{"db": "y"}, "jobs": 4, "single_transaction": true},
		{"db": "x", "source": map[string]any{"db": "y"}, "compress": 10},
	} {
		info := PgCopy()
		args, errs := info.Decode(raw, false)
		if len(errs) > 0 {
			t.Fatalf("decode %v: %v", raw, errs)
		}
		if err := info.Check(args); err == nil {
			t.Errorf("%v accepted", raw)
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "line " + al[i] + "\nvs   " + bl[i]
		}
	}
	return "lengths differ"
}
