package modules

import (
	"context"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cutover/cutover/engine/module"
)

// PgQuery is the pg_query module: it runs one SQL statement with bound
// parameters and registers its rows.
func PgQuery() module.Info {
	return module.Info{
		Name: "pg_query",
		Doc: "Runs one SQL statement with bound parameters ($1.. with positional_args, or :name / %(name)s with named_args, " +
			"translated to $n outside literals, identifiers and comments) and registers query_result, rowcount and statusmessage. " +
			"A read_only query runs inside a READ ONLY transaction that is rolled back, in check mode too; any other query runs " +
			"only when applying, in one transaction unless autocommit.",
		Args: append(pgConnArgs(),
			module.Arg{Name: "query", Type: module.String, Required: true, Doc: "one SQL statement; $1.. for positional_args, :name or %(name)s for named_args"},
			module.Arg{Name: "positional_args", Type: module.List, Doc: "values bound to $1, $2, ... (never spliced into the text)"},
			module.Arg{Name: "named_args", Type: module.Dict, Doc: "values bound to :name or %(name)s placeholders (never spliced into the text)"},
			module.Arg{Name: "read_only", Type: module.Bool, Default: false, Doc: "the query only reads: run it in a READ ONLY transaction, also in check mode, and roll it back"},
			module.Arg{Name: "autocommit", Type: module.Bool, Default: false, Doc: "run outside a transaction (CREATE DATABASE, VACUUM); default: one transaction, committed on success"},
		),
		New: func() module.Module { return pgQueryModule{} },
	}
}

type pgQueryModule struct{}

// pgQueryPlan is what Apply runs.
type pgQueryPlan struct {
	args     module.Args // connection arguments
	query    string      // as the user wrote it (registered as "query")
	sql      string      // with named placeholders translated to $n
	params   []any
	readOnly bool
	autocmt  bool
}

func (pgQueryModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	p, err := newPgQueryPlan(args)
	if err != nil {
		return nil, err
	}
	if !p.readOnly {
		// The statement may write: it cannot be previewed, so it runs
		// nowhere before Apply (and not at all in check mode).
		return &module.Change{Action: module.Invoke, Summary: pgQuerySummary(p.query),
			CheckSkip: "pg_query: not read_only, so not run in check mode", Data: p}, nil
	}
	res, err := runPgQuery(ctx, env.Host, p)
	if err != nil {
		return nil, err
	}
	return &module.Change{Action: module.None, Summary: pgQuerySummary(p.query), Result: res}, nil
}

func (pgQueryModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*pgQueryPlan)
	return runPgQuery(ctx, h, p)
}

func newPgQueryPlan(args module.Args) (*pgQueryPlan, error) {
	query := argString(args, "query")
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("query is empty")
	}
	p := &pgQueryPlan{args: args, query: query, sql: query,
		readOnly: argBool(args, "read_only"), autocmt: argBool(args, "autocommit")}
	positional, _ := args["positional_args"].([]any)
	named, _ := args["named_args"].(map[string]any)
	switch {
	case len(positional) > 0 && len(named) > 0:
		return nil, fmt.Errorf("only one of positional_args and named_args can be used")
	case len(named) > 0:
		sql, params, err := bindNamedArgs(query, named)
		if err != nil {
			return nil, err
		}
		p.sql, p.params = sql, params
	default:
		p.params = positional
	}
	return p, nil
}

// pgQuerySummary is the query's first line, shortened for the task line.
func pgQuerySummary(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		q = strings.TrimSpace(q[:i]) + " ..."
	}
	if len(q) > 120 {
		q = q[:117] + "..."
	}
	return q
}

