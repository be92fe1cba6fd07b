package inventory

import "slices"

// HostVars returns h's inventory variables merged in ansible-core's order
// (its default VARIABLE_PRECEDENCE, checked against ansible-inventory 2.14),
// lowest precedence first:
//
//  1. all's vars from the inventory files
//  2. the vars of h's other groups from the inventory files, sorted by
//     depth (parents before children), ansible_group_priority, then name
//  3. group_vars/all beside each inventory source, in source order
//  4. group_vars/all beside each playbook (AddPlaybookVarsDir order)
//  5. group_vars/<group> beside each inventory source (source-major, then
//     the group order of step 2)
//  6. group_vars/<group> beside each playbook
//  7. h's own vars from the inventory files (inline vars, ansible_port,
//     inventory_file, inventory_dir)
//  8. host_vars/<host> beside each inventory source
//  9. host_vars/<host> beside each playbook
//
// So every group var written in an inventory file, child groups included,
// loses to group_vars/all files. Merging replaces top-level keys
// (hash_behaviour=replace). The result is a fresh map; nested values are
// shared and must not be modified.
func (inv *Inventory) HostVars(h *Host) map[string]any {
	out := map[string]any{}
	merge := func(m map[string]any) {
		for k, v := range m {
			out[k] = v
		}
	}
	all := inv.groups["all"]
	groups := sortedGroups(slices.DeleteFunc(slices.Clone(h.groups), func(g *Group) bool { return g == all }))
	merge(all.Vars)
	for _, g := range groups {
		merge(g.Vars)
	}
	for _, d := range inv.inventoryDirs {
		merge(d.groups["all"])
	}
	for _, d := range inv.playbookDirs {
		merge(d.groups["all"])
	}
	for _, dirs := range [][]*varsDir{inv.inventoryDirs, inv.playbookDirs} {
		for _, d := range dirs {
			for _, g := range groups {
				merge(d.groups[g.Name])
			}
		}
	}
	merge(h.Vars)
	for _, d := range inv.inventoryDirs {
		merge(d.hosts[h.Name])
	}
	for _, d := range inv.playbookDirs {
		merge(d.hosts[h.Name])
	}
	return out
}

// groupVarsWithFiles is what ansible-inventory shows for a group: its
// inventory vars, then group_vars/<name> beside the inventory sources, plus
// ansible_group_priority when it is not the default.
func (inv *Inventory) groupVarsWithFiles(g *Group) map[string]any {
	out := map[string]any{}
	for k, v := range g.Vars {
		out[k] = v
	}
	for _, d := range inv.inventoryDirs {
		for k, v := range d.groups[g.Name] {
			out[k] = v
		}
	}
	if g.Priority != 1 {
		out["ansible_group_priority"] = g.Priority
	}
	return out
}

// implicitLocalhost returns the host Ansible uses when a pattern names a
// localhost alias the inventory lacks: the inventory's first localhost-like
// host if any, else a host called name with ansible_connection=local that
// belongs to no group.
func (inv *Inventory) implicitLocalhost(name string) *Host {
	if inv.localhost == nil {
		inv.localhost = &Host{Name: name, implicit: true, Vars: map[string]any{"ansible_connection": "local"}}
	}
	return inv.localhost
}
