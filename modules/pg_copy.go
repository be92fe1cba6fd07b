package modules

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// PgCopy is the pg_copy module: the downtime path. On the target host it
// streams pg_dump of the source database straight into pg_restore, with
// no file in between, then compares every table's row count.
func PgCopy() module.Info {
	return module.Info{
		Name: "pg_copy",
		Doc: "Streams a database (or only its data) from a source server into the target host's server: pg_dump | pg_restore " +
			"on the target host, no intermediate file; reports bytes, seconds and throughput and verifies row counts at the end.",
		Args: append([]module.Arg{
			{Name: "source", Type: module.Dict, Required: true, Doc: "the source as the target host reaches it: db, login_host, login_port, login_user, login_password"},
			{Name: "create", Type: module.Bool, Default: false, Doc: "create the target database when it is absent"},
			{Name: "schema_only", Type: module.Bool, Default: false, Doc: "copy only the schema"},
			{Name: "data_only", Type: module.Bool, Default: false, Doc: "copy only the data (into an existing schema)"},
			{Name: "disable_triggers", Type: module.Bool, Default: false, Doc: "with data_only: disable triggers while loading"},
			{Name: "clean", Type: module.Bool, Default: false, Doc: "drop objects before recreating them (with if_exists)"},
			{Name: "single_transaction", Type: module.Bool, Default: true, Doc: "restore in one transaction: a failure leaves the target as it was"},
			{Name: "verify", Type: module.String, Default: "row_counts", Choices: []string{"none", "row_counts"}, Doc: "compare every table's row count with the source afterwards"},
		}, pgConnArgs()...),
		Check: checkPgCopy,
		New:   func() module.Module { return pgCopyModule{} },
	}
}

type pgCopyModule struct{}

// pgCopyPlan is what Apply carries out.
type pgCopyPlan struct {
	args, source module.Args
	create       bool
	script       string
	env          map[string]string
	verify       bool
}

var pgCopySourceKeys = map[string]bool{"db": true, "login_host": true, "login_port": true, "login_user": true, "login_password": true, "ssl_mode": true}

func checkPgCopy(args module.Args) error {
	src, _ := args["source"].(map[string]any)
	for k := range src {
		if !pgCopySourceKeys[k] {
			return &module.ArgError{Arg: "source", Msg: fmt.Sprintf("pg_copy: unknown key %q in source", k)}
		}
	}
	if argString(module.Args(src), "db") == "" {
		return &module.ArgError{Arg: "source", Msg: "pg_copy: source needs a db"}
	}
	if argBool(args, "schema_only") && argBool(args, "data_only") {
		return &module.ArgError{Msg: "pg_copy: schema_only and data_only cannot be used together"}
	}
	if argBool(args, "disable_triggers") && !argBool(args, "data_only") {
		return &module.ArgError{Arg: "disable_triggers", Msg: "pg_copy: disable_triggers needs data_only"}
	}
	return nil
}

// sourceArgs turns the source mapping into connection arguments with the
// same defaults as the target's.
func sourceArgs(args module.Args) module.Args {
	src := module.Args{"login_port": 5432, "login_user": "postgres", "ssl_mode": "prefer"}
	for k, v := range args["source"].(map[string]any) {
		if k == "login_port" {
			if n, err := module.Convert(module.Int, v); err == nil {
				v = n
			}
		}
		src[k] = v
	}
	return src
}

func (pgCopyModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	if err := checkPgCopy(args); err != nil {
		return nil, err
	}
	src := sourceArgs(args)
	srcHost := argString(src, "login_host")
	if srcHost == "" {
		srcHost = "127.0.0.1"
	}
	dump := []string{"pg_dump", "--format=custom", "--no-password",
		"--host=" + srcHost, "--port=" + strconv.Itoa(src["login_port"].(int)),
		"--username=" + argString(src, "login_user"), "--dbname=" + argString(src, "db")}
	restore := []string{"pg_restore", "--no-password", "--exit-on-error", "--no-owner",
		"--host=" + pgTargetHost(args), "--port=" + strconv.Itoa(args["login_port"].(int)),
		"--username=" + argString(args, "login_user"), "--dbname=" + argString(args, "db")}
	for _, f := range []struct{ arg, flag string }{{"schema_only", "--schema-only"}, {"data_only", "--data-only"}} {
		if argBool(args, f.arg) {
			dump = append(dump, f.flag)
			restore = append(restore, f.flag)
		}
	}
	if argBool(args, "disable_triggers") {
		restore = append(restore, "--disable-triggers")
	}
	if argBool(args, "clean") {
		restore = append(restore, "--clean", "--if-exists")
	}
	if argBool(args, "single_transaction") {
		restore = append(restore, "--single-transaction")
	}
	// dd in the middle counts the bytes; its report goes to stdout (fd 3).
	// Each side's password comes from the environment, never argv.
	script := "set -o pipefail; exec 3>&1; PGPASSWORD=\"$CUTOVER_SOURCE_PASSWORD\" PGSSLMODE=\"$CUTOVER_SOURCE_SSLMODE\" " +
		conn.Quote(dump) + " | dd bs=1M iflag=fullblock 2>&3 | " + conn.Quote(restore) + " 3>&-"
	cmdEnv := pgCommandEnv(args)
	cmdEnv["CUTOVER_SOURCE_PASSWORD"] = argString(src, "login_password")
	cmdEnv["CUTOVER_SOURCE_SSLMODE"] = argString(src, "ssl_mode")
	exists, err := pgDatabaseExists(ctx, env.Host, args)
	if err != nil {
		return nil, err
	}
	if !exists && !argBool(args, "create") {
		return nil, fmt.Errorf("target database %q does not exist (set create: true)", argString(args, "db"))
	}
	summary := fmt.Sprintf("copy %s from %s into %s", argString(src, "db"), srcHost, argString(args, "db"))
	return &module.Change{Action: module.Invoke, Summary: summary, CheckSkip: "would " + summary,
		Data: &pgCopyPlan{args: args, source: src, create: !exists, script: script, env: cmdEnv,
			verify: argString(args, "verify") == "row_counts" && !argBool(args, "schema_only")}}, nil
}

