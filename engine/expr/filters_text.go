package expr

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/pyfmt"
)

func strFilter(fn func(s string) string) *filterDef {
	return fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) { return fn(pyStr(in)), nil })
}

var textFilters = map[string]*filterDef{
	// Jinja's format: "%s-%s" | format(a, b), or by name with keywords.
	"format": {variadic: true, anyKw: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		s, ok := in.(string)
		if !ok {
			return nil, fmt.Errorf("format needs a string, got %s", pyType(in))
		}
		if len(a.kw) > 0 {
			return percentFormat(s, a.kw)
		}
		return percentFormat(s, append([]any{}, a.rest...))
	}},
	// Jinja counts runs of word characters (\w+): "a-b c" is 3 words.
	"wordcount": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		n, inWord := 0, false
		for _, r := range pyStr(in) {
			w := r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
			if w && !inWord {
				n++
			}
			inWord = w
		}
		return n, nil
	}),
	"urlencode": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		if m, ok := in.(map[string]any); ok {
			parts := make([]string, 0, len(m))
			for _, k := range pyfmt.SortedKeys(m) {
				parts = append(parts, urlQuote(k, true)+"="+urlQuote(pyStr(m[k]), true))
			}
			return strings.Join(parts, "&"), nil
		}
		return urlQuote(pyStr(in), false), nil
	}),
	"upper":      strFilter(strings.ToUpper),
	"lower":      strFilter(strings.ToLower),
	"capitalize": strFilter(capitalize),
	"title":      strFilter(title),
	"basename":   strFilter(func(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }),
	"dirname":    strFilter(dirname),
	"expanduser": strFilter(expandUser),
	"quote":      strFilter(shellQuote),
	"regex_escape": fdef([]string{"re_type"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		return regexEscape(pyStr(in)), nil
	}),
	"trim": fdef([]string{"chars"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		if a.has(0) && a.p[0] != nil {
			return strings.Trim(pyStr(in), pyStr(a.p[0])), nil
		}
		return strings.TrimSpace(pyStr(in)), nil
	}),
	"split": fdef([]string{"sep", "maxsplit"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		return pySplit(pyStr(in), a.get(0, nil), a.get(1, -1))
	}),
	"replace": fdef([]string{"old", "new", "count"}, 2, func(c *evalCtx, in any, a bound) (any, error) {
		n, err := intArg(a.get(2, -1), "count")
		if err != nil {
			return nil, err
		}
		return strings.Replace(pyStr(in), pyStr(a.p[0]), pyStr(a.p[1]), n), nil
	}),
	"splitext": fdef(nil, 0, func(c *evalCtx, in any, a bound) (any, error) {
		s := pyStr(in)
		base := path.Base(s)
		if i := strings.LastIndexByte(base, '.'); i > 0 && strings.Trim(base[:i], ".") != "" {
			cut := len(s) - len(base) + i
			if !strings.HasSuffix(s, "/") {
				return []any{s[:cut], s[cut:]}, nil
			}
		}
		return []any{s, ""}, nil
	}),
	"center": fdef([]string{"width"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		w, err := intArg(a.get(0, 80), "width")
		if err != nil {
			return nil, err
		}
		w = min(w, maxRepeat)
		s := pyStr(in)
		n := utf8.RuneCountInString(s)
		if w <= n {
			return s, nil
		}
		pad := w - n
		left := pad / 2
		if pad%2 == 1 && w%2 == 1 {
			left++
		}
		return strings.Repeat(" ", left) + s + strings.Repeat(" ", pad-left), nil
	}),
	"indent": fdef([]string{"width", "first", "blank"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		pad := "    "
		if a.has(0) {
			if s, ok := a.p[0].(string); ok {
				pad = s
			} else {
				n, err := intArg(a.p[0], "width")
				if err != nil {
					return nil, err
				}
				pad = strings.Repeat(" ", min(max(n, 0), maxRepeat))
			}
		}
		lines := strings.Split(pyStr(in), "\n")
		for i, l := range lines {
			if (i > 0 || a.truth(1, false)) && (l != "" || a.truth(2, false)) {
				lines[i] = pad + l
			}
		}
		return strings.Join(lines, "\n"), nil
	}),
	"comment": {params: []string{"style"}, anyKw: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		return comment(pyStr(in), a.str(0, "plain"), a.kw)
	}},
	"regex_replace": fdef([]string{"pattern", "replacement", "ignorecase", "multiline", "count"}, 0, func(c *evalCtx, in any, a bound) (any, error) {
		re, err := pyRegexp(a.str(0, ""), a.truth(2, false), a.truth(3, false))
		if err != nil {
			return nil, err
		}
		n, err := intArg(a.get(4, 0), "count")
		if err != nil {
			return nil, err
		}
		repl := pyReplacement(a.str(1, ""))
		s := pyStr(in)
		if n <= 0 {
			n = -1
		}
		var out []byte
		last := 0
		for _, m := range re.FindAllStringSubmatchIndex(s, n) {
			out = append(out, s[last:m[0]]...)
			out = re.ExpandString(out, repl, s, m)
			last = m[1]
		}
		return string(append(out, s[last:]...)), nil
	}),
	"regex_search": {params: []string{"pattern"}, required: 1, variadic: true, anyKw: true, fn: func(c *evalCtx, in any, a bound) (any, error) {
		ic, _ := Truthy(a.kw["ignorecase"])
		ml, _ := Truthy(a.kw["multiline"])
		re, err := pyRegexp(pyStr(a.p[0]), ic, ml)
		if err != nil {
			return nil, err
		}
		s := pyStr(in)
		m := re.FindStringSubmatchIndex(s)
		if m == nil {
			return nil, nil
		}
		if len(a.rest) == 0 {
			return s[m[0]:m[1]], nil
		}
		out := []any{}
		for _, g := range a.rest {
			out = append(out, string(re.ExpandString(nil, pyReplacement(pyStr(g)), s, m)))
		}
		return out, nil
	}},
	"regex_findall": fdef([]string{"pattern", "ignorecase", "multiline"}, 1, func(c *evalCtx, in any, a bound) (any, error) {
		re, err := pyRegexp(pyStr(a.p[0]), a.truth(1, false), a.truth(2, false))
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, m := range re.FindAllStringSubmatch(pyStr(in), -1) {
			switch len(m) {
			case 1:
				out = append(out, m[0])
			case 2:
				out = append(out, m[1])
			default:
				groups := make([]any, len(m)-1)
				for i, g := range m[1:] {
					groups[i] = g
				}
				out = append(out, groups)
			}
		}
		return out, nil
	}),
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + strings.ToLower(s[n:])
}

