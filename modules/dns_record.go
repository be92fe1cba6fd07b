package modules

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/cutover/cutover/engine/module"
)

// DNSRecord is the dns_record module: "update DNS records to point to the
// new VMs" as an RFC 2136 dynamic update signed with TSIG. It reads the
// record set first, changes it only when it differs, guards the update
// with a prerequisite that the set is still what was read, and reads it
// back afterwards.
func DNSRecord() module.Info {
	return module.Info{
		Name: "dns_record",
		Doc: "Ensures a DNS record set (name and type) holds exactly the given values, or is absent, with an RFC 2136 " +
			"dynamic update signed with TSIG, as Ansible's nsupdate does. The server is reached over TCP from the host's side; " +
			"the update only applies if the set is still what was read (prerequisite), and is read back. Check mode queries only.",
		Args: []module.Arg{
			{Name: "server", Type: module.String, Required: true, Doc: "the zone's primary server (name or address), reached from the host's side"},
			{Name: "port", Type: module.Int, Default: 53, Doc: "server port (TCP)"},
			{Name: "zone", Type: module.String, Doc: "the zone; unset: found with an SOA query for the record"},
			{Name: "record", Type: module.String, Required: true, Doc: "the name: relative to the zone, or absolute with a final dot"},
			{Name: "type", Type: module.String, Default: "A", Doc: "record type (A, AAAA, CNAME, TXT, MX, PTR, NS, SRV...)"},
			{Name: "value", Type: module.List, Doc: "the record set's values in zone-file form (10.0.10.49; \"10 mail.example.org.\" for MX)"},
			{Name: "ttl", Type: module.Int, Default: 3600, Doc: "time to live of the set"},
			{Name: "state", Type: module.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present: the set holds exactly value; absent: no such set"},
			{Name: "key_name", Type: module.String, Doc: "TSIG key name"},
			{Name: "key_secret", Type: module.String, Secret: true, Doc: "TSIG key secret, base64 (never printed)"},
			{Name: "key_algorithm", Type: module.String, Default: "hmac-sha256", Choices: []string{"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"}, Doc: "TSIG algorithm"},
		},
		Check: checkDNSRecord,
		New:   func() module.Module { return dnsRecordModule{} },
	}
}

type dnsRecordModule struct{}

// dnsPlan is what Apply sends.
type dnsPlan struct {
	server           string // host:port
	zone, name       string // absolute, with the final dot
	rtype            uint16
	current, desired []dns.RR
	keyName, secret  string
	algorithm        string
}

func checkDNSRecord(args module.Args) error {
	rtype := strings.ToUpper(argString(args, "type"))
	if module.HasTemplate(rtype) {
		return nil
	}
	if _, ok := dns.StringToType[rtype]; !ok {
		return &module.ArgError{Arg: "type", Msg: fmt.Sprintf("dns_record: unknown record type %q", rtype)}
	}
	values, _ := args["value"].([]any)
	if argString(args, "state") != "absent" && args["value"] == nil {
		return &module.ArgError{Arg: "value", Msg: "dns_record: state=present needs a value"}
	}
	for _, v := range values {
		s := fmt.Sprint(v)
		if module.HasTemplate(s) {
			continue
		}
		if _, err := dns.NewRR("check.invalid. 60 IN " + rtype + " " + s); err != nil {
			return &module.ArgError{Arg: "value", Msg: fmt.Sprintf("dns_record: %q is not a valid %s value: %v", s, rtype, err)}
		}
	}
	if (argString(args, "key_name") == "") != (argString(args, "key_secret") == "") {
		return &module.ArgError{Arg: "key_name", Msg: "dns_record: key_name and key_secret go together"}
	}
	return nil
}

func (dnsRecordModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	if err := checkDNSRecord(args); err != nil {
		return nil, err
	}
	p := &dnsPlan{server: net.JoinHostPort(argString(args, "server"), strconv.Itoa(argInt(args, "port"))),
		rtype: dns.StringToType[strings.ToUpper(argString(args, "type"))], keyName: dns.Fqdn(argString(args, "key_name")),
		secret: argString(args, "key_secret"), algorithm: dns.Fqdn(argString(args, "key_algorithm"))}
	record := argString(args, "record")
	zone := argString(args, "zone")
	if zone == "" {
		if !dns.IsFqdn(record) {
			return nil, fmt.Errorf("record %q is relative: give the zone, or end the name with a dot", record)
		}
		z, err := dnsFindZone(ctx, env.Host, p.server, record)
		if err != nil {
			return nil, err
		}
		zone = z
	}
	p.zone = dns.Fqdn(zone)
	p.name = dnsAbsolute(record, p.zone)
	if !dns.IsSubDomain(p.zone, p.name) {
		return nil, fmt.Errorf("record %s is not in zone %s", p.name, p.zone)
	}
	var err error
	if p.current, err = dnsQuery(ctx, env.Host, p.server, p.name, p.rtype); err != nil {
		return nil, err
	}
	if argString(args, "state") != "absent" {
		ttl := uint32(argInt(args, "ttl"))
		for _, v := range args["value"].([]any) {
			rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %v", p.name, ttl, dns.TypeToString[p.rtype], v))
			if err != nil {
				return nil, fmt.Errorf("value %v: %w", v, err)
			}
			p.desired = append(p.desired, rr)
		}
	}
	before, after := dnsZoneText(p.current), dnsZoneText(p.desired)
	c := &module.Change{Data: p, Result: &module.Result{Data: dnsResultData(p, p.current)}}
	switch {
	case before == after:
		c.Action = module.None
		c.Summary = fmt.Sprintf("%s %s is as asked", p.name, dns.TypeToString[p.rtype])
		return c, nil
	case len(p.desired) == 0:
		c.Action, c.Summary = module.Delete, fmt.Sprintf("delete %s %s", p.name, dns.TypeToString[p.rtype])
	case len(p.current) == 0:
		c.Action, c.Summary = module.Create, fmt.Sprintf("add %s %s %s", p.name, dns.TypeToString[p.rtype], dnsValues(p.desired))
	default:
		c.Action, c.Summary = module.Update, fmt.Sprintf("set %s %s to %s (was %s)", p.name, dns.TypeToString[p.rtype], dnsValues(p.desired), dnsValues(p.current))
	}
	header := fmt.Sprintf("%s %s (zone %s)", p.name, dns.TypeToString[p.rtype], p.zone)
	c.Diffs = []module.Diff{{BeforeHeader: header, AfterHeader: header, Before: before, After: after}}
	c.Result.Data = dnsResultData(p, p.desired)
	return c, nil
}

func (dnsRecordModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*dnsPlan)
	m := new(dns.Msg)
	m.SetUpdate(p.zone)
	// The prerequisite: the set is still what Plan read, else the server
	// refuses the whole update (YXRRSET/NXRRSET) and nothing changes.
	if len(p.current) == 0 {
		m.RRsetNotUsed([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: p.name, Rrtype: p.rtype, Class: dns.ClassINET}}})
	} else {
		m.Used(p.current)
	}
	m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: p.name, Rrtype: p.rtype, Class: dns.ClassINET}}})
	if len(p.desired) > 0 {
		m.Insert(p.desired)
	}
	if p.secret != "" {
		m.SetTsig(p.keyName, p.algorithm, 300, time.Now().Unix())
	}
	resp, err := dnsExchange(ctx, h, p.server, m, map[string]string{p.keyName: p.secret})
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", p.name, err)
	}
	switch resp.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeYXRrset, dns.RcodeNXRrset:
		return nil, fmt.Errorf("update %s refused: the record set changed since it was read (%s); run again", p.name, dns.RcodeToString[resp.Rcode])
	default:
		return nil, fmt.Errorf("update %s refused by %s: %s", p.name, p.server, dns.RcodeToString[resp.Rcode])
	}
	got, err := dnsQuery(ctx, h, p.server, p.name, p.rtype)
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", p.name, err)
	}
	if dnsZoneText(got) != dnsZoneText(p.desired) {
		return &module.Result{Failed: true, Msg: fmt.Sprintf("%s reads back as %q after the update, want %q", p.name, dnsValues(got), dnsValues(p.desired))}, nil
	}
	return &module.Result{Changed: true, Msg: c.Summary, Data: dnsResultData(p, got)}, nil
}

