package modules

import (
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/cutover/cutover/engine/module"
)

// dnsNow is what the server holds for a name and type, in zone-file form.
func dnsNow(t *testing.T, name string, rtype uint16) string {
	t.Helper()
	s := dnsServer(t)
	rrs, err := dnsQuery(context.Background(), localHost(), s.Endpoint(), name, rtype)
	if err != nil {
		t.Fatal(err)
	}
	return dnsZoneText(rrs)
}

// TestDNSRecordTimeline runs the DNS step of the cutover against a real
// BIND: each step plans (check or not), applies as the engine would, and
// the server must then hold the expected set.
func TestDNSRecordTimeline(t *testing.T) {
	s := dnsServer(t)
	base := func(extra map[string]any) map[string]any {
		args := map[string]any{"server": s.Addr, "port": s.Port, "zone": s.Zone, "key_name": s.KeyName, "key_secret": s.Secret}
		for k, v := range extra {
			args[k] = v
		}
		return args
	}
	const name = "finance.thehumanjourney.net."
	steps := []struct {
		step       string
		args       map[string]any
		check      bool
		wantAction module.Action
		want       string // the A set afterwards
		wantDiff   string // in the diff's after text
	}{
		{"check mode changes nothing", base(map[string]any{"record": "finance", "value": []any{"10.0.10.49"}, "ttl": 300}), true,
			module.Update, name + " 300 IN A 10.0.10.48\n", name + " 300 IN A 10.0.10.49"},
		{"point finance at the new VM", base(map[string]any{"record": "finance", "value": []any{"10.0.10.49"}, "ttl": 300}), false,
			module.Update, name + " 300 IN A 10.0.10.49\n", ""},
		{"a second run is ok", base(map[string]any{"record": "finance", "value": []any{"10.0.10.49"}, "ttl": 300}), false,
			module.None, name + " 300 IN A 10.0.10.49\n", ""},
		{"an absolute name is the same record", base(map[string]any{"record": name, "value": []any{"10.0.10.49"}, "ttl": 300}), false,
			module.None, name + " 300 IN A 10.0.10.49\n", ""},
		{"the TTL alone is a change", base(map[string]any{"record": "finance", "value": []any{"10.0.10.49"}, "ttl": 60}), false,
			module.Update, name + " 60 IN A 10.0.10.49\n", ""},
		{"two values, in any order", base(map[string]any{"record": "finance", "value": []any{"10.0.10.50", "10.0.10.49"}, "ttl": 60}), false,
			module.Update, name + " 60 IN A 10.0.10.49\n" + name + " 60 IN A 10.0.10.50\n", ""},
		{"same two values, other order", base(map[string]any{"record": "finance", "value": []any{"10.0.10.49", "10.0.10.50"}, "ttl": 60}), false,
			module.None, name + " 60 IN A 10.0.10.49\n" + name + " 60 IN A 10.0.10.50\n", ""},
		{"check mode absent changes nothing", base(map[string]any{"record": "finance", "state": "absent"}), true,
			module.Delete, name + " 60 IN A 10.0.10.49\n" + name + " 60 IN A 10.0.10.50\n", ""},
		{"absent", base(map[string]any{"record": "finance", "state": "absent"}), false, module.Delete, "", ""},
		{"absent again is ok", base(map[string]any{"record": "finance", "state": "absent"}), false, module.None, "", ""},
		{"created again, zone found from the SOA", map[string]any{"server": s.Addr, "port": s.Port, "record": name, "value": []any{"10.0.10.49"},
			"ttl": 300, "key_name": s.KeyName, "key_secret": s.Secret}, false, module.Create, name + " 300 IN A 10.0.10.49\n", ""},
	}
	for _, st := range steps {
		t.Run(st.step, func(t *testing.T) {
			ch, res := pgqRun(t, DNSRecord(), st.args, st.check)
			if ch.Action != st.wantAction {
				t.Fatalf("action %v (%s), want %v", ch.Action, ch.Summary, st.wantAction)
			}
			if wantChanged := st.wantAction != module.None; res == nil || res.Changed != wantChanged && !st.check {
				t.Errorf("result %+v, want changed=%v", res, wantChanged)
			}
			if got := dnsNow(t, name, dns.TypeA); got != st.want {
				t.Errorf("server holds %q, want %q", got, st.want)
			}
			if st.wantDiff != "" && (len(ch.Diffs) != 1 || !strings.Contains(ch.Diffs[0].After, st.wantDiff)) {
				t.Errorf("diff %+v, want %q", ch.Diffs, st.wantDiff)
			}
			if strings.Contains(ch.Summary+res.Msg, s.Secret) {
				t.Error("the TSIG secret is shown")
			}
		})
	}
}

func TestDNSRecordRefusals(t *testing.T) {
	s := dnsServer(t)
	apply := func(args map[string]any) error {
		ch, err := pgqPlan(t, DNSRecord(), args, false)
		if err != nil {
			return err
		}
		_, err = DNSRecord().New().Apply(context.Background(), localHost(), ch)
		return err
	}
	args := func(secret string) map[string]any {
		m := map[string]any{"server": s.Addr, "port": s.Port, "zone": s.Zone, "record": "tenders", "value": []any{"10.0.10.180"}}
		if secret != "" {
			m["key_name"], m["key_secret"] = s.KeyName, secret
		}
		return m
	}
	wrong := "d3JvbmcgYnV0IHdlbGwgZm9ybWVkIGtleSBieXRlcyEh"
	if err := apply(args(wrong)); err == nil || strings.Contains(err.Error(), wrong) {
		t.Errorf("a wrong key: %v", err)
	}
	if err := apply(args("")); err == nil || !strings.Contains(err.Error(), "REFUSED") {
		t.Errorf("no key: %v", err)
	}
	if got := dnsNow(t, "tenders.thehumanjourney.net.", dns.TypeA); got != "" {
		t.Errorf("a refused update changed the zone: %q", got)
	}

	// The set changes between plan and apply: the prerequisite refuses
	// the update, and the other writer's value stays.
	ch, err := pgqPlan(t, DNSRecord(), args(s.Secret), false)
	if err != nil {
		t.Fatal(err)
	}
	other := args(s.Secret)
	other["value"] = []any{"10.0.10.63"}
	if err := apply(other); err != nil {
		t.Fatal(err)
	}
	_, err = DNSRecord().New().Apply(context.Background(), localHost(), ch)
	if err == nil || !strings.Contains(err.Error(), "changed since it was read") {
		t.Errorf("a stale plan: %v", err)
	}
	if got := dnsNow(t, "tenders.thehumanjourney.net.", dns.TypeA); !strings.Contains(got, "10.0.10.63") {
		t.Errorf("the other writer's value was overwritten: %q", got)
	}
}

func TestDNSRecordArgumentsChecked(t *testing.T) {
	for _, raw := range []map[string]any{
		{"server": "s", "record": "r", "type": "NOPE", "value": []any{"1"}},
		{"server": "s", "record": "r", "value": []any{"not-an-ip"}},
		{"server": "s", "record": "r"},
		{"server": "s", "record": "r", "value": []any{"10.0.0.1"}, "key_name": "k"},
	} {
		info := DNSRecord()
		args, errs := info.Decode(raw, false)
		if len(errs) > 0 {
			t.Fatalf("decode %v: %v", raw, errs)
		}
		if err := info.Check(args); err == nil {
			t.Errorf("%v accepted", raw)
		}
	}
}