var wordStart = lazyre.New(`([-\s({\[<]+)`)

// title is Jinja's title filter: words start after spaces and brackets.
func title(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range wordStart.FindAllStringIndex(s, -1) {
		b.WriteString(capitalize(s[last:m[0]]))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(capitalize(s[last:]))
	return b.String()
}

// dirname is Python's os.path.dirname.
func dirname(s string) string {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return ""
	}
	head := s[:i+1]
	if strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return head
}

func expandUser(s string) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return home + s[1:]
		}
	}
	return s
}

var shellSafe = lazyre.New(`^[\w@%+=:,./-]+$`)

// shellQuote is Python's shlex.quote.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// regexEscape is Python's re.escape.
func regexEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("()[]{}?*+-|^$\\.&~# \t\n\r\v\f", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pySplit is Python's str.split.
func pySplit(s string, sep, maxsplit any) (any, error) {
	n, err := intArg(maxsplit, "maxsplit")
	if err != nil {
		return nil, err
	}
	var parts []string
	if sep == nil {
		if n < 0 {
			parts = strings.Fields(s)
		} else {
			rest := strings.TrimLeftFunc(s, unicode.IsSpace)
			for len(parts) < n && rest != "" {
				i := strings.IndexFunc(rest, unicode.IsSpace)
				if i < 0 {
					break
				}
				parts = append(parts, rest[:i])
				rest = strings.TrimLeftFunc(rest[i:], unicode.IsSpace)
			}
			if rest != "" {
				parts = append(parts, rest)
			}
		}
	} else {
		sp := pyStr(sep)
		if sp == "" {
			return nil, fmt.Errorf("empty separator")
		}
		if n < 0 {
			parts = strings.Split(s, sp)
		} else {
			parts = strings.SplitN(s, sp, n+1)
		}
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// pyRegexp compiles a Python regular expression with Go's engine, which
// lacks lookaround and backreferences; \Z becomes \z.
func pyRegexp(pattern string, ignoreCase, multiline bool) (*regexp.Regexp, error) {
	p := strings.ReplaceAll(pattern, `\Z`, `\z`)
	flags := ""
	if ignoreCase {
		flags += "i"
	}
	if multiline {
		flags += "m"
	}
	if flags != "" {
		p = "(?" + flags + ")" + p
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", pattern, err)
	}
	return re, nil
}

var pyGroupRef = lazyre.New(`\\(\d+)|\\g<(\w+)>`)

// pyReplacement converts a Python replacement (\1, \g<name>) to Go's ${1}.
func pyReplacement(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range pyGroupRef.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(unescapeRepl(s[last:m[0]]))
		g := ""
		if m[2] >= 0 {
			g = s[m[2]:m[3]]
		} else {
			g = s[m[4]:m[5]]
		}
		b.WriteString("${" + g + "}")
		last = m[1]
	}
	b.WriteString(unescapeRepl(s[last:]))
	return b.String()
}

func unescapeRepl(s string) string {
	s = strings.ReplaceAll(s, "$", "$$")
	return strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`).Replace(s)
}

// comment is Ansible's comment filter.
func comment(text, style string, kw map[string]any) (any, error) {
	styles := map[string]map[string]string{
		"plain":  {"decoration": "# "},
		"erlang": {"decoration": "% "},
		"c":      {"decoration": "// "},
		"cblock": {"beginning": "/*", "decoration": " * ", "end": " */"},
		"xml":    {"beginning": "<!--", "decoration": " - ", "end": "-->"},
	}
	st, ok := styles[style]
	if !ok {
		return nil, fmt.Errorf("unknown comment style %q", style)
	}
	p := map[string]string{"newline": "\n", "beginning": "", "prefix": "", "prefix_count": "1",
		"decoration": "", "postfix": "", "postfix_count": "1", "end": ""}
	for k, v := range st {
		p[k] = v
	}
	if st["decoration"] != "" {
		p["prefix"] = strings.TrimRight(st["decoration"], " ")
		p["postfix"] = p["prefix"]
	}
	for k, v := range kw {
		if k != "style" {
			p[k] = pyStr(v)
		}
	}
	nl := p["newline"]
	var b strings.Builder
	if p["beginning"] != "" {
		b.WriteString(p["beginning"] + nl)
	}
	pc, _ := intArg(p["prefix_count"], "prefix_count")
	for range min(max(pc, 0), 100) {
		if p["prefix"] != nl {
			b.WriteString(p["prefix"])
		}
		b.WriteString(nl)
	}
	dec := p["decoration"]
	body := dec + strings.ReplaceAll(text, nl, nl+dec)
	body = strings.ReplaceAll(body, dec+nl, strings.TrimRight(dec, " ")+nl)
	b.WriteString(body)
	qc, _ := intArg(p["postfix_count"], "postfix_count")
	for range min(max(qc, 0), 100) {
		b.WriteString(nl)
		if p["postfix"] != nl {
			b.WriteString(p["postfix"])
		}
	}
	if p["end"] != "" {
		b.WriteString(nl + p["end"])
	}
	return b.String(), nil
}

// urlQuote is Jinja's url_quote: Python's quote, keeping "/" in a string,
// and in a query (forQuery) nothing, with spaces as "+".
func urlQuote(s string, forQuery bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("_.-~", c) >= 0,
			c == '/' && !forQuery:
			b.WriteByte(c)
		case c == ' ' && forQuery:
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
