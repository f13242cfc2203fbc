package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// PrivateDir makes the directory dir (missing parents too, each 0700) or
// checks the one that is there. Whatever byob keeps in it (blocks, staging
// files, write-back entries, the index and its pid file, sockets) is only
// as safe as the directory, so it must be a directory owned by the
// calling user that no other user can write to (no group or other write
// bit), and, when dir is a symlink, the link too must be the caller's: a
// directory another user made first at a predictable path (a planted
// /tmp/byob-cache, a symlinked pid file) is refused with ErrUntrusted.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return checkPrivate(dir)
}

func checkPrivate(dir string) error {
	uid := uint32(os.Geteuid())
	lfi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if lfi.Mode()&fs.ModeSymlink != 0 {
		if owner(lfi) != uid {
			return fmt.Errorf("%w: %s is a symlink owned by uid %d", ErrUntrusted, dir, owner(lfi))
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrUntrusted, dir)
	case owner(fi) != uid:
		return fmt.Errorf("%w: %s belongs to uid %d, not to this user (uid %d); remove it or give another directory", ErrUntrusted, dir, owner(fi), uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: %s is writable by other users (mode %04o); chmod go-w it", ErrUntrusted, dir, fi.Mode().Perm())
	}
	return nil
}

func owner(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return ^uint32(0)
}

// writePrivateFile replaces name in the private directory dir with data,
// never following a symlink planted at name (O_NOFOLLOW on a fresh file).
func writePrivateFile(dir, name string, data []byte) error {
	p := filepath.Join(dir, name)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, filePerm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
