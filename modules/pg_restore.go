package modules

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/module"
)

// PgRestore is the pg_restore module: it restores an archive (custom,
// directory or tar) into a database, creating it when asked, and can
// verify the row count of every restored table.
func PgRestore() module.Info {
	return module.Info{
		Name: "pg_restore",
		Doc: "Restores a pg_dump archive (custom, directory or tar) with pg_restore on the host into db, created first " +
			"(CREATE DATABASE) when create is set and it is missing. Plain SQL dumps are refused: they carry psql-only " +
			"meta-commands and must be fed to psql. With verify: row_counts each table the archive holds data for is " +
			"counted exactly (count(*)) after the restore and compared with the source database given by verify_against " +
			"or, without it, with the rows of the archive's COPY blocks (read with pg_restore --data-only; tables dumped " +
			"with --inserts have no COPY block and are not compared); a difference fails the task and names the tables. " +
			"The password travels in PGPASSWORD, never on the command line.",
		Args: append(pgConnArgs(),
			module.Arg{Name: "src", Type: module.Path, Required: true, Doc: "archive on the host (file, or folder for the directory format)"},
			module.Arg{Name: "create", Type: module.Bool, Default: false, Doc: "create db when it does not exist"},
			module.Arg{Name: "schema_only", Type: module.Bool, Default: false, Doc: "restore only the definitions"},
			module.Arg{Name: "data_only", Type: module.Bool, Default: false, Doc: "restore only the data"},
			module.Arg{Name: "disable_triggers", Type: module.Bool, Default: false, Doc: "disable triggers while loading data (with data_only; needs a superuser)"},
			module.Arg{Name: "clean", Type: module.Bool, Default: false, Doc: "drop objects before recreating them"},
			module.Arg{Name: "if_exists", Type: module.Bool, Default: false, Doc: "with clean: DROP ... IF EXISTS"},
			module.Arg{Name: "jobs", Type: module.Int, Default: 0, Doc: "parallel restore jobs (not with single_transaction)"},
			module.Arg{Name: "single_transaction", Type: module.Bool, Default: false, Doc: "restore in one transaction: all or nothing"},
			module.Arg{Name: "verify", Type: module.String, Default: "none", Choices: []string{"none", "row_counts"}, Doc: "after the restore, compare each table's row count"},
			module.Arg{Name: "globals", Type: module.Bool, Default: false, Doc: "src is a pg_dumpall --globals-only file: create its roles, skipping those that exist (postgres)"},
			module.Arg{Name: "verify_against", Type: module.Dict, Doc: "source database to count rows in: db, login_host, login_port, login_user, login_password, ssl_mode; default: the archive's own rows"},
		),
		Probes: [][]string{{"pg_restore", "--list"}},
		Check:  func(a module.Args) error { _, err := newPgRestorePlan(a); return err },
		New:    func() module.Module { return pgRestoreModule{} },
	}
}

type pgRestoreModule struct{}

type pgRestorePlan struct {
	args    module.Args
	src     string
	create  bool // db is missing and must be created
	argv    []string
	env     map[string]string
	verify  bool
	against module.Args // nil: counts from the archive
	toc     string      // pg_restore --list output, read by Plan
}

func newPgRestorePlan(args module.Args) (*pgRestorePlan, error) {
	src := argString(args, "src")
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("src is empty")
	}
	jobs, _ := args["jobs"].(int)
	switch {
	case argBool(args, "schema_only") && argBool(args, "data_only"):
		return nil, fmt.Errorf("schema_only and data_only cannot both be set")
	case argBool(args, "disable_triggers") && !argBool(args, "data_only"):
		return nil, fmt.Errorf("disable_triggers needs data_only")
	case argBool(args, "if_exists") && !argBool(args, "clean"):
		return nil, fmt.Errorf("if_exists needs clean")
	case jobs < 0:
		return nil, fmt.Errorf("jobs must be positive, not %d", jobs)
	case jobs > 1 && argBool(args, "single_transaction"):
		return nil, fmt.Errorf("jobs and single_transaction cannot both be set")
	case argString(args, "verify") == "row_counts" && argBool(args, "schema_only"):
		return nil, fmt.Errorf("verify: row_counts has nothing to count with schema_only")
	}
	p := &pgRestorePlan{args: args, src: src, env: pgCommandEnv(args), verify: argString(args, "verify") == "row_counts"}
	if m, ok := args["verify_against"].(map[string]any); ok && len(m) > 0 {
		against := module.Args{"db": "postgres", "login_port": 5432, "login_user": "postgres", "ssl_mode": "prefer"}
		for k, v := range m {
			switch k {
			case "db", "login_host", "login_user", "login_password", "ssl_mode":
				against[k] = fmt.Sprint(v)
			case "login_port":
				n, err := strconv.Atoi(fmt.Sprint(v))
				if err != nil {
					return nil, fmt.Errorf("verify_against.login_port: %q is not a number", fmt.Sprint(v))
				}
				against[k] = n
			default:
				return nil, fmt.Errorf("verify_against: unknown key %q (db, login_host, login_port, login_user, login_password, ssl_mode)", k)
			}
		}
		p.against = against
	}
	host := argString(args, "login_host")
	if host == "" {
		host = "127.0.0.1"
	}
	port, _ := args["login_port"].(int)
	if port == 0 {
		port = 5432
	}
	p.argv = []string{"pg_restore", "--host=" + host, "--port=" + strconv.Itoa(port),
		"--username=" + argString(args, "login_user"), "--no-password", "--dbname=" + argString(args, "db"), "--exit-on-error"}
	for _, f := range []struct{ arg, flag string }{
		{"schema_only", "--schema-only"}, {"data_only", "--data-only"}, {"disable_triggers", "--disable-triggers"},
		{"clean", "--clean"}, {"if_exists", "--if-exists"}, {"single_transaction", "--single-transaction"},
	} {
		if argBool(args, f.arg) {
			p.argv = append(p.argv, f.flag)
		}
	}
	if jobs > 1 {
		p.argv = append(p.argv, "--jobs="+strconv.Itoa(jobs))
	}
	p.argv = append(p.argv, "--", src)
	return p, nil
}

