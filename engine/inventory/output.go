package inventory

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cutover/cutover/engine/pyfmt"
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
	indent := -1
	if pretty {
		indent = 4
	}
	return []byte(pyfmt.JSON(v, indent, false))
}
