package sync

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// Namer maps one key segment to one local file name and back. It must be
// reversible on both sides: NameToKey(KeyToName(seg)) == seg for every
// segment of a valid key, and KeyToName(NameToKey(name)) == name for every
// file name. The layout package owns the product's escape; until it lands,
// IdentityNamer stands in.
type Namer interface {
	KeyToName(seg string) string
	NameToKey(name string) string
}

// LayoutNamer is the product's escape: layout.EncodeSegment and
// layout.DecodeName, a bijection between all key segments and all file
// names ("" <-> "%%", "." <-> "%%.", a name that is not UTF-8 <-> "%%" +
// its escape, ordinary names unchanged). Both functions fail only on input
// that cannot occur here (a segment holding "/" or invalid UTF-8, a name
// that is not one); KeyToName then returns "" and NameToKey "/", which the
// walker and the writer refuse with ErrNotFileName. Names over 255 bytes
// (layout.LongName) and shadowed objects (layout.ShadowName) are not
// handled yet: such keys fail with ErrNotFileName.
type LayoutNamer struct{}

var _ Namer = LayoutNamer{}

func (LayoutNamer) KeyToName(seg string) string {
	n, err := layout.EncodeSegment(seg)
	if err != nil {
		return ""
	}
	return n
}

func (LayoutNamer) NameToKey(name string) string {
	k, err := layout.DecodeName(name)
	if err != nil {
		return "/"
	}
	return k
}

// IdentityNamer maps segments to names unchanged. Keys a file system cannot
// hold (empty or dot segments, a trailing "/") fail with ErrNotFileName, and
// file names that are not valid UTF-8 fail at the store.
type IdentityNamer struct{}

var _ Namer = IdentityNamer{}

func (IdentityNamer) KeyToName(seg string) string  { return seg }
func (IdentityNamer) NameToKey(name string) string { return name }

// Local temporary files: writes go to TMP in the destination directory
// and are renamed into place; the lister never reports them.
const (
	tempPrefix = ".byob-sync-"
	tempSuffix = ".tmp"
)

func isTempName(name string) bool {
	return strings.HasPrefix(name, tempPrefix) && strings.HasSuffix(name, tempSuffix)
}

// validName reports whether name can be one path element.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && len(name) <= 255 &&
		!strings.ContainsAny(name, "/\x00")
}

// localSide is a local directory tree. It lists in key order and writes
// atomically.
type localSide struct {
	root      string
	namer     Namer
	copyLinks bool
	dirs      bool // report empty directories as "d/" markers
	index     Index
	log       *slog.Logger
	rec       *recorder
}

var _ side = (*localSide)(nil)

// devIno identifies a directory, to stop symlink loops under CopyLinks.
type devIno struct{ dev, ino uint64 }

func (l *localSide) list(ctx context.Context, fn func(entry) error) error {
	fi, err := os.Stat(l.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a missing destination is an empty one
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %w", l.root, syscall.ENOTDIR)
	}
	return l.walk(ctx, l.root, "", []devIno{idOf(fi)}, fn)
}

func (l *localSide) exists(context.Context) (bool, error) {
	_, err := os.Stat(l.root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil // (a file there fails the listing with ENOTDIR)
}

func idOf(fi fs.FileInfo) devIno {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return devIno{uint64(st.Dev), st.Ino}
	}
	return devIno{}
}

