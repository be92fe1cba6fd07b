package inventory

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/cutover/cutover/engine/diag"
	"github.com/cutover/cutover/engine/lazyre"
)

// yNode is a YAML value with its position, built from goccy/go-yaml's AST
// with PyYAML's (YAML 1.1) scalar rules, which is what Ansible reads with:
// yes/no/on/off are booleans, 0755 is octal, 1e3 is a string.
type yNode struct {
	kind      yKind
	value     any // scalars
	pairs     []yPair
	items     []*yNode
	line, col int
	converted any // memoised toValue result
	done      bool
}

type yKind int

const (
	yScalar yKind = iota
	yMap
	ySeq
)

type yPair struct {
	key string
	kn  *yNode
	val *yNode
}

func (y *yNode) isNull() bool { return y == nil || (y.kind == yScalar && y.value == nil) }

// toValue converts y to plain Go values. Aliased nodes share one result.
func (y *yNode) toValue() any {
	if y == nil {
		return nil
	}
	if y.done {
		return y.converted
	}
	var v any
	switch y.kind {
	case yScalar:
		v = y.value
	case yMap:
		m := make(map[string]any, len(y.pairs))
		for _, p := range y.pairs {
			m[p.key] = p.val.toValue()
		}
		v = m
	case ySeq:
		l := make([]any, len(y.items))
		for i, it := range y.items {
			l[i] = it.toValue()
		}
		v = l
	}
	y.converted, y.done = v, true
	return v
}

// parseYAMLDoc parses src as a single YAML document. A nil node means an
// empty document.
func parseYAMLDoc(src *sourceInfo) (*yNode, *diag.Error) {
	f, err := parser.ParseBytes(src.data, 0)
	if err != nil {
		return nil, yamlSyntaxError(src, err)
	}
	var body []ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			body = append(body, d.Body)
		}
	}
	if len(body) == 0 {
		return nil, nil
	}
	if len(body) > 1 {
		line, col := nodePos(body[1])
		return nil, src.errorf(line, col, "expected a single document in the stream, found another document")
	}
	c := &yConv{src: src, anchors: map[string]*yNode{}}
	y, derr := c.node(body[0], 0)
	if derr != nil {
		return nil, derr
	}
	return y, nil
}

func yamlSyntaxError(src *sourceInfo, err error) *diag.Error {
	var ye interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &ye) {
		line, col := 0, 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line, col = tk.Position.Line, tk.Position.Column
		}
		return src.errorf(line, col, "YAML syntax error: %s", ye.GetMessage())
	}
	return src.errorf(0, 0, "YAML syntax error: %v", err)
}

func nodePos(n ast.Node) (int, int) {
	if n == nil {
		return 0, 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line, tk.Position.Column
	}
	return 0, 0
}

type yConv struct {
	src     *sourceInfo
	anchors map[string]*yNode
}

