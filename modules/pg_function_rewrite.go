package modules

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/cutover/cutover/engine/module"
)

// PgFunctionRewrite is the pg_function_rewrite module: it applies an
// ordered list of text replacements to the definitions of selected
// functions and procedures, as pg_get_functiondef prints them, and puts the
// changed ones back with CREATE OR REPLACE in one transaction. Starting
// from the full definition keeps SECURITY DEFINER, SET options and
// volatility; CREATE OR REPLACE keeps owner, grants and comments.
//
// Plan reads the definitions in a read-only transaction, then proves that
// every new definition compiles by running them all in a second
// transaction that is always rolled back. Diffs and results have passwords
// masked. Apply writes a rollback file of the original definitions to
// backup_dir first, then replaces, reads each definition back and compares
// it with the planned text before committing.
//
// With foreign_servers the same rules reach every foreign server's options
// and every user mapping's options (ALTER ... OPTIONS (SET ...), proven in
// the rolled-back transaction too, applied in the same transaction as the
// functions). A password option changes only when a literal from is its
// whole value, and diffs show it masked. A role that is not a superuser
// sees NULL for the options of most mappings: those are named in the
// result's notes and unreadable_user_mappings, not guessed at.
func PgFunctionRewrite() module.Info {
	args := append(pgConnArgs(),
		module.Arg{Name: "schemas", Type: module.List, Doc: "schemas to search; default every non-system schema"},
		module.Arg{Name: "name", Type: module.String, Doc: "LIKE pattern on function names (e.g. amqp_%); default all"},
		module.Arg{Name: "replacements", Type: module.Raw, Required: true, Doc: "ordered list of {from, to, regex}; literal matches need whole-token boundaries (10.0.10.4 never matches in 10.0.10.48); regex uses Go syntax with $1 groups"},
		module.Arg{Name: "tables", Type: module.List, Doc: "plain table values to rewrite too: list of {table: schema.table, column}"},
		module.Arg{Name: "foreign_servers", Type: module.Bool, Default: false, Doc: "also rewrite foreign servers' options (postgres_fdw host, port, dbname) and user mappings' options; a password changes only when a literal from is the whole value, and is masked in diffs; a non-superuser may not see every mapping's options and the result's notes name those"},
		module.Arg{Name: "backup_dir", Type: module.Path, Doc: "folder on the host for a rollback SQL file of the original definitions (mode 0600), written before applying"},
	)
	return module.Info{
		Name: "pg_function_rewrite",
		Doc:  "Rewrite text in PostgreSQL function and procedure definitions (IPs to names, routing keys) with CREATE OR REPLACE in one transaction, compiling every new definition in a rolled-back transaction at plan time; optionally table values and foreign servers' and user mappings' options.",
		Args: args,
		Check: func(a module.Args) error {
			if _, err := rewriteRulesFrom(a["replacements"]); err != nil {
				return err
			}
			_, err := rewriteColumnsFrom(a["tables"])
			return err
		},
		New: func() module.Module { return pgFunctionRewriteModule{} },
	}
}

type pgFunctionRewriteModule struct{}

// pgRoutine is one function or procedure and its planned rewrite.
type pgRoutine struct {
	OID    uint32
	Ident  string // schema.name(identity args)
	Before string // pg_get_functiondef output
	After  string
}

// pgFunctionRewritePlan is what Apply needs.
type pgFunctionRewritePlan struct {
	args      module.Args
	routines  []pgRoutine
	values    []pgValueRewrite
	fdws      []pgFDWRewrite
	backupDir string
}

const pgRoutinesQuery = `
SELECT p.oid, n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  AND ($1::text[] IS NULL OR n.nspname = ANY($1::text[]))
  AND ($2::text IS NULL OR p.proname LIKE $2::text)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY n.nspname, p.proname, 4`

