package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/providers"
)

var (
	_ providers.Store       = (*Store)(nil)
	_ providers.Multiparter = (*Store)(nil)
	_ providers.Opener      = Opener
)

// Limits reported in Capabilities. A local disk has no real part limits;
// these mirror S3 so callers plan the same part sizes everywhere.
const (
	maxPartSize   = 5 << 30
	maxParts      = 10000
	maxObjectSize = maxPartSize * maxParts
)

// Options configure a Store. Zero fields take the DefaultOptions value.
type Options struct {
	// MinPartSize is the smallest multipart part except the last
	// (default 5 MiB, as on S3).
	MinPartSize int64
	// FilePerm is the permission of stored files (default 0o644).
	FilePerm fs.FileMode
	// DirPerm is the permission of created directories before the umask
	// (default 0o755).
	DirPerm fs.FileMode
	// NoSync skips fsync of written files and their directories: faster, but
	// a crash of the machine may lose writes that were acknowledged.
	NoSync bool
}

// DefaultOptions returns the options Opener uses.
func DefaultOptions() Options {
	return Options{MinPartSize: 5 << 20, FilePerm: 0o644, DirPerm: 0o755}
}

// Store is a local directory used as a bucket. It is safe for concurrent use.
//
// Lock: mu serialises changes to the directory tree made by this Store:
// creating parent directories and renaming a finished file into place (with
// the IfMatch check before it), and deleting a file with the empty parents it
// leaves. INVARIANT: while mu is held nobody in this process removes a
// directory another writer has just created for its rename. Data is written
// to temporary files outside the lock.
type Store struct {
	root   string // absolute, clean
	tmpDir string // root/.byob-local/tmp
	upDir  string // root/.byob-local/uploads
	opts   Options
	caps   providers.Capabilities

	mu sync.Mutex

	// Test seams: noXattr acts as a file system refusing user xattrs;
	// readDirHook sees every directory List reads.
	noXattr     bool
	readDirHook func(dir string)
}

// Open returns the store rooted at the existing directory root.
func Open(root string, opts Options) (*Store, error) {
	def := DefaultOptions()
	if opts.MinPartSize == 0 {
		opts.MinPartSize = def.MinPartSize
	}
	if opts.FilePerm == 0 {
		opts.FilePerm = def.FilePerm
	}
	if opts.DirPerm == 0 {
		opts.DirPerm = def.DirPerm
	}
	if opts.MinPartSize < 0 || opts.MinPartSize > maxPartSize {
		return nil, kindErr("open", "", providers.ErrInvalidArgument,
			fmt.Errorf("MinPartSize %d is outside 0..%d", opts.MinPartSize, int64(maxPartSize)))
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, kindErr("open", "", providers.ErrInvalidAddress, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case isNotExist(err):
		return nil, kindErr("open", "", providers.ErrBucketNotExist, fmt.Errorf("local bucket directory %s does not exist", abs))
	case err != nil:
		return nil, opErr("open", "", err)
	case !fi.IsDir():
		return nil, kindErr("open", "", providers.ErrBucketNotExist, fmt.Errorf("local bucket %s is not a directory", abs))
	}
	s := &Store{
		root:   abs,
		tmpDir: filepath.Join(abs, reservedDir, "tmp"),
		upDir:  filepath.Join(abs, reservedDir, "uploads"),
		opts:   opts,
	}
	s.caps = providers.Capabilities{
		Multipart:         providers.MultipartLocal,
		MinPartSize:       opts.MinPartSize,
		MaxPartSize:       maxPartSize,
		MaxParts:          maxParts,
		MaxObjectSize:     maxObjectSize,
		MaxPutSize:        maxObjectSize,
		ResumableUploads:  true,
		NativeStartAfter:  true,
		VerifiedChecksums: []providers.ChecksumAlgorithm{providers.ChecksumCRC32C, providers.ChecksumMD5},
		MaxKeyLength:      maxKeyLength,
		ConditionalWrites: true,
		VersionOnRewrite:  true,
		ConflictsRefused:  true, // a path is a file or a directory, never both
	}
	return s, nil
}

// Opener opens a file:// address (see the package documentation for how the
// root and the key prefix are chosen). Its signature is providers.Opener.
func Opener(ctx context.Context, a providers.Address) (providers.Store, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", opErr("open", "", err)
	}
	if a.Scheme != "file" {
		return nil, "", kindErr("open", "", providers.ErrInvalidAddress, fmt.Errorf("scheme %q is not file", a.Scheme))
	}
	root, rest, err := splitRoot(a.Bucket)
	if err != nil {
		return nil, "", err
	}
	s, err := Open(root, DefaultOptions())
	if err != nil {
		return nil, "", err
	}
	if strings.HasSuffix(a.Bucket, "/") && rest != "" {
		rest += "/" // file:///dir/new/ names the folder new/, not a key "new"
	}
	return s, providers.JoinKey(rest, a.Path), nil
}

