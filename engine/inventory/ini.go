package inventory

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/vault"

	"github.com/cutover/cutover/engine/diag"
)

var (
	iniSectionRe   = lazyre.New(`^\[([^:\]\s]+)(?::([\pL\pN_]+))?\]\s*(?:#.*)?$`)
	iniGroupNameRe = lazyre.New(`^([^:\]\s]+)\s*(?:#.*)?$`)
)

// sourceInfo describes the file being parsed: name is how errors show it,
// file and dir are the absolute values of inventory_file and inventory_dir.
type sourceInfo struct {
	name, file, dir string
	data            []byte
	vault           *vault.Opener
	secret          bool // the file was a vault: its every value is a secret
}

func (s *sourceInfo) errorf(line, col int, format string, args ...any) *diag.Error {
	e := diag.Errorf(s.name, line, col, format, args...)
	e.Excerpt = diag.Excerpt(s.data, line, col)
	return e
}

type pendingDecl struct {
	line, col int
	state     string
	parents   []string
}

// iniParser follows ansible's plugins/inventory/ini.py line by line, but
// keeps going after a bad line so one run reports every problem.
type iniParser struct {
	inv     *Inventory
	src     *sourceInfo
	errs    diag.List
	pending map[string]*pendingDecl
	order   []string // pending names in first-seen order, for stable errors
}

// parseINI adds the hosts and groups of an INI inventory to inv.
func (inv *Inventory) parseINI(src *sourceInfo) diag.List {
	p := &iniParser{inv: inv, src: src, pending: map[string]*pendingDecl{}}
	group, state := "ungrouped", "hosts"
	text := string(src.data)
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	for i, raw := range strings.Split(text, "\n") {
		lineNo := i + 1
		line := strings.TrimSpace(raw)
		indent := utf8.RuneCountInString(raw[:len(raw)-len(strings.TrimLeftFunc(raw, unicode.IsSpace))])
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		col := indent + 1
		if m := iniSectionRe.FindStringSubmatch(line); m != nil {
			group, state = m[1], m[2]
			if state == "" {
				state = "hosts"
			}
			if state != "hosts" && state != "children" && state != "vars" {
				p.errs = append(p.errs, src.errorf(lineNo, col+len(m[1])+2, "section [%s:%s] has unknown type: %s (want hosts, children or vars)", m[1], m[2], m[2]))
				state = "skip"
				continue
			}
			if inv.groups[group] == nil {
				if _, ok := p.pending[group]; state == "vars" && !ok {
					p.addPending(group, &pendingDecl{line: lineNo, col: col, state: "vars"})
				}
				inv.addGroup(group)
			}
			if d, ok := p.pending[group]; ok && state != "vars" {
				if d.state == "children" {
					p.addPendingChildren(group)
				} else {
					p.removePending(group)
				}
			}
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			p.errs = append(p.errs, src.errorf(lineNo, col, "invalid section entry: '%s'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters", line))
			state = "skip"
			continue
		}
		switch state {
		case "hosts":
			p.hostLine(lineNo, col, line, group)
		case "vars":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				p.errs = append(p.errs, src.errorf(lineNo, col, "expected key=value, got: %s", line))
				continue
			}
			if err := setGroupVar(inv.groups[group], strings.TrimSpace(k), parseINIValue(strings.TrimSpace(v))); err != nil {
				p.errs = append(p.errs, src.errorf(lineNo, col, "%v", err))
			}
		case "children":
			m := iniGroupNameRe.FindStringSubmatch(line)
			if m == nil {
				p.errs = append(p.errs, src.errorf(lineNo, col, "expected group name, got: %s", line))
				continue
			}
			child := m[1]
			if inv.groups[child] == nil {
				if d, ok := p.pending[child]; ok {
					d.parents = append(d.parents, group)
				} else {
					p.addPending(child, &pendingDecl{line: lineNo, col: col, state: "children", parents: []string{group}})
				}
			} else if err := inv.addChild(group, child); err != nil {
				p.errs = append(p.errs, src.errorf(lineNo, col, "%v", err))
			}
		}
	}
	for _, name := range p.order {
		d, ok := p.pending[name]
		if !ok {
			continue
		}
		switch d.state {
		case "vars":
			p.errs = append(p.errs, src.errorf(d.line, d.col, "section [%s:vars] not valid for undefined group: %s", name, name))
		case "children":
			parent := d.parents[len(d.parents)-1]
			msg := fmt.Sprintf("section [%s:children] includes undefined group: %s", parent, name)
			if inv.hosts[name] != nil {
				msg += " (it is a host; list hosts under [" + parent + "], not [" + parent + ":children])"
			}
			p.errs = append(p.errs, src.errorf(d.line, d.col, "%s", msg))
		}
	}
	return p.errs
}

func (p *iniParser) addPending(name string, d *pendingDecl) {
	p.pending[name] = d
	p.order = append(p.order, name)
}

func (p *iniParser) removePending(name string) { delete(p.pending, name) }

func (p *iniParser) addPendingChildren(group string) {
	d := p.pending[group]
	p.removePending(group)
	for _, parent := range d.parents {
		if err := p.inv.addChild(parent, group); err != nil {
			p.errs = append(p.errs, p.src.errorf(d.line, d.col, "%v", err))
		}
		if pd, ok := p.pending[parent]; ok && pd.state == "children" {
			p.addPendingChildren(parent)
		}
	}
}

// hostLine parses "name[:port] [k=v ...]" and adds the hosts to group.
func (p *iniParser) hostLine(lineNo, col int, line, group string) {
	tokens, err := shlexSplit(line)
	if err != nil {
		p.errs = append(p.errs, p.src.errorf(lineNo, col, "error parsing host definition '%s': %v", line, err))
		return
	}
	if len(tokens) == 0 {
		return
	}
	first := tokens[0]
	names, port, err := expandHostPattern(first.text)
	if err != nil {
		p.errs = append(p.errs, p.src.errorf(lineNo, col+first.off, "%v", err))
		return
	}
	if strings.HasSuffix(strings.TrimSpace(first.text), ":") && port == 0 {
		p.errs = append(p.errs, p.src.errorf(lineNo, col+first.off, "invalid host pattern '%s' supplied, ending in ':' is not allowed, this character is reserved to provide a port", first.text))
		return
	}
	for _, n := range names {
		if strings.TrimSpace(n) == "---" {
			p.errs = append(p.errs, p.src.errorf(lineNo, col+first.off, "invalid host pattern '%s' supplied, '---' is normally a sign this is a YAML file", first.text))
			return
		}
	}
	type kv struct {
		k string
		v any
	}
	var vars []kv
	for _, t := range tokens[1:] {
		k, v, ok := strings.Cut(t.text, "=")
		if !ok {
			p.errs = append(p.errs, p.src.errorf(lineNo, col+t.off, "expected key=value host variable assignment, got: %s", t.text))
			return
		}
		vars = append(vars, kv{k, parseINIValue(v)})
	}
	for _, n := range names {
		h, err := p.inv.addHost(n, group, port, p.src)
		if err != nil {
			p.errs = append(p.errs, p.src.errorf(lineNo, col+first.off, "%v", err))
			return
		}
		for _, e := range vars {
			setVar(h.Vars, e.k, e.v)
		}
	}
}
