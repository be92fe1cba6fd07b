package modules

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/module"
)

// PgDump is the pg_dump module: it runs pg_dump (or pg_dumpall
// --globals-only) on the host into a temp name next to dest, reads the
// whole result back, and only then renames it to dest.
func PgDump() module.Info {
	return module.Info{
		Name: "pg_dump",
		Doc: "Dumps a database with pg_dump on the host (format custom, directory, plain or tar), or the roles and " +
			"tablespaces with pg_dumpall --globals-only (globals: true, plain SQL). The dump is written to a temp name in " +
			"dest's folder, verified (archives are read whole with pg_restore, plain dumps must end with pg_dump's trailer) " +
			"and only then renamed to dest; a failed or interrupted dump leaves nothing under either name. An existing dest " +
			"is never overwritten unless force. Registers dest, size, sha256 (of the file, or of toc.dat for the directory " +
			"format), format and seconds. Check mode reports the database size and writes nothing. The password travels " +
			"in PGPASSWORD, never on the command line.",
		Args: append(pgConnArgs(),
			module.Arg{Name: "dest", Type: module.Path, Required: true, Doc: "path of the dump on the host (a folder for the directory format)"},
			module.Arg{Name: "format", Type: module.String, Default: "custom", Choices: []string{"custom", "directory", "plain", "tar"}, Doc: "pg_dump output format (ignored with globals: always plain)"},
			module.Arg{Name: "jobs", Type: module.Int, Default: 0, Doc: "parallel dump jobs (directory format only)"},
			module.Arg{Name: "schema_only", Type: module.Bool, Default: false, Doc: "dump only the definitions"},
			module.Arg{Name: "data_only", Type: module.Bool, Default: false, Doc: "dump only the data"},
			module.Arg{Name: "schemas", Type: module.List, Doc: "dump only these schemas (pg_dump -n)"},
			module.Arg{Name: "tables", Type: module.List, Doc: "dump only these tables (pg_dump -t)"},
			module.Arg{Name: "exclude_tables", Type: module.List, Doc: "leave these tables out (pg_dump -T)"},
			module.Arg{Name: "globals", Type: module.Bool, Default: false, Doc: "dump roles and tablespaces with pg_dumpall --globals-only (plain SQL)"},
			module.Arg{Name: "force", Type: module.Bool, Default: false, Doc: "replace an existing dest; default: an existing dump is left alone"},
		),
		Probes: [][]string{},
		Check:  func(a module.Args) error { _, err := newPgDumpPlan(a); return err },
		New:    func() module.Module { return pgDumpModule{} },
	}
}

type pgDumpModule struct{}

// pgDumpPlan is what Apply runs.
type pgDumpPlan struct {
	args   module.Args // connection arguments
	dest   string
	format string // custom, directory, plain, tar ("plain" for globals)
	force  bool
	argv   []string // without the output path, added by Apply
	env    map[string]string
}

func newPgDumpPlan(args module.Args) (*pgDumpPlan, error) {
	dest := argString(args, "dest")
	if strings.TrimSpace(dest) == "" {
		return nil, fmt.Errorf("dest is empty")
	}
	p := &pgDumpPlan{args: args, dest: path.Clean(dest), format: argString(args, "format"), force: argBool(args, "force")}
	if p.format == "" {
		p.format = "custom"
	}
	jobs, _ := args["jobs"].(int)
	globals := argBool(args, "globals")
	switch {
	case argBool(args, "schema_only") && argBool(args, "data_only"):
		return nil, fmt.Errorf("schema_only and data_only cannot both be set")
	case jobs < 0:
		return nil, fmt.Errorf("jobs must be positive, not %d", jobs)
	case jobs > 1 && (p.format != "directory" || globals):
		return nil, fmt.Errorf("jobs needs format: directory (pg_dump writes other formats in one process)")
	}
	host := argString(args, "login_host")
	if host == "" {
		// pg_dump runs on the host itself: the server is its 127.0.0.1.
		host = "127.0.0.1"
	}
	port, _ := args["login_port"].(int)
	if port == 0 {
		port = 5432
	}
	conn := []string{"--host=" + host, "--port=" + strconv.Itoa(port), "--username=" + argString(args, "login_user"), "--no-password"}
	p.env = pgCommandEnv(args)
	if globals {
		lists := []string{"schemas", "tables", "exclude_tables"}
		for _, name := range lists {
			if l, _ := args[name].([]any); len(l) > 0 {
				return nil, fmt.Errorf("%s cannot be used with globals", name)
			}
		}
		if argBool(args, "schema_only") || argBool(args, "data_only") {
			return nil, fmt.Errorf("schema_only and data_only cannot be used with globals")
		}
		p.format = "plain"
		p.argv = append([]string{"pg_dumpall", "--globals-only"}, conn...)
		p.argv = append(p.argv, "--database="+argString(args, "db"))
		return p, nil
	}
	p.argv = append([]string{"pg_dump"}, conn...)
	p.argv = append(p.argv, "--dbname="+argString(args, "db"), "--format="+p.format)
	if jobs > 1 {
		p.argv = append(p.argv, "--jobs="+strconv.Itoa(jobs))
	}
	if argBool(args, "schema_only") {
		p.argv = append(p.argv, "--schema-only")
	}
	if argBool(args, "data_only") {
		p.argv = append(p.argv, "--data-only")
	}
	for _, l := range []struct{ arg, flag string }{{"schemas", "--schema="}, {"tables", "--table="}, {"exclude_tables", "--exclude-table="}} {
		items, _ := args[l.arg].([]any)
		for _, it := range items {
			s := fmt.Sprint(it)
			if s == "" {
				return nil, fmt.Errorf("%s holds an empty name", l.arg)
			}
			p.argv = append(p.argv, l.flag+s)
		}
	}
	return p, nil
}

