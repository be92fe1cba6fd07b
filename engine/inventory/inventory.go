// Package inventory reads Ansible inventories (INI and YAML files, directories
// of them, and "host1,host2," lists), resolves Ansible host patterns against
// them and merges inventory variables with Ansible's precedence.
//
// Variable values use plain Go types: string, int, float64, bool, nil,
// []any and map[string]any.
package inventory

import (
	"fmt"
	"github.com/cutover/cutover/engine/vault"
	"slices"
	"sort"
)

// localhostNames are the names for which Ansible creates an implicit
// localhost when a pattern names them and the inventory does not.
var localhostNames = []string{"127.0.0.1", "localhost", "::1"}

func isLocalhostName(name string) bool { return slices.Contains(localhostNames, name) }

// Host is one inventory host.
type Host struct {
	// Name is the inventory hostname.
	Name string
	// Vars holds the variables the inventory sources set on the host itself
	// (inline INI vars, YAML host entries, ansible_port from host:port,
	// inventory_file and inventory_dir). It does not include group vars or
	// host_vars files: use Inventory.HostVars for the merged view.
	Vars map[string]any

	groups   []*Group // every group the host belongs to, ancestors included
	implicit bool
}

// Implicit reports whether h is the implicit localhost, which Ansible
// creates on demand and never lists as a member of any group.
func (h *Host) Implicit() bool { return h.implicit }

// Group is one inventory group.
type Group struct {
	// Name is the group name.
	Name string
	// Vars are the variables the inventory sources set on the group (not
	// group_vars files). ansible_group_priority is kept in Priority instead.
	Vars map[string]any
	// Hosts are the hosts listed directly in the group, in the order added.
	Hosts []*Host
	// Children are the child groups in the order added.
	Children []*Group
	// Parents are the parent groups in the order added.
	Parents []*Group
	// Priority is ansible_group_priority (default 1); among groups of the
	// same depth a higher priority is merged later and wins.
	Priority int

	depth   int
	hostSet map[*Host]bool // members of Hosts, for constant-time checks
}

// Inventory is the model built from one or more inventory sources.
type Inventory struct {
	vault      *vault.Opener // opens vault-encrypted sources; nil refuses them
	hosts      map[string]*Host
	hostOrder  []*Host
	groups     map[string]*Group
	groupOrder []*Group

	localhost     *Host // first localhost-like host in the inventory, or the implicit one
	sources       []string
	inventoryDirs []*varsDir // group_vars/host_vars beside each inventory source
	playbookDirs  []*varsDir // group_vars/host_vars beside playbooks

	// Warnings collects what Ansible would print as warnings while loading
	// (skipped YAML keys, duplicate localhost entries...).
	Warnings []string
}

// New returns an empty inventory holding only the implicit groups all and
// ungrouped.
func New() *Inventory {
	inv := &Inventory{hosts: map[string]*Host{}, groups: map[string]*Group{}}
	inv.addGroup("all")
	inv.addGroup("ungrouped")
	_ = inv.addChild("all", "ungrouped")
	return inv
}

func (inv *Inventory) warnf(format string, args ...any) {
	inv.Warnings = append(inv.Warnings, fmt.Sprintf(format, args...))
}

// Hosts returns every host of the inventory in definition order; the
// implicit localhost is not among them.
func (inv *Inventory) Hosts() []*Host { return slices.Clone(inv.hostOrder) }

// Host returns the host called name, or nil if the inventory has none.
func (inv *Inventory) Host(name string) *Host { return inv.hosts[name] }

// Group returns the group called name, or nil if there is none.
func (inv *Inventory) Group(name string) *Group { return inv.groups[name] }

// Groups returns every group in the order they were created (all and
// ungrouped first).
func (inv *Inventory) Groups() []*Group { return slices.Clone(inv.groupOrder) }

// Sources returns the inventory sources given to Load, in order.
func (inv *Inventory) Sources() []string { return slices.Clone(inv.sources) }

func (inv *Inventory) addGroup(name string) *Group {
	if g, ok := inv.groups[name]; ok {
		return g
	}
	g := &Group{Name: name, Vars: map[string]any{}, Priority: 1}
	inv.groups[name] = g
	inv.groupOrder = append(inv.groupOrder, g)
	return g
}