func (pgFunctionRewriteModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	rules, err := rewriteRulesFrom(args["replacements"])
	if err != nil {
		return nil, err
	}
	var schemas []string
	if v, ok := args["schemas"].([]any); ok && len(v) > 0 {
		for _, s := range v {
			schemas = append(schemas, fmt.Sprint(s))
		}
	}
	columns, err := rewriteColumnsFrom(args["tables"])
	if err != nil {
		return nil, err
	}
	var namePattern *string
	if n := argString(args, "name"); n != "" {
		namePattern = &n
	}

	db, err := pgConnect(ctx, env.Host, args)
	if err != nil {
		return nil, err
	}
	defer db.Close(context.WithoutCancel(ctx))

	routines, seen, notes, err := readRewrites(ctx, db, schemas, namePattern, rules)
	if err != nil {
		return nil, err
	}
	if err := compileRewrites(ctx, db, routines); err != nil {
		return nil, err
	}
	values, err := readValueRewrites(ctx, db, columns, rules)
	if err != nil {
		return nil, err
	}
	var fdws []pgFDWRewrite
	var unreadable []string
	if argBool(args, "foreign_servers") {
		var fdwNotes []string
		fdws, fdwNotes, unreadable, err = readFDWRewrites(ctx, db, rules)
		if err != nil {
			return nil, err
		}
		notes = append(notes, fdwNotes...)
		if err := validateFDWRewrites(ctx, db, fdws); err != nil {
			return nil, err
		}
	}

	idents := make([]any, 0, len(routines))
	diffs := make([]module.Diff, 0, len(routines))
	unified := make([]any, 0, len(routines))
	for _, r := range routines {
		idents = append(idents, r.Ident)
		before, after := maskRewriteSecrets(r.Before)+"\n", maskRewriteSecrets(r.After)+"\n"
		diffs = append(diffs, module.Diff{BeforeHeader: r.Ident, AfterHeader: r.Ident, Before: before, After: after})
		text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(before), B: difflib.SplitLines(after),
			FromFile: r.Ident, ToFile: r.Ident, Context: 3,
		})
		unified = append(unified, text)
	}
	valueList := make([]any, 0, len(values))
	for _, v := range values {
		valueList = append(valueList, v.Ident())
		diffs = append(diffs, module.Diff{BeforeHeader: v.Ident(), AfterHeader: v.Ident(),
			Before: maskRewriteSecrets(v.Before) + "\n", After: maskRewriteSecrets(v.After) + "\n"})
	}
	servers, mappings := []any{}, []any{}
	for _, f := range fdws {
		if f.Mapping {
			mappings = append(mappings, f.Ident())
		} else {
			servers = append(servers, f.Ident())
		}
		diffs = append(diffs, module.Diff{BeforeHeader: f.Ident(), AfterHeader: f.Ident(),
			Before: f.diffText(false), After: f.diffText(true)})
		text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(f.diffText(false)), B: difflib.SplitLines(f.diffText(true)),
			FromFile: f.Ident(), ToFile: f.Ident(), Context: 3,
		})
		unified = append(unified, text)
	}
	unreadableList := make([]any, 0, len(unreadable))
	for _, u := range unreadable {
		unreadableList = append(unreadableList, u)
	}
	noteList := make([]any, 0, len(notes))
	for _, n := range notes {
		noteList = append(noteList, n)
	}
	data := map[string]any{"functions": idents, "examined": seen, "diffs": unified, "notes": noteList, "values": valueList}
	if argBool(args, "foreign_servers") {
		data["foreign_servers"] = servers
		data["user_mappings"] = mappings
		data["unreadable_user_mappings"] = unreadableList
	}
	if len(routines) == 0 && len(values) == 0 && len(fdws) == 0 {
		msg := fmt.Sprintf("%d functions examined, none would change", seen)
		return &module.Change{Action: module.None, Summary: msg,
			Result: &module.Result{Msg: msg, Data: data}}, nil
	}
	summary := rewriteCounts(routines, values, fdws) + " would change"
	return &module.Change{
		Action:  module.Update,
		Summary: summary,
		Diffs:   diffs,
		Result:  &module.Result{Changed: true, Msg: summary, Data: data},
		Data:    &pgFunctionRewritePlan{args: args, routines: routines, values: values, fdws: fdws, backupDir: argString(args, "backup_dir")},
	}, nil
}

// readRewrites reads the selected definitions in a read-only transaction
// and returns those the rules change, how many were examined, and notes
// ("schema.fn: ...") on matches left alone.
func readRewrites(ctx context.Context, db *pgx.Conn, schemas []string, namePattern *string, rules []rewriteRule) ([]pgRoutine, int, []string, error) {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, nil, fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, pgRoutinesQuery, schemas, namePattern)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("list functions: %w", err)
	}
	var routines []pgRoutine
	var notes []string
	seen := 0
	for rows.Next() {
		var r pgRoutine
		var schema, name, identArgs string
		if err := rows.Scan(&r.OID, &schema, &name, &identArgs, &r.Before); err != nil {
			return nil, 0, nil, fmt.Errorf("list functions: %w", err)
		}
		seen++
		r.Ident = fmt.Sprintf("%s.%s(%s)", schema, name, identArgs)
		after, n, ns := applyRewriteRules(r.Before, rules)
		for _, note := range ns {
			notes = append(notes, r.Ident+": "+string(note))
		}
		if n == 0 || after == r.Before {
			continue
		}
		r.After = after
		routines = append(routines, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, nil, fmt.Errorf("list functions: %w", err)
	}
	return routines, seen, notes, nil
}

