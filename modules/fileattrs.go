// This file holds what the file-handling modules (copy, template, file,
// lineinfile, blockinfile, replace, stat) share: Ansible's "file common
// arguments" (mode, owner, group), backup naming, reading a file that may be
// missing, and the plan/apply of a whole-file write.

package modules

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/shellwords"
)

// fileAttrArgs declares Ansible's file common arguments.
func fileAttrArgs() []module.Arg {
	return []module.Arg{
		{Name: "mode", Type: module.Mode, Doc: `permissions: octal ("0644") or symbolic ("u+x,g-w"); unset keeps the current mode`},
		{Name: "owner", Type: module.String, Doc: "user (name or uid) that should own the file"},
		{Name: "group", Type: module.String, Doc: "group (name or gid) that should own the file"},
	}
}

// fileAttrs is what the file common arguments ask for; empty fields keep
// what the file has.
type fileAttrs struct {
	Mode, Owner, Group string
}

func attrsFrom(args module.Args) fileAttrs {
	a := fileAttrs{Mode: argString(args, "mode"), Owner: argString(args, "owner"), Group: argString(args, "group")}
	switch m := args["mode"].(type) {
	case int, int64, uint64: // copy's raw mode: YAML 0644 unquoted is 420
		a.Mode = fmt.Sprintf("0%o", m)
	}
	return a
}

// attrChange is the chmod/chown one path needs. Before* hold the current
// values for the diff.
type attrChange struct {
	Path     string
	IsLink   bool
	SetMode  bool
	Mode     fs.FileMode
	SetOwner bool
	Owner    string
	SetGroup bool
	Group    string

	BeforeMode, BeforeOwner, BeforeGroup string
}

// any reports whether anything must change.
func (c attrChange) any() bool { return c.SetMode || c.SetOwner || c.SetGroup }

// desiredMode resolves a mode argument against the current mode (symbolic
// modes such as "u+x" or "a+X" depend on it).
func desiredMode(spec string, cur fs.FileMode, isDir bool) (fs.FileMode, error) {
	if isDir {
		cur |= fs.ModeDir
	}
	m, err := module.ParseMode(spec, cur)
	if err != nil {
		return 0, err
	}
	return m &^ fs.ModeDir, nil
}

// plan compares the wanted attributes with cur, which must exist.
func (a fileAttrs) plan(p string, cur *module.FileInfo) (attrChange, error) {
	c := attrChange{Path: p, IsLink: cur.IsLink}
	if a.Mode != "" && !cur.IsLink { // Linux cannot chmod a symlink itself
		m, err := desiredMode(a.Mode, cur.Mode, cur.IsDir)
		if err != nil {
			return c, fmt.Errorf("mode %q: %w", a.Mode, err)
		}
		if m != cur.Mode {
			c.SetMode, c.Mode, c.BeforeMode = true, m, ansibleMode(cur.Mode)
		}
	}
	if a.Owner != "" && a.Owner != cur.Owner && a.Owner != strconv.Itoa(cur.UID) {
		c.SetOwner, c.Owner, c.BeforeOwner = true, a.Owner, nameOrID(cur.Owner, cur.UID)
	}
	if a.Group != "" && a.Group != cur.Group && a.Group != strconv.Itoa(cur.GID) {
		c.SetGroup, c.Group, c.BeforeGroup = true, a.Group, nameOrID(cur.Group, cur.GID)
	}
	return c, nil
}

func nameOrID(name string, id int) string {
	if name != "" {
		return name
	}
	return strconv.Itoa(id)
}

// argvs returns the commands that make the change: chown then chmod
// (chown clears setuid bits, so mode goes last).
func (c attrChange) argvs() [][]string {
	var out [][]string
	if c.SetOwner || c.SetGroup {
		spec := c.Owner
		if c.SetGroup {
			spec += ":" + c.Group
		}
		argv := []string{"chown"}
		if c.IsLink {
			argv = append(argv, "-h")
		}
		out = append(out, append(argv, "--", spec, c.Path))
	}
	if c.SetMode {
		out = append(out, []string{"chmod", "--", fmt.Sprintf("%04o", octal(c.Mode)), c.Path})
	}
	return out
}

// apply runs argvs on the host.
func (c attrChange) apply(ctx context.Context, h module.MutableHost) error {
	for _, argv := range c.argvs() {
		if err := runArgv(ctx, h, argv...); err != nil {
			return err
		}
	}
	return nil
}

// diffMaps returns the before/after attribute maps Ansible shows for file
// attribute changes: {"path": ..., "mode": "0644"}.
func (c attrChange) diffMaps() (before, after map[string]any) {
	before, after = map[string]any{"path": c.Path}, map[string]any{"path": c.Path}
	if c.SetMode {
		before["mode"], after["mode"] = c.BeforeMode, ansibleMode(c.Mode)
	}
	if c.SetOwner {
		before["owner"], after["owner"] = c.BeforeOwner, c.Owner
	}
	if c.SetGroup {
		before["group"], after["group"] = c.BeforeGroup, c.Group
	}
	return before, after
}