// addHost adds the host if it is new (setting ansible_port when port > 0,
// and the inventory_file/inventory_dir vars), then puts it in group.
func (inv *Inventory) addHost(name string, group string, port int, source *sourceInfo) (*Host, error) {
	if name == "" {
		return nil, fmt.Errorf("invalid empty host name provided")
	}
	h, ok := inv.hosts[name]
	if !ok {
		h = &Host{Name: name, Vars: map[string]any{}}
		if port > 0 {
			h.Vars["ansible_port"] = port
		}
		if source != nil && source.file != "" {
			h.Vars["inventory_file"] = source.file
			h.Vars["inventory_dir"] = source.dir
		} else {
			h.Vars["inventory_file"] = nil
			h.Vars["inventory_dir"] = nil
		}
		inv.hosts[name] = h
		inv.hostOrder = append(inv.hostOrder, h)
		if isLocalhostName(name) {
			if inv.localhost == nil {
				inv.localhost = h
			} else {
				inv.warnf("A duplicate localhost-like entry was found (%s). First found localhost was %s", name, inv.localhost.Name)
			}
		}
	}
	if group != "" {
		g, ok := inv.groups[group]
		if !ok {
			return nil, fmt.Errorf("could not find group %s in inventory", group)
		}
		inv.groupAddHost(g, h)
	}
	return h, nil
}

func (inv *Inventory) groupAddHost(g *Group, h *Host) {
	if g.hostSet[h] {
		return
	}
	if g.hostSet == nil {
		g.hostSet = map[*Host]bool{}
	}
	g.hostSet[h] = true
	g.Hosts = append(g.Hosts, h)
	h.addGroup(g)
}

// addGroup records g and its ancestors as groups of h.
func (h *Host) addGroup(g *Group) {
	for _, a := range g.ancestors() {
		if !slices.Contains(h.groups, a) {
			h.groups = append(h.groups, a)
		}
	}
	if !slices.Contains(h.groups, g) {
		h.groups = append(h.groups, g)
	}
}

// addChild makes child (a group, or failing that a host) a member of group,
// as Ansible's InventoryData.add_child does.
func (inv *Inventory) addChild(group, child string) error {
	g, ok := inv.groups[group]
	if !ok {
		return fmt.Errorf("%s is not a known group", group)
	}
	if c, ok := inv.groups[child]; ok {
		return g.addChildGroup(c)
	}
	if h, ok := inv.hosts[child]; ok {
		inv.groupAddHost(g, h)
		return nil
	}
	return fmt.Errorf("%s is not a known host nor group", child)
}

func (g *Group) addChildGroup(c *Group) error {
	if g == c {
		return fmt.Errorf("can't add group to itself (group %s)", g.Name)
	}
	if slices.Contains(g.Children, c) {
		return nil
	}
	if slices.Contains(g.ancestors(), c) {
		return fmt.Errorf("adding group '%s' as child to '%s' creates a recursive dependency loop", c.Name, g.Name)
	}
	g.Children = append(g.Children, c)
	if !slices.Contains(c.Parents, g) {
		c.Parents = append(c.Parents, g)
		newAncestors := append(g.ancestors(), g)
		for _, h := range c.allHosts(false) {
			for _, a := range newAncestors {
				if !slices.Contains(h.groups, a) {
					h.groups = append(h.groups, a)
				}
			}
		}
	}
	return nil
}

// walk returns the groups reachable through next, breadth first, in
// discovery order (Ansible walks a set there; discovery order is one of the
// orders it can produce and the only deterministic one).
func (g *Group) walk(next func(*Group) []*Group, includeSelf bool) []*Group {
	var out []*Group
	seen := map[*Group]bool{}
	if includeSelf {
		out = append(out, g)
		seen[g] = true
	}
	queue := next(g)
	for len(queue) > 0 {
		var nq []*Group
		for _, x := range queue {
			if seen[x] {
				continue
			}
			seen[x] = true
			out = append(out, x)
			nq = append(nq, next(x)...)
		}
		queue = nq
	}
	return out
}

func (g *Group) ancestors() []*Group {
	return g.walk(func(x *Group) []*Group { return x.Parents }, false)
}

func (g *Group) descendants(includeSelf bool) []*Group {
	return g.walk(func(x *Group) []*Group { return x.Children }, includeSelf)
}

