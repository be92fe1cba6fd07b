package modules

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"path"
	"slices"
	"strings"

	"github.com/cutover/cutover/engine/module"
)

// HostsEntry is the hosts_entry module: it keeps one line per address in a
// hosts(5) file. With state present the address's line holds exactly the
// given names (canonical name first, then aliases); a name found on another
// address's line is taken off it, and that line goes when no name is left
// on it. Lines it does not touch (comments, blank lines, other addresses)
// are kept byte for byte.
//
// A new line is written "IP<TAB>name alias...". A line that is rewritten
// keeps its own layout: leading blanks, the blanks after the address and
// between names, and a trailing comment. A file that is a mount point (the
// bind-mounted /etc/hosts of a container or of the SSH lab) cannot be
// replaced by a rename, so it is rewritten in place.
func HostsEntry() module.Info {
	return module.Info{
		Name: "hosts_entry",
		Doc:  "Ensure one line per IP in a hosts file with exactly the given names, taking those names off other lines, or remove names or an IP's line.",
		Args: []module.Arg{
			{Name: "ip", Type: module.String, Doc: "IPv4 or IPv6 address of the line; required with state=present"},
			{Name: "names", Type: module.List, Aliases: []string{"name", "hostnames"}, Doc: "canonical name first, then aliases; required with state=present"},
			{Name: "state", Type: module.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present: the IP's line holds exactly names; absent: remove names (from ip's line only when ip is given), or ip's whole line"},
			{Name: "path", Type: module.Path, Default: "/etc/hosts", Aliases: []string{"dest"}, Doc: "hosts file to edit; created when missing"},
			{Name: "backup", Type: module.Bool, Default: false, Doc: "keep a timestamped copy of the old file (result key backup_file)"},
		},
		Probes: [][]string{{"mountpoint", "-q", "--"}},
		Check:  func(a module.Args) error { _, err := hostsRequestFrom(a); return err },
		New:    func() module.Module { return hostsEntryModule{} },
	}
}

type hostsEntryModule struct{}

// hostsEntryPlan is what Apply needs: the whole new file and how to put it
// in place.
type hostsEntryPlan struct {
	path    string
	data    []byte
	existed bool
	inPlace bool   // path is a mount point: write through it, no rename
	mkdir   string // parent folder to create first
	backup  bool
	msg     string
}

func (hostsEntryModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	req, err := hostsRequestFrom(args)
	if err != nil {
		return nil, err
	}
	p := argString(args, "path")
	// A hosts file that is a symlink is edited where it points.
	real, fi, err := resolveLinks(ctx, env.Host, p)
	if err != nil {
		return nil, err
	}
	if fi != nil && fi.IsDir {
		return nil, fmt.Errorf("%s is a directory", p)
	}
	var old []byte
	if fi != nil {
		if old, _, err = readMaybe(ctx, env.Host, real); err != nil {
			return nil, err
		}
	} else if !req.present {
		res := &module.Result{Msg: "file not present", Data: map[string]any{"msg": "file not present"}}
		return &module.Change{Action: module.None, Summary: res.Msg, Result: res}, nil
	}
	data, events := req.edit(string(old))
	plan := &hostsEntryPlan{path: real, data: []byte(data), existed: fi != nil, backup: argBool(args, "backup")}
	c := &module.Change{Action: module.None, Data: plan}
	switch {
	case fi == nil:
		c.Action = module.Create
	case data != string(old):
		c.Action = module.Update
	}
	if c.Action == module.None {
		plan.msg = req.convergedMsg()
		c.Summary = plan.msg
		c.Result = &module.Result{Msg: plan.msg, Data: map[string]any{"msg": plan.msg}}
		return c, nil
	}
	plan.msg = strings.Join(events, "; ")
	if fi == nil {
		if parent, err := statMaybe(ctx, env.Host, path.Dir(real)); err != nil {
			return nil, err
		} else if parent == nil {
			plan.mkdir = path.Dir(real)
		}
	} else if plan.inPlace, err = isMountPoint(ctx, env.Host, real); err != nil {
		return nil, err
	}
	c.Summary = plan.msg
	c.Diffs = []module.Diff{{BeforeHeader: p, AfterHeader: p, Before: string(old), After: data}}
	c.Result = &module.Result{Changed: true, Msg: plan.msg, Data: map[string]any{"msg": plan.msg}}
	return c, nil
}

