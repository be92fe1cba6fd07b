package modules

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/redact"
	"github.com/cutover/cutover/engine/vault"
)

func TestParseFacts(t *testing.T) {
	out := strings.Join([]string{
		"@uname", "Linux finance-new.example 6.1.0 x86_64",
		"@fqdn", "finance-new.example",
		"@osrelease", `NAME="Debian GNU/Linux"`, `VERSION_ID="12"`, "VERSION_CODENAME=bookworm", "ID=debian",
		"@user", "root",
		"@init", "systemd",
		"@route", "default via 192.0.2.1 dev eth0 proto static",
		"@addr", "1: lo    inet 127.0.0.1/8 scope host lo", "2: eth0    inet 192.0.2.20/24 brd 192.0.2.255 scope global eth0",
		"@cpus", "4",
		"@mem", "MemTotal:        8167848 kB", "MemFree:         1048576 kB", "SwapTotal:             0 kB",
		"@date", "1795734000 +0100 CET",
		"@pkg", "apt-get",
		"@env", "HOME=/root\x00MULTI=a\nb\x00PATH=/usr/bin\x00",
	}, "\n")
	f := parseFacts(out)
	want := map[string]any{
		"ansible_hostname": "finance-new", "ansible_distribution": "Debian", "ansible_distribution_major_version": "12",
		"ansible_os_family": "Debian", "ansible_service_mgr": "systemd",
		"ansible_default_ipv4":       map[string]any{"gateway": "192.0.2.1", "interface": "eth0", "address": "192.0.2.20"},
		"ansible_all_ipv4_addresses": []any{"192.0.2.20"},
		"ansible_processor_vcpus":    4, "ansible_memtotal_mb": 7976, "ansible_memfree_mb": 1024, "ansible_swaptotal_mb": 0,
		"ansible_pkg_mgr": "apt",
		"ansible_env":     map[string]any{"HOME": "/root", "MULTI": "a\nb", "PATH": "/usr/bin"},
		// 2026-11-26 23:00 UTC is Friday 00:00 in CET; strftime's %W week 47.
		"ansible_date_time": map[string]any{"year": "2026", "month": "11", "day": "27", "hour": "00", "minute": "00",
			"second": "00", "date": "2026-11-27", "time": "00:00:00", "weekday": "Friday", "weekday_number": "5",
			"weeknumber": "47", "epoch": "1795734000", "epoch_int": "1795734000", "tz": "CET", "tz_offset": "+0100",
			"iso8601": "2026-11-26T23:00:00Z", "iso8601_basic_short": "20261127T000000"},
	}
	got := map[string]any{}
	for k := range want {
		got[k] = f[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
}

// On this machine: the facts agree with what the machine says itself.
func TestSetupHere(t *testing.T) {
	c := mustPlan(t, Setup(), map[string]any{})
	f := c.Result.Facts
	host, _ := os.Hostname()
	if f["ansible_nodename"] != host {
		t.Errorf("nodename %v, want %s", f["ansible_nodename"], host)
	}
	if env, _ := f["ansible_env"].(map[string]any); env["PATH"] != os.Getenv("PATH") {
		t.Errorf("ansible_env.PATH %v, want %s", env["PATH"], os.Getenv("PATH"))
	}
	for _, k := range []string{"ansible_processor_vcpus", "ansible_memtotal_mb", "ansible_date_time", "ansible_pkg_mgr"} {
		if f[k] == nil {
			t.Errorf("%s missing", k)
		}
	}
}

// Environment values under secret-looking names are secrets from then on,
// even where the general name rule (a name ending in token...) misses them.
func TestSetupMasksSecretEnvironment(t *testing.T) {
	t.Setenv("CUTOVER_TEST_SECRET_ACCESS_KEY", "s3cr3t-env-value")
	secrets := &redact.Set{}
	info := Setup()
	env := testEnv(info)
	env.Vault = &vault.Opener{Redact: secrets}
	args, _ := info.Decode(map[string]any{}, false)
	if _, err := info.New().Plan(t.Context(), env, args); err != nil {
		t.Fatal(err)
	}
	if got := secrets.String("key=s3cr3t-env-value"); strings.Contains(got, "s3cr3t") {
		t.Errorf("the value is not masked: %q", got)
	}
}
