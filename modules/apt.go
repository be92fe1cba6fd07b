package modules

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// Apt is the apt module: it installs, upgrades or removes Debian packages
// and updates the package lists.
//
// Plan compares the packages with what dpkg has installed (`dpkg-query
// -W`), and for state=latest with apt's candidate (`apt-cache policy`);
// then it asks `apt-get -s` (simulate) what apt would do, dependencies
// included, which is what the diff shows. Apply runs `apt-get update`,
// `apt-get install -y -q` or `apt-get remove -y -q` with
// DEBIAN_FRONTEND=noninteractive, keeping changed configuration files.
//
// update_cache counts as a change whenever the lists are older than
// cache_valid_time seconds (always when it is 0): set cache_valid_time to
// make a play that updates the cache idempotent. Ansible instead reports ok
// when packages were already as asked even though it updated the cache.
// When the cache is to be updated first, Plan simulates against today's
// lists (versions may differ once updated), or, when those do not know a
// package yet, reports the packages it will ask for.
func Apt() module.Info {
	return module.Info{
		Name:    "apt",
		Aliases: []string{"ansible.builtin.apt"},
		Doc:     "Install, upgrade (latest) or remove Debian packages, comparing with dpkg first; check mode simulates with apt-get -s.",
		Args: []module.Arg{
			{Name: "name", Type: module.List, Aliases: []string{"pkg", "package"}, Doc: `packages, as a list or "a,b"; "name=version" pins a version`},
			{Name: "state", Type: module.String, Default: "present", Choices: []string{"present", "absent", "latest"}, Doc: "present: installed at any version; latest: at apt's candidate version; absent: removed"},
			{Name: "update_cache", Type: module.Bool, Default: false, Aliases: []string{"update-cache"}, Doc: "run apt-get update first"},
			{Name: "cache_valid_time", Type: module.Int, Default: 0, Doc: "with update_cache: skip the update when the lists are younger than this many seconds"},
		},
		Probes: [][]string{
			{"dpkg-query", "-W"},
			{"apt-cache", "policy"},
			{"apt-get", "-s"},
			{"apt-config", "shell"},
		},
		New: func() module.Module { return aptModule{} },
	}
}

type aptModule struct{}

var aptPackageName = lazyre.New(`^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?$`)

// aptPackage is one requested package.
type aptPackage struct{ name, version string } // version "" unless pinned

func (p aptPackage) arg() string {
	if p.version != "" {
		return p.name + "=" + p.version
	}
	return p.name
}

// aptPlan is what Apply runs.
type aptPlan struct {
	update  bool
	argv    []string // install or remove; nil when only the cache is updated
	msg     string
	data    map[string]any
	changes []aptChange
}

// aptChange is one package apt would touch, from apt-get -s.
type aptChange struct{ name, before, after string } // "" is not installed

