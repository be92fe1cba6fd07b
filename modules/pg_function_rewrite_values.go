package modules

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// rewriteColumn is one {table, column} of pg_function_rewrite's tables.
type rewriteColumn struct {
	Schema, Table, Column string
}

func (c rewriteColumn) tableSQL() string  { return pgx.Identifier{c.Schema, c.Table}.Sanitize() }
func (c rewriteColumn) columnSQL() string { return pgx.Identifier{c.Column}.Sanitize() }

// rewriteColumnsFrom decodes the tables argument; a table without a
// schema is in public.
func rewriteColumnsFrom(v any) ([]rewriteColumn, error) {
	if v == nil {
		return nil, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("tables: want a list of {table, column}, got %T", v)
	}
	var cols []rewriteColumn
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("tables[%d]: want a map with table and column, got %T", i, item)
		}
		for k := range m {
			if k != "table" && k != "column" {
				return nil, fmt.Errorf("tables[%d]: unknown key %q (want table, column)", i, k)
			}
		}
		table, _ := m["table"].(string)
		column, _ := m["column"].(string)
		if table == "" || column == "" {
			return nil, fmt.Errorf("tables[%d]: table and column are required", i)
		}
		c := rewriteColumn{Schema: "public", Table: table, Column: column}
		if s, t, ok := strings.Cut(table, "."); ok {
			c.Schema, c.Table = s, t
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// pgValueRewrite is one table value and its planned rewrite.
type pgValueRewrite struct {
	Column        rewriteColumn
	CTID          string
	Before, After string
}

// Ident names the value for diffs and results: schema.table.column[ctid].
func (v pgValueRewrite) Ident() string {
	return fmt.Sprintf("%s.%s.%s[%s]", v.Column.Schema, v.Column.Table, v.Column.Column, v.CTID)
}

// readValueRewrites reads every non-null value of the columns in a
// read-only transaction and returns those the rules change.
func readValueRewrites(ctx context.Context, db *pgx.Conn, cols []rewriteColumn, rules []rewriteRule) ([]pgValueRewrite, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	tx, err := db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var out []pgValueRewrite
	for _, c := range cols {
		q := fmt.Sprintf("SELECT ctid::text, %[2]s::text FROM %[1]s WHERE %[2]s IS NOT NULL ORDER BY ctid", c.tableSQL(), c.columnSQL())
		rows, err := tx.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read %s.%s.%s: %w", c.Schema, c.Table, c.Column, err)
		}
		for rows.Next() {
			v := pgValueRewrite{Column: c}
			if err := rows.Scan(&v.CTID, &v.Before); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read %s.%s.%s: %w", c.Schema, c.Table, c.Column, err)
			}
			after, n, _ := applyRewriteRules(v.Before, rules)
			if n > 0 && after != v.Before {
				v.After = after
				out = append(out, v)
			}
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read %s.%s.%s: %w", c.Schema, c.Table, c.Column, err)
		}
	}
	return out, nil
}

// applyValueRewrites updates each planned value inside tx, refusing one
// that changed since the plan.
func applyValueRewrites(ctx context.Context, tx pgx.Tx, values []pgValueRewrite) error {
	for _, v := range values {
		q := fmt.Sprintf("UPDATE %[1]s SET %[2]s = $1 WHERE ctid = $2::tid AND %[2]s::text = $3", v.Column.tableSQL(), v.Column.columnSQL())
		tag, err := tx.Exec(ctx, q, v.After, v.CTID, v.Before)
		if err != nil {
			return maskedRewriteError("update "+v.Ident(), err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%s changed since the plan; nothing was applied", v.Ident())
		}
	}
	return nil
}

// sqlLiteral quotes s as a standard SQL string literal.
func sqlLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
