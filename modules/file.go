package modules

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/cutover/cutover/engine/module"
)

// File is the file module: it makes a path a file (attributes only), a
// directory, a symlink, absent, or touches it, as ansible-core 2.14 does.
func File() module.Info {
	return module.Info{
		Name:    "file",
		Aliases: []string{"ansible.builtin.file"},
		Doc:     "Set a path's state (file, directory, link, absent, touch) and its mode, owner and group.",
		Args: append([]module.Arg{
			{Name: "path", Type: module.Path, Required: true, Aliases: []string{"dest", "name"}, Doc: "path to manage"},
			{Name: "state", Type: module.String, Choices: []string{"absent", "directory", "file", "link", "touch"},
				Doc: "what path should be; default: its current state, or file"},
			{Name: "src", Type: module.Path, Doc: "target of the symlink (state=link), relative to the link's folder unless absolute"},
			{Name: "recurse", Type: module.Bool, Default: false, Doc: "with state=directory, set mode/owner/group on everything below too"},
			{Name: "force", Type: module.Bool, Default: false, Doc: "with state=link, replace a file or empty folder, or link to a missing target"},
			{Name: "follow", Type: module.Bool, Default: true, Doc: "set attributes on a symlink's target rather than the link"},
		}, fileAttrArgs()...),
		// ls only reads; recurse and link need a folder's entries, which
		// Host.Stat cannot list.
		Probes: [][]string{{"ls", "-lRA", "--"}, {"ls", "-lRAn", "--"}},
		New:    func() module.Module { return fileModule{} },
	}
}

type fileModule struct{}

// filePlan is what Apply runs: commands in order, then the result keys.
type filePlan struct {
	steps      [][]string
	result     map[string]any
	resultPath string // path whose attributes the result reports
}

// pathState is Ansible's get_state: absent, link, directory or file.
func pathState(fi *module.FileInfo) string {
	switch {
	case fi == nil:
		return "absent"
	case fi.IsLink:
		return "link"
	case fi.IsDir:
		return "directory"
	}
	return "file"
}

func (fileModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	p := argString(args, "path")
	state, hasState := argOpt(args, "state")
	src, hasSrc := argOpt(args, "src")
	follow, recurse := argBool(args, "follow"), argBool(args, "recurse")
	attrs := attrsFrom(args)
	fi, err := statMaybe(ctx, env.Host, p)
	if err != nil {
		return nil, err
	}
	prev := pathState(fi)
	if !hasState || state == "" {
		switch {
		case prev != "absent":
			state = prev
		case recurse:
			state = "directory"
		default:
			state = "file"
		}
	}
	// Parameter errors carry the path's attributes, as Ansible's do.
	if recurse && state != "directory" {
		return failedPlan("recurse option requires state to be 'directory'", withPathInfo(ctx, env.Host, p)), nil
	}
	if hasSrc && src != "" && state != "link" {
		return failedPlan("src option requires state to be 'link' or 'hard'", withPathInfo(ctx, env.Host, p)), nil
	}
	switch state {
	case "absent":
		return planAbsent(p, prev), nil
	case "file":
		return planFileState(ctx, env.Host, p, fi, follow, attrs)
	case "directory":
		return planDirectory(ctx, env.Host, p, fi, follow, recurse, attrs)
	case "touch":
		return planTouch(p, fi, attrs)
	case "link":
		return planLink(ctx, env.Host, p, fi, src, hasSrc && src != "", follow, argBool(args, "force"), attrs)
	}
	return nil, fmt.Errorf("file: unsupported state %q", state)
}

func (fileModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	plan := c.Data.(*filePlan)
	for _, argv := range plan.steps {
		if err := runArgv(ctx, h, argv...); err != nil {
			return nil, err
		}
	}
	data := pathInfo(ctx, h, plan.resultPath)
	for k, v := range plan.result {
		data[k] = v
	}
	return &module.Result{Changed: true, Data: data}, nil
}

func withPathInfo(ctx context.Context, h module.Host, p string) map[string]any {
	data := pathInfo(ctx, h, p)
	if len(data) == 0 {
		data["state"] = "absent"
	}
	data["path"] = p
	return data
}

// stateDiff is the JSON before/after Ansible shows for file states.
func stateDiff(before, after map[string]any) module.Diff {
	return module.Diff{Before: jsonText(before), After: jsonText(after)}
}