// Apply writes the planned file: atomically (temp file, rename), or in
// place when the file is a mount point. The backup, when asked, is made
// first.
func (hostsEntryModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	plan := c.Data.(*hostsEntryPlan)
	res := &module.Result{Changed: true, Msg: plan.msg, Data: map[string]any{"msg": plan.msg}}
	if plan.mkdir != "" {
		if err := runArgv(ctx, h, "mkdir", "-p", "--", plan.mkdir); err != nil {
			return nil, err
		}
	}
	if plan.backup && plan.existed {
		b, err := makeBackup(ctx, h, plan.path)
		if err != nil {
			return nil, err
		}
		res.Data["backup_file"] = b
	}
	if plan.inPlace {
		// tee opens the file with O_TRUNC: same inode, so the mount stays.
		r, err := h.Run(ctx, module.Command{Argv: []string{"tee", "--", plan.path}, Stdin: plan.data})
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", plan.path, err)
		}
		if r.RC != 0 {
			return nil, fmt.Errorf("write %s in place: rc=%d: %s", plan.path, r.RC, strings.TrimSpace(string(r.Stderr)))
		}
		return res, nil
	}
	if err := h.WriteFile(ctx, plan.path, plan.data, module.WriteOptions{}); err != nil {
		return nil, err
	}
	return res, nil
}

// isMountPoint asks the host whether p is a mount point; a host without
// mountpoint(1) (rc 127 over SSH, not found locally) is taken to have none.
func isMountPoint(ctx context.Context, h module.Host, p string) (bool, error) {
	r, err := h.Probe(ctx, module.Command{Argv: []string{"mountpoint", "-q", "--", p}})
	if errors.Is(err, exec.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mountpoint %s: %w", p, err)
	}
	return r.RC == 0, nil
}

// hostsRequest is a validated hosts_entry call.
type hostsRequest struct {
	present bool
	ip      netip.Addr // invalid when not given (absent by names)
	names   []string
}

func hostsRequestFrom(args module.Args) (*hostsRequest, error) {
	req := &hostsRequest{present: argString(args, "state") != "absent"}
	if s, ok := argOpt(args, "ip"); ok && s != "" {
		ip, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, &module.ArgError{Arg: "ip", Msg: fmt.Sprintf("argument \"ip\" of hosts_entry: %q is not an IPv4 or IPv6 address", s)}
		}
		req.ip = ip
	}
	raw, _ := args["names"].([]any)
	seen := map[string]bool{}
	for _, v := range raw {
		name, ok := v.(string)
		name = strings.TrimSpace(name)
		if !ok || !validHostName(name) {
			return nil, &module.ArgError{Arg: "names", Msg: fmt.Sprintf("argument \"names\" of hosts_entry: %q is not a host name (no blanks, no #, not empty)", fmt.Sprint(v))}
		}
		if seen[strings.ToLower(name)] {
			return nil, &module.ArgError{Arg: "names", Msg: fmt.Sprintf("argument \"names\" of hosts_entry lists %q twice", name)}
		}
		seen[strings.ToLower(name)] = true
		req.names = append(req.names, name)
	}
	switch {
	case req.present && !req.ip.IsValid():
		return nil, &module.ArgError{Arg: "ip", Msg: "hosts_entry: ip is required with state=present"}
	case req.present && len(req.names) == 0:
		return nil, &module.ArgError{Arg: "names", Msg: "hosts_entry: names is required with state=present"}
	case !req.present && !req.ip.IsValid() && len(req.names) == 0:
		return nil, &module.ArgError{Msg: "hosts_entry: one of ip or names is required with state=absent"}
	}
	return req, nil
}

func validHostName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == '#' || r == 0x7f {
			return false
		}
	}
	return true
}

