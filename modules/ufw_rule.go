package modules

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// UfwRule is the ufw_rule module: it makes sure one ufw rule is in (or out
// of) the rules ufw keeps in /etc/ufw/user.rules and user6.rules.
//
// Plan reads those files (each rule is recorded there as a "### tuple ###"
// line) and never runs ufw, so check mode cannot touch the firewall. It
// normalizes the wanted rule the way ufw does (10.0.10.5/24 is
// 10.0.10.0/24, a /32 is a bare address, port lists are sorted) and
// compares it with what is recorded: a rule with any address is expected in
// both files when ufw's IPV6 is on, as ufw writes it there.
//
// Apply runs one `ufw RULE ...` (or `ufw delete RULE ...`) command, which
// works whether the firewall is active (ufw also updates iptables) or not
// (only the files change).
//
// A rule found with another action or another comment is updated in place:
// ufw itself replaces a rule that matches in everything but action and
// comment, keeping its position, so the same `ufw allow ... comment NEW`
// command does it (no delete and re-add). Without the comment argument the
// comment is not managed: an existing rule's comment is kept. state=absent
// deletes the rule with this action whatever its comment.
func UfwRule() module.Info {
	return module.Info{
		Name: "ufw_rule",
		Doc:  "Ensure a ufw rule is present or absent, comparing with the rules ufw records (user.rules, user6.rules); works with ufw active or not.",
		Args: []module.Arg{
			{Name: "rule", Type: module.String, Required: true, Choices: []string{"allow", "deny", "reject", "limit"}, Doc: "what the rule does with matching packets"},
			{Name: "direction", Type: module.String, Default: "in", Choices: []string{"in", "out"}, Doc: "incoming or outgoing traffic"},
			{Name: "from_ip", Type: module.String, Default: "any", Aliases: []string{"from", "src"}, Doc: `source address or network ("any", 10.0.10.23, 10.0.10.0/24, an IPv6 one)`},
			{Name: "to_ip", Type: module.String, Default: "any", Aliases: []string{"to", "dest"}, Doc: "destination address or network"},
			{Name: "port", Type: module.String, Aliases: []string{"to_port"}, Doc: `destination port: "5432", a range "6000:6010" or a list "25,587" (ranges and lists need proto)`},
			{Name: "proto", Type: module.String, Default: "any", Aliases: []string{"protocol"}, Choices: []string{"tcp", "udp", "any"}, Doc: "protocol"},
			{Name: "interface", Type: module.String, Aliases: []string{"if"}, Doc: "network interface the rule applies to (in on it, or out on it)"},
			{Name: "comment", Type: module.String, Doc: "comment stored with the rule; when omitted an existing rule's comment is kept"},
			{Name: "state", Type: module.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "whether the rule should be there"},
		},
		Check: func(a module.Args) error { _, err := ufwRequestFrom(a); return err },
		New:   func() module.Module { return ufwRuleModule{} },
	}
}

// The files ufw records its rules in, and its settings.
const (
	ufwRules4   = "/etc/ufw/user.rules"
	ufwRules6   = "/etc/ufw/user6.rules"
	ufwDefaults = "/etc/default/ufw"
	ufwConf     = "/etc/ufw/ufw.conf"
)

type ufwRuleModule struct{}

// ufwTuple is one rule as ufw records it in a "### tuple ###" line:
// ACTION PROTO DPORT DST SPORT SRC [DAPP SAPP] DIRECTION[_IFACE] [comment=HEX].
type ufwTuple struct {
	Action  string // allow, deny, reject, limit; "_log" or "_log-all" appended when it logs
	Forward bool   // a route rule ("route:allow")
	Proto   string
	DPort   string
	Dst     string
	SPort   string
	Src     string
	DApp    string
	SApp    string
	Ifaces  string // "in", "out", "in_eth0", "in_eth0!out_eth1"
	Comment string // decoded
	V6      bool
}

// key is everything ufw compares to call two rules the same rule, less the
// action and the comment (ufw's UFWRule.match).
func (t ufwTuple) key() string {
	return strings.Join([]string{strconv.FormatBool(t.Forward), t.Proto, t.DPort, t.Dst, t.SPort, t.Src, t.DApp, t.SApp, t.Ifaces, strconv.FormatBool(t.V6)}, " ")
}