// finish turns steps into a Change: None when there is nothing to run.
func finish(ctx context.Context, h module.Host, action module.Action, summary string, plan *filePlan, before, after map[string]any) *module.Change {
	if len(plan.steps) == 0 {
		data := pathInfo(ctx, h, plan.resultPath)
		for k, v := range plan.result {
			data[k] = v
		}
		return &module.Change{Action: module.None, Result: &module.Result{Data: data}}
	}
	data := map[string]any{}
	for k, v := range plan.result {
		data[k] = v
	}
	return &module.Change{Action: action, Summary: summary, Diffs: []module.Diff{stateDiff(before, after)},
		Data: plan, Result: &module.Result{Changed: true, Data: data}}
}

func planAbsent(p, prev string) *module.Change {
	result := map[string]any{"path": p, "state": "absent"}
	if prev == "absent" {
		return &module.Change{Action: module.None, Result: &module.Result{Data: result}}
	}
	argv := []string{"rm", "-f", "--", p}
	if prev == "directory" {
		argv = []string{"rm", "-rf", "--", p}
	}
	plan := &filePlan{steps: [][]string{argv}, result: result, resultPath: p}
	return &module.Change{Action: module.Delete, Summary: "remove " + p,
		Diffs:  []module.Diff{stateDiff(map[string]any{"path": p, "state": prev}, map[string]any{"path": p, "state": "absent"})},
		Data:   plan,
		Result: &module.Result{Changed: true, Data: result}}
}

// attrSteps plans attrs for an existing path and merges its diff keys.
func attrSteps(p string, cur *module.FileInfo, attrs fileAttrs, before, after map[string]any) ([][]string, error) {
	c, err := attrs.plan(p, cur)
	if err != nil {
		return nil, err
	}
	b, a := c.diffMaps()
	for k, v := range b {
		before[k] = v
	}
	for k, v := range a {
		after[k] = v
	}
	return c.argvs(), nil
}

func planFileState(ctx context.Context, h module.Host, p string, fi *module.FileInfo, follow bool, attrs fileAttrs) (*module.Change, error) {
	if fi != nil && fi.IsLink && follow {
		real, rfi, err := resolveLinks(ctx, h, p)
		if err != nil {
			return nil, err
		}
		p, fi = real, rfi
	}
	if prev := pathState(fi); prev != "file" {
		msg := fmt.Sprintf("file (%s) is %s, cannot continue", p, prev)
		return failedPlan(msg, map[string]any{"path": p, "state": prev}), nil
	}
	before, after := map[string]any{"path": p}, map[string]any{"path": p}
	steps, err := attrSteps(p, fi, attrs, before, after)
	if err != nil {
		return nil, err
	}
	plan := &filePlan{steps: steps, result: map[string]any{"path": p}, resultPath: p}
	return finish(ctx, h, module.Update, "set attributes of "+p, plan, before, after), nil
}

func planDirectory(ctx context.Context, h module.Host, p string, fi *module.FileInfo, follow, recurse bool, attrs fileAttrs) (*module.Change, error) {
	if fi != nil && fi.IsLink && follow {
		real, rfi, err := resolveLinks(ctx, h, p)
		if err != nil {
			return nil, err
		}
		p, fi = real, rfi
	}
	prev := pathState(fi)
	before, after := map[string]any{"path": p}, map[string]any{"path": p}
	plan := &filePlan{result: map[string]any{"path": p}, resultPath: p}
	switch prev {
	case "absent":
		// Ansible creates each missing folder and gives every one the
		// requested attributes, not just the last.
		missing, err := missingDirs(ctx, h, p)
		if err != nil {
			return nil, err
		}
		for _, d := range missing {
			plan.steps = append(plan.steps, []string{"mkdir", "-p", "--", d}) // -p: another host may make a shared parent at the same moment
			c, err := attrs.plan(d, &module.FileInfo{Path: d, IsDir: true, Mode: 0o755, UID: -1, GID: -1})
			if err != nil {
				return nil, err
			}
			plan.steps = append(plan.steps, c.argvs()...)
		}
		before["state"], after["state"] = "absent", "directory"
		return finish(ctx, h, module.Create, "create directory "+p, plan, before, after), nil
	case "directory":
	default:
		return failedPlan(fmt.Sprintf("%s already exists as a %s", p, prev), withPathInfo(ctx, h, p)), nil
	}
	steps, err := attrSteps(p, fi, attrs, before, after)
	if err != nil {
		return nil, err
	}
	plan.steps = steps
	if recurse {
		below, err := recurseSteps(ctx, h, p, attrs)
		if err != nil {
			return nil, err
		}
		plan.steps = append(plan.steps, below...)
	}
	return finish(ctx, h, module.Update, "set attributes of "+p, plan, before, after), nil
}

