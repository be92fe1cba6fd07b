package modules

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cutover/cutover/engine/module"
)

// Replace is the replace module: it replaces every match of a Python-style
// regular expression in a file (MULTILINE, as Ansible compiles it),
// optionally only between the "after" and "before" patterns.
func Replace() module.Info {
	return module.Info{
		Name:    "replace",
		Aliases: []string{"ansible.builtin.replace"},
		Doc:     "Replace all matches of a regular expression in a file; backreferences \\1 and \\g<name> work in the replacement.",
		Args: append([]module.Arg{
			{Name: "path", Type: module.Path, Required: true, Aliases: []string{"dest", "destfile", "name"}, Doc: "file to modify"},
			{Name: "regexp", Type: module.String, Required: true, Doc: "Python regular expression, compiled MULTILINE"},
			{Name: "replace", Type: module.String, Default: "", Doc: `replacement; \1 and \g<name> insert groups`},
			{Name: "after", Type: module.String, Doc: "only replace after the first match of this expression (not MULTILINE: ^ and $ anchor the whole file)"},
			{Name: "before", Type: module.String, Doc: "only replace before this expression (not MULTILINE, as after)"},
			{Name: "backup", Type: module.Bool, Default: false, Doc: "keep a timestamped copy of the old file"},
			{Name: "validate", Type: module.String, Doc: `command checking the new file before it is put in place ("%s" is its path)`},
			{Name: "encoding", Type: module.String, Default: "utf-8", Choices: []string{"utf-8", "utf8"}, Doc: "file encoding (only utf-8)"},
		}, fileAttrArgs()...),
		New: func() module.Module { return replaceModule{} },
	}
}

type replaceModule struct{}

func (replaceModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	p := argString(args, "path")
	validate, err := validateArgv(argString(args, "validate"))
	if err != nil {
		return nil, err
	}
	mre, err := pyCompile(argString(args, "regexp"), true)
	if err != nil {
		return nil, fmt.Errorf("regexp: %w", err)
	}
	real, fi, err := resolveLinks(ctx, env.Host, p)
	if err != nil {
		return nil, err
	}
	switch {
	case fi != nil && fi.IsDir:
		return failedPlan(fmt.Sprintf("Path %s is a directory !", p), nil), nil
	case fi == nil:
		return failedPlan(fmt.Sprintf("Path %s does not exist !", p), nil), nil
	}
	old, _, err := readMaybe(ctx, env.Host, real)
	if err != nil {
		return nil, err
	}
	contents := string(old)

	after, hasAfter := argOpt(args, "after")
	before, hasBefore := argOpt(args, "before")
	pattern := ""
	switch {
	case hasAfter && after != "" && hasBefore && before != "":
		pattern = after + "(?P<subsection>.*?)" + before
	case hasAfter && after != "":
		pattern = after + "(?P<subsection>.*)"
	case hasBefore && before != "":
		pattern = "(?P<subsection>.*)" + before
	}
	start, end := 0, len(contents)
	if pattern != "" {
		sre, err := pyCompileText("(?s)" + pattern)
		if err != nil {
			return nil, fmt.Errorf("after/before: %w", err)
		}
		m := sre.FindStringSubmatchIndex(contents)
		if m == nil {
			msg := "Pattern for before/after params did not match the given file: " + pattern
			return &module.Change{Action: module.None, Result: &module.Result{Msg: msg, Data: map[string]any{"rc": 0}}}, nil
		}
		g := sre.SubexpIndex("subsection")
		start, end = m[2*g], m[2*g+1]
	}
	section := contents[start:end]
	replaced, n, err := pySubn(mre, argString(args, "replace"), section)
	if err != nil {
		return nil, fmt.Errorf("replace: %w", err)
	}
	msg, data := "", contents
	if n > 0 && replaced != section {
		msg = fmt.Sprintf("%d replacements made", n)
		data = contents[:start] + replaced + contents[end:]
	}
	w, err := planContent(real, []byte(data), fi, old, attrsFrom(args))
	if err != nil {
		return nil, err
	}
	w.Backup, w.Validate = argBool(args, "backup"), validate
	msg = attrMsg(msg, w.attrsReported())
	c := &module.Change{Action: w.action(), Summary: msg, Data: &fileEditPlan{write: w, msg: msg, data: map[string]any{"rc": 0}}}
	if w.Write {
		c.Diffs = append(c.Diffs, module.Diff{BeforeHeader: p, AfterHeader: p, Before: contents, After: data})
	}
	if w.Attrs.any() {
		c.Diffs = append(c.Diffs, w.Attrs.attrDiff(p))
	}
	// Ansible reports msg even when it is empty.
	c.Result = &module.Result{Changed: c.Action != module.None, Msg: msg, Data: map[string]any{"msg": msg, "rc": 0}}
	return c, nil
}

