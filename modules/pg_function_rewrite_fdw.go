package modules

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/lazyre"
)

// pgFDWOption is one generic option of a foreign server or user mapping.
type pgFDWOption struct {
	Key, Before, After string
}

func (o pgFDWOption) changed() bool { return o.Before != o.After }

// pgFDWRewrite is one foreign server (Mapping false) or user mapping and
// its options, before and after the rules.
type pgFDWRewrite struct {
	Mapping bool
	Server  string
	UMUser  uint32 // user mappings: the role's oid, 0 for PUBLIC
	User    string // user mappings: the role's name ("public" for PUBLIC)
	Options []pgFDWOption
}

// Ident names the object for diffs, results and errors.
func (f pgFDWRewrite) Ident() string {
	if f.Mapping {
		return fmt.Sprintf("user mapping for %s on server %s", f.userWord(), f.Server)
	}
	return "server " + f.Server
}

func (f pgFDWRewrite) userWord() string {
	if f.UMUser == 0 {
		return "PUBLIC"
	}
	return f.User
}

// alterSQL is the ALTER statement setting every changed option to its
// new value (after) or back to its old one.
func (f pgFDWRewrite) alterSQL(after bool) string {
	var sets []string
	for _, o := range f.Options {
		if !o.changed() {
			continue
		}
		v := o.Before
		if after {
			v = o.After
		}
		sets = append(sets, "SET "+fdwOptionName(o.Key)+" "+fdwLiteral(v))
	}
	opts := " OPTIONS (" + strings.Join(sets, ", ") + ")"
	server := pgx.Identifier{f.Server}.Sanitize()
	if !f.Mapping {
		return "ALTER SERVER " + server + opts
	}
	user := "PUBLIC"
	if f.UMUser != 0 {
		user = pgx.Identifier{f.User}.Sanitize()
	}
	return "ALTER USER MAPPING FOR " + user + " SERVER " + server + opts
}

// diffText lists the options one per line, passwords masked; the after
// side says "password changed" where the value did.
func (f pgFDWRewrite) diffText(after bool) string {
	var b strings.Builder
	for _, o := range f.Options {
		v := o.Before
		if after {
			v = o.After
		}
		if fdwSecretKey(o.Key) {
			v = "********"
			if after && o.changed() {
				v += " (password changed)"
			}
		}
		fmt.Fprintf(&b, "%s=%s\n", o.Key, v)
	}
	return b.String()
}

// values returns the options as a map, before or after.
func (f pgFDWRewrite) values(after bool) map[string]string {
	m := make(map[string]string, len(f.Options))
	for _, o := range f.Options {
		if after {
			m[o.Key] = o.After
		} else {
			m[o.Key] = o.Before
		}
	}
	return m
}

var fdwPlainName = lazyre.New(`^[a-z_][a-z0-9_]*$`)

// fdwOptionName writes an option name bare when it is a plain lower-case
// word (any keyword is allowed there) and quoted otherwise.
func fdwOptionName(k string) string {
	if fdwPlainName.MatchString(k) {
		return k
	}
	return pgx.Identifier{k}.Sanitize()
}

