package modules

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cutover/cutover/engine/module"
)

// Stat is the stat module: it reports a path's type, mode, owner, size,
// times and checksum under "stat", and never changes anything.
func Stat() module.Info {
	return module.Info{
		Name:    "stat",
		Aliases: []string{"ansible.builtin.stat"},
		Doc:     "Report facts about a path (exists, isdir, mode, owner, size, checksum...) under the result key \"stat\".",
		Args: []module.Arg{
			{Name: "path", Type: module.Path, Required: true, Aliases: []string{"dest", "name"}, Doc: "path to describe"},
			{Name: "follow", Type: module.Bool, Default: false, Doc: "describe the target of a symlink rather than the link"},
			{Name: "get_checksum", Type: module.Bool, Default: true, Doc: "add the checksum of a regular file"},
			{Name: "checksum_algorithm", Type: module.String, Default: "sha1", Aliases: []string{"checksum", "checksum_algo"},
				Choices: []string{"md5", "sha1", "sha224", "sha256", "sha384", "sha512"}, Doc: "hash for checksum"},
			{Name: "get_mime", Type: module.Bool, Default: true, Aliases: []string{"mime", "mime_type", "mime-type"}, Doc: "accepted for compatibility; no mime type is reported"},
			{Name: "get_attributes", Type: module.Bool, Default: true, Aliases: []string{"attr", "attributes"}, Doc: "accepted for compatibility; no attributes are reported"},
		},
		// GNU stat only reads; it supplies what Host.Stat does not carry
		// (inode, device, link count, atime, ctime, file type).
		Probes: [][]string{{"stat"}, {"/bin/sh", "-c", statScript}},
		New:    func() module.Module { return statModule{} },
	}
}

type statModule struct{}

func (statModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	p := argString(args, "path")
	follow := argBool(args, "follow")
	fi, err := statMaybe(ctx, env.Host, p)
	if err != nil {
		return nil, err
	}
	target := p
	if fi != nil && fi.IsLink && follow {
		if target, fi, err = resolveLinks(ctx, env.Host, p); err != nil {
			return nil, err
		}
	}
	if fi == nil {
		return &module.Change{Action: module.None, Result: &module.Result{Data: map[string]any{"stat": map[string]any{"exists": false}}}}, nil
	}
	perm := octal(fi.Mode)
	st := map[string]any{
		"exists": true, "path": p, "mode": fmt.Sprintf("%04o", perm),
		"isdir": fi.IsDir, "isreg": fi.IsRegular, "islnk": fi.IsLink,
		"uid": fi.UID, "gid": fi.GID, "size": fi.Size,
		"pw_name": nameOrID(fi.Owner, fi.UID), "gr_name": nameOrID(fi.Group, fi.GID),
		"mtime": float64(fi.ModTime.UnixNano()) / 1e9,
		"isuid": perm&04000 != 0, "isgid": perm&02000 != 0,
	}
	for i, who := range []string{"usr", "grp", "oth"} {
		shift := uint(6 - 3*i)
		st["r"+who] = perm>>shift&4 != 0
		st["w"+who] = perm>>shift&2 != 0
		st["x"+who] = perm>>shift&1 != 0
	}
	if fi.IsLink {
		st["lnk_target"] = fi.LinkTarget
		if real, _, err := resolveLinks(ctx, env.Host, p); err == nil {
			st["lnk_source"] = real
		}
	}
	probeStat(ctx, env.Host, target, st)
	if fi.IsRegular && argBool(args, "get_checksum") {
		data, err := env.Host.ReadFile(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("checksum %s: %w", target, err)
		}
		h := newHash(argString(args, "checksum_algorithm"))
		h.Write(data)
		st["checksum"] = hex.EncodeToString(h.Sum(nil))
	}
	return &module.Change{Action: module.None, Result: &module.Result{Data: map[string]any{"stat": st}}}, nil
}

func (statModule) Apply(context.Context, module.MutableHost, *module.Change) (*module.Result, error) {
	return nil, errors.New("stat: nothing to apply")
}

func newHash(name string) hash.Hash {
	switch name {
	case "md5":
		return md5.New()
	case "sha224":
		return sha256.New224()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return sha1.New()
}

// statScript prints GNU stat's fields, then 1 or 0 for read, write and
// execute access. A fixed text: the gate lets Plan run exactly this.
const statScript = `stat -c '%i %d %h %X %Z %b %o %f %t %T' -- "$1" || exit
for t in r w x; do if test -$t "$1"; then printf ' 1'; else printf ' 0'; fi; done`

// probeStat adds the fields only GNU stat knows, and what the connection's
// user may do with the file (Ansible's readable, writeable, executable).
// They are extras: a host without GNU stat gets a result without them
// rather than an error.
func probeStat(ctx context.Context, h module.Host, p string, st map[string]any) {
	res, err := h.Probe(ctx, module.Command{Argv: []string{"/bin/sh", "-c", statScript, "stat", path.Clean(p)}})
	if err != nil || res.RC != 0 {
		return
	}
	f := strings.Fields(string(res.Stdout))
	if len(f) != 13 {
		return
	}
	nums := make([]int64, 7)
	for i := range nums {
		if nums[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
			return
		}
	}
	var hex [3]uint64 // mode and type, device major, device minor
	for i := range hex {
		if hex[i], err = strconv.ParseUint(f[7+i], 16, 64); err != nil {
			return
		}
	}
	st["inode"], st["dev"], st["nlink"] = nums[0], nums[1], nums[2]
	st["atime"], st["ctime"] = float64(nums[3]), float64(nums[4])
	st["blocks"], st["block_size"] = nums[5], nums[6]
	kind := hex[0] & 0o170000
	st["ischr"], st["isblk"] = kind == 0o020000, kind == 0o060000
	st["isfifo"], st["issock"] = kind == 0o010000, kind == 0o140000
	st["device_type"] = int64(unix.Mkdev(uint32(hex[1]), uint32(hex[2])))
	st["readable"], st["writeable"], st["executable"] = f[10] == "1", f[11] == "1", f[12] == "1"
}
