package local

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/providers"
)

// cond is a write's condition (PutOptions / CompleteOptions).
type cond struct {
	ifMatch     string
	ifNoneMatch string
}

// check refuses conditions outside the contract.
func (c cond) check(op, key string) error {
	switch {
	case c.ifNoneMatch != "" && c.ifNoneMatch != "*":
		return kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("IfNoneMatch takes only \"*\", not %q", c.ifNoneMatch))
	case c.ifNoneMatch != "" && c.ifMatch != "":
		return kindErr(op, key, providers.ErrInvalidArgument, errors.New("IfMatch and IfNoneMatch together"))
	}
	return nil
}

// precheck evaluates c against the key's current file, so a write that is
// bound to fail does not read its body first. It decides nothing: commit
// checks again at the rename.
func (s *Store) precheck(op, key string, c cond) error {
	switch {
	case c.ifNoneMatch != "":
		if fi, err := os.Stat(s.path(key)); err == nil && fi.Mode().IsRegular() {
			return kindErr(op, key, providers.ErrPrecondition, errors.New("the key exists"))
		}
	case c.ifMatch != "":
		return s.checkIfMatch(op, key, c.ifMatch)
	}
	return nil
}

// checkIfMatch fails with ErrPrecondition unless key's file has version want.
func (s *Store) checkIfMatch(op, key, want string) error {
	fi, err := os.Stat(s.path(key))
	switch {
	case isNotExist(err) || err == nil && !fi.Mode().IsRegular():
		return kindErr(op, key, providers.ErrPrecondition, errors.New("the key does not exist"))
	case err != nil:
		return opErr(op, key, err)
	}
	if got := baseInfo(key, fi).Version; got != want {
		return kindErr(op, key, providers.ErrPrecondition, fmt.Errorf("version is %s, not %s", got, want))
	}
	return nil
}

// tempFile is a file being written before it is renamed into place.
type tempFile struct {
	f    *os.File
	path string // "" once renamed away
}

// createTemp creates a temporary file in dir (creating dir when missing).
func (s *Store) createTemp(op, key, dir, pattern string) (*tempFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if isNotExist(err) && (dir == s.tmpDir) {
		if err = os.MkdirAll(dir, 0o700); err == nil {
			f, err = os.CreateTemp(dir, pattern)
		}
	}
	if err != nil {
		return nil, opErr(op, key, err)
	}
	if err := f.Chmod(s.opts.FilePerm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, opErr(op, key, err)
	}
	return &tempFile{f: f, path: f.Name()}, nil
}

// discard closes the file and removes it unless it was renamed into place.
func (t *tempFile) discard() {
	t.f.Close()
	if t.path != "" {
		os.Remove(t.path)
	}
}

// hasher returns a hash for algorithm a, or nil when this backend cannot
// compute it.
func hasher(a providers.ChecksumAlgorithm) hash.Hash {
	switch a {
	case providers.ChecksumCRC32C:
		return crc32.New(providers.CRC32CTable)
	case providers.ChecksumMD5:
		return md5.New()
	}
	return nil
}