// attrDiff is the "(file attributes)" diff lineinfile and friends show.
func (c attrChange) attrDiff(header string) module.Diff {
	b, a := c.diffMaps()
	return module.Diff{BeforeHeader: header + " (file attributes)", AfterHeader: header + " (file attributes)",
		Before: jsonText(b), After: jsonText(a)}
}

// jsonText renders a diff map as Ansible does: sorted keys, 4-space indent.
func jsonText(v any) string {
	out, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(out) + "\n"
}

func octal(m fs.FileMode) uint32 { return module.ModeBits(m) }

// ansibleMode formats a mode as Ansible's results do: '0%03o', so 0644 is
// "0644" and setuid 0755 is "04755".
func ansibleMode(m fs.FileMode) string { return module.OctalMode(m) }

// runArgv runs argv on the host and turns a non-zero exit into an error.
func runArgv(ctx context.Context, h module.MutableHost, argv ...string) error {
	res, err := h.Run(ctx, module.Command{Argv: argv})
	if err != nil {
		return err
	}
	if res.RC != 0 {
		return fmt.Errorf("%s: rc=%d: %s", argv[0], res.RC, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// statMaybe describes path without following a final link; a missing path
// is nil without error.
func statMaybe(ctx context.Context, h module.Host, p string) (*module.FileInfo, error) {
	fi, err := h.Stat(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	return fi, nil
}

// readMaybe reads a host file; a missing one is (nil, false, nil).
func readMaybe(ctx context.Context, h module.Host, p string) ([]byte, bool, error) {
	data, err := h.ReadFile(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	}
	return data, true, nil
}

// resolveLinks follows symlinks from p (Host.Stat does not) and returns the
// final path and its description, nil when the chain ends nowhere.
func resolveLinks(ctx context.Context, h module.Host, p string) (string, *module.FileInfo, error) {
	for range 40 {
		fi, err := statMaybe(ctx, h, p)
		if err != nil || fi == nil || !fi.IsLink {
			return p, fi, err
		}
		target := fi.LinkTarget
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = target
	}
	return p, nil, fmt.Errorf("stat %s: too many levels of symbolic links", p)
}

// backupName is Ansible's backup_local naming: FILE.PID.YYYY-MM-DD@HH:MM:SS~.
func backupName(p string, pid int, now time.Time) string {
	return fmt.Sprintf("%s.%d.%s", p, pid, now.Format("2006-01-02@15:04:05~"))
}

// makeBackup copies p next to itself, keeping mode, owner and times as
// Ansible's shutil.copy2 does, and returns the copy's path.
func makeBackup(ctx context.Context, h module.MutableHost, p string) (string, error) {
	dst := backupName(p, os.Getpid(), time.Now())
	if err := runArgv(ctx, h, "cp", "-p", "--", p, dst); err != nil {
		return "", fmt.Errorf("backup %s: %w", p, err)
	}
	return dst, nil
}

// pathInfo is Ansible's add_path_info: what a file result reports about
// the path once the task is done.
func pathInfo(ctx context.Context, h module.Host, p string) map[string]any {
	out := map[string]any{}
	fi, err := statMaybe(ctx, h, p)
	if err != nil || fi == nil {
		return out
	}
	state := "file"
	switch {
	case fi.IsLink:
		state = "link"
	case fi.IsDir:
		state = "directory"
	}
	out["uid"], out["gid"] = fi.UID, fi.GID
	out["owner"], out["group"] = nameOrID(fi.Owner, fi.UID), nameOrID(fi.Group, fi.GID)
	out["mode"], out["state"], out["size"] = ansibleMode(fi.Mode), state, fi.Size
	return out
}

func sha1Hex(data []byte) string {
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])
}

// validateArgv splits a validate command ("visudo -cf %s") into argv the
// way Ansible's run_command does (shlex), refusing one without %s.
func validateArgv(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if !strings.Contains(s, "%s") {
		return nil, fmt.Errorf("validate must contain %%s: %s", s)
	}
	return shellwords.Split(s)
}

func argString(args module.Args, name string) string {
	s, _ := args[name].(string)
	return s
}

func argInt(args module.Args, name string) int {
	n, _ := args[name].(int)
	return n
}

func argBool(args module.Args, name string) bool {
	b, _ := args[name].(bool)
	return b
}

// argOpt returns a string argument and whether it was given at all (an
// empty regexp is not the same as none).
func argOpt(args module.Args, name string) (string, bool) {
	s, ok := args[name].(string)
	return s, ok
}

// contentWrite is a planned replacement of a whole file plus attributes,
// shared by copy, template, lineinfile, blockinfile and replace.
type contentWrite struct {
	Path     string
	Data     []byte
	Write    bool // content differs or the file is missing
	Existed  bool
	Opt      module.WriteOptions
	Attrs    attrChange // applied after the write (or alone)
	Backup   bool
	Mkdir    string // folder to create, with parents, before writing
	Unlink   bool   // dest is a symlink to replace by a regular file
	Validate []string
}

// planContent fills a contentWrite for data at p, whose current state is
// cur (nil when missing) and content old.
func planContent(p string, data []byte, cur *module.FileInfo, old []byte, attrs fileAttrs) (*contentWrite, error) {
	w := &contentWrite{Path: p, Data: data, Existed: cur != nil}
	w.Write = cur == nil || string(old) != string(data)
	if cur != nil {
		c, err := attrs.plan(p, cur)
		if err != nil {
			return nil, err
		}
		w.Attrs = c
		return w, nil
	}
	// A new file: WriteFile creates it 0666 less the host's umask (0644
	// as a rule) and owned by the connection's user; a mode asked for is
	// always passed on, as the umask may differ.
	w.Attrs = attrChange{Path: p, BeforeMode: "0644"}
	if attrs.Mode != "" {
		m, err := desiredMode(attrs.Mode, 0o644, false)
		if err != nil {
			return nil, fmt.Errorf("mode %q: %w", attrs.Mode, err)
		}
		w.Attrs.SetMode, w.Attrs.Mode = true, m
	}
	w.Attrs.SetOwner, w.Attrs.Owner = attrs.Owner != "", attrs.Owner
	w.Attrs.SetGroup, w.Attrs.Group = attrs.Group != "", attrs.Group
	return w, nil
}

// changed reports whether the plan does anything.
func (w *contentWrite) changed() bool { return w.Write || w.Attrs.any() }

// apply carries out the plan and returns the backup file made, if any.
func (w *contentWrite) apply(ctx context.Context, h module.MutableHost) (string, error) {
	if w.Mkdir != "" {
		if err := runArgv(ctx, h, "mkdir", "-p", "--", w.Mkdir); err != nil {
			return "", err
		}
	}
	backup := ""
	if w.Write && w.Backup && w.Existed {
		var err error
		if backup, err = makeBackup(ctx, h, w.Path); err != nil {
			return "", err
		}
	}
	post := w.Attrs
	if w.Write {
		if w.Unlink {
			if err := runArgv(ctx, h, "rm", "-f", "--", w.Path); err != nil {
				return backup, err
			}
		}
		opt := w.Opt
		opt.Validate = w.Validate
		if post.SetMode && post.Mode != 0 {
			opt.Mode, post.SetMode = post.Mode, false
		}
		if post.SetOwner {
			opt.Owner, post.SetOwner = post.Owner, false
		}
		if post.SetGroup {
			opt.Group, post.SetGroup = post.Group, false
		}
		if err := h.WriteFile(ctx, w.Path, w.Data, opt); err != nil {
			return backup, err
		}
	}
	if post.any() { // mode 0000 cannot travel in WriteOptions
		if err := post.apply(ctx, h); err != nil {
			return backup, err
		}
	}
	return backup, nil
}

// action is Create for a missing file, Update otherwise, None when w does
// nothing.
func (w *contentWrite) action() module.Action {
	switch {
	case !w.changed():
		return module.None
	case !w.Existed:
		return module.Create
	}
	return module.Update
}

// contentDiffs returns the content diff (when the content changes) and the
// attribute diff (when attributes change), with Ansible's headers.
func (w *contentWrite) contentDiffs(header string, before []byte) []module.Diff {
	var diffs []module.Diff
	if w.Write {
		diffs = append(diffs, module.Diff{BeforeHeader: header, AfterHeader: header, Before: string(before), After: string(w.Data)})
	}
	if w.Existed && w.Attrs.any() {
		diffs = append(diffs, w.Attrs.attrDiff(w.Path))
	}
	return diffs
}

// attrsReported is whether Ansible's message would mention attributes:
// on a new file only a mode other than the usual 0644 counts
// (the owner it gets is the connection's, unknown here).
func (w *contentWrite) attrsReported() bool {
	if w.Existed {
		return w.Attrs.any()
	}
	return w.Attrs.SetMode && w.Attrs.Mode != 0o644
}

// attrMsg appends Ansible's attribute message to a module message.
func attrMsg(msg string, attrsChanged bool) string {
	if !attrsChanged {
		return msg
	}
	if msg != "" {
		msg += " and "
	}
	return msg + "ownership, perms or SE linux context changed"
}

// planEdit is planContent for the editing modules (lineinfile,
// blockinfile): a missing file's folder is created, backup and validate
// come from the arguments, and msg gains Ansible's note on attributes.
func planEdit(real string, data []byte, fi *module.FileInfo, old []byte, args module.Args, validate []string, msg string) (*contentWrite, string, error) {
	w, err := planContent(real, data, fi, old, attrsFrom(args))
	if err != nil {
		return nil, "", err
	}
	if fi == nil && path.Dir(real) != "." {
		w.Mkdir = path.Dir(real)
	}
	w.Backup, w.Validate = argBool(args, "backup"), validate
	return w, attrMsg(msg, w.attrsReported()), nil
}
