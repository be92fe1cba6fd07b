package modules

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// factScript gathers the fact set in one round trip; each section starts
// with an "@name" line.
const factScript = `echo @uname; uname -snrm
echo @fqdn; hostname -f 2>/dev/null || hostname
echo @osrelease; cat /etc/os-release 2>/dev/null
echo @user; id -un
echo @init; cat /proc/1/comm 2>/dev/null
echo @route; ip -4 route show default 2>/dev/null
echo @addr; ip -4 -o addr show 2>/dev/null
echo @cpus; grep -c ^processor /proc/cpuinfo 2>/dev/null
echo @mem; grep -E '^(MemTotal|MemFree|SwapTotal):' /proc/meminfo 2>/dev/null
echo @date; date '+%s %z %Z'
echo @pkg; for p in apt-get dnf yum apk zypper pacman; do command -v $p >/dev/null 2>&1 && { echo $p; break; }; done
echo @env; env -0
true`

var factArgv = []string{"/bin/sh", "-c", factScript}

// Setup is the setup module (fact gathering): a small fact set read in one
// command.
func Setup() module.Info {
	return module.Info{
		Name: "setup",
		Doc:  "Gathers facts in one round trip: hostname, fqdn, distribution and version, kernel, architecture, IPv4 addresses, service manager, user, CPUs, memory, date and time, package manager, environment.",
		Args: []module.Arg{
			{Name: "gather_subset", Type: module.List, Doc: "accepted for compatibility; the one small set is always gathered"},
			{Name: "filter", Type: module.List, Doc: "only facts whose names match these globs"},
		},
		Probes: [][]string{factArgv},
		New:    func() module.Module { return setupModule{} },
	}
}

type setupModule struct{}

func (setupModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	res, err := env.Host.Probe(ctx, module.Command{Argv: factArgv})
	if err != nil {
		return nil, fmt.Errorf("gather facts: %w", err)
	}
	facts := parseFacts(string(res.Stdout))
	// The environment may hold credentials under names the general rule
	// (a name ending in password, token...) misses: AWS_SECRET_ACCESS_KEY.
	if envFacts, ok := facts["ansible_env"].(map[string]any); ok {
		for k, v := range envFacts {
			if secretEnvName.MatchString(k) {
				env.Vault.Secret(fmt.Sprint(v))
			}
		}
	}
	if list, ok := args["filter"].([]any); ok && len(list) > 0 {
		kept := map[string]any{}
		for k, v := range facts {
			for _, f := range list {
				if ok, _ := pathMatch(fmt.Sprint(f), k); ok {
					kept[k] = v
				}
			}
		}
		facts = kept
	}
	return &module.Change{Result: &module.Result{Facts: facts, Data: map[string]any{"ansible_facts": facts}}}, nil
}

func (setupModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return &module.Result{}, nil
}