// missingDirs lists p's missing ancestors and p itself, outermost first.
func missingDirs(ctx context.Context, h module.Host, p string) ([]string, error) {
	var missing []string
	for d := path.Clean(p); d != "/" && d != "."; d = path.Dir(d) {
		fi, err := statMaybe(ctx, h, d)
		if err != nil {
			return nil, err
		}
		if fi != nil {
			if !fi.IsDir && !fi.IsLink {
				return nil, fmt.Errorf("there was an issue creating %s as requested: %s is not a folder", p, d)
			}
			break
		}
		missing = append([]string{d}, missing...)
	}
	return missing, nil
}

func planTouch(p string, fi *module.FileInfo, attrs fileAttrs) (*module.Change, error) {
	cur := fi
	if cur == nil {
		cur = &module.FileInfo{Path: p, Mode: 0o644, UID: -1, GID: -1}
	}
	c, err := attrs.plan(p, cur)
	if err != nil {
		return nil, err
	}
	// touch changes the times every run, so it is always a change, as in
	// Ansible.
	plan := &filePlan{steps: append([][]string{{"touch", "--", p}}, c.argvs()...), result: map[string]any{"dest": p}, resultPath: p}
	action := module.Update
	if fi == nil {
		action = module.Create
	}
	before := map[string]any{"path": p, "state": pathState(fi)}
	after := map[string]any{"path": p, "state": "touch"}
	return finish(context.Background(), nil, action, "touch "+p, plan, before, after), nil
}

func planLink(ctx context.Context, h module.Host, p string, fi *module.FileInfo, src string, hasSrc, follow, force bool, attrs fileAttrs) (*module.Change, error) {
	prev := pathState(fi)
	if !hasSrc && follow && fi != nil && fi.IsLink {
		src, hasSrc = fi.LinkTarget, true
	}
	base := path.Dir(p)
	if fi != nil && fi.IsDir {
		base = p
	}
	absSrc := src
	if !path.IsAbs(src) {
		absSrc = path.Join(base, src)
	}
	if hasSrc && !force {
		if _, tfi, err := resolveLinks(ctx, h, absSrc); err != nil || tfi == nil {
			msg := `src file does not exist, use "force=yes" if you really want to create the link: ` + path.Join(base, src)
			return failedPlan(msg, map[string]any{"path": p, "src": src}), nil
		}
	}
	switch {
	case prev == "directory" && !force, prev == "file" && !force:
		return failedPlan(fmt.Sprintf("refusing to convert from %s to symlink for %s", prev, p), withPathInfo(ctx, h, p)), nil
	case prev == "directory":
		if empty, err := dirEmpty(ctx, h, p); err != nil {
			return nil, err
		} else if !empty {
			return failedPlan(fmt.Sprintf("the directory %s is not empty, refusing to convert it", p), withPathInfo(ctx, h, p)), nil
		}
	}
	before, after := map[string]any{"path": p}, map[string]any{"path": p}
	plan := &filePlan{result: map[string]any{"dest": p, "src": src}, resultPath: p}
	switch {
	case prev != "link" && !hasSrc:
		return failedPlan("src is required for creating new symlinks", nil), nil
	case prev != "link":
		before["state"], after["state"] = prev, "link"
	case hasSrc && fi.LinkTarget != src:
		before["src"], after["src"] = fi.LinkTarget, src
	}
	switch {
	case prev == "absent":
		plan.steps = append(plan.steps, []string{"ln", "-s", "--", src, p})
	case len(after) > 1:
		if prev == "directory" {
			plan.steps = append(plan.steps, []string{"rmdir", "--", p})
		}
		// A temp link renamed over the path, so the path never goes
		// missing (Ansible does the same).
		tmp := path.Join(path.Dir(p), fmt.Sprintf(".%s.%d.tmp", path.Base(p), os.Getpid()))
		plan.steps = append(plan.steps, []string{"ln", "-s", "--", src, tmp}, []string{"mv", "-f", "-T", "--", tmp, p})
	}
	// Attributes go to the link's target when following (chmod and chown
	// follow links), else to the link itself (owner only on Linux).
	if follow {
		if _, tfi, err := resolveLinks(ctx, h, absSrc); err == nil && tfi != nil {
			c, err := attrs.plan(p, tfi)
			if err != nil {
				return nil, err
			}
			c.IsLink = false
			plan.steps = append(plan.steps, c.argvs()...)
		}
	} else {
		cur := fi
		if cur == nil || !cur.IsLink {
			cur = &module.FileInfo{IsLink: true, UID: -1, GID: -1}
		}
		c, err := attrs.plan(p, cur)
		if err != nil {
			return nil, err
		}
		c.Path, c.IsLink = p, true
		plan.steps = append(plan.steps, c.argvs()...)
	}
	action := module.Update
	if prev == "absent" {
		action = module.Create
	}
	return finish(ctx, h, action, fmt.Sprintf("link %s -> %s", p, src), plan, before, after), nil
}

