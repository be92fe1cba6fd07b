package modules

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cutover/cutover/engine/module"
)

// Replaying `pg_dumpall --globals-only` on a new server: its roles are
// created, but a role that exists already (postgres, at least) is left
// alone, since CREATE ROLE would fail and ALTER ROLE would overwrite the new
// server's own settings. Only SQL statements are run: psql meta-commands
// (\restrict) are dropped, never fed to the server.

// globalsPlan is what applyGlobals runs.
type globalsPlan struct {
	args       module.Args
	statements []string
	create     []string
	skipped    []string
}

func planGlobals(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	src := argString(args, "src")
	text, err := env.Host.ReadFile(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src, err)
	}
	c, err := pgConnect(ctx, env.Host, args)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	rows, err := c.Query(ctx, "SELECT rolname FROM pg_roles")
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	existing := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		existing[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	g := &globalsPlan{args: args}
	for _, stmt := range globalsStatements(string(text)) {
		role, isRole := roleOf(stmt)
		switch {
		case isRole && existing[role]:
			if !slices.Contains(g.skipped, role) {
				g.skipped = append(g.skipped, role)
			}
			continue
		case isRole && strings.HasPrefix(strings.ToUpper(stmt), "CREATE ROLE"):
			g.create = append(g.create, role)
		}
		g.statements = append(g.statements, stmt)
	}
	before := rolesText(existing, nil)
	if len(g.create) == 0 {
		return &module.Change{Result: &module.Result{Msg: fmt.Sprintf("every role of %s exists already", src),
			Data: map[string]any{"created": []any{}, "skipped": toAny(g.skipped)}}}, nil
	}
	return &module.Change{Action: module.Update,
		Summary: fmt.Sprintf("create roles %s; leave existing %s", strings.Join(g.create, ", "), strings.Join(g.skipped, ", ")),
		Diffs:   []module.Diff{{BeforeHeader: "roles", AfterHeader: "roles", Before: before, After: rolesText(existing, g.create)}},
		Data:    g}, nil
}

func applyGlobals(ctx context.Context, h module.MutableHost, g *globalsPlan) (*module.Result, error) {
	c, err := pgConnect(ctx, h, g.args)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	for _, stmt := range g.statements {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			// The statement may carry a password verifier: name only its start.
			return nil, fmt.Errorf("globals: %s...: %w", firstWords(stmt, 3), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return &module.Result{Changed: true, Msg: fmt.Sprintf("created roles %s", strings.Join(g.create, ", ")),
		Data: map[string]any{"created": toAny(g.create), "skipped": toAny(g.skipped)}}, nil
}

// globalsStatements splits pg_dumpall's output into SQL statements, one
// per line as it writes them, dropping comments and psql meta-commands.
func globalsStatements(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "--") || strings.HasPrefix(t, `\`)) {
			continue
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(line)
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	return out
}

// roleOf returns the role a CREATE ROLE or ALTER ROLE statement is about.
func roleOf(stmt string) (string, bool) {
	upper := strings.ToUpper(stmt)
	var rest string
	switch {
	case strings.HasPrefix(upper, "CREATE ROLE "):
		rest = stmt[len("CREATE ROLE "):]
	case strings.HasPrefix(upper, "ALTER ROLE "):
		rest = stmt[len("ALTER ROLE "):]
	default:
		return "", false
	}
	if strings.HasPrefix(rest, `"`) {
		end := strings.Index(rest[1:], `"`)
		if end < 0 {
			return "", false
		}
		return rest[1 : end+1], true
	}
	name := strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == ';' })
	if len(name) == 0 {
		return "", false
	}
	return name[0], true
}

func rolesText(existing map[string]bool, added []string) string {
	names := append(slices.Collect(maps.Keys(existing)), added...)
	slices.Sort(names)
	return strings.Join(names, "\n") + "\n"
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}
