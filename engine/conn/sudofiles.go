package conn

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/engine/module"
)

// With become, a task's file operations run as the become user too, as
// commands under sudo on the same connection: reading and writing files
// that the login user may not touch (/etc/hosts, /etc/sudoers.d). Content
// travels on stdin, never in the command line.

// ReadFile reads a file as the become user.
func (t *taskHost) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if !t.become.Enabled {
		return t.MutableHost.ReadFile(ctx, p)
	}
	res, err := t.Run(ctx, module.Command{Argv: []string{"cat", "--", p}})
	if err != nil {
		return nil, err
	}
	if res.RC != 0 {
		return nil, fileError("read", p, res)
	}
	return res.Stdout, nil
}

// Stat describes a path as the become user sees it.
func (t *taskHost) Stat(ctx context.Context, p string) (*module.FileInfo, error) {
	if !t.become.Enabled {
		return t.MutableHost.Stat(ctx, p)
	}
	res, err := t.Run(ctx, module.Command{Argv: []string{"stat", "--printf", "%f %u %g %s %Y %U %G\n%N", "--", p}})
	if err != nil {
		return nil, err
	}
	if res.RC != 0 {
		return nil, fileError("stat", p, res)
	}
	return parseStat(p, string(res.Stdout))
}

// parseStat reads `stat --printf "%f %u %g %s %Y %U %G\n%N"`.
func parseStat(p, out string) (*module.FileInfo, error) {
	first, quoted, _ := strings.Cut(out, "\n")
	f := strings.Fields(first)
	if len(f) < 7 {
		return nil, fmt.Errorf("stat %s: unexpected output %q", p, out)
	}
	raw, err := strconv.ParseUint(f[0], 16, 32)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %v", p, err)
	}
	info := &module.FileInfo{Path: p, Exists: true, Owner: f[5], Group: f[6]}
	info.UID, _ = strconv.Atoi(f[1])
	info.GID, _ = strconv.Atoi(f[2])
	info.Size, _ = strconv.ParseInt(f[3], 10, 64)
	secs, _ := strconv.ParseInt(f[4], 10, 64)
	info.ModTime = time.Unix(secs, 0)
	switch raw & 0o170000 {
	case 0o040000:
		info.IsDir = true
	case 0o120000:
		info.IsLink = true
		// %N prints 'link' -> 'target'
		if _, target, ok := strings.Cut(quoted, " -> "); ok {
			info.LinkTarget = strings.Trim(target, "'\"")
		}
	case 0o100000:
		info.IsRegular = true
	}
	perm := fs.FileMode(raw & 0o777)
	if raw&0o4000 != 0 {
		perm |= fs.ModeSetuid
	}
	if raw&0o2000 != 0 {
		perm |= fs.ModeSetgid
	}
	if raw&0o1000 != 0 {
		perm |= fs.ModeSticky
	}
	info.Mode = perm
	return info, nil
}

// writeScript replaces $1 atomically as the become user: a temp file in the
// same folder ($2) filled from stdin, the old file's owner and mode (or
// those asked for), validation by the remaining arguments, sync, rename.
const writeScript = `set -e
p=$1 t=$2 mode=$3 owner=$4 group=$5
shift 5
trap 'rm -f "$t"' EXIT
u=$(umask)
umask 077
set -C
cat > "$t"
if [ -e "$p" ]; then chown --reference="$p" "$t"; chmod --reference="$p" "$t"; else chmod "$(printf %o $((0666 & ~$u)))" "$t"; fi
if [ -n "$owner" ]; then chown "$owner" "$t"; fi
if [ -n "$group" ]; then chgrp "$group" "$t"; fi
if [ -n "$mode" ]; then chmod "$mode" "$t"; fi
if [ $# -gt 0 ] && ! "$@" >&2; then echo "validation by $1 failed" >&2; exit 3; fi
sync "$t" 2>/dev/null || sync
mv -f "$t" "$p"
trap - EXIT`

// WriteFile replaces a file atomically as the become user.
func (t *taskHost) WriteFile(ctx context.Context, p string, data []byte, opt module.WriteOptions) error {
	if !t.become.Enabled {
		return t.MutableHost.WriteFile(ctx, p, data, opt)
	}
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+".cutover-"+randomSuffix())
	mode := ""
	if opt.Mode != 0 {
		mode = fmt.Sprintf("%o", module.ModeBits(opt.Mode))
	}
	argv := []string{"/bin/sh", "-c", writeScript, "cutover-write", p, tmp, mode, opt.Owner, opt.Group}
	for _, a := range opt.Validate {
		argv = append(argv, strings.ReplaceAll(a, "%s", tmp))
	}
	res, err := t.Run(ctx, module.Command{Argv: argv, Stdin: data})
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if res.RC != 0 {
		return fileError("write", p, res)
	}
	return nil
}

func fileError(op, p string, res *module.CommandResult) error {
	msg := strings.TrimSpace(string(res.Stderr))
	if strings.Contains(msg, "No such file or directory") && op != "write" {
		return &fs.PathError{Op: op, Path: p, Err: fs.ErrNotExist}
	}
	return fmt.Errorf("%s %s: %s (rc=%d)", op, p, msg, res.RC)
}