// parseFacts turns the script's sections into ansible_* facts.
func parseFacts(out string) map[string]any {
	sections := map[string][]string{}
	cur := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "@") {
			cur = line[1:]
			continue
		}
		sections[cur] = append(sections[cur], line)
	}
	f := map[string]any{}
	if u := strings.Fields(first(sections["uname"])); len(u) == 4 {
		f["ansible_system"], f["ansible_nodename"], f["ansible_kernel"], f["ansible_architecture"] = u[0], u[1], u[2], u[3]
		f["ansible_machine"] = u[3]
		f["ansible_hostname"] = strings.SplitN(u[1], ".", 2)[0]
	}
	fqdn := first(sections["fqdn"])
	f["ansible_fqdn"] = fqdn
	if _, dom, ok := strings.Cut(fqdn, "."); ok {
		f["ansible_domain"] = dom
	} else {
		f["ansible_domain"] = ""
	}
	osr := map[string]string{}
	for _, l := range sections["osrelease"] {
		if k, v, ok := strings.Cut(l, "="); ok {
			osr[k] = strings.Trim(v, `"'`)
		}
	}
	dist := osr["NAME"]
	if i := strings.IndexByte(dist, ' '); i > 0 {
		dist = dist[:i] // "Debian GNU/Linux" -> "Debian", as Ansible names it
	}
	f["ansible_distribution"] = dist
	f["ansible_distribution_version"] = osr["VERSION_ID"]
	f["ansible_distribution_major_version"] = strings.SplitN(osr["VERSION_ID"], ".", 2)[0]
	f["ansible_distribution_release"] = osr["VERSION_CODENAME"]
	f["ansible_os_family"] = osFamily(osr["ID"], osr["ID_LIKE"])
	f["ansible_user_id"] = first(sections["user"])
	svc := first(sections["init"])
	if svc == "" || svc == "init" {
		svc = "sysvinit"
	}
	f["ansible_service_mgr"] = svc
	ipv4 := map[string]any{}
	if r := strings.Fields(first(sections["route"])); len(r) >= 5 {
		for i := 0; i+1 < len(r); i++ {
			switch r[i] {
			case "via":
				ipv4["gateway"] = r[i+1]
			case "dev":
				ipv4["interface"] = r[i+1]
			}
		}
	}
	for _, l := range sections["addr"] {
		fields := strings.Fields(l)
		if len(fields) >= 4 && fields[1] == ipv4["interface"] && fields[2] == "inet" {
			addr, _, _ := strings.Cut(fields[3], "/")
			ipv4["address"] = addr
		}
	}
	f["ansible_default_ipv4"] = ipv4
	all := []any{}
	for _, l := range sections["addr"] {
		if fields := strings.Fields(l); len(fields) >= 4 && fields[1] != "lo" && fields[2] == "inet" {
			addr, _, _ := strings.Cut(fields[3], "/")
			all = append(all, addr)
		}
	}
	f["ansible_all_ipv4_addresses"] = all
	if n, err := strconv.Atoi(first(sections["cpus"])); err == nil {
		f["ansible_processor_vcpus"] = n
	}
	for _, l := range sections["mem"] {
		// "MemTotal:  24576000 kB": Ansible gives whole MiB.
		name, kb, _ := strings.Cut(l, ":")
		if key := memFacts[name]; key != "" {
			if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(kb), " kB")); err == nil {
				f[key] = n / 1024
			}
		}
	}
	if pm := first(sections["pkg"]); pm != "" {
		f["ansible_pkg_mgr"] = strings.TrimSuffix(pm, "-get") // apt-get is "apt", as Ansible names it
	}
	if dt := dateTimeFacts(first(sections["date"])); dt != nil {
		f["ansible_date_time"] = dt
	}
	env := map[string]any{}
	for _, kv := range strings.Split(strings.Join(sections["env"], "\n"), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env[k] = v
		}
	}
	f["ansible_env"] = env
	return f
}

// secretEnvName matches environment names that likely hold a secret.
var secretEnvName = lazyre.New(`(?i)pass|secret|token|key|credential|auth`)

var memFacts = map[string]string{"MemTotal": "ansible_memtotal_mb", "MemFree": "ansible_memfree_mb", "SwapTotal": "ansible_swaptotal_mb"}

// dateTimeFacts is Ansible's ansible_date_time from "EPOCH +HHMM ZONE",
// read on the host so that its time zone counts.
func dateTimeFacts(line string) map[string]any {
	p := strings.Fields(line)
	if len(p) != 3 {
		return nil
	}
	epoch, err1 := strconv.ParseInt(p[0], 10, 64)
	off, err2 := time.Parse("-0700", p[1])
	if err1 != nil || err2 != nil {
		return nil
	}
	_, secs := off.Zone()
	t := time.Unix(epoch, 0).In(time.FixedZone(p[2], secs))
	u := t.UTC()
	// strftime's %W: weeks starting on Monday, the days before the first
	// Monday in week 0.
	week := (t.YearDay() - 1 + 7 - (int(t.Weekday())+6)%7) / 7
	return map[string]any{
		"year": t.Format("2006"), "month": t.Format("01"), "day": t.Format("02"), "hour": t.Format("15"),
		"minute": t.Format("04"), "second": t.Format("05"), "date": t.Format("2006-01-02"), "time": t.Format("15:04:05"),
		"weekday": t.Format("Monday"), "weekday_number": strconv.Itoa(int(t.Weekday())), "weeknumber": fmt.Sprintf("%02d", week),
		"epoch": p[0], "epoch_int": p[0], "tz": p[2], "tz_offset": p[1],
		"iso8601": u.Format("2006-01-02T15:04:05Z"), "iso8601_basic_short": t.Format("20060102T150405"),
	}
}

func osFamily(id, like string) string {
	for _, s := range append([]string{id}, strings.Fields(like)...) {
		switch s {
		case "debian", "ubuntu":
			return "Debian"
		case "rhel", "fedora", "centos":
			return "RedHat"
		case "alpine":
			return "Alpine"
		case "suse", "opensuse":
			return "Suse"
		case "arch":
			return "Archlinux"
		}
	}
	return id
}

func first(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.TrimSpace(lines[0])
}
