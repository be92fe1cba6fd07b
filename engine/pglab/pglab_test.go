package pglab

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestClusterAcceptsOnlySCRAMPasswordLogins(t *testing.T) {
	c, err := Start(Options{})
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
			t.Errorf("Stop left %s behind", c.Dir)
		}
	}()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		t.Fatalf("login with the password: %v", err)
	}
	defer db.Close(ctx)
	var method string
	if err := db.QueryRow(ctx, "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' LIMIT 1").Scan(&method); err != nil {
		t.Fatal(err)
	}
	if method != "scram-sha-256" {
		t.Errorf("pg_hba host method = %q", method)
	}
	for name, conn := range map[string]string{
		"no password":    strings.Replace(c.ConnString("postgres"), "password="+c.Password, "", 1),
		"wrong password": strings.Replace(c.ConnString("postgres"), c.Password, "not-it", 1),
	} {
		if other, err := pgx.Connect(ctx, conn); err == nil {
			other.Close(ctx)
			t.Errorf("%s: login accepted", name)
		}
	}
}