func (pgRestoreModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	if c := pgRestoreNotYet(ctx, env, args); c != nil {
		return c, nil
	}
	if argBool(args, "globals") {
		return planGlobals(ctx, env, args)
	}
	p, err := newPgRestorePlan(args)
	if err != nil {
		return nil, err
	}
	if _, err := env.Host.Stat(ctx, p.src); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("src %s does not exist", p.src)
		}
		return nil, fmt.Errorf("stat %s: %w", p.src, err)
	}
	res, err := env.Host.Probe(ctx, module.Command{Argv: []string{"pg_restore", "--list", "--", p.src}})
	if err != nil {
		return nil, err
	}
	if res.RC != 0 {
		if strings.Contains(string(res.Stderr), "text format dump") {
			return nil, fmt.Errorf("src %s is a plain SQL dump: pg_restore reads only archives (custom, directory, tar); "+
				"plain dumps carry psql-only meta-commands and must be restored with psql", p.src)
		}
		return nil, fmt.Errorf("pg_restore --list %s exited with %d: %s", p.src, res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	p.toc = string(res.Stdout)
	db := argString(args, "db")
	exists, err := pgDatabaseExists(ctx, env.Host, args)
	if err != nil {
		return nil, err
	}
	if !exists && !argBool(args, "create") {
		return nil, fmt.Errorf("database %s does not exist (create: true to create it)", db)
	}
	p.create = !exists
	summary := fmt.Sprintf("restore %s into database %s", p.src, db)
	if p.create {
		summary = fmt.Sprintf("create database %s and restore %s into it", db, p.src)
	}
	return &module.Change{Action: module.Invoke, Summary: summary, CheckSkip: "pg_restore: would " + summary, Data: p}, nil
}

// pgRestoreNotYet is check mode's answer when src is not there yet: an
// earlier task (a pg_dump in the same check run) only planned it, so the
// restore is reported as it would run, not as a failure.
func pgRestoreNotYet(ctx context.Context, env *module.Env, args module.Args) *module.Change {
	src := argString(args, "src")
	if !env.Check || src == "" {
		return nil
	}
	if _, err := env.Host.Stat(ctx, src); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	summary := fmt.Sprintf("restore %s into %s once it exists (not there yet: an earlier task makes it)", src, argString(args, "db"))
	return &module.Change{Action: module.Invoke, Summary: summary, CheckSkip: "pg_restore: would " + summary}
}

// pgDatabaseExists looks db up in pg_database through the maintenance
// database postgres.
func pgDatabaseExists(ctx context.Context, h module.Host, args module.Args) (bool, error) {
	c, err := pgConnect(ctx, h, pgMaintenanceArgs(args))
	if err != nil {
		return false, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var exists bool
	err = c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", argString(args, "db")).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("look up database: %w", err)
	}
	return exists, nil
}

// pgCreateDatabase creates the db the arguments name.
func pgCreateDatabase(ctx context.Context, h module.Host, args module.Args) error {
	db := argString(args, "db")
	admin, err := pgConnect(ctx, h, pgMaintenanceArgs(args))
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

func pgMaintenanceArgs(args module.Args) module.Args {
	m := maps.Clone(args)
	m["db"] = "postgres"
	return m
}

func (pgRestoreModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	if g, ok := c.Data.(*globalsPlan); ok {
		return applyGlobals(ctx, h, g)
	}
	p := c.Data.(*pgRestorePlan)
	db := argString(p.args, "db")
	if p.create {
		if err := pgCreateDatabase(ctx, h, p.args); err != nil {
			return nil, err
		}
	}
	res, err := h.Run(ctx, module.Command{Argv: p.argv, Env: p.env})
	if err != nil {
		return nil, fmt.Errorf("pg_restore: %w", err)
	}
	if res.RC != 0 {
		return nil, fmt.Errorf("pg_restore exited with %d: %s", res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	data := map[string]any{"src": p.src, "db": db, "created": p.create}
	msg := fmt.Sprintf("restored %s into %s", p.src, db)
	if p.verify {
		checked, err := verifyRowCounts(ctx, h, p)
		if err != nil {
			return nil, err
		}
		data["verified_tables"] = checked
		msg += fmt.Sprintf("; row counts of %d tables verified", checked)
	}
	return &module.Result{Changed: true, Msg: msg, Data: data}, nil
}

// pgTable is a schema-qualified table name, unquoted.
type pgTable struct{ schema, name string }

func (t pgTable) String() string { return t.schema + "." + t.name }

// verifyRowCounts compares the exact row count of every table the archive
// holds data for with the source's; it returns how many were compared.
func verifyRowCounts(ctx context.Context, h module.MutableHost, p *pgRestorePlan) (int, error) {
	var want map[pgTable]int64
	var err error
	if p.against != nil {
		var tables []pgTable
		for _, line := range strings.Split(p.toc, "\n") {
			// "3345; 0 16390 TABLE DATA public staff postgres": names are
			// not quoted, so a table name may hold spaces (taken as all
			// between schema and owner); a schema name may not.
			_, rest, ok := strings.Cut(line, " TABLE DATA ")
			if f := strings.Fields(rest); ok && !strings.HasPrefix(line, ";") && len(f) >= 3 {
				tables = append(tables, pgTable{f[0], strings.Join(f[1:len(f)-1], " ")})
			}
		}
		want, err = pgCountRows(ctx, h, p.against, tables)
	} else {
		want, err = archiveRowCounts(ctx, h, p.src)
	}
	if err != nil {
		return 0, fmt.Errorf("verify: source counts: %w", err)
	}
	tables := slices.SortedFunc(maps.Keys(want), func(a, b pgTable) int { return strings.Compare(a.String(), b.String()) })
	got, err := pgCountRows(ctx, h, p.args, tables)
	if err != nil {
		return 0, fmt.Errorf("verify: restored counts: %w", err)
	}
	var diffs []string
	for _, t := range tables {
		if got[t] != want[t] {
			diffs = append(diffs, fmt.Sprintf("%s: %d rows, source has %d", t, got[t], want[t]))
		}
	}
	if len(diffs) > 0 {
		return 0, fmt.Errorf("verify: row counts differ in %d tables: %s", len(diffs), strings.Join(diffs, "; "))
	}
	return len(tables), nil
}

// pgCountRows counts the rows of each table exactly, in a READ ONLY
// transaction.
func pgCountRows(ctx context.Context, h module.Host, args module.Args, tables []pgTable) (map[pgTable]int64, error) {
	c, err := pgConnect(ctx, h, args)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read only
	counts := make(map[pgTable]int64, len(tables))
	for _, t := range tables {
		var n int64
		q := "SELECT count(*) FROM ONLY " + pgx.Identifier{t.schema, t.name}.Sanitize()
		if err := tx.QueryRow(ctx, q).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		counts[t] = n
	}
	return counts, nil
}

// archiveRowCountsScript prints "table<TAB>rows" for each COPY block of the
// SQL pg_restore writes; in COPY's text format a row is one line.
const archiveRowCountsScript = `pg_restore --data-only --file=- -- "$1" | awk '
/^COPY .* FROM stdin;$/ { name = substr($0, 6); sub(/ (\(.*\) )?FROM stdin;$/, "", name); rows = 0; copying = 1; next }
copying && $0 == "\\." { print name "\t" rows; copying = 0; next }
copying { rows++ }'`

// archiveRowCounts reads the whole archive on the host and counts the
// rows of its COPY blocks.
func archiveRowCounts(ctx context.Context, h module.MutableHost, src string) (map[pgTable]int64, error) {
	// pipefail: a pg_restore that cannot read the archive fails the count.
	script := "set -o pipefail; " + archiveRowCountsScript
	res, err := h.Run(ctx, module.Command{Argv: []string{"bash", "-c", script, "bash", src}})
	if err != nil {
		return nil, err
	}
	if res.RC != 0 {
		return nil, fmt.Errorf("read %s exited with %d: %s", src, res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	counts := map[pgTable]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		name, rows, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(rows, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("row count %q: %w", line, err)
		}
		t, err := parseQualifiedName(name)
		if err != nil {
			return nil, err
		}
		counts[t] = n
	}
	return counts, nil
}

// parseQualifiedName splits pg_dump's schema.table, where either part may
// be a double-quoted identifier.
func parseQualifiedName(s string) (pgTable, error) {
	var parts []string
	for i := 0; i < len(s); {
		if s[i] == '"' {
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						b.WriteByte('"')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return pgTable{}, fmt.Errorf("table name %q: unterminated quote", s)
			}
			parts = append(parts, b.String())
			i = j + 1
		} else {
			j := strings.IndexByte(s[i:], '.')
			if j < 0 {
				j = len(s) - i
			}
			parts = append(parts, s[i:i+j])
			i += j
		}
		if i < len(s) {
			if s[i] != '.' {
				return pgTable{}, fmt.Errorf("table name %q: unexpected %q", s, s[i])
			}
			i++
		}
	}
	if len(parts) != 2 {
		return pgTable{}, fmt.Errorf("table name %q is not schema.table", s)
	}
	return pgTable{parts[0], parts[1]}, nil
}
