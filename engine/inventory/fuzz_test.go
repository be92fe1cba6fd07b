package inventory

import (
	"testing"
)

// exercise runs the read-only entry points on a parsed inventory so the
// fuzzers reach them too.
func exercise(inv *Inventory) {
	inv.reconcile()
	if len(inv.hostOrder) > 2000 {
		return // big ranges are valid but slow; they would starve the fuzzer
	}
	_, _ = inv.ListJSON(true)
	_ = inv.GraphVars("all")
	for _, p := range []string{"all", "web*:&db:!x", "~a.*", "g[0]", "localhost"} {
		_, _ = inv.Select(p)
	}
	for _, h := range inv.Hosts() {
		_ = inv.GroupNames(h)
	}
	_ = inv.GroupsVar()
}

func FuzzParseINI(f *testing.F) {
	f.Add([]byte("[web]\nweb[01:03] a=1 b=\"x y\"\n[web:vars]\nk=[1, {'a': None}]\n[all:children]\nweb\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv := New()
		_ = inv.parseINI(&sourceInfo{name: "fuzz.ini", data: data})
		exercise(inv)
	})
}

func FuzzParseYAMLInventory(f *testing.F) {
	f.Add([]byte("all:\n  hosts:\n    h[1:2]:\n      x: &a {k: v}\n  children:\n    g:\n      hosts: h1\n      vars: {y: *a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv := New()
		_, _ = inv.parseYAML(&sourceInfo{name: "fuzz.yml", data: data})
		exercise(inv)
	})
}