func (aptModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	var pkgs []aptPackage
	list, _ := args["name"].([]any)
	for _, v := range list {
		s := strings.TrimSpace(fmt.Sprint(v))
		if !aptPackageName.MatchString(s) {
			return nil, fmt.Errorf("name %q: not a Debian package name (lower case letters, digits, + - .; optionally :arch and =version)", s)
		}
		name, version, _ := strings.Cut(s, "=")
		pkgs = append(pkgs, aptPackage{name: name, version: version})
	}
	state := argString(args, "state")
	update := argBool(args, "update_cache")
	if len(pkgs) == 0 && !update {
		return nil, fmt.Errorf("one of the following is required: name, update_cache")
	}
	if update {
		var err error
		if update, err = aptCacheStale(ctx, env.Host, args["cache_valid_time"]); err != nil {
			return nil, err
		}
	}
	installed, err := dpkgInstalled(ctx, env.Host, pkgs)
	if err != nil {
		return nil, err
	}
	var todo []aptPackage
	switch state {
	case "absent":
		for _, p := range pkgs {
			if _, ok := installed[p.name]; ok {
				todo = append(todo, aptPackage{name: p.name})
			}
		}
	case "latest":
		candidates, err := aptCandidates(ctx, env.Host, pkgs)
		if err != nil {
			return nil, err
		}
		for _, p := range pkgs {
			cur, ok := installed[p.name]
			cand := candidates[p.name]
			if cand == "" && !update {
				return nil, fmt.Errorf("no package matching %q is available", p.name)
			}
			if !ok || (cand != "" && cur != cand) || update {
				todo = append(todo, aptPackage{name: p.name})
			}
		}
	default:
		for _, p := range pkgs {
			if cur, ok := installed[p.name]; !ok || (p.version != "" && cur != p.version) {
				todo = append(todo, p)
			}
		}
	}
	data := map[string]any{"cache_updated": false}
	if len(todo) == 0 && !update {
		return &module.Change{Action: module.None, Result: &module.Result{Msg: "packages already " + map[string]string{"absent": "removed", "latest": "at their latest version", "present": "installed"}[state], Data: data}}, nil
	}
	p := &aptPlan{update: update, data: data}
	var did []string
	if update {
		did = append(did, "update the package lists")
	}
	if len(todo) > 0 {
		verb := "install"
		p.argv = []string{"apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"}
		if state == "absent" {
			verb, p.argv = "remove", []string{"apt-get", "remove", "-y", "-q"}
		}
		p.argv = append(p.argv, "--")
		var names []string
		for _, t := range todo {
			p.argv = append(p.argv, t.arg())
			names = append(names, t.arg())
		}
		p.changes, err = aptSimulate(ctx, env.Host, verb, todo)
		if err != nil && update {
			// The lists apt will download may know what today's do not:
			// show the packages asked for instead.
			p.changes, err = nil, nil
			for _, t := range todo {
				p.changes = append(p.changes, aptChange{name: t.name, before: installed[t.name], after: map[bool]string{true: "", false: "(after apt-get update)"}[verb == "remove"]})
			}
		}
		if err != nil {
			return nil, err
		}
		did = append(did, verb+" "+strings.Join(names, " "))
		if !update && len(p.changes) == 0 {
			// apt has nothing to do (say, a pinned version it already has).
			return &module.Change{Action: module.None, Result: &module.Result{Msg: "apt-get has nothing to do", Data: data}}, nil
		}
	}
	p.msg = strings.Join(did, ", ")
	action := module.Update
	if state == "absent" && !update {
		action = module.Delete
	}
	before, after := aptStates(p.changes)
	return &module.Change{
		Action:  action,
		Summary: p.msg,
		Diffs:   []module.Diff{{BeforeHeader: "packages", AfterHeader: "packages", Before: before, After: after}},
		Result:  &module.Result{Changed: true, Msg: p.msg, Data: map[string]any{"cache_updated": update}},
		Data:    p,
	}, nil
}

// aptStates renders the packages apt would touch, before and after.
func aptStates(changes []aptChange) (string, string) {
	var b, a strings.Builder
	show := func(v string) string {
		if v == "" {
			return "(not installed)"
		}
		return v
	}
	for _, c := range changes {
		fmt.Fprintf(&b, "%s %s\n", c.name, show(c.before))
		fmt.Fprintf(&a, "%s %s\n", c.name, show(c.after))
	}
	return b.String(), a.String()
}

