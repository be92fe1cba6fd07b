// Package yamlx reads YAML the way Ansible (PyYAML, YAML 1.1) does, keeping
// each node's position so that errors can point at file:line:col.
//
// goccy/go-yaml parses; this package turns its AST into plain Go values
// (nil, bool, int, float64, string, []any, map[string]any) with YAML 1.1's
// plain-scalar rules: yes/no/on/off are booleans and 0644 is octal.
package yamlx

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/cutover/cutover/engine/diag"
	"github.com/cutover/cutover/engine/vault"
)

// Doc is a parsed YAML document.
type Doc struct {
	File    string
	Src     []byte
	Root    ast.Node // nil for an empty document
	anchors map[string]ast.Node
	vault   *vault.Opener
	// secret: the file was a vault, so every string in it is a secret.
	secret bool
}

// Parse parses src's first document. A syntax error is a *diag.Error at
// its position. A vault-encrypted file or a !vault value is an error: use
// ParseVault.
func Parse(file string, src []byte) (*Doc, error) {
	return ParseVault(file, src, nil)
}

// ParseVault is Parse reading through a vault opener: an encrypted file is
// decrypted first, !vault values when converted, and their plaintext is
// recorded as secrets.
func ParseVault(file string, src []byte, v *vault.Opener) (*Doc, error) {
	src, secret, err := v.File(file, src)
	if err != nil {
		return nil, &diag.Error{File: file, Msg: err.Error()}
	}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, syntaxError(file, src, err)
	}
	d := &Doc{File: file, Src: src, anchors: map[string]ast.Node{}, vault: v, secret: secret}
	if len(f.Docs) > 0 && f.Docs[0] != nil {
		d.Root = f.Docs[0].Body
		if d.Root != nil {
			ast.Walk(anchorCollector(d.anchors), d.Root)
		}
	}
	return d, nil
}

type anchorCollector map[string]ast.Node

func (c anchorCollector) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil {
		c[a.Name.String()] = a.Value
	}
	return c
}

func syntaxError(file string, src []byte, err error) error {
	var yerr yaml.Error
	if errors.As(err, &yerr) && yerr.GetToken() != nil && yerr.GetToken().Position != nil {
		p := yerr.GetToken().Position
		return &diag.Error{File: file, Line: p.Line, Col: p.Column,
			Msg: "YAML syntax error: " + yerr.GetMessage(), Excerpt: diag.Excerpt(src, p.Line, p.Column)}
	}
	return &diag.Error{File: file, Msg: "YAML syntax error: " + err.Error()}
}

// Load parses src and converts the whole first document to a Go value.
func Load(file string, src []byte) (any, error) {
	return LoadVault(file, src, nil)
}

// LoadVault is Load reading through a vault opener (see ParseVault).
func LoadVault(file string, src []byte, v *vault.Opener) (any, error) {
	d, err := ParseVault(file, src, v)
	if err != nil || d.Root == nil {
		return nil, err
	}
	return d.Value(d.Root)
}

// ErrorAt makes a diag.Error at a byte offset inside a scalar node's text,
// when the node holds text on one line as written (plain or quoted);
// otherwise at the node.
func (d *Doc) ErrorAt(n ast.Node, text string, offset int, format string, args ...any) *diag.Error {
	e := d.Errorf(n, format, args...)
	lines := strings.Split(string(d.Src), "\n")
	if e.Line < 1 || e.Line > len(lines) || e.Col < 1 || e.Col > len(lines[e.Line-1]) {
		return e
	}
	rest := lines[e.Line-1][e.Col-1:]
	switch {
	case strings.HasPrefix(rest, text):
		e.Col += offset
	case len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') && strings.HasPrefix(rest[1:], text):
		e.Col += offset + 1
	default:
		return e
	}
	e.Excerpt = diag.Excerpt(d.Src, e.Line, e.Col)
	return e
}

// Errorf makes a diag.Error at a node's position, with the source excerpt.
func (d *Doc) Errorf(n ast.Node, format string, args ...any) *diag.Error {
	e := Errorf(d.File, n, format, args...)
	e.Excerpt = diag.Excerpt(d.Src, e.Line, e.Col)
	return e
}

// Pos returns a node's line and column (1-based). A mapping is placed at
// its first key, not at the colon goccy records.
func Pos(n ast.Node) (line, col int) {
	if n == nil {
		return 0, 0
	}
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 && !m.IsFlowStyle {
			return Pos(m.Values[0])
		}
	case *ast.MappingValueNode:
		if m.Key != nil {
			return Pos(m.Key)
		}
	case *ast.AnchorNode:
		return Pos(m.Value)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// Errorf makes a diag.Error at a node's position.
func Errorf(file string, n ast.Node, format string, args ...any) *diag.Error {
	line, col := Pos(n)
	return diag.Errorf(file, line, col, format, args...)
}

// Unwrap strips anchors and tags (except those Value gives meaning to) to
// reach the node that holds the content.
func Unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.AliasNode:
			return n
		case *ast.TagNode:
			if tagName(t) == "!unsafe" || strings.HasPrefix(tagName(t), "!vault") {
				return n
			}
			n = t.Value
		default:
			return n
		}
	}
}

func tagName(t *ast.TagNode) string {
	if t.Start == nil {
		return ""
	}
	return t.Start.Value
}

// Mapping returns a node's key/value pairs, or nil and false when it is
// not a mapping. Merge keys (<<) are expanded, later keys winning.
func Mapping(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch t := Unwrap(n).(type) {
	case *ast.MappingNode:
		return t.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{t}, true
	}
	return nil, false
}