// dirEmpty lists a folder through the declared ls probe.
func dirEmpty(ctx context.Context, h module.Host, p string) (bool, error) {
	entries, err := listTree(ctx, h, p, false)
	return len(entries) == 0, err
}

// treeEntry is one line of `ls -lRA`: the permission string and the
// owner and group columns (names, or ids with -n).
type treeEntry struct {
	perm         string
	owner, group string
}

// listTree returns every entry below p, in ls's order.
func listTree(ctx context.Context, h module.Host, p string, numeric bool) ([]treeEntry, error) {
	flags := "-lRA"
	if numeric {
		flags = "-lRAn"
	}
	res, err := h.Probe(ctx, module.Command{Argv: []string{"ls", flags, "--", p}, Env: map[string]string{"LC_ALL": "C"}})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, err)
	}
	if res.RC != 0 {
		return nil, fmt.Errorf("list %s: %s", p, strings.TrimSpace(string(res.Stderr)))
	}
	var out []treeEntry
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || len(f[0]) < 10 || !strings.ContainsRune("-dlcbps", rune(f[0][0])) {
			continue // "dir:" headers, "total N" and blank lines
		}
		out = append(out, treeEntry{perm: f[0], owner: f[2], group: f[3]})
	}
	return out, nil
}

// parsePerm reads ls's "drwxr-sr-x" into a mode.
func parsePerm(s string) fs.FileMode {
	var m fs.FileMode
	for i, bit := range []fs.FileMode{0o400, 0o200, 0o100, 0o040, 0o020, 0o010, 0o004, 0o002, 0o001} {
		c := s[i+1]
		if c != '-' && c != 'S' && c != 'T' {
			m |= bit
		}
	}
	switch {
	case s[3] == 's' || s[3] == 'S':
		m |= fs.ModeSetuid
	}
	if s[6] == 's' || s[6] == 'S' {
		m |= fs.ModeSetgid
	}
	if s[9] == 't' || s[9] == 'T' {
		m |= fs.ModeSticky
	}
	return m
}

// recurseSteps plans recurse=true: one chown -R and one chmod -R when any
// entry below p differs. Symlinks are skipped for mode (Linux cannot chmod
// a link; Ansible reports them changed on every run, we do not).
func recurseSteps(ctx context.Context, h module.Host, p string, attrs fileAttrs) ([][]string, error) {
	if attrs == (fileAttrs{}) {
		return nil, nil
	}
	named, err := listTree(ctx, h, p, false)
	if err != nil {
		return nil, err
	}
	numeric, err := listTree(ctx, h, p, true)
	if err != nil {
		return nil, err
	}
	if len(named) != len(numeric) {
		return nil, errors.New("recurse: the folder changed while it was listed")
	}
	var modeDiffers, ownerDiffers bool
	for i, e := range named {
		if attrs.Mode != "" && e.perm[0] != 'l' {
			cur := parsePerm(e.perm)
			want, err := desiredMode(attrs.Mode, cur, e.perm[0] == 'd')
			if err != nil {
				return nil, fmt.Errorf("mode %q: %w", attrs.Mode, err)
			}
			modeDiffers = modeDiffers || want != cur
		}
		if attrs.Owner != "" && attrs.Owner != e.owner && attrs.Owner != numeric[i].owner ||
			attrs.Group != "" && attrs.Group != e.group && attrs.Group != numeric[i].group {
			ownerDiffers = true
		}
	}
	var steps [][]string
	if ownerDiffers {
		spec := attrs.Owner
		if attrs.Group != "" {
			spec += ":" + attrs.Group
		}
		steps = append(steps, []string{"chown", "-R", "-h", "--", spec, p})
	}
	if modeDiffers {
		steps = append(steps, []string{"chmod", "-R", "--", chmodSpec(attrs.Mode), p})
	}
	return steps, nil
}

// chmodSpec makes a mode argument mean for chmod(1) what it means for
// Ansible: a clause without u/g/o/a applies to all, ignoring the umask.
func chmodSpec(mode string) string {
	if _, err := strconv.ParseUint(mode, 8, 32); err == nil {
		return mode
	}
	clauses := strings.Split(mode, ",")
	for i, c := range clauses {
		if c != "" && strings.ContainsRune("+-=", rune(c[0])) {
			clauses[i] = "a" + c
		}
	}
	return strings.Join(clauses, ",")
}