// dpkgInstalled returns the installed version of each package that is
// installed ("install ok installed" or "hold ok installed").
func dpkgInstalled(ctx context.Context, h module.Host, pkgs []aptPackage) (map[string]string, error) {
	out := map[string]string{}
	if len(pkgs) == 0 {
		return out, nil
	}
	argv := []string{"dpkg-query", "-W", "-f=${Package}\t${Status}\t${Version}\n", "--"}
	for _, p := range pkgs {
		argv = append(argv, p.name)
	}
	res, err := h.Probe(ctx, module.Command{Argv: argv})
	if err != nil {
		return nil, fmt.Errorf("dpkg-query: %w", err)
	}
	// rc 1 with "no packages found matching" is normal for missing ones.
	if res.RC > 1 {
		return nil, fmt.Errorf("dpkg-query: rc %d: %s", res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		status := strings.Fields(f[1])
		if len(status) == 3 && status[2] == "installed" && (status[0] == "install" || status[0] == "hold") {
			out[f[0]] = f[2]
			for _, p := range pkgs { // "name:arch" asked, "name" reported
				if base, _, ok := strings.Cut(p.name, ":"); ok && base == f[0] {
					out[p.name] = f[2]
				}
			}
		}
	}
	return out, nil
}

// aptCandidates returns apt's candidate version per package ("" for none).
func aptCandidates(ctx context.Context, h module.Host, pkgs []aptPackage) (map[string]string, error) {
	argv := []string{"apt-cache", "policy", "--"}
	for _, p := range pkgs {
		argv = append(argv, p.name)
	}
	res, err := h.Probe(ctx, module.Command{Argv: argv})
	if err != nil {
		return nil, fmt.Errorf("apt-cache policy: %w", err)
	}
	if res.RC != 0 {
		return nil, fmt.Errorf("apt-cache policy: rc %d: %s", res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	out := map[string]string{}
	current := ""
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		if !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
			current = strings.TrimSuffix(line, ":")
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate: "); ok && v != "(none)" {
			out[current] = v
		}
	}
	return out, nil
}

var aptSimLine = lazyre.New(`^(Inst|Remv) (\S+)(?: \[([^\]]+)\])?(?: \((\S+))?`)

// aptSimulate asks apt-get -s what it would install, upgrade or remove.
func aptSimulate(ctx context.Context, h module.Host, verb string, todo []aptPackage) ([]aptChange, error) {
	argv := []string{"apt-get", "-s", "-q", verb, "--"}
	for _, t := range todo {
		argv = append(argv, t.arg())
	}
	res, err := h.Probe(ctx, module.Command{Argv: argv, Env: map[string]string{"DEBIAN_FRONTEND": "noninteractive"}})
	if err != nil {
		return nil, fmt.Errorf("apt-get -s %s: %w", verb, err)
	}
	if res.RC != 0 {
		return nil, fmt.Errorf("apt-get -s %s: %s", verb, strings.TrimSpace(string(res.Stderr)+"\n"+string(res.Stdout)))
	}
	var out []aptChange
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		m := aptSimLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		c := aptChange{name: m[2], before: m[3]}
		if m[1] == "Inst" {
			c.after = m[4]
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// aptCacheStale reports whether the lists are older than validTime seconds,
// from the newer of the update-success stamp and the lists folder (Ansible
// takes the stamp when it exists, else the folder).
func aptCacheStale(ctx context.Context, h module.Host, validTime any) (bool, error) {
	secs, _ := validTime.(int)
	if secs <= 0 {
		return true, nil
	}
	res, err := h.Probe(ctx, module.Command{Argv: []string{"apt-config", "shell", "LISTS", "Dir::State::lists/d", "STATE", "Dir::State/d"}})
	if err != nil {
		return false, fmt.Errorf("apt-config: %w", err)
	}
	dirs := map[string]string{}
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			dirs[k] = strings.Trim(v, "'")
		}
	}
	var newest time.Time
	for _, p := range []string{path.Join(dirs["STATE"], "periodic/update-success-stamp"), dirs["LISTS"]} {
		if dirs["STATE"] == "" || dirs["LISTS"] == "" {
			return false, fmt.Errorf("apt-config shell: no Dir::State in %q", res.Stdout)
		}
		fi, err := statMaybe(ctx, h, p)
		if err != nil {
			return false, err
		}
		if fi != nil && fi.ModTime.After(newest) {
			newest = fi.ModTime
		}
	}
	return time.Since(newest) > time.Duration(secs)*time.Second, nil
}

func (aptModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*aptPlan)
	env := map[string]string{"DEBIAN_FRONTEND": "noninteractive"}
	var stdout, stderr strings.Builder
	data := map[string]any{"cache_updated": false}
	for _, argv := range [][]string{{"apt-get", "update", "-q"}, p.argv} {
		if len(argv) == 0 || argv[1] == "update" && !p.update {
			continue
		}
		res, err := h.Run(ctx, module.Command{Argv: argv, Env: env})
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", strings.Join(argv, " "), err)
		}
		stdout.Write(res.Stdout)
		stderr.Write(res.Stderr)
		data["stdout"], data["stderr"] = stdout.String(), stderr.String()
		if res.RC != 0 {
			data["rc"] = res.RC
			return &module.Result{Failed: true, Msg: fmt.Sprintf("%s: rc %d: %s", strings.Join(argv, " "), res.RC, strings.TrimSpace(string(res.Stderr))), Data: data}, nil
		}
		if argv[1] == "update" {
			data["cache_updated"] = true
		}
	}
	return &module.Result{Changed: true, Msg: p.msg, Data: data}, nil
}