func (replaceModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	return c.Data.(*fileEditPlan).apply(ctx, h, "backup_file")
}

// fileEditPlan is the Change.Data of the modules that edit a file in place
// (replace, lineinfile, blockinfile).
type fileEditPlan struct {
	write *contentWrite
	msg   string
	data  map[string]any // extra result keys (lineinfile's "found")
}

// apply writes the file; backupKey is where the module reports the backup
// ("backup" for lineinfile, "backup_file" for the others).
func (p *fileEditPlan) apply(ctx context.Context, h module.MutableHost, backupKey string) (*module.Result, error) {
	backup, err := p.write.apply(ctx, h)
	if err != nil {
		return nil, err
	}
	data := map[string]any{}
	for k, v := range p.data {
		data[k] = v
	}
	if backup != "" || backupKey == "backup" {
		data[backupKey] = backup
	}
	return &module.Result{Changed: true, Msg: p.msg, Data: data}, nil
}

// failedPlan is a plan that reports a module failure the way Ansible words it.
func failedPlan(msg string, data map[string]any) *module.Change {
	return &module.Change{Action: module.None, Summary: msg, Result: &module.Result{Failed: true, Msg: msg, Data: data}}
}

// pyCompile translates a Python re pattern to Go's RE2 syntax. RE2 has no
// lookaround or backreferences; those are refused with a clear error
// rather than silently matching something else. Without multiline, "$"
// matches at the end or before a final newline as in Python, which is what
// matters when lineinfile searches a line that still ends in "\n": on one
// line that is Go's multiline "$". Use pyCompileText for a whole text.
func pyCompile(pattern string, multiline bool) (*regexp.Regexp, error) {
	if multiline {
		return pyTranslate(pattern, "(?m)", "$")
	}
	return pyTranslate(pattern, "", `(?m:$)`)
}

// pyCompileText compiles a pattern that Python searches in a whole text
// without MULTILINE (replace's after and before): "^" only at the start
// and "$" only at the end or before a final newline. RE2 has no lookahead
// for the latter, so "$" there takes the final newline with it and a
// match can end one newline later than Python's, never on another line.
// Known difference: an after ending in "$" that matches the last line
// leaves an empty section, where Python's holds that final newline.
func pyCompileText(pattern string) (*regexp.Regexp, error) {
	return pyTranslate(pattern, "", `(?:\n?\z)`)
}

