package fs

import "errors"

// Sentinel errors of the file system core. Errno maps each to its errno.
var (
	// ErrReadOnly: the file system is mounted read-only (EROFS).
	ErrReadOnly = errors.New("read-only file system")
	// ErrExist: the name exists (EEXIST).
	ErrExist = errors.New("file exists")
	// ErrNotEmpty: rmdir of a directory that holds entries (ENOTEMPTY).
	ErrNotEmpty = errors.New("directory not empty")
	// ErrIsDir: a file operation on a directory (EISDIR).
	ErrIsDir = errors.New("is a directory")
	// ErrNotDir: a directory operation on a file (ENOTDIR).
	ErrNotDir = errors.New("not a directory")
	// ErrCrossStore: a rename between two file systems, or of a directory
	// holding more objects than Options.RenameDirLimit (EXDEV: mv then
	// copies and deletes by itself).
	ErrCrossStore = errors.New("cross-store or oversized rename")
	// ErrNotSupported: the operation has no meaning on an object store
	// (ENOTSUP): setting extended attributes, hard links, symlinks.
	ErrNotSupported = errors.New("operation not supported")
	// ErrNoAttr: no such extended attribute (ENODATA).
	ErrNoAttr = errors.New("no such attribute")
	// ErrChanged: a handle's object changed on the server and the handle
	// had not cached the bytes asked for (EIO): bytes of two versions are
	// never mixed.
	ErrChanged = errors.New("object changed since open")
	// ErrNotPermitted: chown to another owner (EPERM).
	ErrNotPermitted = errors.New("operation not permitted")
	// ErrBadHandle: a write on a read-only handle, or a read on a
	// write-only one (EBADF).
	ErrBadHandle = errors.New("bad file handle")
)