func (c *yConv) node(n ast.Node, depth int) (*yNode, *diag.Error) {
	line, col := nodePos(n)
	if depth > 500 {
		return nil, c.src.errorf(line, col, "YAML nesting too deep")
	}
	scalar := func(v any) (*yNode, *diag.Error) {
		if str, ok := v.(string); ok && c.src.secret {
			c.src.vault.Secret(str)
		}
		return &yNode{kind: yScalar, value: v, line: line, col: col}, nil
	}
	switch n := n.(type) {
	case nil:
		return scalar(nil)
	case *ast.DocumentNode:
		return c.node(n.Body, depth+1)
	case *ast.AnchorNode:
		y, err := c.node(n.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if n.Name != nil {
			c.anchors[n.Name.GetToken().Value] = y
		}
		return y, nil
	case *ast.AliasNode:
		name := ""
		if n.Value != nil {
			name = n.Value.GetToken().Value
		}
		y, ok := c.anchors[name]
		if !ok {
			return nil, c.src.errorf(line, col, "found undefined alias %q", name)
		}
		return y, nil
	case *ast.TagNode:
		y, err := c.node(n.Value, depth+1)
		if err != nil || y.kind != yScalar || n.Start == nil {
			return y, err
		}
		if strings.HasPrefix(n.Start.Value, "!vault") {
			text, ok := y.value.(string)
			if !ok {
				return nil, c.src.errorf(line, col, "!vault needs a string holding a vault")
			}
			plain, err := c.src.vault.Value(c.src.name, text)
			if err != nil {
				return nil, c.src.errorf(line, col, "%v", err)
			}
			return &yNode{kind: yScalar, value: plain, line: line, col: col}, nil
		}
		switch n.Start.Value {
		case "!!str", "!unsafe", "tag:yaml.org,2002:str":
			if s, ok := n.Value.(*ast.StringNode); ok {
				return scalar(s.Value)
			}
			if tk := n.Value.GetToken(); tk != nil {
				return scalar(tk.Value)
			}
		}
		return y, nil
	case *ast.MappingNode:
		return c.mapping(n.Values, line, col, depth)
	case *ast.MappingValueNode:
		return c.mapping([]*ast.MappingValueNode{n}, line, col, depth)
	case *ast.SequenceNode:
		y := &yNode{kind: ySeq, line: line, col: col, items: []*yNode{}}
		for _, it := range n.Values {
			v, err := c.node(it, depth+1)
			if err != nil {
				return nil, err
			}
			y.items = append(y.items, v)
		}
		return y, nil
	case *ast.LiteralNode:
		if n.Value == nil {
			return scalar("")
		}
		return scalar(n.Value.Value)
	case *ast.StringNode:
		if tk := n.Token; tk != nil && (tk.Type == token.SingleQuoteType || tk.Type == token.DoubleQuoteType) {
			return scalar(n.Value)
		}
		return scalar(resolvePlain(n.Value))
	case *ast.MergeKeyNode:
		return scalar("<<")
	case ast.ScalarNode:
		tk := n.GetToken()
		if tk == nil {
			return scalar(nil)
		}
		if tk.Type == token.SingleQuoteType || tk.Type == token.DoubleQuoteType {
			return scalar(tk.Value)
		}
		return scalar(resolvePlain(tk.Value))
	}
	return scalar(nil)
}

func (c *yConv) mapping(values []*ast.MappingValueNode, line, col, depth int) (*yNode, *diag.Error) {
	y := &yNode{kind: yMap, line: line, col: col}
	index := map[string]int{}
	var merges []*yNode
	for _, mv := range values {
		if mv == nil {
			continue
		}
		var keyNode ast.Node = mv.Key
		if k, ok := mv.Key.(*ast.MappingKeyNode); ok {
			keyNode = k.Value
		}
		kn, err := c.node(keyNode, depth+1)
		if err != nil {
			return nil, err
		}
		vn, err := c.node(mv.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge || (kn.kind == yScalar && kn.value == "<<" && isPlainKey(keyNode)) {
			merges = append(merges, vn)
			continue
		}
		if kn.kind != yScalar {
			return nil, c.src.errorf(kn.line, kn.col, "found unhashable key (a mapping key must be a scalar)")
		}
		key := jsonKey(kn.value)
		if i, dup := index[key]; dup {
			y.pairs[i].val = vn // PyYAML keeps the last value
			continue
		}
		index[key] = len(y.pairs)
		y.pairs = append(y.pairs, yPair{key: key, kn: kn, val: vn})
	}
	// Merge keys: explicit keys win, then earlier merged mappings.
	for _, m := range merges {
		sources := []*yNode{m}
		if m.kind == ySeq {
			sources = m.items
		}
		for _, s := range sources {
			if s.kind != yMap {
				return nil, c.src.errorf(s.line, s.col, "expected a mapping or list of mappings for merging")
			}
			for _, p := range s.pairs {
				if _, ok := index[p.key]; !ok {
					index[p.key] = len(y.pairs)
					y.pairs = append(y.pairs, p)
				}
			}
		}
	}
	return y, nil
}

func isPlainKey(n ast.Node) bool {
	tk := n.GetToken()
	return tk != nil && tk.Type != token.SingleQuoteType && tk.Type != token.DoubleQuoteType
}

// PyYAML's implicit resolvers (yaml/resolver.py) for numbers; its null
// and bool resolvers match the exact words in resolvePlain.
var (
	yamlFloatRe = lazyre.New(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	yamlIntRe   = lazyre.New(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
)

// resolvePlain gives a plain (unquoted) scalar its YAML 1.1 type.
func resolvePlain(s string) any {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil
	case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return true
	case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return false
	}
	// Every number starts with one of these and has at most one dot: the
	// patterns, costly to compile, see only what may be one.
	if !strings.ContainsRune("0123456789+-.", rune(s[0])) || strings.Count(s, ".") > 1 {
		return s
	}
	switch {
	case yamlIntRe.MatchString(s):
		if v, ok := yamlInt(s); ok {
			return v
		}
	case yamlFloatRe.MatchString(s):
		return yamlFloat(s)
	}
	return s
}

func yamlInt(s string) (int, bool) {
	v := strings.ReplaceAll(s, "_", "")
	sign := 1
	if v[0] == '-' {
		sign = -1
	}
	if v[0] == '-' || v[0] == '+' {
		v = v[1:]
	}
	var n int64
	var err error
	switch {
	case v == "0":
		return 0, true
	case strings.HasPrefix(v, "0b"):
		n, err = strconv.ParseInt(v[2:], 2, 64)
	case strings.HasPrefix(v, "0x"):
		n, err = strconv.ParseInt(v[2:], 16, 64)
	case v[0] == '0':
		n, err = strconv.ParseInt(v, 8, 64)
	case strings.Contains(v, ":"):
		for _, part := range strings.Split(v, ":") {
			d, perr := strconv.ParseInt(part, 10, 64)
			if perr != nil || n > math.MaxInt64/60 {
				return 0, false
			}
			n = n*60 + d
		}
	default:
		n, err = strconv.ParseInt(v, 10, 64)
	}
	if err != nil {
		return 0, false
	}
	return sign * int(n), true
}

func yamlFloat(s string) float64 {
	v := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if v[0] == '-' {
		sign = -1
	}
	if v[0] == '-' || v[0] == '+' {
		v = v[1:]
	}
	switch {
	case v == ".inf":
		return sign * math.Inf(1)
	case v == ".nan":
		return math.NaN()
	case strings.Contains(v, ":"):
		whole, frac, _ := strings.Cut(v, ".")
		var n float64
		for _, part := range strings.Split(whole, ":") {
			d, _ := strconv.ParseFloat(part, 64)
			n = n*60 + d
		}
		f, _ := strconv.ParseFloat("0."+frac, 64)
		return sign * (n + f)
	}
	f, _ := strconv.ParseFloat(v, 64)
	return sign * f
}
