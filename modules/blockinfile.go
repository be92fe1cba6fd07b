package modules

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/module"
)

// BlockInFile is the blockinfile module: it keeps a block of lines between
// two marker lines, inserting, replacing or removing it as ansible-core
// 2.14 does (2.14 has no append_newline/prepend_newline).
func BlockInFile() module.Info {
	return module.Info{
		Name:    "blockinfile",
		Aliases: []string{"ansible.builtin.blockinfile"},
		Doc:     "Insert, update or remove a block of lines surrounded by marker lines.",
		Args: append([]module.Arg{
			{Name: "path", Type: module.Path, Required: true, Aliases: []string{"dest", "destfile", "name"}, Doc: "file to modify"},
			{Name: "state", Type: module.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "whether the block should be there"},
			{Name: "marker", Type: module.String, Default: "# {mark} ANSIBLE MANAGED BLOCK", Doc: "marker line template; {mark} becomes marker_begin or marker_end"},
			{Name: "block", Type: module.String, Default: "", Aliases: []string{"content"}, Doc: "the text between the markers; empty removes the block"},
			{Name: "insertafter", Type: module.String, Doc: "EOF, or a regexp: a new block goes after its last match"},
			{Name: "insertbefore", Type: module.String, Doc: "BOF, or a regexp: a new block goes before its last match"},
			{Name: "create", Type: module.Bool, Default: false, Doc: "create the file when missing"},
			{Name: "backup", Type: module.Bool, Default: false, Doc: "keep a timestamped copy of the old file"},
			{Name: "validate", Type: module.String, Doc: `command checking the new file before it is put in place ("%s" is its path)`},
			{Name: "marker_begin", Type: module.String, Default: "BEGIN", Doc: "replaces {mark} in the opening marker"},
			{Name: "marker_end", Type: module.String, Default: "END", Doc: "replaces {mark} in the closing marker"},
		}, fileAttrArgs()...),
		New: func() module.Module { return blockInFileModule{} },
	}
}

type blockInFileModule struct{}

// multilineFlag matches a leading inline flag group that turns MULTILINE
// on, which makes Ansible search the whole file rather than line by line.
var multilineFlag = lazyre.New(`^\(\?[aiLmsux]*m[aiLmsux]*\)`)

func (blockInFileModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	p := argString(args, "path")
	after, hasAfter := argOpt(args, "insertafter")
	before, hasBefore := argOpt(args, "insertbefore")
	if hasAfter && hasBefore {
		return nil, fmt.Errorf("parameters are mutually exclusive: insertbefore|insertafter")
	}
	validate, err := validateArgv(argString(args, "validate"))
	if err != nil {
		return nil, err
	}
	real, fi, err := resolveLinks(ctx, env.Host, p)
	if err != nil {
		return nil, err
	}
	if fi != nil && fi.IsDir {
		return failedPlan(fmt.Sprintf("Path %s is a directory !", p), map[string]any{"rc": 256}), nil
	}
	present := argString(args, "state") != "absent"
	if fi == nil {
		if !argBool(args, "create") {
			return failedPlan(fmt.Sprintf("Path %s does not exist !", p), map[string]any{"rc": 257}), nil
		}
		if !present {
			return &module.Change{Action: module.None, Result: &module.Result{Msg: fmt.Sprintf("File %s not present", p)}}, nil
		}
	}
	var old []byte
	if fi != nil {
		if old, _, err = readMaybe(ctx, env.Host, real); err != nil {
			return nil, err
		}
	}
	if !hasAfter && !hasBefore {
		after, hasAfter = "EOF", true
	}
	var insertRe *regexp.Regexp
	insertPattern := ""
	switch {
	case hasAfter && after != "EOF":
		insertPattern = after
	case hasBefore && before != "BOF":
		insertPattern = before
	}
	if insertPattern != "" {
		if insertRe, err = pyCompile(insertPattern, false); err != nil {
			return nil, fmt.Errorf("insertafter/insertbefore: %w", err)
		}
	}
	marker := argString(args, "marker")
	b := blockEdit{
		begin:     strings.ReplaceAll(marker, "{mark}", argString(args, "marker_begin")) + "\n",
		end:       strings.ReplaceAll(marker, "{mark}", argString(args, "marker_end")) + "\n",
		block:     argString(args, "block"),
		present:   present,
		insertRe:  insertRe,
		multiline: multilineFlag.MatchString(insertPattern),
		after:     hasAfter,
	}
	result := b.apply(string(old))

	var msg string
	switch {
	case fi != nil && result == string(old):
	case fi == nil:
		msg = "File created"
	case !b.hasBlock():
		msg = "Block removed"
	default:
		msg = "Block inserted"
	}
	w, msg, err := planEdit(real, []byte(result), fi, old, args, validate, msg)
	if err != nil {
		return nil, err
	}
	c := &module.Change{Action: w.action(), Summary: msg, Data: &fileEditPlan{write: w, msg: msg}}
	c.Diffs = w.contentDiffs(p+" (content)", old)
	// Ansible reports msg even when it is empty.
	c.Result = &module.Result{Changed: c.Action != module.None, Msg: msg, Data: map[string]any{"msg": msg}}
	return c, nil
}