// pyTranslate does pyCompile's work; flags start the Go pattern and
// dollar replaces each "$" outside a class.
func pyTranslate(pattern, flags, dollar string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(flags)
	inClass := false
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			i++
			n := pattern[i]
			switch {
			case n == 'Z' && !inClass:
				b.WriteString(`\z`)
			case n >= '1' && n <= '9' && !inClass:
				return nil, fmt.Errorf("backreference \\%c in %q is not supported (Go's RE2 syntax)", n, pattern)
			case n == 'u' && i+4 < len(pattern):
				b.WriteString(`\x{` + pattern[i+1:i+5] + `}`)
				i += 4
			case n == 'U' && i+8 < len(pattern):
				b.WriteString(`\x{` + pattern[i+1:i+9] + `}`)
				i += 8
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// "]" right after "[" or "[^" is a literal, as in Python.
			if i+1 < len(pattern) && pattern[i+1] == '^' {
				i++
				b.WriteByte('^')
			}
			if i+1 < len(pattern) && pattern[i+1] == ']' {
				i++
				b.WriteString(`\]`)
			}
		case c == '(' && strings.HasPrefix(pattern[i:], "(?#"):
			j := strings.IndexByte(pattern[i:], ')')
			if j < 0 {
				return nil, fmt.Errorf("unterminated comment in %q", pattern)
			}
			i += j
		case c == '(' && (strings.HasPrefix(pattern[i:], "(?=") || strings.HasPrefix(pattern[i:], "(?!") ||
			strings.HasPrefix(pattern[i:], "(?<=") || strings.HasPrefix(pattern[i:], "(?<!")):
			return nil, fmt.Errorf("lookaround in %q is not supported (Go's RE2 syntax)", pattern)
		case c == '(' && strings.HasPrefix(pattern[i:], "(?P="):
			return nil, fmt.Errorf("backreference in %q is not supported (Go's RE2 syntax)", pattern)
		case c == '{' && strings.HasPrefix(pattern[i:], "{,"):
			b.WriteString("{0,")
			i++
		case c == '$':
			b.WriteString(dollar)
		default:
			b.WriteByte(c)
		}
	}
	return regexp.Compile(b.String())
}

// pySubn is Python's re.subn: every match replaced by the expanded
// template, and the number of matches. Go skips an empty match right after
// a previous match where Python 3.7+ replaces it; that case differs.
func pySubn(re *regexp.Regexp, template, s string) (string, int, error) {
	matches := re.FindAllStringSubmatchIndex(s, -1)
	var b strings.Builder
	last := 0
	for _, m := range matches {
		rep, err := pyExpand(re, template, s, m)
		if err != nil {
			return "", 0, err
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(rep)
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String(), len(matches), nil
}

// pyExpand expands a Python replacement template (\1, \g<1>, \g<name>,
// \n-style escapes) for match m of re in s.
func pyExpand(re *regexp.Regexp, template, s string, m []int) (string, error) {
	var b strings.Builder
	group := func(n int) error {
		if n < 0 || n > re.NumSubexp() {
			return fmt.Errorf("invalid group reference %d in %q", n, template)
		}
		if m[2*n] >= 0 { // an unmatched group is empty, as in Python 3.5+
			b.WriteString(s[m[2*n]:m[2*n+1]])
		}
		return nil
	}
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c != '\\' || i+1 == len(template) {
			b.WriteByte(c)
			continue
		}
		i++
		n := template[i]
		switch {
		case n == 'g':
			end := strings.IndexByte(template[i:], '>')
			if i+1 >= len(template) || template[i+1] != '<' || end < 0 {
				return "", fmt.Errorf("missing group name in %q", template)
			}
			name := template[i+2 : i+end]
			i += end
			idx, err := strconv.Atoi(name)
			if err != nil {
				if idx = re.SubexpIndex(name); idx < 0 {
					return "", fmt.Errorf("unknown group name %q in %q", name, template)
				}
			}
			if err := group(idx); err != nil {
				return "", err
			}
		case n >= '1' && n <= '9':
			idx := int(n - '0')
			if i+1 < len(template) && template[i+1] >= '0' && template[i+1] <= '9' {
				i++
				idx = idx*10 + int(template[i]-'0')
			}
			if err := group(idx); err != nil {
				return "", err
			}
		case n == '0':
			b.WriteByte(0)
		case strings.IndexByte("ntrfvab", n) >= 0:
			b.WriteByte("\n\t\r\f\v\a\b"[strings.IndexByte("ntrfvab", n)])
		case n == '\\':
			b.WriteByte('\\')
		case n < utf8.RuneSelf && (n >= 'a' && n <= 'z' || n >= 'A' && n <= 'Z'):
			return "", fmt.Errorf(`bad escape \%c in %q`, n, template)
		default:
			b.WriteByte('\\')
			b.WriteByte(n)
		}
	}
	return b.String(), nil
}