// compileRewrites runs every new definition in one transaction and always
// rolls it back: PostgreSQL checks each body (check_function_bodies) and
// nothing persists.
func compileRewrites(ctx context.Context, db *pgx.Conn, routines []pgRoutine) error {
	if len(routines) == 0 {
		return nil
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin compile check: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, r := range routines {
		if _, err := tx.Exec(ctx, r.After+";"); err != nil {
			return maskedRewriteError(fmt.Sprintf("new definition of %s does not compile", r.Ident), err)
		}
	}
	return nil
}

// maskedRewriteError wraps a database error whose text may quote a
// definition, with passwords masked. The original error is not kept: its
// text could reach the user through errors.Unwrap.
func maskedRewriteError(what string, err error) error {
	return errors.New(maskRewriteSecrets(what + ": " + err.Error()))
}

func (pgFunctionRewriteModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p, ok := c.Data.(*pgFunctionRewritePlan)
	if !ok {
		return nil, fmt.Errorf("pg_function_rewrite: unexpected plan data %T", c.Data)
	}
	res := &module.Result{Changed: true, Data: map[string]any{}}
	for k, v := range c.Result.Data {
		res.Data[k] = v
	}
	if p.backupDir != "" {
		file, err := writeRewriteBackup(ctx, h, p)
		if err != nil {
			return nil, err
		}
		res.Data["backup_file"] = file
	}

	db, err := pgConnect(ctx, h, p.args)
	if err != nil {
		return nil, err
	}
	defer db.Close(context.WithoutCancel(ctx))
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, r := range p.routines {
		// Refuse to overwrite a definition someone changed since the plan.
		var current string
		if err := tx.QueryRow(ctx, `SELECT pg_get_functiondef($1::oid) FROM pg_proc WHERE oid = $1::oid FOR UPDATE`, r.OID).Scan(&current); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, fmt.Errorf("%s was dropped since the plan", r.Ident)
			}
			return nil, fmt.Errorf("read %s: %w", r.Ident, err)
		}
		if current != r.Before {
			return nil, fmt.Errorf("%s changed since the plan; nothing was applied", r.Ident)
		}
		if _, err := tx.Exec(ctx, r.After+";"); err != nil {
			return nil, maskedRewriteError("replace "+r.Ident, err)
		}
		var got string
		if err := tx.QueryRow(ctx, `SELECT pg_get_functiondef($1::oid)`, r.OID).Scan(&got); err != nil {
			return nil, fmt.Errorf("read back %s: %w", r.Ident, err)
		}
		if normalizeSQLSpace(got) != normalizeSQLSpace(r.After) {
			return nil, fmt.Errorf("%s reads back different from the planned definition; nothing was applied", r.Ident)
		}
	}
	if err := applyValueRewrites(ctx, tx, p.values); err != nil {
		return nil, err
	}
	if err := applyFDWRewrites(ctx, tx, p.fdws); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	res.Msg = rewriteCounts(p.routines, p.values, p.fdws) + " rewritten"
	return res, nil
}

// writeRewriteBackup writes the original definitions as one transaction
// to a new 0600 file under backup_dir and returns its path. The file holds
// the definitions as they are, passwords included.
func writeRewriteBackup(ctx context.Context, h module.MutableHost, p *pgFunctionRewritePlan) (string, error) {
	out, err := h.Run(ctx, module.Command{Argv: []string{"mkdir", "-p", "--", p.backupDir}})
	if err != nil {
		return "", fmt.Errorf("create %s: %w", p.backupDir, err)
	}
	if out.RC != 0 {
		return "", fmt.Errorf("create %s: %s", p.backupDir, strings.TrimSpace(string(out.Stderr)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- pg_function_rewrite rollback for database %s, %s\n", argString(p.args, "db"), time.Now().UTC().Format(time.RFC3339))
	b.WriteString("BEGIN;\n\n")
	for _, r := range p.routines {
		fmt.Fprintf(&b, "-- %s\n%s;\n\n", r.Ident, r.Before)
	}
	for _, v := range p.values {
		fmt.Fprintf(&b, "-- %s\nUPDATE %s SET %s = %s WHERE %s = %s;\n\n", v.Ident(), v.Column.tableSQL(), v.Column.columnSQL(),
			sqlLiteral(v.Before), v.Column.columnSQL(), sqlLiteral(v.After))
	}
	for _, f := range p.fdws {
		fmt.Fprintf(&b, "-- %s\n%s;\n\n", f.Ident(), f.alterSQL(false))
	}
	b.WriteString("COMMIT;\n")
	name := fmt.Sprintf("pg_function_rewrite-%s-%s.sql", safeFileWord(argString(p.args, "db")), time.Now().UTC().Format("20060102T150405.000000000Z"))
	file := path.Join(p.backupDir, name)
	if err := h.WriteFile(ctx, file, []byte(b.String()), module.WriteOptions{Mode: 0o600}); err != nil {
		return "", fmt.Errorf("write rollback file %s: %w", file, err)
	}
	return file, nil
}

// rewriteCounts says how many objects a plan touches: "2 functions",
// "0 functions and 1 table values", "1 functions, 2 table values and 2
// foreign servers/user mappings".
func rewriteCounts(routines []pgRoutine, values []pgValueRewrite, fdws []pgFDWRewrite) string {
	parts := []string{fmt.Sprintf("%d functions", len(routines))}
	if len(values) > 0 {
		parts = append(parts, fmt.Sprintf("%d table values", len(values)))
	}
	if len(fdws) > 0 {
		parts = append(parts, fmt.Sprintf("%d foreign servers/user mappings", len(fdws)))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func safeFileWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// normalizeSQLSpace collapses runs of white space, so a read-back that
// differs only in layout still compares equal.
func normalizeSQLSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
