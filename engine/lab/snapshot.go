package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/miekg/dns"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Snapshot writes a digest of the lab's state, one sorted line per item,
// so two snapshots compare with diff: every host's own files (content and
// mode), every database's schema, function definitions and table
// contents, the zone's records and the archives queues' depths.
func (l *Lab) Snapshot(ctx context.Context, w io.Writer) error {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	for _, h := range Estate {
		dir := l.hostDir(h)
		for _, sub := range []string{"root", "etc-upper"} {
			if err := fileLines(filepath.Join(dir, sub), h.Name+":"+map[string]string{"root": "", "etc-upper": "/etc"}[sub], add); err != nil {
				return err
			}
		}
		if !answers(h.Addr() + ":5432") {
			add("%s postgresql stopped", h.Name)
			continue
		}
		if err := dbLines(ctx, h, add); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	if err := dnsLines(add); err != nil {
		return err
	}
	if err := queueLines(add); err != nil {
		return err
	}
	sort.Strings(lines)
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}

// fileLines digests the files under root (a host's own folders).
func fileLines(root, prefix string, add func(string, ...any)) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		name := prefix + "/" + filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			add("%s dir %o", name, info.Mode().Perm())
		case info.Mode()&fs.ModeCharDevice != 0:
			// An overlay whiteout: the host removed a file of /etc.
			add("%s removed", name)
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			add("%s link %s", name, target)
		default:
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			add("%s file %o %s", name, info.Mode().Perm(), digest(data))
		}
		return nil
	})
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// dbLines digests every database of a running cluster.
func dbLines(ctx context.Context, h Host, add func(string, ...any)) error {
	admin, err := pgx.Connect(ctx, ConnString(h, "postgres"))
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	rows, err := admin.Query(ctx, "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1")
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	rows, err = admin.Query(ctx, "SELECT rolname || ' ' || rolcanlogin::text || ' ' || rolsuper::text FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1")
	if err != nil {
		return err
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, r := range roles {
		add("%s role %s", h.Name, r)
	}
	for _, db := range names {
		where := h.Name + "/" + db
		schema, err := schemaDigest(ctx, h, db)
		if err != nil {
			return err
		}
		add("%s schema %s", where, schema)
		c, err := pgx.Connect(ctx, ConnString(h, db))
		if err != nil {
			return err
		}
		err = objectLines(ctx, c, where, add)
		c.Close(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", db, err)
		}
	}
	return nil
}

// objectLines digests a database's functions and tables.
func objectLines(ctx context.Context, c *pgx.Conn, where string, add func(string, ...any)) error {
	rows, err := c.Query(ctx, `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', md5(pg_get_functiondef(p.oid))
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE p.prokind IN ('f', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var sig, sum string
		if err := rows.Scan(&sig, &sum); err != nil {
			return err
		}
		add("%s function %s %s", where, sig, sum[:16])
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = c.Query(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, t := range tables {
		var n int64
		var sum *string
		q := fmt.Sprintf("SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM %s t", t)
		if err := c.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			return err
		}
		s := "-"
		if sum != nil {
			s = (*sum)[:16]
		}
		add("%s table %s rows=%d %s", where, t, n, s)
	}
	return nil
}

// schemaDigest is pg_dump --schema-only's output, digested (less the
// random \restrict key newer pg_dump writes).
func schemaDigest(ctx context.Context, h Host, db string) (string, error) {
	cmd := exec.CommandContext(ctx, "pg_dump", "--schema-only", "--host="+h.Addr(), "--port=5432", "--username=postgres", "--dbname="+db)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+PostgresPassword)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("pg_dump --schema-only %s: %w", db, err)
	}
	var kept []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "\\restrict ") && !strings.HasPrefix(line, "\\unrestrict ") {
			kept = append(kept, line)
		}
	}
	return digest([]byte(strings.Join(kept, "\n"))), nil
}

// dnsLines lists the zone's records with a transfer from the lab's BIND.
func dnsLines(add func(string, ...any)) error {
	if !answers(fmt.Sprintf("127.0.0.1:%d", DNSPort)) {
		add("dns stopped")
		return nil
	}
	t := &dns.Transfer{}
	m := new(dns.Msg)
	m.SetAxfr(dns.Fqdn(Zone))
	envelopes, err := t.In(m, fmt.Sprintf("127.0.0.1:%d", DNSPort))
	if err != nil {
		return err
	}
	for e := range envelopes {
		if e.Error != nil {
			return e.Error
		}
		for _, rr := range e.RR {
			if rr.Header().Rrtype == dns.TypeSOA {
				continue // its serial counts updates, not state
			}
			add("dns %s", strings.ReplaceAll(rr.String(), "\t", " "))
		}
	}
	return nil
}

// queueLines reads the archives queues' depths.
func queueLines(add func(string, ...any)) error {
	c, err := amqp.Dial(BrokerURL())
	if err != nil {
		add("rabbitmq unreachable")
		return nil
	}
	defer c.Close()
	for q := range Queues {
		ch, err := c.Channel()
		if err != nil {
			return err
		}
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			add("queue %s missing", q)
			continue
		}
		add("queue %s messages=%d", q, st.Messages)
		ch.Close()
	}
	return nil
}