// runPgQuery connects through h and runs the statement: in a READ ONLY
// transaction that is always rolled back when p.readOnly, outside any
// transaction when p.autocmt, else in one transaction committed on success.
func runPgQuery(ctx context.Context, h module.Host, p *pgQueryPlan) (*module.Result, error) {
	c, err := pgConnect(ctx, h, p.args)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))

	var q interface {
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	} = c
	var tx pgx.Tx
	if p.readOnly || !p.autocmt {
		opts := pgx.TxOptions{}
		if p.readOnly {
			opts.AccessMode = pgx.ReadOnly
		}
		if tx, err = c.BeginTx(ctx, opts); err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
		q = tx
	}
	rows, err := q.Query(ctx, p.sql, p.params...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	result, err := collectPgRows(rows)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	tag := rows.CommandTag()
	if tx != nil && !p.readOnly {
		if err := tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
	}
	changed := pgTagChanged(tag)
	if p.readOnly {
		changed = false
	}
	return &module.Result{Changed: changed, Msg: tag.String(), Data: map[string]any{
		"query":         p.query,
		"query_result":  result,
		"rowcount":      int(tag.RowsAffected()),
		"statusmessage": tag.String(),
	}}, nil
}

// pgTagChanged says whether a statement changed the database, from its
// command tag: reads never, DML when it touched rows, anything else
// (DDL, SET, GRANT...) always, as Ansible's postgresql_query does.
func pgTagChanged(tag pgconn.CommandTag) bool {
	s := tag.String()
	verb, _, _ := strings.Cut(s, " ")
	switch verb {
	case "SELECT", "SHOW", "EXPLAIN", "FETCH", "VALUES", "TABLE", "":
		return false
	case "INSERT", "UPDATE", "DELETE", "MERGE", "COPY":
		return tag.RowsAffected() > 0
	}
	return true
}

