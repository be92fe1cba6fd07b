package modules

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/cutover/cutover/engine/expr"
	"github.com/cutover/cutover/engine/module"
)

// Copy is the copy module: it puts a controller file (src) or literal text
// (content) at dest on the host, idempotent by content, mode and owner.
func Copy() module.Info {
	return module.Info{
		Name:    "copy",
		Aliases: []string{"ansible.builtin.copy"},
		Doc:     "Copy a file from the controller (or the host, with remote_src) or literal content to a path on the host.",
		Args: append([]module.Arg{
			{Name: "src", Type: module.Path, Doc: "file to copy; relative paths are looked up in the playbook's files/ folder, then the playbook's folder"},
			{Name: "content", Type: module.Raw, Doc: "literal text to write instead of src (lists and mappings are written as JSON)"},
			{Name: "dest", Type: module.Path, Required: true, Doc: "destination path; an existing folder or a trailing / means dest/basename(src)"},
			{Name: "backup", Type: module.Bool, Default: false, Doc: "keep a timestamped copy of the old file"},
			{Name: "force", Type: module.Bool, Default: true, Doc: "replace a different file; false only creates a missing one"},
			{Name: "remote_src", Type: module.Bool, Default: false, Doc: "src is a file on the host, not on the controller"},
			{Name: "follow", Type: module.Bool, Default: false, Doc: "if dest is a symlink, write through it instead of replacing it"},
			{Name: "validate", Type: module.String, Doc: `command checking the new file before it is put in place ("%s" is its path)`},
		}, copyAttrArgs()...),
		New: func() module.Module { return copyModule{} },
	}
}

type copyModule struct{}

// copyAttrArgs are the file common arguments with copy's extra mode
// value "preserve" (the source's mode), which the Mode type refuses.
func copyAttrArgs() []module.Arg {
	args := fileAttrArgs()
	args[0].Type = module.Raw
	args[0].Doc = `permissions: octal ("0644"), symbolic ("u+x") or "preserve" (the source's mode)`
	return args
}

// copySource is what copy and template put on the host.
type copySource struct {
	data     []byte
	name     string      // basename used when dest is a folder
	path     string      // where it came from, for results and diffs ("" for content)
	mode     fs.FileMode // the source's mode, for mode=preserve
	isDirErr bool        // content given with a folder as dest
	vaulted  bool        // read from a vault: its content never shows
}

func (copyModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	src, hasSrc := argOpt(args, "src")
	content, hasContent := args["content"]
	dest := argString(args, "dest")
	switch {
	case (!hasSrc || src == "") && (!hasContent || content == nil):
		return nil, errors.New("src (or content) is required")
	case hasSrc && src != "" && hasContent && content != nil:
		return nil, errors.New("src and content are mutually exclusive")
	case hasContent && content != nil && strings.HasSuffix(dest, "/"):
		return nil, errors.New("can not use content with a dir as dest")
	}
	var s copySource
	switch {
	case hasContent && content != nil:
		s = copySource{data: []byte(contentText(content)), isDirErr: true}
	case argBool(args, "remote_src"):
		fi, err := statMaybe(ctx, env.Host, src)
		if err != nil {
			return nil, err
		}
		if fi == nil {
			return failedPlan(fmt.Sprintf("Source %s not found", src), nil), nil
		}
		if fi.IsDir {
			return nil, fmt.Errorf("copy: remote_src folder %s: copying folders is not supported", src)
		}
		data, _, err := readMaybe(ctx, env.Host, src)
		if err != nil {
			return nil, err
		}
		s = copySource{data: data, name: path.Base(src), path: src, mode: fi.Mode}
	default:
		found, err := findSource(env.Dir, "files", src)
		if err != nil {
			return failedPlan(err.Error(), nil), nil
		}
		st, err := os.Stat(found)
		if err != nil {
			return nil, fmt.Errorf("src: %w", err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("copy: src %s is a folder: copying folders is not supported", found)
		}
		data, err := os.ReadFile(found)
		if err != nil {
			return nil, fmt.Errorf("src: %w", err)
		}
		// A vaulted source is copied decrypted, as Ansible's copy does;
		// its whole content is then a secret.
		data, vaulted, err := openVaulted(env, found, data)
		if err != nil {
			return nil, err
		}
		s = copySource{data: data, name: filepath.Base(found), path: found, mode: st.Mode(), vaulted: vaulted}
	}
	after := s.path
	if after == "" {
		after = "dynamically generated"
	}
	return planCopy(ctx, env, args, s, after)
}

func (copyModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	return c.Data.(*copyPlan).apply(ctx, h)
}

// contentText is what copy writes for content: strings as they are,
// lists and mappings as JSON (Ansible json.dumps them).
func contentText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any, map[string]any:
		return expr.PyJSON(x) // json.dumps, as Ansible's copy writes them
	}
	return expr.PyStr(v) // True, 1.5: Python's str()
}

