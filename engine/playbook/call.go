package playbook

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/yamlx"
)

// moduleCall fills t from its one module key (or action/local_action).
func (tl taskLoader) moduleCall(t *Task, n ast.Node, keys []*ast.MappingValueNode, extra *ast.MappingValueNode) {
	doc, l := tl.doc, tl.l
	if len(keys) == 0 {
		l.add(doc.Errorf(n, "no module or action in this task"))
		return
	}
	var unknown, known []*ast.MappingValueNode
	for _, k := range keys {
		name := yamlx.KeyString(k)
		if name == "action" || name == "local_action" || l.Registry.Get(name) != nil {
			known = append(known, k)
		} else {
			unknown = append(unknown, k)
		}
	}
	for _, k := range unknown {
		name := yamlx.KeyString(k)
		what := "unknown module or task keyword"
		if len(known) > 0 {
			what = "unknown task keyword"
		}
		l.add(doc.Errorf(k.Key, "%s %q%s", what, name, suggestion(name, tl.names())))
	}
	if len(known) > 1 {
		names := make([]string, len(known))
		for i, k := range known {
			names[i] = yamlx.KeyString(k)
		}
		l.add(doc.Errorf(known[1].Key, "conflicting action statements: %s", strings.Join(names, ", ")))
		return
	}
	if len(known) == 0 {
		return
	}
	key := known[0]
	name := yamlx.KeyString(key)
	raw, err := doc.Value(key.Value)
	if err != nil {
		l.add(doc.Errorf(key.Value, "%v", err))
		return
	}
	argNodes := argPositions(key.Value)
	if name == "action" || name == "local_action" {
		if name == "local_action" {
			t.DelegateTo = "localhost"
		}
		name, raw = splitAction(raw)
		if l.Registry.Get(name) == nil {
			l.add(doc.Errorf(key.Value, "unknown module %q%s", name, suggestion(name, tl.names())))
			return
		}
	}
	info := l.Registry.Get(name)
	t.Module, t.Info = info.Name, info
	args, perr := parseArgs(info, raw)
	if perr != "" {
		l.add(doc.Errorf(key.Value, "%s: %s", info.Name, perr))
		return
	}
	if extra != nil {
		v, _ := doc.Value(extra.Value)
		m, ok := v.(map[string]any)
		if !ok && v != nil {
			l.add(doc.Errorf(extra.Value, "args: want a mapping, got %s", module.TypeName(v)))
		}
		for k, x := range m {
			if _, set := args[k]; !set {
				args[k] = x
			}
		}
		for k, p := range argPositions(extra.Value) {
			argNodes[k] = p
		}
	}
	t.Args = args
	valueNodes := argValues(key.Value)
	if extra != nil {
		for k, n := range argValues(extra.Value) {
			valueNodes[k] = n
		}
	}
	for k, v := range args {
		at, ok := valueNodes[k]
		if !ok {
			at = key.Value
		}
		l.checkTemplates(doc, at, v)
	}
	decoded, errs := info.Decode(args, true)
	if len(errs) == 0 && info.Check != nil && !module.HasTemplate(args) {
		if err := info.Check(decoded); err != nil {
			at := ast.Node(key.Key)
			var ae *module.ArgError
			if errors.As(err, &ae) {
				if p, ok := argNodes[ae.Arg]; ok {
					at = p
				}
			}
			l.add(doc.Errorf(at, "%v", err))
		}
	}
	if len(errs) > 0 {
		for _, e := range errs {
			at := ast.Node(key.Key)
			if p, ok := argNodes[e.Arg]; ok {
				at = p
			}
			l.add(doc.Errorf(at, "%s", e.Msg))
		}
	}
}

func (tl taskLoader) names() []string {
	var out []string
	for _, i := range tl.l.Registry.All() {
		out = append(out, i.Name)
	}
	return append(out, taskKeywords...)
}

// argPositions maps each argument key of a mapping node to its key node.
func argPositions(n ast.Node) map[string]ast.Node {
	out := map[string]ast.Node{}
	if entries, ok := yamlx.Mapping(n); ok {
		for _, e := range entries {
			out[yamlx.KeyString(e)] = e.Key
		}
	}
	return out
}