func dnsResultData(p *dnsPlan, rrs []dns.RR) map[string]any {
	values := make([]any, 0, len(rrs))
	for _, rr := range rrs {
		values = append(values, dnsValue(rr))
	}
	return map[string]any{"record": p.name, "zone": p.zone, "type": dns.TypeToString[p.rtype], "value": values}
}

// dnsAbsolute makes a record name absolute: "finance" in zone
// "example.org." is "finance.example.org."; a name that already ends with
// the zone is taken as meant.
func dnsAbsolute(record, zone string) string {
	switch {
	case dns.IsFqdn(record):
		return strings.ToLower(record)
	case record == "@" || record == "":
		return zone
	case dns.IsSubDomain(zone, dns.Fqdn(record)):
		return strings.ToLower(dns.Fqdn(record))
	}
	return strings.ToLower(record + "." + zone)
}

// dnsZoneText is a set in zone-file form, sorted: the thing compared and
// shown in diffs.
func dnsZoneText(rrs []dns.RR) string {
	lines := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		lines = append(lines, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func dnsValue(rr dns.RR) string {
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

func dnsValues(rrs []dns.RR) string {
	vals := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		vals = append(vals, dnsValue(rr))
	}
	slices.Sort(vals)
	return strings.Join(vals, ", ")
}

// dnsQuery asks the server for a name's set of one type.
func dnsQuery(ctx context.Context, h module.Host, server, name string, rtype uint16) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, rtype)
	m.RecursionDesired = false
	resp, err := dnsExchange(ctx, h, server, m, nil)
	if err != nil {
		return nil, fmt.Errorf("query %s %s: %w", name, dns.TypeToString[rtype], err)
	}
	if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
		return nil, fmt.Errorf("query %s %s: %s", name, dns.TypeToString[rtype], dns.RcodeToString[resp.Rcode])
	}
	var out []dns.RR
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == rtype && strings.EqualFold(rr.Header().Name, name) {
			out = append(out, rr)
		}
	}
	return out, nil
}