// splitRoot finds the deepest existing directory along the absolute path p
// and returns it with the remaining components joined by "/".
func splitRoot(p string) (root, rest string, err error) {
	if !filepath.IsAbs(p) {
		return "", "", kindErr("open", "", providers.ErrInvalidAddress, fmt.Errorf("file:// needs an absolute path, got %q", p))
	}
	p = filepath.Clean(p)
	var tail []string
	for {
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			for i, j := 0, len(tail)-1; i < j; i, j = i+1, j-1 {
				tail[i], tail[j] = tail[j], tail[i]
			}
			return p, strings.Join(tail, "/"), nil
		case err != nil && !isNotExist(err):
			return "", "", opErr("open", "", err)
		}
		// p is missing or a file: it becomes part of the key prefix.
		tail = append(tail, filepath.Base(p))
		p = filepath.Dir(p)
	}
}

// Root returns the directory the store is rooted at.
func (s *Store) Root() string { return s.root }

// Capabilities reports the local backend's abilities.
func (s *Store) Capabilities() providers.Capabilities {
	c := s.caps
	c.VerifiedChecksums = append([]providers.ChecksumAlgorithm(nil), c.VerifiedChecksums...)
	return c
}

// path returns the file name of a checked key.
func (s *Store) path(key string) string { return s.root + "/" + key }

// openObject opens the regular file holding key (following symlinks) and
// stats it. A directory, a special file or a missing file is ErrNotExist.
func (s *Store) openObject(op, key string) (*os.File, os.FileInfo, error) {
	if err := checkKey(key); err != nil {
		return nil, nil, kindErr(op, key, providers.ErrInvalidKey, err)
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	fd, err := unix.Open(s.path(key), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, opErr(op, key, &fs.PathError{Op: "open", Path: s.path(key), Err: err})
	}
	f := os.NewFile(uintptr(fd), s.path(key))
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, opErr(op, key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, kindErr(op, key, providers.ErrNotExist, fmt.Errorf("%s is not a regular file", s.path(key)))
	}
	return f, fi, nil
}

// Stat returns the object's attributes and metadata (always with mtime).
func (s *Store) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, opErr("stat", key, err)
	}
	f, fi, err := s.openObject("stat", key)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	defer f.Close()
	return s.fullInfo(key, f, fi), nil
}

// Get returns a reader of length bytes (-1: to the end) of key from off.
// The reader reads the file opened here, so it yields bytes of the version
// returned even if the key is rewritten meanwhile.
func (s *Store) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	const op = "get"
	if err := ctx.Err(); err != nil {
		return nil, providers.ObjectInfo{}, opErr(op, key, err)
	}
	if off < 0 || length < -1 {
		return nil, providers.ObjectInfo{}, kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("offset %d, length %d", off, length))
	}
	f, fi, err := s.openObject(op, key)
	if err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	info := s.fullInfo(key, f, fi)
	if opts.IfMatch != "" && opts.IfMatch != info.Version {
		f.Close()
		return nil, providers.ObjectInfo{}, kindErr(op, key, providers.ErrPrecondition, fmt.Errorf("version is %s, not %s", info.Version, opts.IfMatch))
	}
	if off > info.Size {
		f.Close()
		return nil, providers.ObjectInfo{}, kindErr(op, key, providers.ErrInvalidRange, fmt.Errorf("offset %d past the end (%d bytes)", off, info.Size))
	}
	if length < 0 || length > info.Size-off {
		length = info.Size - off
	}
	return &reader{ctx: ctx, f: f, r: io.NewSectionReader(f, off, length)}, info, nil
}

// reader is Get's body: a section of the open file that stops when ctx ends.
type reader struct {
	ctx context.Context
	f   *os.File
	r   *io.SectionReader
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *reader) Close() error { return r.f.Close() }

