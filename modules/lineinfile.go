package modules

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/cutover/cutover/engine/module"
)

// LineInFile is the lineinfile module: it makes sure one line is in a file
// (replacing the last line a regexp or search_string matches) or that no
// line matching is left, with Ansible 2.14's placement rules.
func LineInFile() module.Info {
	return module.Info{
		Name:    "lineinfile",
		Aliases: []string{"ansible.builtin.lineinfile"},
		Doc:     "Ensure a line is present in a file, replacing the last line that matches regexp (or search_string), or remove matching lines.",
		Args: append([]module.Arg{
			{Name: "path", Type: module.Path, Required: true, Aliases: []string{"dest", "destfile", "name"}, Doc: "file to modify"},
			{Name: "state", Type: module.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "whether the line should be there"},
			{Name: "regexp", Type: module.String, Aliases: []string{"regex"}, Doc: "Python regular expression selecting the line to replace or remove"},
			{Name: "search_string", Type: module.String, Doc: "literal text selecting the line to replace or remove"},
			{Name: "line", Type: module.String, Aliases: []string{"value"}, Doc: "the line to put in the file"},
			{Name: "insertafter", Type: module.String, Doc: "EOF, or a regexp: insert after its last match"},
			{Name: "insertbefore", Type: module.String, Doc: "BOF, or a regexp: insert before its last match"},
			{Name: "backrefs", Type: module.Bool, Default: false, Doc: "expand \\1 in line from the regexp match; do nothing if it does not match"},
			{Name: "create", Type: module.Bool, Default: false, Doc: "create the file when missing"},
			{Name: "backup", Type: module.Bool, Default: false, Doc: "keep a timestamped copy of the old file"},
			{Name: "firstmatch", Type: module.Bool, Default: false, Doc: "use the first match of regexp/insertafter/insertbefore instead of the last"},
			{Name: "validate", Type: module.String, Doc: `command checking the new file before it is put in place ("%s" is its path)`},
		}, fileAttrArgs()...),
		New: func() module.Module { return lineInFileModule{} },
	}
}

type lineInFileModule struct{}

func (lineInFileModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	p := argString(args, "path")
	regex, hasRegex := argOpt(args, "regexp")
	search, hasSearch := argOpt(args, "search_string")
	line, hasLine := argOpt(args, "line")
	after, hasAfter := argOpt(args, "insertafter")
	before, hasBefore := argOpt(args, "insertbefore")
	present := argString(args, "state") != "absent"
	switch {
	case hasAfter && hasBefore:
		return nil, fmt.Errorf("parameters are mutually exclusive: insertbefore|insertafter")
	case hasRegex && hasSearch:
		return nil, fmt.Errorf("parameters are mutually exclusive: regexp|search_string")
	case argBool(args, "backrefs") && hasSearch:
		return nil, fmt.Errorf("parameters are mutually exclusive: backrefs|search_string")
	case present && argBool(args, "backrefs") && !hasRegex:
		return nil, fmt.Errorf("regexp is required with backrefs=true")
	case present && !hasLine:
		return nil, fmt.Errorf("line is required with state=present")
	case !present && !hasRegex && !hasSearch && !hasLine:
		return nil, fmt.Errorf("one of line, search_string, or regexp is required with state=absent")
	}
	validate, err := validateArgv(argString(args, "validate"))
	if err != nil {
		return nil, err
	}
	var re *regexp.Regexp
	if hasRegex {
		if re, err = pyCompile(regex, false); err != nil {
			return nil, fmt.Errorf("regexp: %w", err)
		}
	}
	real, fi, err := resolveLinks(ctx, env.Host, p)
	if err != nil {
		return nil, err
	}
	if fi != nil && fi.IsDir {
		return failedPlan(fmt.Sprintf("Path %s is a directory !", p), nil), nil
	}
	var old []byte
	if fi != nil {
		if old, _, err = readMaybe(ctx, env.Host, real); err != nil {
			return nil, err
		}
	}
	lines := splitLinesKeep(string(old))
	ed := lineEdit{line: line, re: re, firstmatch: argBool(args, "firstmatch"), backrefs: argBool(args, "backrefs")}
	if hasSearch {
		ed.search = &search
	}
	var msg string
	var found int
	if present {
		if fi == nil && !argBool(args, "create") {
			return failedPlan(fmt.Sprintf("Destination %s does not exist !", p), map[string]any{"rc": 257}), nil
		}
		if !hasAfter && !hasBefore {
			after, hasAfter = "EOF", true
		}
		var ins *regexp.Regexp
		switch {
		case hasAfter && after != "BOF" && after != "EOF":
			ins, err = pyCompile(after, false)
		case hasBefore && before != "BOF":
			ins, err = pyCompile(before, false)
		}
		if err != nil {
			return nil, fmt.Errorf("insertafter/insertbefore: %w", err)
		}
		ed.ins, ed.after, ed.before = ins, optPtr(after, hasAfter), optPtr(before, hasBefore)
		lines, msg, err = ed.present(lines)
		if err != nil {
			return nil, err
		}
	} else {
		if fi == nil {
			return &module.Change{Action: module.None, Result: &module.Result{Msg: "file not present"}}, nil
		}
		lines, found = ed.absent(lines)
		if found > 0 {
			msg = fmt.Sprintf("%d line(s) removed", found)
		}
	}
	data := strings.Join(lines, "")
	if msg == "" { // no content change: the file is left as it was
		data = string(old)
	}
	w, msg, err := planEdit(real, []byte(data), fi, old, args, validate, msg)
	if err != nil {
		return nil, err
	}
	extra := map[string]any{}
	if !present {
		extra["found"] = found
	}
	c := &module.Change{Action: w.action(), Summary: msg, Data: &fileEditPlan{write: w, msg: msg, data: extra}}
	c.Diffs = w.contentDiffs(p+" (content)", old)
	// Ansible reports msg even when it is empty.
	res := map[string]any{"backup": "", "msg": msg}
	for k, v := range extra {
		res[k] = v
	}
	c.Result = &module.Result{Changed: c.Action != module.None, Msg: msg, Data: res}
	return c, nil
}

