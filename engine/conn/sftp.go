package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/pkg/sftp"

	"github.com/cutover/cutover/engine/module"
)

// Files on an SSH host move over the connection's one SFTP subsystem.

func (s *SSH) files() (*sftp.Client, error) {
	s.sftpOnce.Do(func() {
		s.sftp, s.sftpErr = s.client.NewSftp()
		if s.sftpErr != nil {
			s.sftpErr = s.lost(s.sftpErr)
		}
	})
	return s.sftp, s.sftpErr
}

// ReadFile reads a file over SFTP.
func (s *SSH) ReadFile(ctx context.Context, p string) ([]byte, error) {
	fc, err := s.files()
	if err != nil {
		return nil, err
	}
	f, err := fc.Open(p)
	if err != nil {
		return nil, s.fileErr(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	return data, s.fileErr(err)
}

// fileErr keeps SFTP's answers about files (missing, forbidden, refused)
// and turns a broken transport into ErrUnreachable.
func (s *SSH) fileErr(err error) error {
	var se *sftp.StatusError
	switch {
	case err == nil, errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission), errors.As(err, &se):
		return err
	}
	return s.lost(err)
}

// Stat describes a path over SFTP, with owner and group names from the
// host's own user database.
func (s *SSH) Stat(ctx context.Context, p string) (*module.FileInfo, error) {
	fc, err := s.files()
	if err != nil {
		return nil, err
	}
	fi, err := fc.Lstat(p)
	if err != nil {
		return nil, s.fileErr(err)
	}
	info := &module.FileInfo{
		Path: p, Exists: true, IsDir: fi.IsDir(), IsLink: fi.Mode()&fs.ModeSymlink != 0,
		IsRegular: fi.Mode().IsRegular(), Size: fi.Size(), ModTime: fi.ModTime(),
		Mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
	}
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		info.UID, info.GID = int(st.UID), int(st.GID)
		info.Owner, info.Group = s.idName(ctx, 0, info.UID), s.idName(ctx, 1, info.GID)
	}
	if info.IsLink {
		info.LinkTarget, _ = fc.ReadLink(p)
	}
	return info, nil
}

// The host's users and groups, for Stat's owner names and for chown by
// name: /etc/passwd and /etc/group read over SFTP once (no process on the
// far side), then getent for an account those files do not hold (LDAP,
// sssd), its answer kept, a miss included.
type idNames struct {
	once   sync.Once
	mu     sync.Mutex
	byID   [2]map[int]string // user, group
	byName [2]map[string]int
}

var idDatabases = [2]string{"passwd", "group"}

func (s *SSH) loadIDs(ctx context.Context) {
	s.ids.once.Do(func() {
		for db, file := range []string{"/etc/passwd", "/etc/group"} {
			s.ids.byID[db], s.ids.byName[db] = map[int]string{}, map[string]int{}
			if data, err := s.ReadFile(ctx, file); err == nil {
				s.learnIDs(db, data)
			}
		}
	})
}

// learnIDs adds the entries of passwd or group lines (name:x:id:...).
func (s *SSH) learnIDs(db int, data []byte) {
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 3 {
			continue
		}
		if id, err := strconv.Atoi(f[2]); err == nil {
			if _, ok := s.ids.byID[db][id]; !ok {
				s.ids.byID[db][id] = f[0]
			}
			s.ids.byName[db][f[0]] = id
		}
	}
}

// idName is the name of a user (db 0) or group (db 1) id; "" if none.
func (s *SSH) idName(ctx context.Context, db, id int) string {
	s.loadIDs(ctx)
	s.ids.mu.Lock()
	name, ok := s.ids.byID[db][id]
	s.ids.mu.Unlock()
	if ok {
		return name
	}
	s.getent(ctx, db, strconv.Itoa(id))
	s.ids.mu.Lock()
	defer s.ids.mu.Unlock()
	name = s.ids.byID[db][id]
	s.ids.byID[db][id] = name // a miss is kept too
	return name
}

func (s *SSH) getent(ctx context.Context, db int, key string) {
	res, err := s.Run(ctx, module.Command{Argv: []string{"getent", idDatabases[db], key}})
	if err != nil || res.RC != 0 {
		return
	}
	s.ids.mu.Lock()
	defer s.ids.mu.Unlock()
	s.learnIDs(db, res.Stdout)
}