// pgCommandEnv is the environment of a libpq client command: the password
// in PGPASSWORD (never on the command line) and the SSL mode.
func pgCommandEnv(args module.Args) map[string]string {
	env := map[string]string{}
	if pw := argString(args, "login_password"); pw != "" {
		env["PGPASSWORD"] = pw
	}
	if m := argString(args, "ssl_mode"); m != "" {
		env["PGSSLMODE"] = m
	}
	return env
}

func (pgDumpModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	p, err := newPgDumpPlan(args)
	if err != nil {
		return nil, err
	}
	fi, err := env.Host.Stat(ctx, p.dest)
	switch {
	case err == nil && fi.Exists && !p.force:
		msg := "dump exists: " + p.dest + " (force: true to replace it)"
		return &module.Change{Action: module.None, Summary: msg,
			Result: &module.Result{Msg: msg, Data: map[string]any{"dest": p.dest, "size": fi.Size}}}, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("stat %s: %w", p.dest, err)
	}
	size, err := pgDatabaseSize(ctx, env.Host, args)
	if err != nil {
		return nil, err
	}
	what := "database " + argString(args, "db")
	if argBool(args, "globals") {
		what = "globals (roles, tablespaces) of the server of " + argString(args, "db")
	}
	summary := fmt.Sprintf("dump %s (%s) as %s to %s", what, humanBytes(size), p.format, p.dest)
	return &module.Change{Action: module.Invoke, Summary: summary,
		CheckSkip: "pg_dump: would " + summary, Data: p,
		Result: &module.Result{Msg: summary, Data: map[string]any{"dest": p.dest, "format": p.format, "database_size": size}}}, nil
}

// pgDatabaseSize reads pg_database_size of the task's database in a READ
// ONLY transaction.
func pgDatabaseSize(ctx context.Context, h module.Host, args module.Args) (int64, error) {
	c, err := pgConnect(ctx, h, args)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read only
	var size int64
	if err := tx.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&size); err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return size, nil
}

