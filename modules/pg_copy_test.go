package modules

import (
	"context"
	"os/exec"
	"strings"
	"testing"

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
	out, err := exec.Command("pg_dump", "--schema-only", "--host=127.0.0.1", "--username=postgres", "--dbname="+db).Output()
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

func TestPgCopyFailureLeavesTheTargetEmpty(t *testing.T) {
	dst := pgqUniqueName("cutover_copy_")
	dumpCreateDatabase(t, dst)
	res := copyApply(t, map[string]any{"db": dst, "source": map[string]any{"db": "cutover_no_such_db", "login_host": "127.0.0.1"}})
	if !res.Failed || !strings.Contains(res.Msg, "cutover_no_such_db") {
		t.Fatalf("result: %v %s", res.Failed, res.Msg)
	}
	var tables int64
	pgqAdmin(t, dst).QueryRow(context.Background(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables)
	if tables != 0 {
		t.Errorf("%d tables in the target after a failed copy", tables)
	}
}

func TestPgCopyArgumentsChecked(t *testing.T) {
	for _, raw := range []map[string]any{
		{"db": "x", "source": map[string]any{"login_host": "h"}},
		{"db": "x", "source": map[string]any{"db": "y", "hots": "h"}},
		{"db": "x", "source": map[string]any{"db": "y"}, "schema_only": true, "data_only": true},
		{"db": "x", "source": map[string]any{"db": "y"}, "disable_triggers": true},
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
