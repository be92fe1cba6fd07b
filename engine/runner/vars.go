package runner

import (
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/redact"
	"maps"
	"strings"
	"sync"

	"github.com/cutover/cutover/engine/inventory"
)

// hostState is what the run knows of one host across plays.
type hostState struct {
	host         *inventory.Host
	name         string
	inventory    map[string]any  // merged inventory vars (groups, host, group_vars, host_vars)
	facts        map[string]any  // gathered facts and set_fact
	includedVars map[string]any  // include_vars
	registered   map[string]any  // registered results and set_fact
	notified     map[string]bool // handlers to run, by handler name
	failed       bool            // failed in this play; out of the remaining tasks
	unreachable  bool
	ended        bool // meta: end_host
	gathered     bool // facts gathered in this run
	mu           sync.Mutex
}

func newHostState(inv *inventory.Inventory, h *inventory.Host) *hostState {
	return &hostState{
		host:         h,
		name:         h.Name,
		inventory:    inv.HostVars(h),
		facts:        map[string]any{},
		includedVars: map[string]any{},
		registered:   map[string]any{},
		notified:     map[string]bool{},
	}
}

func (h *hostState) active() bool { return !h.failed && !h.unreachable && !h.ended }

// persistentVars are a host's variables that other hosts see through
// hostvars: inventory, facts, include_vars and registered results.
func (h *hostState) persistentVars() map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := maps.Clone(h.inventory)
	for _, layer := range []map[string]any{h.facts, h.includedVars, h.registered} {
		for k, v := range layer {
			out[k] = v
		}
	}
	if len(h.facts) > 0 {
		af := map[string]any{}
		for k, v := range h.facts {
			af[strings.TrimPrefix(k, "ansible_")] = v
		}
		out["ansible_facts"] = af
	}
	return out
}

// scope resolves variables for one host and task, highest layer first,
// following Ansible's precedence: extra vars > include params > set_fact and
// registered > include_vars > task vars > block vars > vars_files > play
// vars > facts > inventory (host_vars > group_vars > all).
type scope struct {
	layers []map[string]any
	lazy   map[string]func() any
	redact *redact.Set // learns the values of secret-named variables as they are read
}

func (s *scope) Lookup(name string) (any, bool) {
	for _, l := range s.layers {
		if v, ok := l[name]; ok {
			if s.redact != nil && redact.IsSecretName(name) && !module.Templated(v) {
				s.redact.AddValue(v)
			}
			return v, true
		}
	}
	if f, ok := s.lazy[name]; ok {
		v := f()
		return v, true
	}
	return nil, false
}

// with returns a scope with one more layer on top.
func (s *scope) with(top map[string]any) *scope {
	layers := make([]map[string]any, 0, len(s.layers)+1)
	layers = append(layers, top)
	layers = append(layers, s.layers...)
	return &scope{layers: layers, lazy: s.lazy, redact: s.redact}
}