// hasName reports whether name is one of the request's, ignoring case as
// the resolver does.
func (r *hostsRequest) hasName(name string) bool {
	for _, n := range r.names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func (r *hostsRequest) convergedMsg() string {
	if r.present {
		return fmt.Sprintf("%s %s already present", r.ip, strings.Join(r.names, " "))
	}
	return "nothing to remove"
}

// edit returns the file's new content and what changed, one phrase each.
func (r *hostsRequest) edit(old string) (string, []string) {
	var out []string
	var events []string
	ipLine, insertAt := -1, -1
	for _, raw := range splitLinesKeep(old) {
		l := parseHostsLine(raw)
		if !l.ok {
			out = append(out, raw)
			continue
		}
		sameIP := r.ip.IsValid() && l.addr == r.ip
		switch {
		case r.present && sameIP && ipLine < 0:
			ipLine = len(out)
			if !slices.Equal(l.names, r.names) {
				l.names = r.names
				events = append(events, fmt.Sprintf("%s set to %s", l.ipText, strings.Join(r.names, " ")))
				raw = l.render()
			}
			out = append(out, raw)
		case sameIP && (r.present || len(r.names) == 0):
			// One line per IP: a later line for it goes (present), or
			// every line for it (absent by ip alone).
			events = append(events, fmt.Sprintf("line %q removed", strings.TrimRight(raw, "\r\n")))
		case r.present || sameIP || !r.ip.IsValid():
			// Names are taken off other IPs' lines (present), or off
			// ip's lines or every line (absent with names).
			var kept, gone []string
			for _, n := range l.names {
				if r.hasName(n) {
					gone = append(gone, n)
				} else {
					kept = append(kept, n)
				}
			}
			if len(gone) == 0 {
				out = append(out, raw)
				continue
			}
			if insertAt < 0 {
				insertAt = len(out)
			}
			if len(kept) == 0 {
				events = append(events, fmt.Sprintf("line %q removed", strings.TrimRight(raw, "\r\n")))
				continue
			}
			l.names = kept
			events = append(events, fmt.Sprintf("%s removed from %s", strings.Join(gone, " "), l.ipText))
			out = append(out, l.render())
		default:
			out = append(out, raw)
		}
	}
	if r.present && ipLine < 0 {
		line := r.ip.String() + "\t" + strings.Join(r.names, " ") + "\n"
		if insertAt < 0 {
			insertAt = len(out)
			if n := len(out); n > 0 && !strings.HasSuffix(out[n-1], "\n") {
				out[n-1] += "\n"
			}
		}
		out = append(out[:insertAt], append([]string{line}, out[insertAt:]...)...)
		events = append([]string{fmt.Sprintf("%s %s added", r.ip, strings.Join(r.names, " "))}, events...)
	}
	return strings.Join(out, ""), events
}

// hostsLine is one line of a hosts file taken apart so it can be put back
// together with its own layout: lead + ipText + ipSep + names joined by
// nameSep + tail + eol.
type hostsLine struct {
	ok      bool // an address line; anything else is kept verbatim
	addr    netip.Addr
	lead    string
	ipText  string
	ipSep   string
	names   []string
	nameSep string
	tail    string // blanks after the last name, and a comment
	eol     string
}

func hostsBlank(c byte) bool { return c == ' ' || c == '\t' }

// parseHostsLine splits one line (with its end of line) per hosts(5): an
// address, then names, up to a "#" comment.
func parseHostsLine(raw string) hostsLine {
	var l hostsLine
	body := raw
	switch {
	case strings.HasSuffix(body, "\r\n"):
		l.eol, body = "\r\n", body[:len(body)-2]
	case strings.HasSuffix(body, "\n"):
		l.eol, body = "\n", body[:len(body)-1]
	}
	content, comment := body, ""
	if i := strings.IndexByte(body, '#'); i >= 0 {
		content, comment = body[:i], body[i:]
	}
	// Words and the blanks before each: seps[i] precedes words[i];
	// seps[len(words)] trails.
	var words, seps []string
	i := 0
	for {
		j := i
		for j < len(content) && hostsBlank(content[j]) {
			j++
		}
		seps = append(seps, content[i:j])
		if j == len(content) {
			break
		}
		k := j
		for k < len(content) && !hostsBlank(content[k]) {
			k++
		}
		words = append(words, content[j:k])
		i = k
	}
	if len(words) == 0 {
		return l
	}
	addr, err := netip.ParseAddr(words[0])
	if err != nil {
		return l
	}
	l.ok, l.addr, l.lead, l.ipText = true, addr, seps[0], words[0]
	l.names = words[1:]
	l.ipSep, l.nameSep = "\t", " "
	if len(words) > 1 {
		l.ipSep = seps[1]
	}
	if len(words) > 2 {
		l.nameSep = seps[2]
	}
	l.tail = seps[len(words)] + comment
	return l
}

func (l hostsLine) render() string {
	return l.lead + l.ipText + l.ipSep + strings.Join(l.names, l.nameSep) + l.tail + l.eol
}