// dnsFindZone finds the zone holding name from the SOA the server gives
// with its answer.
func dnsFindZone(ctx context.Context, h module.Host, server, name string) (string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeSOA)
	resp, err := dnsExchange(ctx, h, server, m, nil)
	if err != nil {
		return "", fmt.Errorf("find the zone of %s: %w", name, err)
	}
	for _, rr := range append(resp.Answer, resp.Ns...) {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Hdr.Name, nil
		}
	}
	return "", fmt.Errorf("%s is not authoritative for %s (no SOA in its answer): give the zone", server, name)
}

// dnsExchange sends one message over TCP, dialled from the host's side,
// signed (and the answer checked) with the TSIG secrets given.
func dnsExchange(ctx context.Context, h module.Host, server string, m *dns.Msg, tsig map[string]string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	nc, err := h.Dial(ctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl) // a tunnelled connection may not support one
	}
	co := &dns.Conn{Conn: nc}
	if m.IsTsig() != nil {
		co.TsigSecret = tsig
	}
	if err := co.WriteMsg(m); err != nil {
		return nil, err
	}
	resp, err := co.ReadMsg()
	if err != nil {
		// A TSIG failure names the key, never the secret.
		return nil, err
	}
	if resp.Id != m.Id {
		return nil, fmt.Errorf("answer id %d for question %d", resp.Id, m.Id)
	}
	return resp, nil
}