// Put stores size bytes from r as key: into a temporary file in the reserved
// folder, renamed into place (see commit for the conditions).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	const op = "put"
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, opErr(op, key, err)
	}
	if err := checkKey(key); err != nil {
		return providers.ObjectInfo{}, kindErr(op, key, providers.ErrInvalidKey, err)
	}
	if size < 0 {
		return providers.ObjectInfo{}, kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("negative size %d", size))
	}
	c := cond{ifMatch: opts.IfMatch, ifNoneMatch: opts.IfNoneMatch}
	if err := c.check(op, key); err != nil {
		return providers.ObjectInfo{}, err
	}
	om, err := parseMeta(op, key, opts.ContentType, opts.Metadata)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	// Fail early, before reading the body; commit checks again.
	if err := s.precheck(op, key, c); err != nil {
		return providers.ObjectInfo{}, err
	}
	t, err := s.createTemp(op, key, s.tmpDir, "put-*")
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	defer t.discard()
	sum, err := s.receive(ctx, op, key, t.f, r, size, opts.Checksum, providers.ChecksumNone)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := om.apply(s, op, key, t); err != nil {
		return providers.ObjectInfo{}, err
	}
	info, err := s.commit(op, key, t, c)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	if !sum.IsZero() {
		info.Checksums = []providers.Checksum{sum}
	}
	return info, nil
}

// Delete removes key and then the parent directories it leaves empty, up
// to the root. A missing key, or a key naming a directory, is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "delete"
	if err := ctx.Err(); err != nil {
		return opErr(op, key, err)
	}
	if err := checkKey(key); err != nil {
		return kindErr(op, key, providers.ErrInvalidKey, err)
	}
	p := s.path(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(p) // through a symlink: is it one to an object?
	switch {
	case isNotExist(err):
		return nil
	case err != nil:
		return opErr(op, key, err)
	case !fi.Mode().IsRegular():
		return nil // a directory (or a symlink to one, a FIFO...) is not an object
	}
	if err := os.Remove(p); err != nil && !isNotExist(err) {
		return opErr(op, key, err)
	}
	s.removeEmptyParents(key)
	return nil
}

// removeEmptyParents removes key's parent directories while they are empty,
// stopping below the root. Callers hold mu.
func (s *Store) removeEmptyParents(key string) {
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		// rmdir, not os.Remove: a symlink to a directory must not be unlinked.
		if unix.Rmdir(s.path(dir)) != nil {
			return
		}
	}
}

// Copy copies src to dst through a temporary file renamed into place
// (copy_file_range where the file system offers it).
func (s *Store) Copy(ctx context.Context, src, dst string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	const op = "copy"
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, opErr(op, src, err)
	}
	if err := checkKey(dst); err != nil {
		return providers.ObjectInfo{}, kindErr(op, dst, providers.ErrInvalidKey, err)
	}
	f, fi, err := s.openObject(op, src)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	defer f.Close()
	srcInfo := s.fullInfo(src, f, fi)
	if opts.IfMatch != "" && opts.IfMatch != srcInfo.Version {
		return providers.ObjectInfo{}, kindErr(op, src, providers.ErrPrecondition, fmt.Errorf("version is %s, not %s", srcInfo.Version, opts.IfMatch))
	}
	md, ctype := srcInfo.Metadata, srcInfo.ContentType
	if opts.Metadata != nil {
		md = opts.Metadata
		if opts.ContentType != "" {
			ctype = opts.ContentType
		}
	}
	om, err := parseMeta(op, dst, ctype, md)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	t, err := s.createTemp(op, dst, s.tmpDir, "copy-*")
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	defer t.discard()
	n, err := copyFile(ctx, t.f, f)
	if err != nil {
		return providers.ObjectInfo{}, opErr(op, dst, err)
	}
	if n != srcInfo.Size {
		return providers.ObjectInfo{}, kindErr(op, src, providers.ErrSizeMismatch, fmt.Errorf("source changed while copying: %d bytes, not %d", n, srcInfo.Size))
	}
	if err := om.apply(s, op, dst, t); err != nil {
		return providers.ObjectInfo{}, err
	}
	return s.commit(op, dst, t, cond{})
}

// copyChunk is how much copyFile moves between two looks at ctx.
const copyChunk = 8 << 20

// copyFile appends all of src (from its offset) to dst, in chunks so a
// cancelled ctx stops it. *os.File to *os.File lets the kernel copy
// (copy_file_range).
func copyFile(ctx context.Context, dst io.Writer, src *os.File) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := io.CopyN(dst, src, copyChunk)
		total += n
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