// argValues maps each argument key of a mapping node to its value node.
func argValues(n ast.Node) map[string]ast.Node {
	out := map[string]ast.Node{}
	if entries, ok := yamlx.Mapping(n); ok {
		for _, e := range entries {
			out[yamlx.KeyString(e)] = e.Value
		}
	}
	return out
}

// splitAction reads `action: copy src=a dest=b` and `action: {module: copy, ...}`.
func splitAction(raw any) (string, any) {
	switch v := raw.(type) {
	case string:
		name, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		return name, strings.TrimSpace(rest)
	case map[string]any:
		name, _ := v["module"].(string)
		args := map[string]any{}
		for k, x := range v {
			if k != "module" {
				args[k] = x
			}
		}
		return name, args
	}
	return "", nil
}

// parseArgs turns a module's value (mapping, k=v string or nothing) into an
// argument map. Free-form modules keep the text that is not one of their
// k=v arguments under their FreeForm name.
func parseArgs(info *module.Info, raw any) (map[string]any, string) {
	switch v := raw.(type) {
	case nil:
		return map[string]any{}, ""
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = x
		}
		if info.FreeForm != "" {
			// `command: {cmd: ...}` and `command: ...` with args: both fine.
			if s, ok := out["_raw_params"]; ok {
				delete(out, "_raw_params")
				out[info.FreeForm] = s
			}
		}
		return out, ""
	case string:
		return parseKV(info, v)
	case int, float64, bool:
		if info.FreeForm != "" {
			return map[string]any{info.FreeForm: fmt.Sprint(v)}, ""
		}
	}
	return nil, fmt.Sprintf("want a mapping or k=v arguments, got %s", module.TypeName(raw))
}

func parseKV(info *module.Info, s string) (map[string]any, string) {
	words, err := SplitArgs(s)
	if err != nil {
		return nil, err.Error()
	}
	out := map[string]any{}
	var free []string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		isArg := ok && isIdent(k) && (info.FreeForm == "" || info.Lookup(k) != nil)
		if !isArg {
			if info.FreeForm == "" {
				return nil, fmt.Sprintf("cannot parse %q: want k=v arguments", w)
			}
			free = append(free, w)
			continue
		}
		// Ansible decodes escapes in k=v values: content="a\nb" holds a newline.
		_, v, _ = strings.Cut(decodeEscapes(w), "=")
		out[k] = unquote(v)
	}
	if len(free) > 0 {
		out[info.FreeForm] = strings.Join(free, " ")
	}
	return out, ""
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// SplitArgs splits k=v text on spaces outside quotes and {{ }}, keeping the
// quotes of free-form words (the shell needs them), as Ansible's split_args.
func SplitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote byte
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(s) {
				cur.WriteByte(c)
				i++
				cur.WriteByte(s[i])
				continue
			}
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case strings.HasPrefix(s[i:], "{{") || strings.HasPrefix(s[i:], "{%"):
			depth++
			cur.WriteString(s[i : i+2])
			i++
			continue
		case depth > 0 && (strings.HasPrefix(s[i:], "}}") || strings.HasPrefix(s[i:], "%}")):
			depth--
			cur.WriteString(s[i : i+2])
			i++
			continue
		case depth == 0 && (c == ' ' || c == '\t' || c == '\n'):
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteByte(c)
	}
	if quote != 0 {
		return nil, fmt.Errorf("unbalanced quote in %q", s)
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced {{ }} in %q", s)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

// SortedKeys returns a map's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// decodeEscapes applies Python's unicode_escape to a k=v word as Ansible's
// parse_kv does: \n, \t, \\, \', \", \xHH, \uXXXX.
func decodeEscapes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\', '\'', '"':
			b.WriteByte(s[i])
		case 'x', 'u':
			n := 2
			if s[i] == 'u' {
				n = 4
			}
			if i+n < len(s) {
				if r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32); err == nil {
					b.WriteRune(rune(r))
					i += n
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(s[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