// lookupID resolves a user or group name to its id on the host.
func (s *SSH) lookupID(ctx context.Context, name string, group bool) (int, error) {
	if id, err := strconv.Atoi(name); err == nil {
		return id, nil
	}
	db, what := 0, "user"
	if group {
		db, what = 1, "group"
	}
	s.loadIDs(ctx)
	for attempt := 0; attempt < 2; attempt++ {
		s.ids.mu.Lock()
		id, ok := s.ids.byName[db][name]
		s.ids.mu.Unlock()
		if ok {
			return id, nil
		}
		if attempt == 0 {
			s.getent(ctx, db, name)
		}
	}
	return 0, fmt.Errorf("unknown %s %q on %s", what, name, s.name)
}

// WriteFile replaces p atomically on the host: a temp file in the same
// folder, written and synced over SFTP, given the old file's mode and
// owner (or those asked for), validated if asked, then renamed over p.
func (s *SSH) WriteFile(ctx context.Context, p string, data []byte, opt module.WriteOptions) error {
	fc, err := s.files()
	if err != nil {
		return err
	}
	// setMode false leaves a new file as the server creates it: 0666 less
	// its umask, as Ansible's modules leave theirs. An existing file keeps
	// its mode, 0000 included.
	mode, setMode := fs.FileMode(0), false
	uid, gid := -1, -1
	if old, err := s.Stat(ctx, p); err == nil {
		mode, setMode, uid, gid = old.Mode, true, old.UID, old.GID
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if opt.Mode != 0 {
		mode, setMode = opt.Mode, true
	}
	if opt.Owner != "" {
		if uid, err = s.lookupID(ctx, opt.Owner, false); err != nil {
			return err
		}
	}
	if opt.Group != "" {
		if gid, err = s.lookupID(ctx, opt.Group, true); err != nil {
			return err
		}
	}
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+".cutover-"+randomSuffix())
	cleanup := func(err error) error {
		fc.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, s.fileErr(err))
	}
	if err := writeSynced(fc, tmp, data, mode, setMode); err != nil {
		return cleanup(err)
	}
	if uid >= 0 || gid >= 0 {
		if err := fc.Chown(tmp, uid, gid); err != nil {
			return cleanup(err)
		}
		// chown clears setuid and setgid bits: set the mode again.
		if setMode {
			if err := fc.Chmod(tmp, mode); err != nil {
				return cleanup(err)
			}
		}
	}
	if len(opt.Validate) > 0 {
		argv := make([]string, len(opt.Validate))
		for i, a := range opt.Validate {
			argv[i] = strings.ReplaceAll(a, "%s", tmp)
		}
		res, err := s.Run(ctx, module.Command{Argv: argv})
		if err != nil {
			return cleanup(err)
		}
		if res.RC != 0 {
			return cleanup(fmt.Errorf("validation by %s failed (rc=%d): %s", argv[0], res.RC, strings.TrimSpace(string(res.Stderr)+string(res.Stdout))))
		}
	}
	if err := fc.PosixRename(tmp, p); err != nil {
		// A bind-mounted file (a container's /etc/hosts) cannot be
		// replaced: write it in place, as Ansible's unsafe_writes does.
		if _, serr := fc.Lstat(p); serr != nil {
			return cleanup(err)
		}
		if werr := writeInPlaceSFTP(fc, p, data); werr != nil {
			return cleanup(fmt.Errorf("%v; in place: %v", err, werr))
		}
		fc.Remove(tmp)
		if opt.Owner != "" || opt.Group != "" {
			if err := fc.Chown(p, uid, gid); err != nil {
				return fmt.Errorf("write %s: %w", p, s.fileErr(err))
			}
		}
		if opt.Mode != 0 {
			if err := fc.Chmod(p, mode); err != nil {
				return fmt.Errorf("write %s: %w", p, s.fileErr(err))
			}
		}
	}
	return nil
}

func writeSynced(fc *sftp.Client, p string, data []byte, mode fs.FileMode, setMode bool) error {
	f, err := fc.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	// The mode is set before the data goes in: a 0600 file's new content
	// is never readable by others, not even for a moment.
	if setMode {
		if err := f.Chmod(mode); err != nil {
			f.Close()
			return err
		}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	// fsync@openssh.com: the data is on disk before the rename makes it
	// the file; servers without the extension only lose that guarantee.
	if err := f.Sync(); err != nil && !errors.Is(err, sftp.ErrSSHFxOpUnsupported) {
		var se *sftp.StatusError
		if !errors.As(err, &se) {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// writeInPlaceSFTP overwrites a file keeping its inode, mode and owner.
func writeInPlaceSFTP(fc *sftp.Client, p string, data []byte) error {
	f, err := fc.OpenFile(p, os.O_WRONLY|os.O_TRUNC)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	f.Sync()
	return f.Close()
}
