package modules

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
)

// rewriteRule is one entry of pg_function_rewrite's replacements: a literal
// string with token-safe boundaries, or a Go regular expression.
type rewriteRule struct {
	From  string
	To    string
	Regex bool
	re    *regexp.Regexp
}

// rewriteRulesFrom decodes the replacements argument: a list of maps with
// from, to and optional regex.
func rewriteRulesFrom(v any) ([]rewriteRule, error) {
	items, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, fmt.Errorf("replacements: required")
		}
		return nil, fmt.Errorf("replacements: want a list of {from, to, regex}, got %T", v)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("replacements: empty list")
	}
	rules := make([]rewriteRule, 0, len(items))
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("replacements[%d]: want a map with from and to, got %T", i, item)
		}
		var r rewriteRule
		for k, val := range m {
			switch k {
			case "from", "to":
				s, ok := rewriteScalar(val)
				if !ok {
					return nil, fmt.Errorf("replacements[%d].%s: want a string, got %T", i, k, val)
				}
				if k == "from" {
					r.From = s
				} else {
					r.To = s
				}
			case "regex", "regexp":
				b, err := rewriteBool(val)
				if err != nil {
					return nil, fmt.Errorf("replacements[%d].regex: %w", i, err)
				}
				r.Regex = b
			default:
				return nil, fmt.Errorf("replacements[%d]: unknown key %q (want from, to, regex)", i, k)
			}
		}
		if _, ok := m["to"]; !ok {
			return nil, fmt.Errorf("replacements[%d]: missing to", i)
		}
		if r.From == "" {
			return nil, fmt.Errorf("replacements[%d]: from is empty", i)
		}
		if r.Regex {
			re, err := regexp.Compile(r.From)
			if err != nil {
				return nil, fmt.Errorf("replacements[%d].from: %w", i, err)
			}
			r.re = re
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func rewriteScalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int, int64, float64, uint64:
		return fmt.Sprint(x), true
	}
	return "", false
}

func rewriteBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case nil:
		return false, nil
	case string:
		switch strings.ToLower(x) {
		case "yes", "true", "on", "1", "y":
			return true, nil
		case "no", "false", "off", "0", "n", "":
			return false, nil
		}
	}
	return false, fmt.Errorf("want a boolean, got %v", v)
}

// rewriteNote is something a rewrite chose not to do, for the user to read.
type rewriteNote string

// applyRewriteRules applies rules in order, each to the previous one's
// output, and returns the new text, the number of replacements made and
// notes on matches deliberately left alone.
func applyRewriteRules(text string, rules []rewriteRule) (string, int, []rewriteNote) {
	total := 0
	var notes []rewriteNote
	for _, r := range rules {
		var n int
		var ns []rewriteNote
		if r.Regex {
			text, n = rewriteRegex(text, r.re, r.To)
		} else {
			text, n, ns = rewriteLiteral(text, r.From, r.To)
		}
		total += n
		notes = append(notes, ns...)
	}
	return text, total, notes
}

func rewriteRegex(text string, re *regexp.Regexp, to string) (string, int) {
	n := 0
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
		b.WriteString(text[last:m[0]])
		b.Write(re.ExpandString(nil, to, text, m))
		last = m[1]
		n++
	}
	if n == 0 {
		return text, 0
	}
	b.WriteString(text[last:])
	return b.String(), n
}

// isRewriteTokenByte reports whether c continues a dotted number or host name:
// a match next to one is part of a longer token (10.0.10.4 inside
// 10.0.10.48, or inside db10.0.10.4) and is not replaced.
func isRewriteTokenByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_'
}

// rewriteLiteral replaces whole-token occurrences of from. Boundaries are
// checked only on a side where from itself starts or ends with a token
// character: "'oas.staff'" carries its own quotes, "10.0.10.4" needs its
// neighbours to be something other than [0-9A-Za-z._-]. Go's regexp has no
// look-behind, hence the scan. Matches do not overlap and the replaced text
// is not searched again.
//
// An IP written after hostaddr= (libpq's numeric-only key) is left alone
// when to is not an IP, and a note says so: libpq rejects a name there.
func rewriteLiteral(text, from, to string) (string, int, []rewriteNote) {
	checkBefore := isRewriteTokenByte(from[0])
	checkAfter := isRewriteTokenByte(from[len(from)-1])
	_, fromIPErr := netip.ParseAddr(from)
	_, toIPErr := netip.ParseAddr(to)
	guardHostaddr := fromIPErr == nil && toIPErr != nil

	var b strings.Builder
	var notes []rewriteNote
	n, last, i := 0, 0, 0
	for {
		j := strings.Index(text[i:], from)
		if j < 0 {
			break
		}
		start := i + j
		end := start + len(from)
		if checkBefore && start > 0 && isRewriteTokenByte(text[start-1]) ||
			checkAfter && end < len(text) && isRewriteTokenByte(text[end]) {
			i = start + 1
			continue
		}
		if guardHostaddr && afterRewriteHostaddr(text, start) {
			notes = append(notes, rewriteNote(fmt.Sprintf("hostaddr=%s left numeric: libpq's hostaddr takes only an IP (change the key to host= to use %s)", from, to)))
			i = end
			continue
		}
		b.WriteString(text[last:start])
		b.WriteString(to)
		last, i = end, end
		n++
	}
	if n == 0 {
		return text, 0, notes
	}
	b.WriteString(text[last:])
	return b.String(), n, notes
}

// afterRewriteHostaddr reports whether the value starting at pos is the value of
// a libpq hostaddr key: "hostaddr=", "hostaddr = " or "hostaddr='".
func afterRewriteHostaddr(text string, pos int) bool {
	k := pos
	for k > 0 && (text[k-1] == ' ' || text[k-1] == '\'') {
		k--
	}
	if k == 0 || text[k-1] != '=' {
		return false
	}
	k--
	for k > 0 && text[k-1] == ' ' {
		k--
	}
	const key = "hostaddr"
	if k < len(key) || !strings.EqualFold(text[k-len(key):k], key) {
		return false
	}
	return k == len(key) || !isRewriteTokenByte(text[k-len(key)-1])
}

// rewriteSecretPatterns find passwords in SQL text: libpq's password=... (bare,
// or quoted as ” inside a SQL literal) and PASSWORD 'literal'.
var rewriteSecretPatterns = []struct {
	re   *lazyre.Regexp
	repl string
}{
	{lazyre.New(`(?i)\b(password\s*=\s*)(''(?:[^']|'''')*''|[^\s']+)`), "${1}********"},
	{lazyre.New(`(?i)\b(password\s+)(E?'(?:[^']|'')*')`), "${1}'********'"},
}

// maskRewriteSecrets hides every password the text holds.
func maskRewriteSecrets(s string) string {
	for _, p := range rewriteSecretPatterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}
