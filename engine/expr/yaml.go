package expr

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
)

// yamlEmitter writes values the way PyYAML's dump does for Ansible's
// to_yaml (flow style for collections of scalars) and to_nice_yaml
// (block style throughout). Keys are sorted; long lines are not folded.
type yamlEmitter struct {
	b      strings.Builder
	indent int
	nice   bool
}

func emitYAML(v any, indent int, nice bool) (string, error) {
	if indent < 1 {
		indent = 2
	}
	e := &yamlEmitter{indent: indent, nice: nice}
	if err := checkUndefinedDeep(v); err != nil {
		return "", err
	}
	v = norm(v)
	if isScalar(v) {
		e.b.WriteString(yamlScalar(v, false))
		e.b.WriteString("\n") // ansible-core 2.14 shows no "..." document end here
		return e.b.String(), nil
	}
	if e.flow(v) {
		e.b.WriteString(e.flowText(v) + "\n")
		return e.b.String(), nil
	}
	e.block(v, 0)
	return e.b.String(), nil
}

// flow reports whether a collection is written inline: to_yaml writes
// collections holding only scalars (and empty ones) in flow style.
func (e *yamlEmitter) flow(v any) bool {
	switch x := norm(v).(type) {
	case []any:
		if len(x) == 0 {
			return true
		}
		if e.nice {
			return false
		}
		for _, c := range x {
			if !isScalar(c) {
				return false
			}
		}
		return true
	case map[string]any:
		if len(x) == 0 {
			return true
		}
		if e.nice {
			return false
		}
		for _, c := range x {
			if !isScalar(c) {
				return false
			}
		}
		return true
	}
	return true
}

func (e *yamlEmitter) flowText(v any) string {
	switch x := norm(v).(type) {
	case []any:
		parts := make([]string, len(x))
		for i, c := range x {
			parts[i] = e.flowText(c)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		var parts []string
		for _, k := range sortedKeys(x) {
			parts = append(parts, yamlScalar(k, true)+": "+e.flowText(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return yamlScalar(v, true)
}

// block writes a collection in block style at column col.
func (e *yamlEmitter) block(v any, col int) {
	pad := strings.Repeat(" ", col)
	switch x := norm(v).(type) {
	case []any:
		for i, c := range x {
			if i > 0 {
				e.b.WriteString(pad)
			}
			e.b.WriteString("-")
			if isScalar(c) || e.flow(c) {
				e.b.WriteString(" " + e.flowText(c) + "\n")
				continue
			}
			e.b.WriteString(strings.Repeat(" ", e.indent-1))
			e.block(c, col+e.indent)
		}
	case map[string]any:
		for i, k := range sortedKeys(x) {
			if i > 0 {
				e.b.WriteString(pad)
			}
			c := norm(x[k])
			e.b.WriteString(yamlScalar(k, false) + ":")
			if isScalar(c) || e.flow(c) {
				e.b.WriteString(" " + e.flowText(c) + "\n")
				continue
			}
			e.b.WriteString("\n")
			if _, isList := c.([]any); isList {
				e.b.WriteString(pad)
				e.block(c, col)
			} else {
				e.b.WriteString(pad + strings.Repeat(" ", e.indent))
				e.block(c, col+e.indent)
			}
		}
	}
}

var (
	yamlSpecial  = lazyre.New(`^(?i:yes|no|on|off|true|false|null|~|[-+]?(\.inf|\.nan)|[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?|[-+]?\.[0-9_]+([eE][-+]?[0-9]+)?|0x[0-9a-f_]+|0o?[0-7_]+|[0-9]+(:[0-5]?[0-9])+|\d{4}-\d\d?-\d\d?.*)$`)
	yamlBadStart = "-?:,[]{}#&*!|>'\"%@` "
)

// yamlScalar formats a scalar, quoting strings that YAML would read back
// as something else.
func yamlScalar(v any, inFlow bool) string {
	switch x := norm(v).(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return pyFloat(x)
	case string:
		return yamlString(x, inFlow)
	case *omitValue:
		return x.String()
	}
	return fmt.Sprint(v)
}

func yamlString(s string, inFlow bool) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return strconv.Quote(s)
		}
	}
	quote := s == "" || yamlSpecial.MatchString(s) || strings.ContainsAny(s[:1], yamlBadStart) ||
		strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") ||
		strings.HasSuffix(s, " ") || (inFlow && strings.ContainsAny(s, ",[]{}"))
	if !quote {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
