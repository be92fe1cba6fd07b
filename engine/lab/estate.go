// Package lab builds the rehearsal estate on one machine: every VM of the
// runbook as a host with its own sshd, /etc, home folders, crontabs and
// PostgreSQL cluster, all on loopback addresses 127.0.70.x, plus the
// machine's RabbitMQ (a vhost of the lab's own), a BIND server for the
// thehumanjourney.net zone, and a relay standing in for pg_amqp.
// inventory/lab.yml describes it to cutover. Nothing in it has a
// production address: its functions and tables name the lab's own.
package lab

import "fmt"

// Net is the third octet of every lab address (127.0.Net.i).
const Net = 70

// Host is one VM of the estate.
type Host struct {
	Name    string   // inventory name: finance-old, archives-db
	Service string   // finance, timesheets, hrdb, tenders, archives-db, mapdata
	Role    string   // old, new or peer
	Index   int      // its address is 127.0.Net.Index
	DBs     []string // databases seeded on it (new hosts start empty)
}

// Addr is the host's address.
func (h Host) Addr() string { return fmt.Sprintf("127.0.%d.%d", Net, h.Index) }

// Estate lists the hosts in the order of their addresses.
var Estate = []Host{
	{Name: "finance-old", Service: "finance", Role: "old", Index: 1, DBs: []string{"finance", "admin"}},
	{Name: "timesheets-old", Service: "timesheets", Role: "old", Index: 2, DBs: []string{"timesheets"}},
	{Name: "hrdb-old", Service: "hrdb", Role: "old", Index: 3, DBs: []string{"hrdb"}},
	{Name: "tenders-old", Service: "tenders", Role: "old", Index: 4, DBs: []string{"tenders"}},
	{Name: "finance-new", Service: "finance", Role: "new", Index: 5},
	{Name: "timesheets-new", Service: "timesheets", Role: "new", Index: 6},
	{Name: "hrdb-new", Service: "hrdb", Role: "new", Index: 7},
	{Name: "tenders-new", Service: "tenders", Role: "new", Index: 8},
	{Name: "archives-db", Service: "archives-db", Role: "peer", Index: 9, DBs: []string{"archives"}},
	{Name: "mapdata", Service: "mapdata", Role: "peer", Index: 10, DBs: []string{"oasites"}},
}

// Find returns the host of that name.
func Find(name string) (Host, bool) {
	for _, h := range Estate {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// old returns the old host of a service (the one the seeded functions
// name), or the peer itself.
func old(service string) Host {
	for _, h := range Estate {
		if h.Service == service && h.Role != "new" {
			return h
		}
	}
	panic("lab: no host for " + service)
}

// Lab-wide settings. The lab's passwords are not secrets (inventory/lab
// keeps them in a vault whose password is committed beside it), but they
// travel as secrets do, so the rehearsal exercises the same paths.
const (
	Vhost            = "cutover-lab"
	Zone             = "thehumanjourney.net"
	PostgresPassword = "lab-postgres-pw"
	LinkPassword     = "lab-oas-link-pw"
	AmqpUser         = "cutover-lab-finance"
	AmqpPassword     = "lab-amqp-pw"
	DNSKeyName       = "cutover-lab-key"
	// DNSKeySecret is the zone's TSIG key (base64): the lab's, not a
	// production one.
	DNSKeySecret = "Y3V0b3Zlci1sYWItdHNpZy1rZXktbm90LWEtc2VjcmV0IQ=="
	// Broker is the broker the seeded amqp.broker row names: the
	// machine's RabbitMQ, on its loopback address.
	Broker = "127.0.0.1"
)

// DNSName is the runbook's DNS name of a service.
func DNSName(service string) string { return service + "." + Zone }
