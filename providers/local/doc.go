// Package local is the providers.Store backend for a local directory used as
// a bucket: the product's embedded default (file:// addresses) and a test
// backend. It is Linux-only (xattrs, renameat2).
//
// # Addresses
//
// Opener handles file:///ABS/PATH. The store's root is the deepest directory
// along PATH that exists; the components after it, joined with "/", followed
// by the address's Path, are the key prefix Opener returns. With
// /data/bucket/runs an existing directory:
//
//	file:///data/bucket/runs          root /data/bucket/runs, prefix ""
//	file:///data/bucket/runs/abc      root /data/bucket/runs, prefix "abc" (abc missing, or a file)
//	file:///data/bucket/runs/abc/x/y  root /data/bucket/runs, prefix "abc/x/y"
//
// so an address can name a single file, or a folder that writes will create.
// (A rule that walked up to a directory holding ".byob-local" was tried and
// dropped: a stray marker in /tmp or $HOME captured every address below it.)
// Open takes the root directly; it must be an existing directory.
//
// # Keys
//
// Key k is the file ROOT/k, "/" separating directories. Keys a file system
// cannot hold are refused with ErrInvalidKey (Capabilities.OddKeys is false):
// empty segments ("a//b", a leading or trailing "/"), "." and ".." segments,
// segments over 255 bytes, NUL bytes, keys over 1024 bytes, and keys under
// the reserved folder ".byob-local". A key is a file or a directory, never
// both (Capabilities.ObjectPrefixCoexist is false): writing "a" while "a/..."
// exists, or "a/b" while the object "a" exists, is ErrInvalidKey. An empty
// directory in the way of a write is removed.
//
// Directories are not objects: Stat and Get of a directory are ErrNotExist,
// and Delete of one does nothing. Delete removes the parent directories it
// leaves empty, up to the root.
//
// # Reserved folder
//
// ROOT/.byob-local holds temporary files of writes in progress (tmp/) and
// multipart uploads (uploads/<id>/: upload.json and one file per part). It
// is never listed and no key may start with it. A write that fails removes
// its temporary file; a crash may leave one behind, which is safe to delete.
//
// # Listing
//
// List returns keys in byte-wise order although directories are read in
// whatever order the file system gives: each directory's names are sorted
// with a directory d sorting as "d/", so "a-b" < "a/b" < "a0". A recursive
// listing walks depth first in that order; with Delimiter "/" a directory is
// a common prefix (only when some object lies under it). The walk starts in
// the deepest directory the prefix names (prefix "runs/ab" reads runs/ and
// keeps names starting with "ab"), and never reads a directory whose keys all
// sort at or before StartAfter. Each directory read is held in memory while
// the walk is inside it. Empty directories, FIFOs, sockets and devices are
// skipped.
//
// Symlinks: a symlink to a regular file is an object with the target's
// bytes and attributes; symlinks to directories (and dangling ones) are not
// listed, so a walk never loops. Stat, Get and writes resolve paths as the
// operating system does, so a key through a symlinked directory still
// reaches its target. Put replaces a symlink to a file with the new object
// and Delete removes such a symlink, never its target.
//
// # Writes
//
// Put, Copy and multipart Complete write a temporary file in the reserved
// folder, give it its metadata, fsync it (unless Options.NoSync) and rename
// it into place: readers see the old object or the new one. A reader that
// yields fewer or more bytes than the size given is ErrSizeMismatch and
// nothing is stored. CRC32C and MD5 checksums in PutOptions, PartOptions and
// CompleteOptions are verified (CompleteOptions' against the whole object).
//
// IfNoneMatch "*" uses renameat2(RENAME_NOREPLACE) (link(2) where the file
// system lacks it): create-only is atomic across processes. IfMatch compares
// the Version and renames under the Store's lock: it is atomic against
// writes through the same Store, but only best-effort against other Stores
// and processes writing the same root.
//
// # Versions and metadata
//
// Version is built from the file's inode, size, mtime and ctime (in
// nanoseconds). Every write creates a new file while the one it replaces
// still exists, so the inode, and so the Version, changes on every write,
// identical rewrites included. (An old Version could only come back if a
// later file reused its inode number with the same size, mtime and ctime to
// the nanosecond.) Versions are not content hashes.
//
// The rclone metadata key "mtime" is the file's modification time: a write
// carrying it sets the file's time (os.Chtimes). Stat and Get report it
// when the writer gave one, with the string as written while the file keeps
// that time and the file's own time once another program changed it; and
// for files another program made (no byob xattr), whose modification time
// is real user data. ObjectInfo.ModTime is the upload time: the file's
// ctime, set when it was renamed into place.
//
// The content type and all other user metadata are JSON in the user xattr
// "user.byob.meta", which every write here sets (it also marks the file as
// written by byob). A file system refusing user xattrs makes writes
// carrying such metadata fail with ErrUnsupported; writes with no metadata
// but mtime still work, and their files then read as made by another
// program.
//
// The root must be one file system: writes rename from the reserved folder
// into place, and a mount point below the root would make that fail.
package local