// findSource looks a relative src up as Ansible does for a playbook:
// DIR/<kind>/src, then DIR/src. Absolute paths are taken as they are.
func findSource(dir, kind, src string) (string, error) {
	if filepath.IsAbs(src) {
		if _, err := os.Stat(src); err != nil {
			return "", fmt.Errorf("could not find or access '%s' on the Ansible Controller", src)
		}
		return src, nil
	}
	candidates := []string{filepath.Join(dir, kind, src), filepath.Join(dir, src)}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("could not find or access '%s'\nSearched in:\n\t%s", src, strings.Join(candidates, "\n\t"))
}

// copyPlan is the Change.Data of copy and template.
type copyPlan struct {
	write *contentWrite
	dest  string
	src   string
	sum   string
}

// planCopy plans putting s at args' dest with copy's rules: a folder (or a
// trailing slash) gets basename(src) appended, force=false leaves an
// existing file alone, a symlink dest is replaced unless follow.
func planCopy(ctx context.Context, env *module.Env, args module.Args, s copySource, afterHeader string) (*module.Change, error) {
	dest := argString(args, "dest")
	validate, err := validateArgv(argString(args, "validate"))
	if err != nil {
		return nil, err
	}
	mkdir := ""
	if strings.HasSuffix(dest, "/") {
		dest = path.Join(dest, s.name)
		if parent, err := statMaybe(ctx, env.Host, path.Dir(dest)); err != nil {
			return nil, err
		} else if parent == nil {
			mkdir = path.Dir(dest)
		}
	}
	fi, err := statMaybe(ctx, env.Host, dest)
	if err != nil {
		return nil, err
	}
	if fi != nil && fi.IsLink && argBool(args, "follow") {
		if dest, fi, err = resolveLinks(ctx, env.Host, dest); err != nil {
			return nil, err
		}
	}
	if fi != nil && (fi.IsDir || fi.IsLink && isDirThroughLink(ctx, env.Host, dest)) {
		if s.isDirErr {
			return failedPlan("can not use content with a dir as dest", nil), nil
		}
		dest = path.Join(dest, s.name)
		if fi, err = statMaybe(ctx, env.Host, dest); err != nil {
			return nil, err
		}
	}
	if fi == nil && mkdir == "" {
		parent, err := statMaybe(ctx, env.Host, path.Dir(dest))
		if err != nil {
			return nil, err
		}
		// In check mode an earlier task (file state=directory) may have
		// only planned the folder: the copy is reported as it would be.
		if parent == nil && !env.Check {
			return failedPlan(fmt.Sprintf("Destination directory %s does not exist", path.Dir(dest)), nil), nil
		}
	}
	sum := sha1Hex(s.data)
	if fi != nil && !argBool(args, "force") {
		data := map[string]any{"dest": dest}
		if s.path != "" {
			data["src"] = s.path
		}
		return &module.Change{Action: module.None, Result: &module.Result{Data: data}}, nil
	}
	var old []byte
	if fi != nil && fi.IsRegular {
		if old, _, err = readMaybe(ctx, env.Host, dest); err != nil {
			return nil, err
		}
	}
	attrs := attrsFrom(args)
	if attrs.Mode == "preserve" {
		attrs.Mode = fmt.Sprintf("%04o", octal(s.mode))
	}
	w, err := planContent(dest, s.data, fi, old, attrs)
	if err != nil {
		return nil, err
	}
	if fi != nil && fi.IsLink { // Ansible replaces the link by a file
		w.Write, w.Unlink = true, true
		w.Attrs, _ = attrs.plan(dest, &module.FileInfo{Mode: 0o644, Owner: fi.Owner, Group: fi.Group, UID: fi.UID, GID: fi.GID})
	}
	w.Mkdir, w.Backup, w.Validate = mkdir, argBool(args, "backup"), validate
	plan := &copyPlan{write: w, dest: dest, src: s.path, sum: sum}
	c := &module.Change{Action: w.action(), Summary: "copy to " + dest, Data: plan}
	if w.Write {
		c.Diffs = append(c.Diffs, contentDiff(dest, afterHeader, fi != nil, string(old), s))
	}
	if fi != nil && !w.Unlink && w.Attrs.any() {
		b, a := w.Attrs.diffMaps()
		c.Diffs = append(c.Diffs, module.Diff{BeforeHeader: dest, AfterHeader: dest, Before: jsonText(b), After: jsonText(a)})
	}
	data := map[string]any{"dest": dest, "checksum": sum}
	if !w.Write && fi != nil {
		// Ansible hands an unchanged copy to the file module, which adds
		// "path" and the path's attributes.
		data["path"] = dest
		for k, v := range pathInfo(ctx, env.Host, dest) {
			data[k] = v
		}
		if w.Attrs.SetMode {
			data["mode"] = ansibleMode(w.Attrs.Mode)
		}
	}
	if s.path != "" {
		data["src"] = s.path
	}
	c.Result = &module.Result{Changed: c.Action != module.None, Data: data}
	return c, nil
}