func (pgDumpModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*pgDumpPlan)
	start := time.Now()
	temp := p.dest + ".cutover-tmp-" + randomHex(6)
	// Cleanup must run even when ctx is cancelled (an interrupted dump).
	cleanup := func() { removeOnHost(context.WithoutCancel(ctx), h, temp) }

	argv := append(append([]string{}, p.argv...), "--file="+temp)
	res, err := h.Run(ctx, module.Command{Argv: argv, Env: p.env})
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("%s: %w", p.argv[0], err)
	}
	if res.RC != 0 {
		cleanup()
		return nil, fmt.Errorf("%s exited with %d: %s", p.argv[0], res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	if pgDumpBeforeVerify != nil {
		pgDumpBeforeVerify(temp)
	}
	if err := verifyPgDump(ctx, h, temp, p.format, argBool(p.args, "globals")); err != nil {
		cleanup()
		return nil, fmt.Errorf("verify %s: %w", temp, err)
	}
	sum, size, err := pgDumpDigest(ctx, h, temp, p.format)
	if err != nil {
		cleanup()
		return nil, err
	}
	if err := renameOnHost(ctx, h, temp, p.dest, p.force); err != nil {
		cleanup()
		return nil, err
	}
	seconds := time.Since(start).Seconds()
	return &module.Result{Changed: true,
		Msg: fmt.Sprintf("dumped %s to %s (%s, %.1fs)", argString(p.args, "db"), p.dest, humanBytes(size), seconds),
		Data: map[string]any{"dest": p.dest, "size": size, "sha256": sum, "format": p.format,
			"seconds": seconds}}, nil
}

// pgDumpBeforeVerify, when set by a test, runs between the dump and its
// verification (to truncate the temp file, as a killed dump would).
var pgDumpBeforeVerify func(temp string)

// verifyPgDump reads a dump back whole. pg_restore --list reads only the
// table of contents and accepts a truncated archive, so archives are also
// restored to /dev/null, which reads every data block. A plain dump must
// end with pg_dump's (or pg_dumpall's) trailer.
func verifyPgDump(ctx context.Context, h module.MutableHost, file, format string, globals bool) error {
	if format == "plain" {
		res, err := h.Run(ctx, module.Command{Argv: []string{"tail", "-c", "256", file}})
		if err != nil {
			return err
		}
		if res.RC != 0 {
			return fmt.Errorf("tail exited with %d: %s", res.RC, strings.TrimSpace(string(res.Stderr)))
		}
		trailer := "-- PostgreSQL database dump complete"
		if globals {
			trailer = "-- PostgreSQL database cluster dump complete"
		}
		if !bytes.Contains(res.Stdout, []byte(trailer)) {
			return fmt.Errorf("the dump does not end with %q: it is incomplete", trailer)
		}
		return nil
	}
	for _, argv := range [][]string{
		{"pg_restore", "--list", file},
		{"pg_restore", "--file=/dev/null", file},
	} {
		res, err := h.Run(ctx, module.Command{Argv: argv})
		if err != nil {
			return err
		}
		if res.RC != 0 {
			return fmt.Errorf("%s exited with %d: %s", strings.Join(argv[:2], " "), res.RC, strings.TrimSpace(string(res.Stderr)))
		}
	}
	return nil
}

// pgDumpDigest returns the sha256 of the dump file (of toc.dat for the
// directory format) and the dump's size in bytes (all files of a
// directory).
func pgDumpDigest(ctx context.Context, h module.MutableHost, file, format string) (string, int64, error) {
	target := file
	if format == "directory" {
		target = path.Join(file, "toc.dat")
	}
	res, err := h.Run(ctx, module.Command{Argv: []string{"sha256sum", "--", target}})
	if err != nil {
		return "", 0, err
	}
	if res.RC != 0 {
		return "", 0, fmt.Errorf("sha256sum %s exited with %d: %s", target, res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	sum, _, _ := strings.Cut(string(res.Stdout), " ")
	if len(sum) != 64 {
		return "", 0, fmt.Errorf("sha256sum %s: unexpected output %q", target, res.Stdout)
	}
	if format != "directory" {
		fi, err := h.Stat(ctx, file)
		if err != nil {
			return "", 0, fmt.Errorf("stat %s: %w", file, err)
		}
		return sum, fi.Size, nil
	}
	res, err = h.Run(ctx, module.Command{Argv: []string{"du", "-sb", "--", file}})
	if err != nil {
		return "", 0, err
	}
	if res.RC != 0 {
		return "", 0, fmt.Errorf("du %s exited with %d: %s", file, res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	field, _, _ := strings.Cut(strings.TrimSpace(string(res.Stdout)), "\t")
	size, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("du %s: unexpected output %q", file, res.Stdout)
	}
	return sum, size, nil
}

// renameOnHost moves from to to. Without force an existing to (created
// since Plan) is an error; with force it is removed first (a directory
// dump cannot be renamed over a non-empty folder).
func renameOnHost(ctx context.Context, h module.MutableHost, from, to string, force bool) error {
	fi, err := h.Stat(ctx, to)
	switch {
	case err == nil && fi.Exists && !force:
		return fmt.Errorf("%s appeared since the plan; not overwritten (force: true to replace it)", to)
	case err == nil && fi.Exists:
		if err := removeOnHost(ctx, h, to); err != nil {
			return err
		}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("stat %s: %w", to, err)
	}
	res, err := h.Run(ctx, module.Command{Argv: []string{"mv", "-T", "--", from, to}})
	if err != nil {
		return err
	}
	if res.RC != 0 {
		return fmt.Errorf("mv %s %s exited with %d: %s", from, to, res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// removeOnHost removes a file or folder tree on the host; a missing path is
// not an error.
func removeOnHost(ctx context.Context, h module.MutableHost, p string) error {
	res, err := h.Run(ctx, module.Command{Argv: []string{"rm", "-rf", "--", p}})
	if err != nil {
		return err
	}
	if res.RC != 0 {
		return fmt.Errorf("rm %s exited with %d: %s", p, res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // never fails
	return hex.EncodeToString(b)
}

// humanBytes prints a size as PostgreSQL's pg_size_pretty does.
func humanBytes(n int64) string {
	const unit = 1024
	if n < 10*unit {
		return fmt.Sprintf("%d bytes", n)
	}
	f, units := float64(n), []string{"kB", "MB", "GB", "TB"}
	i := -1
	for f >= 10*unit && i < len(units)-1 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.0f %s", f, units[i])
}