func (blockInFileModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	return c.Data.(*fileEditPlan).apply(ctx, h, "backup_file")
}

// blockEdit is blockinfile's algorithm, ported from ansible-core 2.14.
type blockEdit struct {
	begin, end string // marker lines with their "\n"
	block      string
	present    bool
	insertRe   *regexp.Regexp // nil for EOF/BOF
	multiline  bool           // the pattern set (?m): search the whole text
	after      bool           // insertafter (else insertbefore)
}

func (b *blockEdit) hasBlock() bool { return b.present && b.block != "" }

// apply returns the file's new content.
func (b *blockEdit) apply(original string) string {
	lines := splitLinesUniversal(original)
	var blockLines []string
	if b.hasBlock() {
		block := b.block
		if !strings.HasSuffix(block, "\n") {
			block += "\n"
		}
		blockLines = append(append([]string{b.begin}, splitLinesUniversal(block)...), b.end)
	}
	n0, n1 := -1, -1
	for i, l := range lines {
		if l == b.begin {
			n0 = i
		}
		if l == b.end {
			n1 = i
		}
	}
	switch {
	case n0 == -1 || n1 == -1:
		n0 = b.insertionPoint(original, lines)
	case n0 < n1:
		lines = append(lines[:n0], lines[n1+1:]...)
	default:
		lines = append(lines[:n1], lines[n0+1:]...)
		n0 = n1
	}
	if n0 > 0 && !strings.HasSuffix(lines[n0-1], "\n") {
		lines[n0-1] += "\n"
	}
	out := append(append(append([]string{}, lines[:n0]...), blockLines...), lines[n0:]...)
	return strings.Join(out, "")
}

// insertionPoint is where a block without markers in the file goes.
func (b *blockEdit) insertionPoint(original string, lines []string) int {
	if b.insertRe == nil {
		if b.after {
			return len(lines) // EOF
		}
		return 0 // BOF
	}
	n0 := -1
	if b.multiline {
		if m := b.insertRe.FindStringIndex(original); m != nil {
			if b.after {
				n0 = strings.Count(original[:m[1]], "\n")
			} else {
				n0 = strings.Count(original[:m[0]], "\n")
			}
		}
	} else {
		for i, l := range lines {
			if b.insertRe.MatchString(l) {
				n0 = i
			}
		}
	}
	switch {
	case n0 == -1:
		return len(lines)
	case b.after:
		return n0 + 1
	}
	return n0
}

// splitLinesUniversal is Python's bytes.splitlines(True): lines end at
// "\n", "\r\n" or "\r" and keep their ending.
func splitLinesUniversal(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		end := i + 1
		if s[i] == '\r' && end < len(s) && s[end] == '\n' {
			end++
		}
		lines = append(lines, s[:end])
		s = s[end:]
	}
	return lines
}
