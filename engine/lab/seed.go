package lab

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"text/template"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/pgamqp"
)

//go:embed seed/*.sql
var seedFiles embed.FS

// seedData fills the seed's templates: the old hosts' lab addresses
// stand where production has 10.0.10.x.
type seedData struct {
	Finance, Timesheets, Hrdb, Tenders, Archives, Mapdata string
	LinkPassword, Broker, Vhost, AmqpUser, AmqpPassword   string
	AmqpSchema                                            string
}

func newSeedData() seedData {
	return seedData{
		Finance: old("finance").Addr(), Timesheets: old("timesheets").Addr(), Hrdb: old("hrdb").Addr(),
		Tenders: old("tenders").Addr(), Archives: old("archives-db").Addr(), Mapdata: old("mapdata").Addr(),
		LinkPassword: LinkPassword, Broker: Broker, Vhost: Vhost, AmqpUser: AmqpUser, AmqpPassword: AmqpPassword,
		AmqpSchema: pgamqp.Schema,
	}
}

// ConnString reaches a database on a lab host as postgres.
func ConnString(h Host, db string) string {
	return fmt.Sprintf("host=%s port=5432 user=postgres password=%s dbname=%s sslmode=disable connect_timeout=10", h.Addr(), PostgresPassword, db)
}

// seed creates the databases of every host that has none yet, and on
// every cluster the role the dblink functions log in as.
func (l *Lab) seed(ctx context.Context) error {
	data := newSeedData()
	for _, h := range Estate {
		if err := seedHost(ctx, h, data); err != nil {
			return fmt.Errorf("seed %s: %w", h.Name, err)
		}
	}
	return nil
}

func seedHost(ctx context.Context, h Host, data seedData) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, ConnString(h, "postgres"))
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	// New VMs get their roles from the old ones' globals dump: only the
	// old hosts and the peers have oas_link from the start.
	if h.Role != "new" {
		if _, err := admin.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'oas_link') THEN CREATE ROLE oas_link LOGIN PASSWORD %s; END IF;
		END $$`, quoteLiteral(LinkPassword))); err != nil {
			return err
		}
	}
	for _, name := range h.DBs {
		var exists bool
		if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			continue
		}
		sql, err := renderSeed(name, data)
		if err != nil {
			return err
		}
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return err
		}
		db, err := pgx.Connect(ctx, ConnString(h, name))
		if err != nil {
			return err
		}
		_, err = db.Exec(ctx, sql+`
GRANT USAGE ON SCHEMA public TO oas_link;
GRANT ALL ON ALL TABLES IN SCHEMA public TO oas_link;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO oas_link;`)
		db.Close(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("database %s: %w", name, err)
		}
	}
	return nil
}

func renderSeed(db string, data seedData) (string, error) {
	src, err := seedFiles.ReadFile("seed/" + db + ".sql")
	if err != nil {
		return "", err
	}
	t, err := template.New(db).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

func quoteLiteral(s string) string {
	return "'" + string(bytes.ReplaceAll([]byte(s), []byte("'"), []byte("''"))) + "'"
}