// collectPgRows reads every row into maps keyed by column name, with
// values converted to plain JSON-able types (see pgPlainValue).
func collectPgRows(rows pgx.Rows) ([]any, error) {
	defer rows.Close()
	out := []any{}
	fields := rows.FieldDescriptions()
	for rows.Next() {
		values, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := make(map[string]any, len(values))
		for i, v := range values {
			row[fields[i].Name] = pgPlainValue(v, fields[i].DataTypeOID)
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// pgPlainValue converts what pgx decoded into the types register and
// templates understand: int, float64, string, bool, nil, []any and
// map[string]any. Timestamps become RFC 3339 strings (dates
// "2006-01-02"), bytea the PostgreSQL hex form "\x0a1b", uuids their text
// form, and numeric an int when integral, else a float64 when that keeps
// every digit, else its exact text.
func pgPlainValue(v any, oid uint32) any {
	switch x := v.(type) {
	case nil, bool, string, float64:
		return x
	case int:
		return x
	case int8:
		return int(x)
	case int16:
		return int(x)
	case int32:
		return int(x)
	case int64:
		return int(x)
	case uint32:
		return int(x)
	case float32:
		return float64(x)
	case time.Time:
		if oid == pgtype.DateOID {
			return x.Format(time.DateOnly)
		}
		return x.Format(time.RFC3339Nano)
	case []byte:
		return `\x` + hex.EncodeToString(x)
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	case pgtype.Numeric:
		return pgNumericValue(x)
	case netip.Prefix:
		if x.IsSingleIP() && oid == pgtype.InetOID {
			return x.Addr().String()
		}
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = pgPlainValue(e, 0)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = pgPlainValue(e, 0)
		}
		return out
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return fmt.Sprint(x)
		}
		return pgPlainValue(dv, oid)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func pgNumericValue(n pgtype.Numeric) any {
	if !n.Valid {
		return nil
	}
	if n.NaN || n.InfinityModifier != pgtype.Finite {
		f, _ := n.Float64Value()
		return strconv.FormatFloat(f.Float64, 'g', -1, 64)
	}
	text, err := n.MarshalJSON()
	if err != nil {
		return fmt.Sprint(n)
	}
	s := string(text)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil && n.Exp >= 0 {
		return int(i)
	}
	if n.Exp >= 0 {
		// Integral but beyond int64.
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err == nil && !math.IsInf(f, 0) && strconv.FormatFloat(f, 'f', -1, 64) == strings.TrimRight(strings.TrimRight(s, "0"), ".") {
		return f
	}
	return s
}

// bindNamedArgs translates :name and %(name)s placeholders into $1..$n
// and returns the values in that order. It scans the text as PostgreSQL's
// lexer would, so placeholders inside string literals ('...', E'...',
// $tag$...$tag$), quoted identifiers and comments stay text, and "::"
// casts are left alone. A placeholder without a value, or a value no
// placeholder uses, is an error. The values are bound, never spliced.
func bindNamedArgs(query string, named map[string]any) (string, []any, error) {
	var b strings.Builder
	var params []any
	index := map[string]int{}
	placeholder := func(name string) error {
		v, ok := named[name]
		if !ok {
			return fmt.Errorf("query uses :%s but named_args has no %q", name, name)
		}
		n, seen := index[name]
		if !seen {
			params = append(params, v)
			n = len(params)
			index[name] = n
		}
		fmt.Fprintf(&b, "$%d", n)
		return nil
	}
	isIdentStart := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	identEnd := func(i int) int {
		for i < len(query) && isIdent(query[i]) {
			i++
		}
		return i
	}
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			// E'..' allows backslash escapes; '' and "" double the quote.
			escapes := c == '\'' && i > 0 && (query[i-1] == 'E' || query[i-1] == 'e') && (i < 2 || !isIdent(query[i-2]))
			j := i + 1
			for ; j < len(query); j++ {
				if escapes && query[j] == '\\' {
					j++
					continue
				}
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c {
						j++
						continue
					}
					break
				}
			}
			if j >= len(query) {
				return "", nil, fmt.Errorf("query: unterminated %c quote", c)
			}
			b.WriteString(query[i : j+1])
			i = j + 1
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			depth, j := 1, i+2
			for j < len(query) && depth > 0 {
				switch {
				case strings.HasPrefix(query[j:], "/*"):
					depth, j = depth+1, j+2
				case strings.HasPrefix(query[j:], "*/"):
					depth, j = depth-1, j+2
				default:
					j++
				}
			}
			if depth > 0 {
				return "", nil, fmt.Errorf("query: unterminated /* comment")
			}
			b.WriteString(query[i:j])
			i = j
		case c == '$' && (i == 0 || !isIdent(query[i-1])):
			// $tag$...$tag$ (tag may be empty); $1 is a parameter.
			j := i + 1
			if j < len(query) && isIdentStart(query[j]) {
				j = identEnd(j)
			}
			if j < len(query) && query[j] == '$' {
				tag := query[i : j+1]
				end := strings.Index(query[j+1:], tag)
				if end < 0 {
					return "", nil, fmt.Errorf("query: unterminated dollar quote %s", tag)
				}
				stop := j + 1 + end + len(tag)
				b.WriteString(query[i:stop])
				i = stop
				continue
			}
			b.WriteByte(c)
			i++
		case c == ':' && strings.HasPrefix(query[i:], "::"):
			b.WriteString("::")
			i += 2
		case c == ':' && i+1 < len(query) && isIdentStart(query[i+1]):
			j := identEnd(i + 1)
			if err := placeholder(query[i+1 : j]); err != nil {
				return "", nil, err
			}
			i = j
		case c == '%' && strings.HasPrefix(query[i:], "%("):
			end := strings.Index(query[i:], ")s")
			name := ""
			if end > 2 {
				name = query[i+2 : i+end]
			}
			if name == "" || strings.IndexFunc(name, func(r rune) bool { return r < 0x80 && !isIdent(byte(r)) }) >= 0 {
				b.WriteByte(c)
				i++
				continue
			}
			if err := placeholder(name); err != nil {
				return "", nil, err
			}
			i += end + 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	for name := range named {
		if _, ok := index[name]; !ok {
			return "", nil, fmt.Errorf("named_args %q is not used in the query", name)
		}
	}
	return b.String(), params, nil
}
