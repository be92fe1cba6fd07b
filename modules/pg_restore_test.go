package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// restoreDump dumps db into a fresh folder with extra arguments and
// returns the dump's path.
func restoreDump(t *testing.T, db string, extra map[string]any) string {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "finance.dump")
	raw := map[string]any{"db": db, "dest": dest}
	for k, v := range extra {
		raw[k] = v
	}
	pgqRun(t, PgDump(), raw, false)
	return dest
}

// restoreApply plans and applies pg_restore, returning Apply's error.
func restoreApply(t *testing.T, raw map[string]any) (*module.Result, error) {
	t.Helper()
	c, err := pgqPlan(t, PgRestore(), raw, false)
	if err != nil {
		return nil, err
	}
	if c.Action != module.Invoke {
		t.Fatalf("action = %v, want invoke", c.Action)
	}
	return PgRestore().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
}

var restoreCounts = map[string]string{
	"staff":    "SELECT count(*) FROM staff",
	"projects": "SELECT count(*) FROM projects",
	"audit":    "SELECT count(*) FROM audit",
	"Odd Name": `SELECT count(*) FROM "Odd Name"`,
}

func TestPgRestoreCreate(t *testing.T) {
	src, srcConn := dumpDatabase(t, dumpSeed...)
	tests := []struct {
		name string
		dump map[string]any
		args map[string]any
	}{
		{name: "custom, counts from the archive", dump: map[string]any{}, args: map[string]any{"verify": "row_counts"}},
		{name: "directory with jobs, counts from the source", dump: map[string]any{"format": "directory"},
			args: map[string]any{"jobs": 2, "verify": "row_counts", "verify_against": map[string]any{"db": src, "login_host": "127.0.0.1"}}},
		{name: "tar in one transaction", dump: map[string]any{"format": "tar"}, args: map[string]any{"single_transaction": true, "verify": "row_counts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dump := restoreDump(t, src, tc.dump)
			target := pgqUniqueName("cutover_dump_")
			dumpDropAtEnd(t, target)
			raw := map[string]any{"db": target, "src": dump, "create": true}
			for k, v := range tc.args {
				raw[k] = v
			}
			res, err := restoreApply(t, raw)
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if res.Data["created"] != true || res.Data["verified_tables"] != 4 {
				t.Errorf("data = %v, want created and 4 verified tables", res.Data)
			}
			dst := pgqAdmin(t, target)
			for table, q := range restoreCounts {
				if got, want := pgqCount(t, dst, q), pgqCount(t, srcConn, q); got != want {
					t.Errorf("%s: %d rows, want %d", table, got, want)
				}
			}
			if got := pgqCount(t, dst, "SELECT count(*) FROM pg_trigger WHERE tgname = 'staff_touch'"); got != 1 {
				t.Errorf("trigger restored %d times, want 1", got)
			}
		})
	}
}

func TestPgRestoreMissingDatabaseWithoutCreate(t *testing.T) {
	src, _ := dumpDatabase(t, dumpSeed...)
	dump := restoreDump(t, src, nil)
	_, err := pgqPlan(t, PgRestore(), map[string]any{"db": pgqUniqueName("cutover_dump_"), "src": dump}, false)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("plan error = %v, want a missing database", err)
	}
}

// TestPgRestoreDataOnlyWithTriggers loads data into a database whose
// schema has triggers: with disable_triggers they do not fire (the audit
// table keeps exactly the source's rows, staff.updated is unchanged).
func TestPgRestoreDataOnlyWithTriggers(t *testing.T) {
	src, srcConn := dumpDatabase(t, dumpSeed...)
	schema := restoreDump(t, src, map[string]any{"schema_only": true})
	data := restoreDump(t, src, map[string]any{"data_only": true})
	target, dst := dumpDatabase(t)
	if _, err := restoreApply(t, map[string]any{"db": target, "src": schema, "schema_only": true}); err != nil {
		t.Fatalf("schema restore: %v", err)
	}
	res, err := restoreApply(t, map[string]any{"db": target, "src": data, "data_only": true, "disable_triggers": true,
		"verify": "row_counts", "verify_against": map[string]any{"db": src}})
	if err != nil {
		t.Fatalf("data restore: %v", err)
	}
	if res.Data["verified_tables"] != 4 {
		t.Errorf("verified_tables = %v, want 4", res.Data["verified_tables"])
	}
	q := "SELECT sum(updated) FROM staff"
	if got, want := pgqCount(t, dst, q), pgqCount(t, srcConn, q); got != want {
		t.Errorf("sum(updated) = %d, want %d: the trigger fired during the load", got, want)
	}
}