// isDirThroughLink reports whether a symlink points at a folder (copy's
// os.path.isdir follows links).
func isDirThroughLink(ctx context.Context, h module.Host, p string) bool {
	_, fi, err := resolveLinks(ctx, h, p)
	return err == nil && fi != nil && fi.IsDir
}

func (p *copyPlan) apply(ctx context.Context, h module.MutableHost) (*module.Result, error) {
	backup, err := p.write.apply(ctx, h)
	if err != nil {
		return nil, err
	}
	data := pathInfo(ctx, h, p.dest)
	data["dest"], data["checksum"] = p.dest, p.sum
	if p.write.Write {
		data["md5sum"] = fmt.Sprintf("%x", md5.Sum(p.write.Data))
	}
	if p.src != "" {
		data["src"] = p.src
	}
	if backup != "" {
		data["backup_file"] = backup
	}
	return &module.Result{Changed: true, Data: data}, nil
}

// Notes that stand for the content of a vaulted source in a diff.
const (
	vaultedOld = "(old content hidden: the source is vaulted)\n"
	vaultedNew = "(new content hidden: the source is vaulted)\n"
)

// contentDiff is the --diff of writing s over old (existed: dest was a
// file). A vaulted source shows notes instead: masking its text as a
// secret is not enough, as a template renders it into other lines, and
// the old file likely holds the same secrets.
func contentDiff(dest, afterHeader string, existed bool, old string, s copySource) module.Diff {
	d := module.Diff{BeforeHeader: dest, AfterHeader: afterHeader, After: string(s.data)}
	if existed {
		d.Before = old
	}
	if s.vaulted {
		d.After = vaultedNew
		if existed {
			d.Before = vaultedOld
		}
	}
	return d
}

// openVaulted decrypts a controller-side source that is a vault, records
// its content as a secret so no message shows it, and says whether it was
// one (then diffs hide it: see contentDiff).
func openVaulted(env *module.Env, name string, data []byte) ([]byte, bool, error) {
	plain, vaulted, err := env.Vault.File(name, data)
	if err != nil {
		return nil, vaulted, err
	}
	if vaulted {
		env.Vault.Secret(string(plain))
	}
	return plain, vaulted, nil
}