// receive copies exactly size bytes from r to w. It verifies want when this
// backend can compute its algorithm and returns the checksum it computed:
// want's algorithm, else alg, else none. Fewer or more bytes than size is
// ErrSizeMismatch; a mismatching checksum is ErrChecksum.
func (s *Store) receive(ctx context.Context, op, key string, w io.Writer, r io.Reader, size int64, want providers.Checksum, alg providers.ChecksumAlgorithm) (providers.Checksum, error) {
	h := hasher(want.Algorithm)
	if h != nil && !want.IsZero() {
		alg = want.Algorithm
	} else {
		h = hasher(alg)
	}
	if h != nil {
		w = io.MultiWriter(w, h)
	}
	buf := make([]byte, min(max(size, 1), 1<<20))
	n, err := io.CopyBuffer(w, &ctxReader{ctx: ctx, r: io.LimitReader(r, size)}, buf)
	if err != nil {
		return providers.Checksum{}, opErr(op, key, err)
	}
	if n < size {
		return providers.Checksum{}, kindErr(op, key, providers.ErrSizeMismatch, fmt.Errorf("the reader ended after %d of %d bytes", n, size))
	}
	var one [1]byte
	if m, _ := io.ReadFull(r, one[:]); m > 0 {
		return providers.Checksum{}, kindErr(op, key, providers.ErrSizeMismatch, fmt.Errorf("the reader holds more than %d bytes", size))
	}
	if h == nil {
		return providers.Checksum{}, nil
	}
	got := providers.Checksum{Algorithm: alg, Sum: h.Sum(nil)}
	if !want.IsZero() && want.Algorithm == alg && !got.Equal(want) {
		return providers.Checksum{}, kindErr(op, key, providers.ErrChecksum, fmt.Errorf("got %v, want %v", got, want))
	}
	return got, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// commitAttempts bounds the retries of a rename that lost a race (a parent
// directory removed by another process, an empty directory in the way).
const commitAttempts = 4

// commit renames the finished temporary file t into place as key, honouring
// c: IfNoneMatch "*" with renameat2(RENAME_NOREPLACE) (or link(2) where the
// file system lacks it), atomic across processes; IfMatch by comparing the
// Version under mu, atomic within this Store only. A directory in the way
// (key "a" while "a/..." exists) or a file in the way (a parent of key) is
// ErrInvalidKey; an empty directory in the way is removed.
func (s *Store) commit(op, key string, t *tempFile, c cond) (providers.ObjectInfo, error) {
	if !s.opts.NoSync {
		if err := t.f.Sync(); err != nil {
			return providers.ObjectInfo{}, opErr(op, key, err)
		}
	}
	if err := s.place(op, key, t, c); err != nil {
		return providers.ObjectInfo{}, err
	}
	if !s.opts.NoSync {
		syncDir(filepath.Dir(s.path(key))) // outside mu: writers to other keys need not wait
	}
	fi, err := t.f.Stat() // the renamed file, whatever happened to the path since
	if err != nil {
		return providers.ObjectInfo{}, opErr(op, key, err)
	}
	return s.fullInfo(key, t.f, fi), nil
}

// place is commit's part under mu: the IfMatch check, the parents and the
// rename.
func (s *Store) place(op, key string, t *tempFile, c cond) error {
	dst := s.path(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ifMatch != "" {
		if err := s.checkIfMatch(op, key, c.ifMatch); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		if err := os.MkdirAll(filepath.Dir(dst), s.opts.DirPerm); err != nil {
			if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EEXIST) {
				return kindErr(op, key, providers.ErrInvalidKey,
					fmt.Errorf("a parent of the key is an object (a key cannot be both a file and a folder): %w", err))
			}
			return opErr(op, key, err)
		}
		var err error
		if c.ifNoneMatch != "" {
			err = renameNoReplace(t, dst)
		} else if err = os.Rename(t.path, dst); err == nil {
			t.path = ""
		}
		if err == nil {
			return nil
		}
		isDir := false
		if fi, lerr := os.Lstat(dst); lerr == nil && fi.IsDir() {
			isDir = true
		}
		switch {
		case isDir:
			if attempt < commitAttempts && removeEmptyTree(dst) == nil {
				continue
			}
			return kindErr(op, key, providers.ErrInvalidKey,
				fmt.Errorf("objects exist under %q (a key cannot be both a file and a folder): %w", key+"/", err))
		case errors.Is(err, unix.EEXIST):
			return kindErr(op, key, providers.ErrPrecondition, fmt.Errorf("the key exists: %w", err))
		case isNotExist(err) && attempt < commitAttempts:
			continue // another process removed the parent we made: make it again
		}
		return opErr(op, key, err)
	}
}

// renameNoReplace moves t to dst unless dst exists (EEXIST).
func renameNoReplace(t *tempFile, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, t.path, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if err == nil {
		t.path = ""
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return &os.LinkError{Op: "renameat2", Old: t.path, New: dst, Err: err}
	}
	// No RENAME_NOREPLACE here: link(2) also fails when dst exists.
	if err := os.Link(t.path, dst); err != nil {
		return err
	}
	os.Remove(t.path)
	t.path = ""
	return nil
}

// syncDir fsyncs a directory so a rename in it survives a crash. Errors are
// ignored: some file systems refuse fsync on directories.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// removeEmptyTree removes dir and the directories under it if none holds
// anything but directories; otherwise it fails, leaving what it could not
// remove. Symlinks count as content.
func removeEmptyTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() {
			return fmt.Errorf("%s is not empty", dir)
		}
		if err := removeEmptyTree(path.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return unix.Rmdir(dir)
}