func TestPgRestoreVerifyMismatch(t *testing.T) {
	src, srcConn := dumpDatabase(t, dumpSeed...)
	dump := restoreDump(t, src, nil)
	// The source moves on after the dump: projects now differs.
	if _, err := srcConn.Exec(context.Background(), "DELETE FROM projects WHERE id > 1000"); err != nil {
		t.Fatal(err)
	}
	target := pgqUniqueName("cutover_dump_")
	dumpDropAtEnd(t, target)
	_, err := restoreApply(t, map[string]any{"db": target, "src": dump, "create": true,
		"verify": "row_counts", "verify_against": map[string]any{"db": src}})
	if err == nil {
		t.Fatalf("verify passed, want a row count difference")
	}
	if !strings.Contains(err.Error(), "public.projects: 1200 rows, source has 1000") || strings.Contains(err.Error(), "staff") {
		t.Errorf("error = %v, want only public.projects named", err)
	}
}

func TestPgRestoreRefusesPlain(t *testing.T) {
	src, _ := dumpDatabase(t, dumpSeed...)
	dump := restoreDump(t, src, map[string]any{"format": "plain"})
	_, err := pgqPlan(t, PgRestore(), map[string]any{"db": src, "src": dump}, false)
	if err == nil || !strings.Contains(err.Error(), "plain SQL dump") || !strings.Contains(err.Error(), "psql") {
		t.Fatalf("plan error = %v, want plain dumps refused", err)
	}
}

func TestPgRestoreMissingSrc(t *testing.T) {
	_, err := pgqPlan(t, PgRestore(), map[string]any{"src": filepath.Join(t.TempDir(), "none.dump")}, false)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("plan error = %v, want a missing src", err)
	}
}

func TestPgRestoreCheckModeChangesNothing(t *testing.T) {
	src, _ := dumpDatabase(t, dumpSeed...)
	dump := restoreDump(t, src, nil)
	target := pgqUniqueName("cutover_dump_")
	dumpDropAtEnd(t, target)
	c, err := pgqPlan(t, PgRestore(), map[string]any{"db": target, "src": dump, "create": true}, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != module.Invoke || !strings.Contains(c.CheckSkip, "would create database") {
		t.Errorf("plan = %v %q", c.Action, c.CheckSkip)
	}
	admin := pgqAdmin(t, "postgres")
	if n := pgqCount(t, admin, "SELECT count(*) FROM pg_database WHERE datname = '"+target+"'"); n != 0 {
		t.Errorf("check mode created the database")
	}
	if _, err := os.Stat(dump); err != nil {
		t.Errorf("src: %v", err)
	}
}

func TestParseQualifiedName(t *testing.T) {
	tests := []struct {
		in   string
		want pgTable
		bad  bool
	}{
		{in: "public.staff", want: pgTable{"public", "staff"}},
		{in: `"My Schema"."a ""b"".c"`, want: pgTable{"My Schema", `a "b".c`}},
		{in: `public."Staff"`, want: pgTable{"public", "Staff"}},
		{in: "staff", bad: true},
		{in: `public."open`, bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseQualifiedName(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("no error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(pgTable{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPgRestoreArgsRefused(t *testing.T) {
	tests := []struct {
		name string
		args map[string]any
	}{
		{"disable_triggers without data_only", map[string]any{"disable_triggers": true}},
		{"if_exists without clean", map[string]any{"if_exists": true}},
		{"jobs in one transaction", map[string]any{"jobs": 2, "single_transaction": true}},
		{"verify schema only", map[string]any{"verify": "row_counts", "schema_only": true}},
		{"verify_against unknown key", map[string]any{"verify_against": map[string]any{"dbname": "x"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]any{"src": "/tmp/x"}
			for k, v := range tc.args {
				raw[k] = v
			}
			info := PgRestore()
			args, errs := info.Decode(raw, false)
			if len(errs) > 0 {
				t.Fatalf("decode: %v", errs[0])
			}
			if _, err := newPgRestorePlan(args); err == nil {
				t.Errorf("no error")
			}
		})
	}
}

// TestPgRestoreDataOnlyTriggersFire is the control for the test above:
// without disable_triggers the trigger fires during the load; pg_restore
// runs with an empty search_path, so the trigger's unqualified INSERT INTO
// audit fails the restore (with a qualified one, audit would get extra
// rows and verify would name it).
func TestPgRestoreDataOnlyTriggersFire(t *testing.T) {
	src, _ := dumpDatabase(t, dumpSeed...)
	schema := restoreDump(t, src, map[string]any{"schema_only": true})
	data := restoreDump(t, src, map[string]any{"data_only": true})
	target, _ := dumpDatabase(t)
	if _, err := restoreApply(t, map[string]any{"db": target, "src": schema, "schema_only": true}); err != nil {
		t.Fatalf("schema restore: %v", err)
	}
	_, err := restoreApply(t, map[string]any{"db": target, "src": data, "data_only": true, "verify": "row_counts"})
	if err == nil || !strings.Contains(err.Error(), "audit") {
		t.Fatalf("error = %v, want the trigger's failure on audit", err)
	}
}
