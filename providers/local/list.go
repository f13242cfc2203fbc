package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/byobfs/byob/providers"
)

// List walks the tree under the deepest directory Prefix names, depth first,
// in byte-wise key order: within a directory, names sort with a directory d
// taken as "d/" (so "a-b" < "a/b" < "a0"). Each directory read is sorted in
// memory; directories whose keys all sort at or before StartAfter are not
// read. Empty directories, special files, symlinks to directories and the
// reserved folder are skipped; symlinks to files list as the file they name.
// With Delimiter "/" a directory is a common prefix when at least one object
// lies under it.
func (s *Store) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return opErr("list", opts.Prefix, err)
	}
	if opts.Delimiter != "" && opts.Delimiter != "/" {
		return kindErr("list", opts.Prefix, providers.ErrInvalidArgument,
			fmt.Errorf("delimiter %q: only \"\" and \"/\" are supported", opts.Delimiter))
	}
	dir, name, ok := splitPrefix(opts.Prefix)
	if !ok || s.throughSymlink(dir) {
		return nil // no storable (or listable) key starts with this prefix
	}
	w := &walker{s: s, ctx: ctx, opts: opts, fn: fn}
	return w.walk(dir, name)
}

// throughSymlink reports whether a directory on the way to dirKey is a
// symlink. Listings do not follow those (a recursive listing would not
// reach dirKey), so a prefix through one lists nothing.
func (s *Store) throughSymlink(dirKey string) bool {
	for i := range len(dirKey) {
		if dirKey[i] != '/' {
			continue
		}
		fi, err := os.Lstat(s.root + "/" + dirKey[:i])
		if err != nil {
			return false // the walk finds nothing there either
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}

// walker is one List call.
type walker struct {
	s    *Store
	ctx  context.Context
	opts providers.ListOptions
	fn   func(providers.Entry) error
}

// dirEntry is one name of a directory, as the listing sorts it.
type dirEntry struct {
	sortName string // the name, with "/" appended for a directory
	isDir    bool
	de       fs.DirEntry
	info     fs.FileInfo // set for a symlink to a file (the target's info)
}

// walk lists the directory holding keys dirKey+..., where dirKey is "" or
// ends in "/", keeping the names that start with match.
func (w *walker) walk(dirKey, match string) error {
	ents, err := w.s.readDir(dirKey, match)
	if err != nil {
		if isNotExist(err) {
			return nil // not there (or removed while we walked): nothing under it
		}
		return opErr("list", w.opts.Prefix, err)
	}
	sa := w.opts.StartAfter
	for _, e := range ents {
		if err := w.ctx.Err(); err != nil {
			return opErr("list", w.opts.Prefix, err)
		}
		key := dirKey + e.sortName
		if !e.isDir {
			if key <= sa {
				continue
			}
			fi := e.info
			if fi == nil {
				if fi, err = e.de.Info(); err != nil {
					if isNotExist(err) {
						continue // deleted since the directory was read
					}
					return opErr("list", w.opts.Prefix, err)
				}
			}
			if err := w.fn(providers.Entry{ObjectInfo: baseInfo(key, fi)}); err != nil {
				return err
			}
			continue
		}
		// Every key under the directory starts with key (which ends in "/").
		if sa >= key && !strings.HasPrefix(sa, key) {
			continue // all of them sort before StartAfter: skip the subtree unread
		}
		if w.opts.Delimiter == "" {
			if err := w.walk(key, ""); err != nil {
				return err
			}
			continue
		}
		if key <= sa {
			continue
		}
		has, err := w.s.hasObject(w.ctx, key)
		if err != nil {
			return opErr("list", w.opts.Prefix, err)
		}
		if has {
			if err := w.fn(providers.Entry{ObjectInfo: providers.ObjectInfo{Key: key}, IsPrefix: true}); err != nil {
				return err
			}
		}
	}
	return nil
}

// readDir returns the entries of the directory holding dirKey+... whose
// sort names start with match, sorted. Symlinks are resolved: to a regular
// file they are files, anything else (directories included, so no walk can
// loop) is dropped, as are special files and the reserved folder.
func (s *Store) readDir(dirKey, match string) ([]dirEntry, error) {
	dir := s.root + "/" + dirKey
	if s.readDirHook != nil {
		s.readDirHook(dirKey)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	des, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	out := make([]dirEntry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if dirKey == "" && name == reservedDir {
			continue
		}
		e := dirEntry{sortName: name, de: de}
		switch t := de.Type(); {
		case t.IsDir():
			e.isDir = true
			e.sortName += "/"
		case t.IsRegular():
		case t&fs.ModeSymlink != 0:
			fi, err := os.Stat(dir + name)
			if err != nil || !fi.Mode().IsRegular() {
				continue // dangling, a directory, or a special file
			}
			e.info = fi
		default:
			continue // FIFO, socket, device
		}
		if strings.HasPrefix(e.sortName, match) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b dirEntry) int { return strings.Compare(a.sortName, b.sortName) })
	return out, nil
}

// hasObject reports whether any object (regular file, or symlink to one)
// lies under the directory of dirKey, reading as little as it can.
func (s *Store) hasObject(ctx context.Context, dirKey string) (bool, error) {
	f, err := os.Open(s.root + "/" + dirKey)
	if err != nil {
		if isNotExist(err) {
			return false, nil
		}
		return false, err
	}
	defer f.Close()
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		des, err := f.ReadDir(256)
		for _, de := range des {
			switch t := de.Type(); {
			case t.IsRegular():
				return true, nil
			case t.IsDir():
				if has, err := s.hasObject(ctx, dirKey+de.Name()+"/"); has || err != nil {
					return has, err
				}
			case t&fs.ModeSymlink != 0:
				if fi, err := os.Stat(s.root + "/" + dirKey + de.Name()); err == nil && fi.Mode().IsRegular() {
					return true, nil
				}
			}
		}
		switch {
		case errors.Is(err, io.EOF) || isNotExist(err):
			return false, nil
		case err != nil:
			return false, err
		}
	}
}
