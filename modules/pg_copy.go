package modules

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// PgCopy is the pg_copy module: the downtime path. On the target host it
// streams pg_dump of the source database straight into pg_restore, with
// no file in between, then compares every table's row count.
func PgCopy() module.Info {
	return module.Info{
		Name: "pg_copy",
		Doc: "Streams a database (or only its data) from a source server into the target host's server: pg_dump | pg_restore " +
			"on the target host, no intermediate file, uncompressed; with jobs > 1 the schema and data still stream, and the indexes, " +
			"constraints and triggers are then built with as many jobs (from one snapshot of the source). Reports bytes, seconds and " +
			"throughput, shows progress on a terminal, and verifies row counts at the end.",
		Args: append([]module.Arg{
			{Name: "source", Type: module.Dict, Required: true, Doc: "the source as the target host reaches it: db, login_host, login_port, login_user, login_password"},
			{Name: "create", Type: module.Bool, Default: false, Doc: "create the target database when it is absent"},
			{Name: "schema_only", Type: module.Bool, Default: false, Doc: "copy only the schema"},
			{Name: "data_only", Type: module.Bool, Default: false, Doc: "copy only the data (into an existing schema)"},
			{Name: "disable_triggers", Type: module.Bool, Default: false, Doc: "with data_only: disable triggers while loading"},
			{Name: "clean", Type: module.Bool, Default: false, Doc: "drop objects before recreating them (with if_exists)"},
			{Name: "single_transaction", Type: module.Bool, Doc: "restore in one transaction, so a failure leaves the target as it was; default true with one job (pg_restore cannot combine it with jobs)"},
			{Name: "jobs", Type: module.Int, Default: 1, Doc: "above 1: after the streamed schema and data, build indexes, constraints and triggers with this many jobs"},
			{Name: "work_dir", Type: module.String, Default: "/var/tmp", Doc: "with jobs > 1: where the small post-data dump is kept on the target host meanwhile (removed afterwards)"},
			{Name: "compress", Type: module.Int, Default: 0, Doc: "pg_dump's compression level (0-9): the dump never leaves the target host (a pipe, or work_dir with jobs), so by default no CPU goes to compressing it"},
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
	snapshot     bool // the script's dumps share a snapshot the module exports
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
	if jobs, _ := args["jobs"].(int); jobs > 1 && argBool(args, "single_transaction") {
		return &module.ArgError{Arg: "single_transaction", Msg: "pg_copy: single_transaction cannot be used with jobs > 1 (pg_restore runs each job in its own transaction)"}
	} else if jobs < 0 {
		return &module.ArgError{Arg: "jobs", Msg: "pg_copy: jobs must be 1 or more"}
	}
	if z, _ := args["compress"].(int); z < 0 || z > 9 {
		return &module.ArgError{Arg: "compress", Msg: "pg_copy: compress must be a level from 0 to 9"}
	}
	return nil
}

// pgCopyJobs is the number of jobs asked for, at least 1.
func pgCopyJobs(args module.Args) int {
	return max(1, argInt(args, "jobs"))
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
	jobs := pgCopyJobs(args)
	dump := []string{"pg_dump", "--no-password", "--compress=" + strconv.Itoa(args["compress"].(int)),
		"--host=" + srcHost, "--port=" + strconv.Itoa(src["login_port"].(int)),
		"--username=" + argString(src, "login_user"), "--dbname=" + argString(src, "db")}
	restore := []string{"pg_restore", "--no-password", "--exit-on-error", "--no-owner",
		"--host=" + pgTargetHost(args), "--port=" + strconv.Itoa(args["login_port"].(int)),
		"--username=" + argString(args, "login_user"), "--dbname=" + argString(args, "db")}
	if argBool(args, "data_only") {
		dump = append(dump, "--data-only")
		restore = append(restore, "--data-only")
		if argBool(args, "disable_triggers") {
			restore = append(restore, "--disable-triggers")
		}
	}
	if argBool(args, "schema_only") && jobs == 1 {
		dump = append(dump, "--schema-only")
		restore = append(restore, "--schema-only")
	}
	if argBool(args, "clean") {
		restore = append(restore, "--clean", "--if-exists")
	}
	if _, set := args["single_transaction"]; jobs == 1 && (!set || argBool(args, "single_transaction")) {
		restore = append(restore, "--single-transaction")
	}
	script := pgCopyScript(dump, restore, jobs, argString(args, "work_dir"), argBool(args, "schema_only"), argBool(args, "data_only"))
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
	if jobs > 1 {
		summary += fmt.Sprintf(" with %d jobs", jobs)
	}
	return &module.Change{Action: module.Invoke, Summary: summary, CheckSkip: "would " + summary,
		Data: &pgCopyPlan{args: args, source: src, create: !exists, script: script, env: cmdEnv,
			verify:   argString(args, "verify") == "row_counts" && !argBool(args, "schema_only"),
			snapshot: jobs > 1 && !argBool(args, "data_only")}}, nil
}

// pgCopyScript is the bash script that copies on the target host. Each
// side's password comes from the environment, never argv; the script
// prints "N bytes" on stdout, the size of what went across.
//
// With one job, everything goes in one stream: pg_dump | pg_restore. With
// more, the schema and the data still stream (nothing is written to disk
// and loading starts with the first byte), then what comes after the data
// (indexes, constraints, triggers: most of a restore's CPU) is dumped to a
// small file in work_dir and restored with that many jobs. Both dumps
// read the one snapshot the module holds open on the source
// ($CUTOVER_SNAPSHOT), so they see the same database.
func pgCopyScript(dump, restore []string, jobs int, workDir string, schemaOnly, dataOnly bool) string {
	srcEnv := "PGPASSWORD=\"$CUTOVER_SOURCE_PASSWORD\" PGSSLMODE=\"$CUTOVER_SOURCE_SSLMODE\" "
	// dd in the middle counts the bytes; its report goes to stdout (fd 3).
	stream := func(dump []string, extra string) string {
		return srcEnv + conn.Quote(append(dump, "--format=custom")) + extra +
			" | dd bs=1M iflag=fullblock 2>&3 | " + conn.Quote(restore) + " 3>&-"
	}
	if jobs == 1 || dataOnly {
		return "set -o pipefail; exec 3>&1; " + stream(dump, "")
	}
	const snapshot = ` --snapshot="$CUTOVER_SNAPSHOT"`
	first := []string{"--section=pre-data", "--section=data"}
	if schemaOnly {
		first = first[:1]
	}
	post := append(append([]string{}, dump...), "--section=post-data", "--format=custom")
	postRestore := append(withoutClean(restore), "--jobs="+strconv.Itoa(jobs))
	return "set -eo pipefail; exec 3>&1; dir=$(mktemp -d " + conn.Quote([]string{strings.TrimRight(workDir, "/") + "/cutover-copy.XXXXXX"}) + "); " +
		"trap 'rm -rf \"$dir\"' EXIT; " +
		stream(append(append([]string{}, dump...), first...), snapshot) + "; " +
		srcEnv + conn.Quote(post) + snapshot + ` --file="$dir/post-data"; ` +
		conn.Quote(postRestore) + ` "$dir/post-data"`
}

// withoutClean drops --clean and --if-exists: the first restore already
// dropped what existed.
func withoutClean(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "--clean" && a != "--if-exists" {
			out = append(out, a)
		}
	}
	return out
}

var copiedBytes = lazyre.New(`(?m)^(\d+) bytes `)

func (pgCopyModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*pgCopyPlan)
	db := argString(p.args, "db")
	size, err := pgDatabaseSize(ctx, h, p.source)
	if err != nil {
		return nil, fmt.Errorf("source size: %w", err)
	}
	if p.create {
		if err := pgCreateDatabase(ctx, h, p.args); err != nil {
			return nil, err
		}
	}
	env := p.env
	if p.snapshot {
		// The dumps of a copy with jobs read one snapshot, exported by a
		// transaction held open on the source until they are done.
		src, err := pgConnect(ctx, h, p.source)
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		defer src.Close(context.WithoutCancel(ctx))
		tx, err := src.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return nil, fmt.Errorf("source snapshot: %w", err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read only
		var id string
		if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&id); err != nil {
			return nil, fmt.Errorf("source snapshot: %w", err)
		}
		env = maps.Clone(env)
		env["CUTOVER_SNAPSHOT"] = id
	}
	start := time.Now()
	stopWatching := pgCopyWatch(ctx, h, p.args, size, start)
	res, err := h.Run(ctx, module.Command{Argv: []string{"bash", "-c", p.script}, Env: env})
	stopWatching()
	if err != nil {
		return nil, fmt.Errorf("pg_copy: %w", err)
	}
	seconds := time.Since(start).Seconds()
	if res.RC != 0 {
		return &module.Result{Failed: true, Msg: "pg_dump | pg_restore failed: " + strings.TrimSpace(string(res.Stderr)),
			Data: map[string]any{"rc": res.RC}}, nil
	}
	var bytes int64
	if m := copiedBytes.FindStringSubmatch(string(res.Stdout)); m != nil {
		bytes, _ = strconv.ParseInt(m[1], 10, 64)
	}
	data := map[string]any{"bytes": bytes, "seconds": seconds, "db": db, "source_db": argString(p.source, "db")}
	if seconds > 0 {
		data["bytes_per_second"] = int64(float64(bytes) / seconds)
	}
	data["source_size"] = size
	msg := fmt.Sprintf("copied a %s database in %.1f s (%s/s; the stream was %s)", humanBytes(size), seconds,
		humanBytes(int64(float64(size)/max(seconds, 1e-9))), humanBytes(bytes))
	if p.verify {
		tables, err := pgUserTables(ctx, h, p.args)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		// Both sides count at once: they are different servers.
		var want map[pgTable]int64
		var wantErr error
		counted := make(chan struct{})
		go func() {
			defer close(counted)
			want, wantErr = pgCountRows(ctx, h, p.source, tables)
		}()
		got, err := pgCountRows(ctx, h, p.args, tables)
		<-counted
		if wantErr != nil {
			return nil, fmt.Errorf("verify: source counts: %w", wantErr)
		}
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

// pgCopyWatchEvery is how often the progress line is refreshed.
const pgCopyWatchEvery = time.Second

// pgCopyWatch shows, while a copy runs and someone watches a terminal, how
// far the target database has grown against the source's size. It returns
// the function that stops it.
func pgCopyWatch(ctx context.Context, h module.Host, target module.Args, sourceSize int64, start time.Time) (stop func()) {
	if !module.Watching(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(pgCopyWatchEvery)
		defer tick.Stop()
		// One connection for the whole watch, asked once a tick.
		size := func() (int64, error) { return 0, errors.New("not connected") }
		if c, err := pgConnect(ctx, h, target); err == nil {
			defer c.Close(context.WithoutCancel(ctx))
			size = func() (int64, error) {
				var n int64
				err := c.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
				return n, err
			}
		}
		// A new database is not empty (its catalog): what was there at
		// the start counts as neither loaded nor to load.
		base := int64(-1)
		for {
			elapsed := time.Since(start)
			msg := fmt.Sprintf("pg_copy %s: %s", argString(target, "db"), elapsed.Truncate(time.Second))
			if got, err := size(); err == nil {
				if base < 0 {
					base = got
				}
				loaded, total := max(0, got-base), max(1, sourceSize-base)
				msg += fmt.Sprintf(", %s of about %s loaded (%d%%)", humanBytes(loaded), humanBytes(total), min(100, loaded*100/total))
				if elapsed >= time.Second {
					msg += fmt.Sprintf(", %s/s", humanBytes(int64(float64(loaded)/elapsed.Seconds())))
				}
			}
			module.Progress(ctx, msg)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
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