// fdwLiteral quotes s as a SQL string literal that reads the same whatever
// standard_conforming_strings says: a value with a backslash is written as
// E-string (E'...') with the backslashes doubled.
func fdwLiteral(s string) string {
	if strings.Contains(s, `\`) {
		return "E'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
	}
	return sqlLiteral(s)
}

func fdwSecretKey(k string) bool { return strings.EqualFold(k, "password") }

// splitFDWOptions splits catalog options ("key=value") in order.
func splitFDWOptions(raw []string) []pgFDWOption {
	opts := make([]pgFDWOption, 0, len(raw))
	for _, kv := range raw {
		k, v, _ := strings.Cut(kv, "=")
		opts = append(opts, pgFDWOption{Key: k, Before: v, After: v})
	}
	return opts
}

func fdwOptionMap(raw []string) map[string]string {
	m := make(map[string]string, len(raw))
	for _, o := range splitFDWOptions(raw) {
		m[o.Key] = o.Before
	}
	return m
}

// rewriteFDWValue applies the rules to one option value. A password
// changes only where a literal rule's from is the whole value: passwords
// are replaced by an explicit {from: old, to: new}, never by a match
// inside them. A hostaddr stays numeric (libpq takes only an IP there),
// with a note, as in function definitions.
func rewriteFDWValue(key, value string, rules []rewriteRule) (string, []rewriteNote) {
	if fdwSecretKey(key) {
		for _, r := range rules {
			if !r.Regex && value == r.From {
				value = r.To
			}
		}
		return value, nil
	}
	if strings.EqualFold(key, "hostaddr") {
		prefix := key + "="
		out, _, notes := applyRewriteRules(prefix+value, rules)
		if after, ok := strings.CutPrefix(out, prefix); ok {
			return after, notes
		}
		return value, notes
	}
	out, _, notes := applyRewriteRules(value, rules)
	return out, notes
}

func (f *pgFDWRewrite) apply(rules []rewriteRule) (changed bool, notes []string) {
	for i := range f.Options {
		o := &f.Options[i]
		after, ns := rewriteFDWValue(o.Key, o.Before, rules)
		for _, n := range ns {
			notes = append(notes, f.Ident()+": "+string(n))
		}
		o.After = after
		if o.changed() {
			changed = true
			if fdwSecretKey(o.Key) {
				notes = append(notes, f.Ident()+": password changed")
			}
		}
	}
	return changed, notes
}

const pgFDWServersQuery = `
SELECT s.srvname, coalesce(s.srvoptions, '{}')
FROM pg_foreign_server s
ORDER BY s.srvname`

// The view pg_user_mappings shows umoptions as NULL unless the current
// user may read them; readable repeats its rule, so a NULL that means "no
// options" is told apart from one that means "hidden".
const pgFDWMappingsQuery = `
SELECT m.srvname, m.umuser, coalesce(m.usename, 'public'), coalesce(m.umoptions, '{}'),
       m.umoptions IS NOT NULL
       OR coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
       OR (m.umuser <> 0 AND m.usename = current_user
           AND (pg_has_role(s.srvowner, 'USAGE') OR has_server_privilege(s.oid, 'USAGE')))
       OR (m.umuser = 0 AND pg_has_role(s.srvowner, 'USAGE'))
FROM pg_user_mappings m
JOIN pg_foreign_server s ON s.oid = m.srvid
ORDER BY m.srvname, m.umuser <> 0, 3`

// readFDWRewrites reads every foreign server's and user mapping's options
// in a read-only transaction and returns those the rules change, plus
// notes: matches left alone, passwords changed, and mappings whose options
// the current user cannot read (only a superuser reads every one).
func readFDWRewrites(ctx context.Context, db *pgx.Conn, rules []rewriteRule) ([]pgFDWRewrite, []string, []string, error) {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var out []pgFDWRewrite
	var notes, unreadable []string

	rows, err := tx.Query(ctx, pgFDWServersQuery)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list foreign servers: %w", err)
	}
	for rows.Next() {
		var f pgFDWRewrite
		var raw []string
		if err := rows.Scan(&f.Server, &raw); err != nil {
			rows.Close()
			return nil, nil, nil, fmt.Errorf("list foreign servers: %w", err)
		}
		f.Options = splitFDWOptions(raw)
		changed, ns := f.apply(rules)
		notes = append(notes, ns...)
		if changed {
			out = append(out, f)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("list foreign servers: %w", err)
	}

	rows, err = tx.Query(ctx, pgFDWMappingsQuery)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list user mappings: %w", err)
	}
	for rows.Next() {
		f := pgFDWRewrite{Mapping: true}
		var raw []string
		var readable bool
		if err := rows.Scan(&f.Server, &f.UMUser, &f.User, &raw, &readable); err != nil {
			rows.Close()
			return nil, nil, nil, fmt.Errorf("list user mappings: %w", err)
		}
		if !readable {
			unreadable = append(unreadable, f.Ident())
			notes = append(notes, f.Ident()+": options not readable by this role (only a superuser, the server's owner or the mapped user sees them); not rewritten")
			continue
		}
		f.Options = splitFDWOptions(raw)
		changed, ns := f.apply(rules)
		notes = append(notes, ns...)
		if changed {
			out = append(out, f)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("list user mappings: %w", err)
	}
	return out, notes, unreadable, nil
}

// validateFDWRewrites runs every planned ALTER in one transaction and
// always rolls it back: the foreign-data wrapper's validator checks each
// option and nothing persists.
func validateFDWRewrites(ctx context.Context, db *pgx.Conn, fdws []pgFDWRewrite) error {
	if len(fdws) == 0 {
		return nil
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin option check: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, f := range fdws {
		if _, err := tx.Exec(ctx, f.alterSQL(true)); err != nil {
			return maskedRewriteError("new options of "+f.Ident()+" are refused", err)
		}
	}
	return nil
}

// currentFDWOptions reads the options of f as they are now inside tx.
func currentFDWOptions(ctx context.Context, tx pgx.Tx, f pgFDWRewrite) (map[string]string, error) {
	var raw []string
	var err error
	if f.Mapping {
		err = tx.QueryRow(ctx, `SELECT coalesce(umoptions, '{}') FROM pg_user_mappings WHERE srvname = $1 AND umuser = $2::oid`,
			f.Server, f.UMUser).Scan(&raw)
	} else {
		err = tx.QueryRow(ctx, `SELECT coalesce(srvoptions, '{}') FROM pg_foreign_server WHERE srvname = $1`, f.Server).Scan(&raw)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%s was dropped since the plan", f.Ident())
	}
	if err != nil {
		return nil, maskedRewriteError("read "+f.Ident(), err)
	}
	return fdwOptionMap(raw), nil
}

// applyFDWRewrites alters each planned server and mapping inside tx,
// refusing one whose options changed since the plan, and reads the options
// back.
func applyFDWRewrites(ctx context.Context, tx pgx.Tx, fdws []pgFDWRewrite) error {
	for _, f := range fdws {
		cur, err := currentFDWOptions(ctx, tx, f)
		if err != nil {
			return err
		}
		if !equalStringMaps(cur, f.values(false)) {
			return fmt.Errorf("%s changed since the plan; nothing was applied", f.Ident())
		}
		if _, err := tx.Exec(ctx, f.alterSQL(true)); err != nil {
			return maskedRewriteError("alter "+f.Ident(), err)
		}
		got, err := currentFDWOptions(ctx, tx, f)
		if err != nil {
			return err
		}
		if !equalStringMaps(got, f.values(true)) {
			return fmt.Errorf("%s reads back different from the planned options; nothing was applied", f.Ident())
		}
	}
	return nil
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