// pgTargetHost is where pg_restore on the target host connects.
func pgTargetHost(args module.Args) string {
	if h := argString(args, "login_host"); h != "" {
		return h
	}
	return "127.0.0.1"
}

var ddBytes = regexp.MustCompile(`(?m)^(\d+) bytes .* copied, ([0-9.,]+) s`)

func (pgCopyModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*pgCopyPlan)
	db := argString(p.args, "db")
	if p.create {
		if err := pgCreateDatabase(ctx, h, p.args); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	res, err := h.Run(ctx, module.Command{Argv: []string{"bash", "-c", p.script}, Env: p.env})
	if err != nil {
		return nil, fmt.Errorf("pg_copy: %w", err)
	}
	seconds := time.Since(start).Seconds()
	if res.RC != 0 {
		return &module.Result{Failed: true, Msg: "pg_dump | pg_restore failed: " + strings.TrimSpace(string(res.Stderr)),
			Data: map[string]any{"rc": res.RC}}, nil
	}
	var bytes int64
	if m := ddBytes.FindStringSubmatch(string(res.Stdout)); m != nil {
		bytes, _ = strconv.ParseInt(m[1], 10, 64)
	}
	data := map[string]any{"bytes": bytes, "seconds": seconds, "db": db, "source_db": argString(p.source, "db")}
	if seconds > 0 {
		data["bytes_per_second"] = int64(float64(bytes) / seconds)
	}
	size, err := pgDatabaseSize(ctx, h, pgViaHost(p.source))
	if err != nil {
		return nil, fmt.Errorf("source size: %w", err)
	}
	data["source_size"] = size
	msg := fmt.Sprintf("copied a %s database in %.1f s (%s/s; the stream was %s)", humanBytes(size), seconds,
		humanBytes(int64(float64(size)/max(seconds, 1e-9))), humanBytes(bytes))
	if p.verify {
		tables, err := pgUserTables(ctx, h, p.args)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		want, err := pgCountRows(ctx, h, pgViaHost(p.source), tables)
		if err != nil {
			return nil, fmt.Errorf("verify: source counts: %w", err)
		}
		got, err := pgCountRows(ctx, h, p.args, tables)
		if err != nil {
			return nil, fmt.Errorf("verify: copied counts: %w", err)
		}
		var diffs []string
		for _, t := range tables {
			if got[t] != want[t] {
				diffs = append(diffs, fmt.Sprintf("%s: %d rows, source has %d", t, got[t], want[t]))
			}
		}
		if len(diffs) > 0 {
			return &module.Result{Failed: true, Msg: "verify: row counts differ: " + strings.Join(diffs, "; "), Data: data}, nil
		}
		data["verified_tables"] = len(tables)
		msg += fmt.Sprintf("; row counts of %d tables verified", len(tables))
	}
	return &module.Result{Changed: true, Msg: msg, Data: data}, nil
}

// pgViaHost makes a connection's arguments dial through the target host
// even with a login_host, as pg_dump there reaches the source.
func pgViaHost(args module.Args) module.Args {
	out := module.Args{}
	for k, v := range args {
		out[k] = v
	}
	out["_via_host"] = true
	return out
}

// pgUserTables lists the ordinary and partitioned tables outside the
// system schemas.
func pgUserTables(ctx context.Context, h module.Host, args module.Args) ([]pgTable, error) {
	c, err := pgConnect(ctx, h, args)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	rows, err := c.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgTable, error) {
		var t pgTable
		err := r.Scan(&t.schema, &t.name)
		return t, err
	})
}