// String renders a rule as the ufw command that adds it, as `ufw show
// added` does: the form people read and write.
func (t ufwTuple) String() string {
	var b strings.Builder
	if t.Forward {
		b.WriteString("route ")
	}
	action, logType, _ := strings.Cut(t.Action, "_")
	b.WriteString(action)
	dir, iface, _ := strings.Cut(t.Ifaces, "_")
	if i := strings.Index(dir, "!"); i >= 0 {
		dir = dir[:i]
	}
	b.WriteString(" " + dir)
	if logType != "" {
		b.WriteString(" " + logType)
	}
	if iface != "" {
		b.WriteString(" on " + strings.ReplaceAll(iface, "!out_", " out on "))
	}
	anyName := func(a string) string {
		if a == "0.0.0.0/0" || a == "::/0" {
			return "any"
		}
		return a
	}
	fmt.Fprintf(&b, " from %s", anyName(t.Src))
	if t.SApp != "" {
		fmt.Fprintf(&b, " app %q", t.SApp)
	} else if t.SPort != "any" {
		fmt.Fprintf(&b, " port %s", t.SPort)
	}
	fmt.Fprintf(&b, " to %s", anyName(t.Dst))
	if t.DApp != "" {
		fmt.Fprintf(&b, " app %q", t.DApp)
	} else if t.DPort != "any" {
		fmt.Fprintf(&b, " port %s", t.DPort)
	}
	if t.Proto != "any" && t.DApp == "" && t.SApp == "" {
		b.WriteString(" proto " + t.Proto)
	}
	if t.Comment != "" {
		fmt.Fprintf(&b, " comment %s", ufwQuoted(t.Comment))
	}
	if t.V6 {
		b.WriteString(" (v6)")
	}
	return b.String()
}

