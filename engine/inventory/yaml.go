package inventory

import (
	"github.com/cutover/cutover/engine/diag"
)

// yamlParser follows ansible's plugins/inventory/yaml.py, collecting errors
// instead of stopping at the first.
type yamlParser struct {
	inv  *Inventory
	src  *sourceInfo
	errs diag.List
}

// parseYAML adds a YAML inventory to inv. notInventory is set, and inv left
// untouched, when the file is not a YAML inventory at all (syntax error,
// empty, not a mapping, a plugin configuration): Ansible then tries the INI
// parser.
func (inv *Inventory) parseYAML(src *sourceInfo) (notInventory *diag.Error, errs diag.List) {
	doc, derr := parseYAMLDoc(src)
	switch {
	case derr != nil:
		return derr, nil
	case doc == nil:
		return src.errorf(1, 1, "parsed empty YAML file"), nil
	case doc.kind != yMap:
		return src.errorf(doc.line, doc.col, "YAML inventory has invalid structure, it should be a dictionary, got: %s", pyTypeName(doc.toValue())), nil
	}
	for _, p := range doc.pairs {
		if p.key == "plugin" && truthy(p.val.toValue()) {
			return src.errorf(p.kn.line, p.kn.col, "plugin configuration YAML file, not YAML inventory"), nil
		}
	}
	yp := &yamlParser{inv: inv, src: src}
	for _, p := range doc.pairs {
		yp.group(p.kn, p.val)
	}
	return nil, yp.errs
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func (p *yamlParser) errorf(at *yNode, format string, args ...any) {
	p.errs = append(p.errs, p.src.errorf(at.line, at.col, format, args...))
}

// group parses one group entry and returns its name ("" if it is not a
// valid group name).
func (p *yamlParser) group(nameNode, data *yNode) string {
	name, ok := nameNode.value.(string)
	if !ok {
		p.errorf(nameNode, "invalid group name supplied, expected a string but got %s for %s", pyTypeName(nameNode.value), pyStr(nameNode.value))
		return ""
	}
	if !data.isNull() && data.kind != yMap {
		p.inv.warnf("%s:%d:%d: skipping '%s' as this is not a valid group definition", p.src.name, nameNode.line, nameNode.col, name)
		return name
	}
	if name == "" {
		p.errorf(nameNode, "invalid empty group name provided")
		return ""
	}
	p.inv.addGroup(name)
	if data.isNull() {
		return name
	}
	for _, sec := range data.pairs {
		switch sec.key {
		case "vars", "children", "hosts":
		default:
			if !sec.val.isNull() && sec.val.kind != yMap {
				p.inv.warnf("%s:%d:%d: skipping key (%s) in group (%s) as it is not a mapping, it is a %s", p.src.name, sec.kn.line, sec.kn.col, sec.key, name, pyTypeName(sec.val.toValue()))
			} else {
				p.inv.warnf("%s:%d:%d: skipping unexpected key (%s) in group (%s), only \"vars\", \"children\" and \"hosts\" are valid", p.src.name, sec.kn.line, sec.kn.col, sec.key, name)
			}
			continue
		}
		body := sec.val
		if s, ok := body.value.(string); ok && body.kind == yScalar {
			// A bare string stands for a mapping with one null entry.
			body = &yNode{kind: yMap, line: body.line, col: body.col, pairs: []yPair{{key: s, kn: body, val: &yNode{line: body.line, col: body.col}}}}
		}
		if body.isNull() {
			continue
		}
		if body.kind != yMap {
			p.errorf(body, "invalid %q entry for %q group, requires a dictionary, found %q instead", sec.key, name, pyTypeName(body.toValue()))
			continue
		}
		switch sec.key {
		case "vars":
			for _, v := range body.pairs {
				if err := setGroupVar(p.inv.groups[name], v.key, v.val.toValue()); err != nil {
					p.errorf(v.val, "%v", err)
				}
			}
		case "children":
			for _, c := range body.pairs {
				child := p.group(c.kn, c.val)
				if child == "" {
					continue
				}
				if err := p.inv.addChild(name, child); err != nil {
					p.errorf(c.kn, "%v", err)
				}
			}
		case "hosts":
			for _, h := range body.pairs {
				p.host(name, h)
			}
		}
	}
	return name
}

func (p *yamlParser) host(group string, h yPair) {
	pattern, ok := h.kn.value.(string)
	if !ok {
		p.errorf(h.kn, "host pattern %s must be a string. Enclose integers/floats in quotation marks", pyStr(h.kn.value))
		return
	}
	names, port, err := expandHostPattern(pattern)
	if err != nil {
		p.errorf(h.kn, "%v", err)
		return
	}
	var vars []yPair
	if !h.val.isNull() {
		if h.val.kind != yMap {
			p.errorf(h.val, "invalid data for host %s, expected a dictionary of host vars and got: %s", pattern, pyStr(h.val.toValue()))
			return
		}
		vars = h.val.pairs
	}
	for _, n := range names {
		host, err := p.inv.addHost(n, group, port, p.src)
		if err != nil {
			p.errorf(h.kn, "%v", err)
			return
		}
		for _, v := range vars {
			setVar(host.Vars, v.key, v.val.toValue())
		}
	}
}