// allHosts returns the hosts of g and of its descendants, deduplicated, in
// Ansible's order: g's own hosts, then its children's, breadth first.
func (g *Group) allHosts(skipImplicit bool) []*Host {
	var out []*Host
	seen := map[*Host]bool{}
	for _, kid := range g.descendants(true) {
		for _, h := range kid.Hosts {
			if seen[h] || (skipImplicit && h.implicit) {
				continue
			}
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// AllHosts returns the hosts of g and of all its descendant groups,
// deduplicated, in Ansible's order.
func (g *Group) AllHosts() []*Host { return g.allHosts(g.Name == "all") }

// Depth is the length of the longest parent chain from all to g (all is 0).
func (g *Group) Depth() int { return g.depth }

// setGroupVar sets a variable on a group the way Ansible's Group.set_variable
// does: ansible_group_priority becomes the priority, and a mapping set over a
// mapping is merged one level deep.
func setGroupVar(g *Group, key string, value any) error {
	if key == "ansible_group_priority" {
		p, err := pyInt(value)
		if err != nil {
			return fmt.Errorf("ansible_group_priority for group %s: %w", g.Name, err)
		}
		g.Priority = p
		return nil
	}
	setVar(g.Vars, key, value)
	return nil
}

func setVar(vars map[string]any, key string, value any) {
	if old, ok := vars[key].(map[string]any); ok {
		if nv, ok := value.(map[string]any); ok {
			merged := make(map[string]any, len(old)+len(nv))
			for k, v := range old {
				merged[k] = v
			}
			for k, v := range nv {
				merged[k] = v
			}
			vars[key] = merged
			return
		}
	}
	vars[key] = value
}

// reconcile applies Ansible's reconcile_inventory: top-level groups become
// children of all, hosts with no other group go to ungrouped, and group
// depths are computed.
func (inv *Inventory) reconcile() {
	all, ungrouped := inv.groups["all"], inv.groups["ungrouped"]
	for _, g := range inv.groupOrder {
		if g != all && len(g.Parents) == 0 {
			_ = all.addChildGroup(g)
		}
	}
	leaving := map[*Host]bool{}
	for _, h := range inv.hostOrder {
		if slices.Contains(h.groups, ungrouped) {
			if slices.ContainsFunc(h.groups, func(g *Group) bool { return g != all && g != ungrouped }) {
				leaving[h] = true
				delete(ungrouped.hostSet, h)
				h.groups = slices.DeleteFunc(h.groups, func(g *Group) bool { return g == ungrouped })
			}
		} else if !h.implicit && (len(h.groups) == 0 || (len(h.groups) == 1 && h.groups[0] == all)) {
			inv.groupAddHost(ungrouped, h)
		}
	}
	if len(leaving) > 0 {
		ungrouped.Hosts = slices.DeleteFunc(ungrouped.Hosts, func(h *Host) bool { return leaving[h] })
	}
	for _, g := range inv.groupOrder {
		g.depth = 0
	}
	// Longest path from the roots; the graph is acyclic (addChildGroup
	// refuses loops), so len(groups) passes are enough.
	for range inv.groupOrder {
		changed := false
		for _, g := range inv.groupOrder {
			for _, c := range g.Children {
				if c.depth < g.depth+1 {
					c.depth = g.depth + 1
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	for _, g := range inv.groupOrder {
		if _, dup := inv.hosts[g.Name]; dup {
			inv.warnf("Found both group and host with same name: %s", g.Name)
		}
	}
}

// GroupNames returns the magic variable group_names for h: the names of every
// group h belongs to (ancestors included), sorted, without all. Like
// ansible-core, a host with no other group gets ["ungrouped"].
func (inv *Inventory) GroupNames(h *Host) []string {
	names := []string{}
	for _, g := range h.groups {
		if g.Name != "all" {
			names = append(names, g.Name)
		}
	}
	sort.Strings(names)
	return names
}

// GroupsVar returns the magic variable groups: every group, all and
// ungrouped included, mapped to the names of its hosts (descendants
// included) in Ansible's order.
func (inv *Inventory) GroupsVar() map[string][]string {
	out := make(map[string][]string, len(inv.groups))
	for _, g := range inv.groupOrder {
		names := []string{}
		for _, h := range g.AllHosts() {
			names = append(names, h.Name)
		}
		out[g.Name] = names
	}
	return out
}

// sortedGroups orders groups as Ansible's sort_groups: depth, then priority,
// then name.
func sortedGroups(groups []*Group) []*Group {
	out := slices.Clone(groups)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Name < b.Name
	})
	return out
}