func (lineInFileModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	return c.Data.(*fileEditPlan).apply(ctx, h, "backup")
}

func optPtr(s string, ok bool) *string {
	if !ok {
		return nil
	}
	return &s
}

// splitLinesKeep is Python's bytes.readlines: split after each "\n",
// keeping it; a last line without one is kept as is.
func splitLinesKeep(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// lineEdit carries lineinfile's parameters through its two algorithms,
// ported step by step from ansible-core 2.14 so that every placement
// quirk matches.
type lineEdit struct {
	line          string
	re            *regexp.Regexp
	search        *string
	ins           *regexp.Regexp
	after, before *string
	firstmatch    bool
	backrefs      bool
}

func trimEOL(s string) string { return strings.TrimRight(s, "\r\n") }

func endsEOL(s string) bool { return strings.HasSuffix(s, "\n") || strings.HasSuffix(s, "\r") }

// present returns the new lines and Ansible's message ("" for no change).
func (e *lineEdit) present(lines []string) ([]string, string, error) {
	matchAt, insAt := -1, -1
	var match []int
	matched := false
	if e.re != nil {
		for i, l := range lines {
			if m := e.re.FindStringSubmatchIndex(l); m != nil {
				matchAt, match, matched = i, m, true
				if e.firstmatch {
					break
				}
			}
		}
	}
	if e.search != nil {
		for i, l := range lines {
			if strings.Contains(l, *e.search) {
				matchAt, matched = i, true
				if e.firstmatch {
					break
				}
			}
		}
	}
	after, before := deref(e.after), deref(e.before)
	if !matched {
		for i, l := range lines {
			if trimEOL(l) == e.line {
				matchAt = i
			} else if e.ins != nil && e.ins.MatchString(l) {
				// Python tests the strings' truth: an empty insertafter
				// compiles to a regexp but never sets the index.
				if after != "" {
					insAt = i + 1
					if e.firstmatch {
						break
					}
				}
				if before != "" {
					insAt = i
					if e.firstmatch {
						break
					}
				}
			}
		}
	}
	newLine := e.line + "\n"
	switch {
	case matchAt != -1:
		replacement := e.line
		if e.backrefs && match != nil {
			expanded, err := pyExpand(e.re, e.line, lines[matchAt], match)
			if err != nil {
				return nil, "", fmt.Errorf("backrefs: %w", err)
			}
			replacement = expanded
		}
		if !strings.HasSuffix(replacement, "\n") {
			replacement += "\n"
		}
		if lines[matchAt] != replacement {
			lines[matchAt] = replacement
			return lines, "line replaced", nil
		}
		return lines, "", nil
	case e.backrefs:
		// Not safe to build the line without the groups the match fills.
		return lines, "", nil
	case before == "BOF" || after == "BOF":
		return append([]string{newLine}, lines...), "line added", nil
	case after == "EOF" || insAt == -1:
		if len(lines) > 0 && !endsEOL(lines[len(lines)-1]) {
			lines = append(lines, "\n")
		}
		return append(lines, newLine), "line added", nil
	case after != "":
		if insAt == len(lines) {
			if trimEOL(lines[insAt-1]) != e.line {
				return append(lines, newLine), "line added", nil
			}
			return lines, "", nil
		}
		if trimEOL(lines[insAt]) != e.line {
			return insertLine(lines, insAt, newLine), "line added", nil
		}
		return lines, "", nil
	default:
		return insertLine(lines, insAt, newLine), "line added", nil
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func insertLine(lines []string, at int, l string) []string {
	lines = append(lines, "")
	copy(lines[at+1:], lines[at:])
	lines[at] = l
	return lines
}

// absent drops every line that matches and returns how many went.
func (e *lineEdit) absent(lines []string) ([]string, int) {
	kept := lines[:0:0]
	found := 0
	for _, l := range lines {
		var hit bool
		switch {
		case e.re != nil:
			hit = e.re.MatchString(l)
		case e.search != nil:
			hit = strings.Contains(l, *e.search)
		default:
			hit = trimEOL(l) == e.line
		}
		if hit {
			found++
		} else {
			kept = append(kept, l)
		}
	}
	return kept, found
}