// Sequence returns a sequence node's items.
func Sequence(n ast.Node) ([]ast.Node, bool) {
	if s, ok := Unwrap(n).(*ast.SequenceNode); ok {
		return s.Values, true
	}
	return nil, false
}

// KeyString returns a mapping key as text.
func KeyString(mv *ast.MappingValueNode) string {
	k := mv.Key
	if k == nil {
		return ""
	}
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		if s, ok := Unwrap(mk.Value).(*ast.StringNode); ok {
			return s.Value
		}
		return mk.Value.String()
	}
	switch t := Unwrap(k).(type) {
	case *ast.StringNode:
		return t.Value
	case *ast.MergeKeyNode:
		return "<<"
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}

// Unsafe marks a string that must never be templated (!unsafe).
type Unsafe string

// Value converts a node of d to a Go value, resolving aliases.
func (d *Doc) Value(n ast.Node) (any, error) {
	return d.value(n, 0)
}

const maxDepth = 200

func (d *Doc) value(n ast.Node, depth int) (any, error) {
	if n == nil {
		return nil, nil
	}
	if depth > maxDepth {
		return nil, d.Errorf(n, "YAML nested too deeply")
	}
	switch t := n.(type) {
	case *ast.AnchorNode:
		return d.value(t.Value, depth+1)
	case *ast.AliasNode:
		name := ""
		if t.Value != nil {
			name = t.Value.String()
		}
		target, ok := d.anchors[name]
		if !ok {
			return nil, d.Errorf(n, "unknown alias *%s", name)
		}
		return d.value(target, depth+1)
	case *ast.TagNode:
		switch name := tagName(t); {
		case name == "!unsafe":
			v, err := d.value(t.Value, depth+1)
			if s, ok := v.(string); ok {
				return Unsafe(s), err
			}
			return v, err
		case strings.HasPrefix(name, "!vault"):
			v, err := d.value(t.Value, depth+1)
			s, ok := v.(string)
			if err != nil || !ok {
				return nil, d.Errorf(n, "!vault needs a string holding a vault")
			}
			plain, err := d.vault.Value(d.File, s)
			if err != nil {
				return nil, d.Errorf(n, "%v", err)
			}
			return plain, nil
		}
		return d.value(t.Value, depth+1)
	case *ast.NullNode:
		return nil, nil
	case *ast.BoolNode:
		return t.Value, nil
	case *ast.IntegerNode:
		return d.integer(t)
	case *ast.FloatNode:
		return t.Value, nil
	case *ast.InfinityNode:
		return t.Value, nil
	case *ast.NanNode:
		return math.NaN(), nil
	case *ast.StringNode:
		v := plainScalar(t)
		if s, ok := v.(string); ok && d.secret {
			d.vault.Secret(s)
		}
		return v, nil
	case *ast.LiteralNode:
		if d.secret {
			d.vault.Secret(t.Value.Value)
		}
		return t.Value.Value, nil
	case *ast.MappingNode:
		return asValue(d.mapping(t.Values, depth))
	case *ast.MappingValueNode:
		return asValue(d.mapping([]*ast.MappingValueNode{t}, depth))
	case *ast.SequenceNode:
		out := make([]any, 0, len(t.Values))
		for _, item := range t.Values {
			v, err := d.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *ast.CommentNode, *ast.CommentGroupNode:
		return nil, nil
	}
	return nil, d.Errorf(n, "unsupported YAML node %s", n.Type())
}

// asValue keeps a failed mapping from becoming a non-nil interface.
func asValue(m map[string]any, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (d *Doc) mapping(values []*ast.MappingValueNode, depth int) (map[string]any, error) {
	out := make(map[string]any, len(values))
	var merged []map[string]any
	for _, mv := range values {
		key := KeyString(mv)
		if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge || key == "<<" {
			v, err := d.value(mv.Value, depth+1)
			if err != nil {
				return nil, err
			}
			switch m := v.(type) {
			case map[string]any:
				merged = append(merged, m)
			case []any:
				for _, e := range m {
					if em, ok := e.(map[string]any); ok {
						merged = append(merged, em)
					}
				}
			default:
				return nil, d.Errorf(mv.Value, "merge key << needs a mapping")
			}
			continue
		}
		v, err := d.value(mv.Value, depth+1)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	for _, m := range merged {
		for k, v := range m {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
	}
	return out, nil
}

// integer applies YAML 1.1: a plain 0644 is octal, as PyYAML reads it.
func (d *Doc) integer(n *ast.IntegerNode) (any, error) {
	text := n.Token.Value
	if n.Token.Type == token.IntegerType || n.Token.Type == token.OctetIntegerType {
		clean := strings.ReplaceAll(text, "_", "")
		if len(clean) > 1 && clean[0] == '0' && strings.Trim(clean, "01234567") == "" {
			v, err := strconv.ParseInt(clean, 8, 64)
			if err == nil {
				return int(v), nil
			}
		}
	}
	switch v := n.Value.(type) {
	case int64:
		return int(v), nil
	case uint64:
		if v <= math.MaxInt64 {
			return int(v), nil
		}
		return float64(v), nil
	case nil:
		return nil, d.Errorf(n, "bad integer %q", text)
	}
	return n.Value, nil
}

// plainScalar applies YAML 1.1's booleans to unquoted scalars, as PyYAML
// resolves them: y and n stay strings.
func plainScalar(n *ast.StringNode) any {
	if n.Token == nil || n.Token.Type != token.StringType {
		return n.Value // quoted: always a string
	}
	switch n.Value {
	case "yes", "Yes", "YES", "on", "On", "ON":
		return true
	case "no", "No", "NO", "off", "Off", "OFF":
		return false
	}
	return n.Value
}
