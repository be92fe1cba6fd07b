package inventory

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// internalVars are the variables ansible-inventory leaves out of its output.
var internalVars = []string{
	"ansible_diff_mode", "ansible_config_file", "ansible_facts", "ansible_forks",
	"ansible_inventory_sources", "ansible_limit", "ansible_playbook_python",
	"ansible_run_tags", "ansible_skip_tags", "ansible_verbosity", "ansible_version",
	"inventory_dir", "inventory_file", "inventory_hostname", "inventory_hostname_short",
	"groups", "group_names", "omit", "playbook_dir",
}

func removeInternal(vars map[string]any) map[string]any {
	for _, k := range internalVars {
		delete(vars, k)
	}
	return vars
}

// ListJSON renders the inventory as `ansible-inventory --list` does:
// _meta.hostvars with each host's merged vars, and every group with its
// direct hosts and children (empty keys and empty groups left out). pretty
// selects Ansible's 4-space indentation; otherwise Python's compact
// json.dumps style. Keys are sorted, as Ansible sorts them.
func (inv *Inventory) ListJSON(pretty bool) ([]byte, error) {
	result := map[string]any{}
	seen := map[string]bool{}
	var format func(g *Group)
	format = func(g *Group) {
		entry := map[string]any{}
		if g.Name != "all" && len(g.Hosts) > 0 {
			names := make([]any, len(g.Hosts))
			for i, h := range g.Hosts {
				names[i] = h.Name
			}
			entry["hosts"] = names
		}
		var children []any
		for _, c := range g.Children {
			children = append(children, c.Name)
			if !seen[c.Name] {
				format(c)
				seen[c.Name] = true
			}
		}
		if len(children) > 0 {
			entry["children"] = children
		}
		if len(entry) > 0 {
			result[g.Name] = entry
		} else {
			delete(result, g.Name)
		}
	}
	format(inv.groups["all"])
	hostvars := map[string]any{}
	for _, h := range inv.groups["all"].AllHosts() {
		if vars := removeInternal(inv.HostVars(h)); len(vars) > 0 {
			hostvars[h.Name] = vars
		}
	}
	result["_meta"] = map[string]any{"hostvars": hostvars}
	return pyJSON(result, pretty), nil
}

// HostJSON renders `ansible-inventory --host NAME`: the host's merged vars
// without Ansible's internal ones. A localhost alias the inventory lacks
// gives the implicit localhost; any other unknown name is an error.
func (inv *Inventory) HostJSON(name string) ([]byte, error) {
	h := inv.hosts[name]
	if h == nil && isLocalhostName(name) {
		h = inv.implicitLocalhost(name)
	}
	if h == nil {
		return nil, fmt.Errorf("you must pass a single valid host to --host parameter (unknown host %q)", name)
	}
	return pyJSON(removeInternal(inv.HostVars(h)), true), nil
}

// Graph renders `ansible-inventory --graph GROUP`, one line per group and
// host with a final newline; "" if there is no such group.
func (inv *Inventory) Graph(group string) string { return inv.graph(group, false) }

// GraphVars renders `ansible-inventory --graph --vars GROUP`: Graph plus
// each host's merged vars and each group's vars, values in Python's str()
// form (dict keys sorted).
func (inv *Inventory) GraphVars(group string) string { return inv.graph(group, true) }

func (inv *Inventory) graph(group string, showVars bool) string {
	g := inv.groups[group]
	if g == nil {
		return ""
	}
	var lines []string
	name := func(s string, depth int) string {
		if depth == 0 {
			return s
		}
		return strings.Repeat("  |", depth) + "--" + s
	}
	vars := func(m map[string]any, depth int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			lines = append(lines, name("{"+k+" = "+pyStr(m[k])+"}", depth))
		}
	}
	var walk func(g *Group, depth int)
	walk = func(g *Group, depth int) {
		lines = append(lines, name("@"+g.Name+":", depth))
		depth++
		for _, c := range g.Children {
			walk(c, depth)
		}
		if g.Name != "all" {
			for _, h := range g.Hosts {
				lines = append(lines, name(h.Name, depth))
				if showVars {
					vars(removeInternal(inv.HostVars(h)), depth+1)
				}
			}
		}
		if showVars {
			vars(removeInternal(inv.groupVarsWithFiles(g)), depth)
		}
	}
	walk(g, 0)
	return strings.Join(lines, "\n") + "\n"
}

// pyJSON encodes v like Python's json.dumps(v, sort_keys=True,
// ensure_ascii=False), with indent=4 when pretty.
func pyJSON(v any, pretty bool) []byte {
	var b strings.Builder
	writePyJSON(&b, v, pretty, 0)
	return []byte(b.String())
}

func writePyJSON(b *strings.Builder, v any, pretty bool, level int) {
	newline := func(l int) {
		if pretty {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat("    ", l))
		}
	}
	sep := ", "
	if pretty {
		sep = ","
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		switch {
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		case math.IsNaN(x):
			b.WriteString("NaN")
		default:
			b.WriteString(pyFloatRepr(x))
		}
	case string:
		writeJSONString(b, x)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(sep)
			}
			newline(level + 1)
			writePyJSON(b, e, pretty, level+1)
		}
		newline(level)
		b.WriteByte(']')
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(sep)
			}
			newline(level + 1)
			writeJSONString(b, k)
			b.WriteString(": ")
			writePyJSON(b, x[k], pretty, level+1)
		}
		newline(level)
		b.WriteByte('}')
	default:
		writeJSONString(b, fmt.Sprint(x))
	}
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
