package modules

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/dnslab"
	"github.com/cutover/cutover/engine/pglab"
)

// The machine's server on 127.0.0.1:5432 (trust) plays the old host; a
// cluster made with initdb on another loopback port, with SCRAM password
// logins, plays the new one. It starts when a test first needs it.
var newHost struct {
	once    sync.Once
	cluster *pglab.Cluster
	err     error
}

// newCluster is the "new host" cluster; a test fails (or skips outside CI)
// when it cannot start.
func newCluster(t *testing.T) *pglab.Cluster {
	t.Helper()
	newHost.once.Do(func() { newHost.cluster, newHost.err = pglab.Start(pglab.Options{Password: "new-host-pw"}) })
	if newHost.err != nil {
		if os.Getenv("CI") == "true" || os.Geteuid() == 0 {
			t.Fatalf("the new host's cluster: %v", newHost.err)
		}
		t.Skipf("the new host's cluster: %v", newHost.err)
	}
	return newHost.cluster
}

// dnsHost is the BIND server of the dns_record tests, started once.
var dnsHost struct {
	once   sync.Once
	server *dnslab.Server
	err    error
}

func dnsServer(t *testing.T) *dnslab.Server {
	t.Helper()
	dnsHost.once.Do(func() {
		dnsHost.server, dnsHost.err = dnslab.Start(dnslab.Options{
			Records: []string{"finance IN A 10.0.10.48", "mail IN MX 10 finance"}})
	})
	if dnsHost.err != nil {
		if os.Getenv("CI") == "true" || os.Geteuid() == 0 {
			t.Fatalf("BIND: %v", dnsHost.err)
		}
		t.Skipf("BIND: %v", dnsHost.err)
	}
	return dnsHost.server
}

// fixtureRoles are cluster-wide roles the fixtures create; they are
// dropped when the package's tests end, so the machine's server keeps
// nothing of ours.
var fixtureRoles = []string{"cutover_rw_owner", "cutover_rw_reader", "cutover_rw_nosuper"}

func TestMain(m *testing.M) {
	code := m.Run()
	if c := newHost.cluster; c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop the new host's cluster:", err)
		}
	}
	if s := dnsHost.server; s != nil {
		s.Stop()
	}
	if err := dropFixtureRoles(); err != nil {
		fmt.Fprintln(os.Stderr, "drop the fixtures' roles:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func dropFixtureRoles() error {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable")
	if err != nil {
		return nil // no server: nothing was created
	}
	defer c.Close(ctx)
	for _, r := range fixtureRoles {
		if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
	}
	return nil
}