// ufwQuoted quotes a comment as `ufw show added` prints it (display only).
func ufwQuoted(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ufwRequest is the task's rule, checked and normalized.
type ufwRequest struct {
	action, direction, iface, proto, port string
	src, dst                              string // normalized; "" is any
	family                                int    // 0: either (both addresses any), 4 or 6
	comment                               string
	hasComment, present                   bool
}

func ufwRequestFrom(args module.Args) (*ufwRequest, error) {
	r := &ufwRequest{
		action: argString(args, "rule"), direction: argString(args, "direction"),
		iface: argString(args, "interface"), proto: argString(args, "proto"),
		present: argString(args, "state") != "absent",
	}
	r.comment, r.hasComment = argOpt(args, "comment")
	var famSrc, famDst int
	var err error
	if r.src, famSrc, err = ufwAddress(argString(args, "from_ip")); err != nil {
		return nil, fmt.Errorf("from_ip: %w", err)
	}
	if r.dst, famDst, err = ufwAddress(argString(args, "to_ip")); err != nil {
		return nil, fmt.Errorf("to_ip: %w", err)
	}
	if famSrc != 0 && famDst != 0 && famSrc != famDst {
		return nil, fmt.Errorf("from_ip and to_ip mix IPv4 and IPv6")
	}
	r.family = max(famSrc, famDst)
	if r.port, err = ufwPort(argString(args, "port"), r.proto); err != nil {
		return nil, err
	}
	if r.iface != "" && !ifaceName.MatchString(r.iface) || r.iface == "." || r.iface == ".." {
		return nil, fmt.Errorf("interface %q: not an interface name (at most 15 letters, digits, _ . + -; no alias)", r.iface)
	}
	if strings.ContainsAny(r.comment, "\n\r") {
		return nil, fmt.Errorf("comment must be one line")
	}
	return r, nil
}

var (
	ufwPortPart = lazyre.New(`^(\d+)(?::(\d+))?$`)
	digitRuns   = lazyre.New(`\d+|\D+`)
	ifaceName   = lazyre.New(`^[A-Za-z0-9_.+-]{1,15}$`)
)

// tuple is the request as ufw would record it in one family's file.
func (r *ufwRequest) tuple(v6 bool, comment string) ufwTuple {
	anyAddr := "0.0.0.0/0"
	if v6 {
		anyAddr = "::/0"
	}
	or := func(a string) string {
		if a == "" {
			return anyAddr
		}
		return a
	}
	ifaces := r.direction
	if r.iface != "" {
		ifaces += "_" + r.iface
	}
	return ufwTuple{Action: r.action, Proto: r.proto, DPort: r.port, Dst: or(r.dst), SPort: "any", Src: or(r.src), Ifaces: ifaces, Comment: comment, V6: v6}
}

// argv is the ufw command that adds (or deletes) the rule.
func (r *ufwRequest) argv(comment string) []string {
	argv := []string{"ufw"}
	if !r.present {
		argv = append(argv, "delete")
	}
	argv = append(argv, r.action, r.direction)
	if r.iface != "" {
		argv = append(argv, "on", r.iface)
	}
	or := func(a string) string {
		if a == "" {
			return "any"
		}
		return a
	}
	argv = append(argv, "from", or(r.src), "to", or(r.dst))
	if r.port != "any" {
		argv = append(argv, "port", r.port)
	}
	if r.proto != "any" {
		argv = append(argv, "proto", r.proto)
	}
	if r.present && comment != "" {
		argv = append(argv, "comment", comment)
	}
	return argv
}

// ufwPlan is what Apply runs.
type ufwPlan struct {
	argv []string
	msg  string
}

func (ufwRuleModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	req, err := ufwRequestFrom(args)
	if err != nil {
		return nil, err
	}
	rules4, err := readUfwRules(ctx, env.Host, ufwRules4, false)
	if err != nil {
		return nil, err
	}
	ipv6, err := ufwIPv6(ctx, env.Host)
	if err != nil {
		return nil, err
	}
	var rules6 []ufwTuple
	if ipv6 {
		if rules6, err = readUfwRules(ctx, env.Host, ufwRules6, true); err != nil {
			return nil, err
		}
	}
	if req.family == 6 && !ipv6 {
		return nil, fmt.Errorf("an IPv6 rule needs IPV6=yes in %s", ufwDefaults)
	}
	comment := req.comment
	if !req.hasComment && req.present {
		// Not managed: an update (another action) keeps the rule's comment.
		for _, r := range append(append([]ufwTuple{}, rules4...), rules6...) {
			if r.key() == req.tuple(r.V6, "").key() {
				comment = r.Comment
				break
			}
		}
	}
	after4, after6 := rules4, rules6
	changed4, changed6 := false, false
	if req.family != 6 {
		after4, changed4 = req.simulate(rules4, false, comment)
	}
	if req.family != 4 && ipv6 {
		after6, changed6 = req.simulate(rules6, true, comment)
	}
	active := false
	if conf, ok, err := readMaybe(ctx, env.Host, ufwConf); err != nil {
		return nil, err
	} else if ok {
		active = regexp.MustCompile(`(?m)^ENABLED=yes\s*$`).Match(conf)
	}
	argv := req.argv(comment)
	rule := strings.Join(argv[1:], " ")
	if !changed4 && !changed6 {
		msg := "rule already present"
		if !req.present {
			msg = "rule already absent"
		}
		return &module.Change{Action: module.None, Result: &module.Result{Msg: msg, Data: map[string]any{"rule": rule, "active": active}}}, nil
	}
	action, msg := module.Create, "rule added"
	switch {
	case !req.present:
		action, msg = module.Delete, "rule deleted"
	case req.replaces(rules4, rules6):
		action, msg = module.Update, "rule updated"
	}
	c := &module.Change{
		Action:  action,
		Summary: msg + ": " + rule,
		Diffs: []module.Diff{{BeforeHeader: "ufw user rules", AfterHeader: "ufw user rules",
			Before: renderUfwRules(rules4, rules6), After: renderUfwRules(after4, after6)}},
		Result: &module.Result{Changed: true, Msg: msg, Data: map[string]any{"rule": rule, "active": active}},
		Data:   &ufwPlan{argv: argv, msg: msg},
	}
	return c, nil
}

// simulate applies the request to one family's rules as ufw's set_rule
// does: a rule matching but for action or comment is replaced in place, a
// new one goes last; a deletion takes the rule with the same action.
func (r *ufwRequest) simulate(rules []ufwTuple, v6 bool, comment string) ([]ufwTuple, bool) {
	want := r.tuple(v6, comment)
	out := append([]ufwTuple{}, rules...)
	for i, cur := range out {
		if cur.key() != want.key() {
			continue
		}
		if !r.present {
			if cur.Action != want.Action {
				continue
			}
			return append(out[:i], out[i+1:]...), true
		}
		if cur.Action == want.Action && cur.Comment == want.Comment {
			return out, false
		}
		out[i] = want
		return out, true
	}
	if !r.present {
		return out, false
	}
	return append(out, want), true
}

// replaces reports whether adding the rule would replace one that differs
// only in action or comment.
func (r *ufwRequest) replaces(rules4, rules6 []ufwTuple) bool {
	for _, cur := range append(append([]ufwTuple{}, rules4...), rules6...) {
		if cur.key() == r.tuple(cur.V6, "").key() {
			return true
		}
	}
	return false
}

// ufwIPv6 reads IPV6= from /etc/default/ufw; ufw's default is yes.
func ufwIPv6(ctx context.Context, h module.Host) (bool, error) {
	data, ok, err := readMaybe(ctx, h, ufwDefaults)
	if err != nil || !ok {
		return true, err
	}
	m := regexp.MustCompile(`(?m)^\s*IPV6=["']?(\w+)`).FindSubmatch(data)
	return m == nil || strings.EqualFold(string(m[1]), "yes"), nil
}

func (ufwRuleModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*ufwPlan)
	res, err := h.Run(ctx, module.Command{Argv: p.argv})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", strings.Join(p.argv, " "), err)
	}
	data := map[string]any{"rule": strings.Join(p.argv[1:], " "), "stdout": string(res.Stdout), "stderr": string(res.Stderr), "rc": res.RC}
	out := strings.TrimSpace(string(res.Stdout) + "\n" + string(res.Stderr))
	if res.RC != 0 || strings.Contains(out, "ERROR:") {
		return &module.Result{Failed: true, Msg: fmt.Sprintf("%s: %s", strings.Join(p.argv, " "), out), Data: data}, nil
	}
	return &module.Result{Changed: true, Msg: p.msg, Data: data}, nil
}