// walk lists the directory dir whose key prefix is dirKey ("" or ending in
// "/"): its names are mapped to key segments and sorted as keys sort, with
// a directory d sorting as "d/", so the recursive walk yields keys in byte
// order. stack holds the directories above (loop detection).
func (l *localSide) walk(ctx context.Context, dir, dirKey string, stack []devIno, fn func(entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	items := make([]layout.Sibling, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if isTempName(name) {
			continue
		}
		typ := de.Type()
		if typ&fs.ModeSymlink != 0 {
			if !l.copyLinks {
				l.log.Warn("sync: skipping symlink (use --copy-links to follow)", "path", filepath.Join(dir, name))
				l.rec.update(func(r *Report) { r.SymlinksSkipped++ })
				continue
			}
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				l.log.Warn("sync: skipping dangling symlink", "path", filepath.Join(dir, name), "err", err)
				continue
			}
			typ = fi.Mode().Type()
		}
		if !typ.IsDir() && !typ.IsRegular() {
			continue // FIFOs, sockets, devices
		}
		seg := l.namer.NameToKey(name)
		switch {
		case strings.Contains(seg, "/"):
			l.rec.fail(&ItemError{Op: OpCopy, Key: dirKey + seg, Err: fmt.Errorf("%w: %s: the name maps to a key segment holding \"/\"", ErrNotFileName, filepath.Join(dir, name))})
			continue
		case seg == "" && !typ.IsDir():
			// "%%" is the name of an empty key segment: a file there
			// would have a key ending in "/", which names a directory.
			l.rec.fail(&ItemError{Op: OpCopy, Key: dirKey, Err: fmt.Errorf("%w: %s: %q names an empty key segment, which only a directory can have (rename the file, or --exclude it)", ErrNotFileName, filepath.Join(dir, name), name)})
			continue
		}
		items = append(items, layout.Sibling{Name: name, Key: seg, IsDir: typ.IsDir()})
	}
	// By key segment, a directory counting as segment + "/".
	layout.SortSiblings(items)
	if len(items) == 0 && dirKey != "" && l.dirs {
		return fn(entry{key: dirKey, dir: true, mtimeKnown: true, path: dir})
	}
	for _, it := range items {
		p := filepath.Join(dir, it.Name)
		if it.IsDir {
			fi, err := os.Stat(p)
			if err != nil {
				l.log.Warn("sync: skipping unreadable directory", "path", p, "err", err)
				continue
			}
			id := idOf(fi)
			if slices.Contains(stack, id) {
				l.log.Warn("sync: skipping symlink loop", "path", p)
				continue
			}
			if err := l.walk(ctx, p, dirKey+it.Key+"/", append(stack, id), fn); err != nil {
				return err
			}
			continue
		}
		stat := os.Lstat
		if l.copyLinks {
			stat = os.Stat
		}
		fi, err := stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the directory was read
		}
		if err != nil {
			return err
		}
		e := entry{key: dirKey + it.Key, size: fi.Size(), modTime: fi.ModTime(), mtimeKnown: true, path: p, inode: idOf(fi).ino}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (l *localSide) mtime(_ context.Context, e *entry) (time.Time, error) { return e.modTime, nil }

func (l *localSide) sums(context.Context, *entry) ([]providers.Checksum, bool, error) {
	return nil, true, nil
}

func (l *localSide) fingerprint(e *entry) transfer.SourceFingerprint {
	return transfer.SourceFingerprint{Path: e.path, Size: e.size, ModTime: e.modTime, Inode: e.inode}
}

func (l *localSide) compute(ctx context.Context, e *entry, alg providers.ChecksumAlgorithm) (providers.Checksum, error) {
	fp := l.fingerprint(e)
	if c, ok := l.index.LookupHash(fp, alg); ok {
		return c, nil
	}
	c, err := hashFile(ctx, e.path, alg)
	if err != nil {
		return providers.Checksum{}, err
	}
	l.index.RememberHash(fp, c)
	return c, nil
}

func newHash(alg providers.ChecksumAlgorithm) hash.Hash {
	if alg == providers.ChecksumMD5 {
		return md5.New()
	}
	return crc32.New(providers.CRC32CTable)
}

func hashFile(ctx context.Context, path string, alg providers.ChecksumAlgorithm) (providers.Checksum, error) {
	if alg != providers.ChecksumMD5 && alg != providers.ChecksumCRC32C {
		return providers.Checksum{}, fmt.Errorf("cannot compute %v", alg)
	}
	f, err := os.Open(path)
	if err != nil {
		return providers.Checksum{}, err
	}
	defer f.Close()
	h := newHash(alg)
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return providers.Checksum{}, err
	}
	return providers.Checksum{Algorithm: alg, Sum: h.Sum(nil)}, nil
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// pathOf returns the local path of a relative key, or ErrNotFileName. For a
// directory marker (dir set) "d/" names the directory d; a file's key never
// ends in "/" (that names a directory).
func pathOf(root string, namer Namer, key string, dir bool) (string, error) {
	if dir {
		key = strings.TrimSuffix(key, "/")
	} else if strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("%w: the object's key ends in \"/\", which names a directory on disk", ErrNotFileName)
	}
	if key == "" {
		return root, nil
	}
	var b strings.Builder
	b.WriteString(root)
	for seg := range strings.SplitSeq(key, "/") {
		name := namer.KeyToName(seg)
		if !validName(name) || namer.NameToKey(name) != seg {
			return "", fmt.Errorf("%w: segment %q", ErrNotFileName, seg)
		}
		b.WriteByte('/')
		b.WriteString(name)
	}
	return b.String(), nil
}

func (l *localSide) pathOf(key string, dir bool) (string, error) {
	return pathOf(l.root, l.namer, key, dir)
}

// writeFile writes key atomically: fill writes the bytes to a temporary
// file in the destination directory and returns the modification time to
// give it; the file is then renamed into place.
func (l *localSide) writeFile(key string, fill func(f *os.File) (time.Time, error)) error {
	p, err := l.pathOf(key, false)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := mkdirAll(dir); err != nil {
		return err
	}
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		return fmt.Errorf("%w: %s is a directory", ErrConflict, p)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*"+tempSuffix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	mtime, err := fill(f)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(tmp, mtime, mtime); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	ok = true
	return nil
}

// mkdirAll is os.MkdirAll with a file in the way reported as ErrConflict.
func mkdirAll(dir string) error {
	err := os.MkdirAll(dir, 0o755)
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

func (l *localSide) mkdir(key string) error {
	p, err := l.pathOf(key, true)
	if err != nil {
		return err
	}
	return mkdirAll(p)
}

// remove deletes key's file (or, for a directory marker, the empty directory).
func (l *localSide) remove(key string, dir bool) error {
	p, err := l.pathOf(key, dir)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// backup moves key's file (or empty directory) to the same relative path
// under backupDir.
func (l *localSide) backup(key string, dir bool, backupDir string) error {
	p, err := l.pathOf(key, dir)
	if err != nil {
		return err
	}
	b, err := pathOf(backupDir, l.namer, key, dir)
	if err != nil {
		return err
	}
	if err := mkdirAll(filepath.Dir(b)); err != nil {
		return err
	}
	if err := os.Rename(p, b); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
