// Package fs is byob's file system core: a tree of nodes over one
// providers.Store, reads through the block cache, writes through staging
// files, uploads at flush. It imports no FUSE package; fs/fusefs binds it to
// go-fuse/v2, so nearly all logic is tested without /dev/fuse.
//
// Files, one concept each: fs.go (Options, New, FS), node.go (nodes and
// their attributes), lookup.go (names to nodes), listing.go (the listing
// cache and what invalidates it), dirreader.go (reading a directory),
// dirops.go (mkdir, rmdir, unlink), handle.go (open files: open, create,
// read, write, flush, release), staging.go (the staging file of a file
// being written), tail.go (write tails handed to live uploads), stream.go
// (live uploads of files being written), publish.go (uploading a staging
// file), setattr.go (truncate, utimens, chmod, chown), rename.go,
// writeback.go (the write-back queue), read.go (block reads, readahead),
// xattr.go, errors.go, errno.go.
//
// # Tree and names
//
// Directories are common prefixes ("implicit") or "dir/" marker objects,
// which are never shown as files. Names follow package layout: DirEntries
// names a listing (shadow names for an object hidden by a directory of the
// same name, shortened long names), DecodeName maps a name to its key for a
// lookup. The name "%%" is the empty key segment: in directory "a/" it is
// the directory "a//", never "a/" itself, and never a file (a file's key
// cannot end in "/": creating one is EINVAL). Every key seen gets a Node with an inode number from a counter
// table, stable for the life of the FS; a rename carries the number to the
// new key; an unlinked name that is created again is a new inode. The table
// grows with the keys seen (a few hundred bytes each).
//
// # Consistency
//
//   - Attributes are trusted for AttrTTL (DirTTL when they came from a
//     listing), listings for DirTTL counted from when their List completed,
//     absent names for NegativeTTL. The kernel's entry/attr/negative
//     timeouts are AttrTTL and NegativeTTL, except that an entry a readdir
//     returns from a listing, and its attributes, are cached for what is
//     left of max(AttrTTL, DirTTL) (what Lookup and Attr would answer from
//     that listing anyway), and a directory found by a lookup for DirTTL.
//   - readdir is READDIRPLUS: the directory handle (fusefs.dirHandle over
//     a DirReader) gives each entry's node and attributes straight from the
//     listing it reads, so `ls -l` makes no LOOKUP or GETATTR per entry
//     and no Stat. Those attributes are used as they are: a directory that
//     takes longer than DirTTL to read is not listed again meanwhile.
//     Extended attributes outside "user." answer ENOTSUP at the binding,
//     so ls -l (security.selinux, system.posix_acl_access) stops asking
//     after the first file instead of costing two requests per file.
//   - The kernel keeps a directory's entries (FOPEN_CACHE_DIR with
//     KEEP_CACHE) while the directory reads the same listing: a second
//     `ls` within DirTTL is served by the kernel, with no READDIR at all.
//     A change made through the mount drops the kernel's copy at once (the
//     kernel sees it); a new listing from the store drops it with an inode
//     notification before any handle may read it (fusefs.kernelDir). While
//     the directory has entries only this mount knows (files being
//     written, added since its listing began), it is read from the mount
//     as before, and so is an empty directory (the kernel answers an empty
//     copy without looking at it, so nothing could drop it). Trade-off: a
//     handle opened with the cache flags rewinds (rewinddir) within its
//     listing, the one the kernel's copy is of, so it shows out-of-band
//     changes only once reopened after DirTTL; another handle lists again
//     on a rewind once the listing is stale.
//   - A lookup in a directory that
//     has been listed answers from that listing; a stale listing is listed
//     again first, once for all concurrent lookups and readdirs of that
//     directory (a single flight per directory). So `ls -l` costs one
//     listing and no Stat per entry, however long it takes. Only a
//     directory never listed (or whose listing a removal or rename here
//     dropped) is probed name by name: one List for the object and the
//     prefix of that name.
//   - Files and directories this mount creates or uploads are shown on
//     top of the directory's listing rather than dropping it (FS.added):
//     a lookup or readdir answers from a node added at or after the time
//     its listing's List started (dirListing.started), so filling a
//     directory (cp -r, tar x) costs no List per file. A directory made
//     here starts with an empty listing (its name was free when it was
//     made). Removals and renames still drop the listing (the next lookup
//     or readdir lists again). Only the index's copy is invalidated, and
//     only when it holds one (a read transaction says so), so a create
//     costs no synced commit.
//     Stale attributes of a file are likewise refreshed from its
//     directory's listing when it has one (a Stat otherwise, or when the
//     file is no longer listed).
//   - A listing in memory (dirListing) holds each entry once, compactly
//     (name, key, size, version, upload time), sorted by name: lookups
//     binary-search it, a small map covers the files whose name is not
//     their key's segment, and readers read it in place (it is immutable;
//     a refresh builds a new one). Building it from a List holds the
//     entries (without ETags, checksums, content types) only until
//     layout.DirEntries has named them. It is then written to the cache
//     index (cache.PutListing, paged) from itself, in key order; the index
//     copy is reused while fresh when this FS has not listed that
//     directory yet (across restarts), never after a change made here.
//   - Close-to-open: opening a file for reading revalidates its attributes
//     (one Stat) when they are older than AttrTTL. The handle then reads that
//     Version only: blocks are keyed by key+Version in the cache and every
//     ranged Get carries IfMatch. A handle whose object changed keeps serving
//     the blocks it had cached and gets EIO for the others: never mixed
//     bytes. The kernel keeps its page cache across opens while the Version
//     is unchanged (FOPEN_KEEP_CACHE).
//   - mtime is the "mtime" metadata (rclone's) when the attributes came from
//     a Stat or an upload, the server's upload time when from a listing
//     (listings carry no metadata); for one Version the first value seen is
//     kept, so it does not flip.
//   - Changes made by other writers are seen after the TTLs; nothing here
//     locks the bucket. Each mount is shared-nothing.
//
// # Reads
//
// A read is served block by block (cache block size) through
// cache.OpenBlockFast, whose single flight shares a fetch among readers and
// answers them from memory as soon as the bytes arrive, storing the block
// on disk in the background (a reader never waits for the cache's disk;
// such a handle is closed after the read at hand, so fetched bytes are not
// held past their store). Fetch buffers come from the cache
// (cache.BlockBuffer) and return to it once stored and unread. Each
// handle has a readahead window: it doubles (from one block up to
// MaxReadahead) on sequential reads and is quartered on random ones; the
// blocks it covers are prefetched in the background, at most MaxInflight
// waiting for their bytes at once across the FS (a global token pool);
// cache.Options.FetchMemory bounds the fetched bytes held in memory (in
// flight, or kept a few seconds after their store in the cache's recent
// tier, so the read that follows a readahead is served from memory: block
// files are written with O_DIRECT and are not in the page cache). A
// block a handle prefetched is not opened again by its later readaheads.
// Handle.ReadView answers from the cache's memory in place: fusefs hands
// the block's bytes to the kernel with writev and lets the block go once
// the reply is written, with no copy into the request buffer. fusefs also
// raises the kernel's readahead of the mount (read_ahead_kb, 128 KiB by
// default for FUSE) to MountOptions.MaxReadAhead, so that a sequential
// read has a request ahead of the application's.
//
// # Writes, flush and release
//
//   - A write-only handle bypasses the kernel's page cache
//     (FOPEN_DIRECT_IO, fusefs): on these 2-core machines writing a
//     streamed checkpoint through it cost the writer 1.5-2.1 CPU-s per GiB,
//     0.5-0.8 without. A read-write handle writes through it. Pages another
//     handle already cached may not show such writes until that reader
//     opens the file again: the close-to-open rule that holds for changes
//     from elsewhere (a handle reads the Version it opened anyway).
//   - Every write goes to a staging file in the cache directory
//     (Dir/staging/<store>/), shared by all handles of the file; it stays
//     the authority until the file is published. New files and truncated
//     files start empty. Opening an existing file for writing without
//     O_TRUNC marks the staging file to be filled from the object (or its
//     write-back entry) at the first read, write, truncate to a non-zero
//     size or upload; a truncate to 0 first skips the copy. (The kernel
//     sends O_TRUNC as an open without it followed by a truncate to 0,
//     since go-fuse does not offer atomic_o_trunc: so an O_TRUNC rewrite
//     never downloads the old object.) A failed copy fails that first
//     operation.
//   - Streaming (stream.go): a new file, or one truncated to 0, is uploaded
//     while the application writes, unless in write-back mode or on a store
//     without multipart uploads. Bytes written contiguously from offset 0
//     are sent as multipart parts of PartSize (raised to the store's
//     MinPartSize) as soon as a part is complete, at most UploadConcurrency
//     parts in flight. Sequential writes are copied into a part-sized
//     memory tail and answered at once (tail.go); a full tail is sent from
//     memory and written to the staging file in the background (O_DIRECT).
//     Whatever reads, cuts or rewrites the staging file (a read through a
//     writable handle, a truncate, a write elsewhere, publish) first waits
//     for those writes and writes a partial tail, and a failed one fails it
//     (close: EIO). At most UploadConcurrency+1 tails are held: a writer
//     ahead of the uploads waits for a part to be sent. Parts that were not
//     in a tail are read back from the staging file. Writes slightly out
//     of order are followed (up to 64 ranges beyond the contiguous end).
//     The upload is a transfer.Live of the FS's one Uploader (its part
//     size and checksums are those of every other upload): created when
//     the first part is ready and journaled in the cache index
//     (Source.Path transfer.LiveSource + the staging file), so `byob cache
//     stats` lists it as an upload while it is open.
//   - The stream is abandoned (its upload aborted in the background, the
//     staging file uploaded at publish as before) on: a write to bytes
//     already sent, a truncate below them or above the written end, an
//     explicit mtime (utimens), a part failing after its retries, a failed
//     Complete, or a file that is not one contiguous run at publish. A file
//     that fits in one part is one Put. So any failure costs an upload, never
//     data.
//   - A publish while the stream has sent nothing (a flush before the
//     data, as dd and shell redirections make, or a file smaller than a
//     part) uploads the staging file with one Put and keeps the stream for
//     the writes that follow.
//   - At publish a streamed file sends its last (short) part, waits for the
//     parts in flight and completes the upload with the combined CRC32C. Its
//     mtime metadata is the time the upload was created (the first part
//     ready); the mount shows the same value.
//   - A file never successfully closed or fsynced is never published: its
//     upload is not completed; when the mount dies the journal record stays
//     and the next New on that cache aborts the upload, forgets the record
//     and removes the staging file (logged). The bucket keeps the previous
//     version throughout.
//   - The upload happens at FLUSH (close(2)) when the flushing process is
//     the one that opened the file: FUSE reports the calling thread, whose
//     thread group is read from /proc/<tid>/status (as mountpoint-s3 does).
//     A flush from another process (a forked child closing an inherited
//     descriptor) uploads nothing, so a half-written file is never published;
//     RELEASE (the last close) then uploads whatever is still dirty.
//     Nor does a flush through a handle that has written nothing while the
//     file is empty over an object on the server: a shell redirection
//     (`cmd > file`: open with O_TRUNC, dup2, close the first descriptor,
//     then write) would otherwise replace the object with an empty one
//     that every reader sees until the data comes. The bucket keeps the old
//     bytes until the flush after the write. So an O_TRUNC open (or an
//     ftruncate to 0) closed without a write empties the object only at
//     its RELEASE, just after close(2) returns, and an upload error there
//     is logged, not returned. A new file is published at its first flush,
//     empty or not.
//   - fsync uploads the current contents (completing a streamed upload;
//     later writes are uploaded from the staging file). Each upload holds the file's lock,
//     so writes wait and the uploaded bytes are one snapshot.
//   - flush and fsync are not interruptible (fusefs passes them a context
//     without the request's cancellation): a signal to the application
//     while close(2) waits for the upload, which the kernel forwards as
//     INTERRUPT, must not cancel the upload half way and fail the close
//     with EINTR. The upload ends on its own, bounded by the retry policy.
//   - Upload errors are returned from flush/fsync (close(2) and fsync(2) fail
//     with the mapped errno, EIO for server failures) and logged with their
//     reason; an error at RELEASE can only be logged.
//   - Dirty bytes in staging files are counted against the cache's MaxSize:
//     a write beyond it fails with ENOSPC (cache.ErrNoSpace).
//   - Unlinking a file being written cancels its upload (and drops its
//     write-back entries): it is never published.
//   - utimens on a file being written sets the mtime metadata of its upload;
//     on a file not being written it rewrites the object's metadata with a
//     server-side copy onto itself, conditional on its Version.
//   - truncate(2) of a path not open rewrites the object at once.
//
// # Durability levels
//
//  1. Default: close(2) returns after the object is on the server (or
//     fails). fsync(2) likewise.
//  2. WriteBack: close returns once the contents are a write-back file in
//     the cache directory (the staging file itself, renamed; a handle that
//     writes on gets a new staging file filled from it) and the entry is appended to the cache's
//     write-back log (cache.AppendWriteBack): both are in the kernel, so a
//     crash or SIGKILL of the mount loses nothing acknowledged. Neither
//     waits for the disk: every SyncInterval (1 s) the syncer makes what
//     was appended durable in one go (syncfs of the cache's file system,
//     then one index transaction: group commit), so a crash of the whole
//     machine loses at most the last interval, as a local disk does.
//     WriteBackConcurrency (32) workers upload entries in the order they
//     were staged, never two of one key at once, so a key's versions land
//     in order; reads see the staged data meanwhile. fsync(2) waits for the
//     file's upload. Pending lists entries not yet uploaded (failed ones
//     included, kept for the user); Drain waits for the queue. New uploads
//     the entries a previous run left (its log is replayed by cache.Open).
//
// # Crash points
//
// transfer.CrashPoint names the binary honours through BYOB_CRASH_AT (the
// process prints "byob: crash point NAME" and SIGKILLs itself):
// "live-mid-upload" (transfer.CrashLiveMidUpload) once the 2nd part of a
// streamed upload is on the server; "fs-after-writeback-ack"
// (CrashAfterWriteBackAck) in the
// write-back worker before an entry's upload starts, 2 s after it woke
// so the close that staged it has been answered. integration/mount_test.go
// uses both.
//
// # Renames
//
// A file is copied server-side (IfMatch the source Version) and then
// deleted. A file open for writing is not published by a rename: its
// handles follow the new name, what they wrote is published there at
// close (or fsync), nothing is left at the old name; what the server held
// at the old name (an earlier publish, the previous version) moves to the
// new one meanwhile, and an object the rename replaces is deleted. A
// stream bound to the old name's multipart upload is given up and, when
// it had followed every write, started afresh for the new name. In
// write-back mode a queued upload is retargeted. A directory is
// moved object by object (markers included), at most RenameDirLimit
// objects; a bigger one, and any rename between two FS, is EXDEV, which
// makes mv copy and delete by itself. Renames are not atomic: a crash in the
// middle leaves both names. RENAME_EXCHANGE is ENOTSUP.
//
// # Directories
//
// A directory's mtime is the newest upload time among the objects of its
// last listing, else the time the FS was made (never 1970).
//
// mkdir writes a "dir/" marker where the store can hold one
// (Capabilities.OddKeys); on other stores (local) the directory exists only
// in this mount's memory until a file is written in it. rmdir deletes the
// marker of an empty directory and is ENOTEMPTY when any object or
// unpublished file lies below. An implicit directory (no marker) disappears
// when its last object is deleted, as on any object store.
//
// # Teams
//
// fusefs.MountTeams mounts several FS under one root: a read-only directory
// holding one directory per team, each the root of that team's FS (its own
// store, confined to the team's sub-path, and its own StoreID). Inode
// numbers are (team index << 48) | ino, so teams never collide. A rename
// between teams is EXDEV (two FS).
//
// # chmod, chown, extended attributes
//
//   - Ownership and permission bits are the mount's: every file shows
//     Options.UID, GID and FileMode, every directory DirMode, whatever
//     mode create(2) or mkdir(2) asked for. fusefs mounts with
//     default_permissions, so with allow_other the kernel grants other
//     users exactly what those bits say.
//   - chmod to the mode shown, and chown to the mount's own UID/GID, are
//     accepted and change nothing; any other chmod or chown is EPERM.
//     Nothing is kept that could revert later (the bucket has no place
//     for a mode that every listing would show; rclone's "mode" metadata
//     would need a HEAD per file for `ls -l`), so `cp -a` and `rsync -a`
//     report the modes they could not set; `cp -r --preserve=timestamps`
//     and `rsync -rt` do not try.
//   - Extended attributes: "user.byob.key" (layout.XattrKey) reads the
//     node's object key (a directory's prefix); every other "user." name is
//     ENODATA, names in other namespaces (security., system., trusted.)
//     ENOTSUP; setting or removing any is ENOTSUP.
//
// # Errors
//
// Errno is the one function mapping errors to errno values:
//
//	providers.ErrNotExist                 ENOENT
//	providers.ErrPermission               EACCES
//	providers.ErrPrecondition             ESTALE (metadata: a rename whose source changed)
//	ErrChanged (a handle's object changed) EIO   (data: never mixed bytes)
//	cache.ErrNoSpace                      ENOSPC
//	context.Canceled                      EINTR
//	providers.ErrInvalidKey               EINVAL (ENAMETOOLONG when longer than the store allows)
//	ErrReadOnly EROFS, ErrExist EEXIST, ErrNotEmpty ENOTEMPTY, ErrIsDir EISDIR,
//	ErrNotDir ENOTDIR, ErrCrossStore EXDEV, ErrNotSupported ENOTSUP,
//	ErrNoAttr ENODATA, ErrNotPermitted EPERM, ErrBadHandle EBADF
//	anything else                         EIO
//
// # posixtest cases not run (fs/fusefs/posix_test.go)
//
//	SymlinkReadlink, SetattrSymlink, OpenSymlinkRace   no symlinks on an object store
//	Link, LinkUnlinkRename                             no hard links
//	XAttr, XAttrLarge                                  extended attributes cannot be set
//	FcntlFlockSetLk, FcntlFlockLocksFile               locks are not offered (nodes share nothing)
//	Fallocate, FallocateKeepSize                       fallocate is not offered
//	Tmpfile                                            O_TMPFILE is not offered
//	DirectIO                                           O_DIRECT is not offered
//
// # Locking
//
// Every mutex of the package, in the order they may be taken (a lock is
// only taken while holding locks above it in the list):
//
//	wfile.mu        a file being written: held for each write, truncate,
//	                fill and for a whole publish (so the bytes uploaded are
//	                one snapshot) and while a rename moves its name
//	writeBack.mu    the write-back queue (held across its journal commits)
//	Node.mu         a node's attributes and state (attr, remote, removed,
//	                w, pending, openVer, added)
//	FS.mu           the node table, listings in memory, list flights,
//	                change counters, virtual directories, negative
//	                entries, dirty-byte accounting, open handles; never
//	                held across a store or cache call
//
// Leaves (nothing is taken while holding them): wfile.cancelMu (the
// cancel funcs of a file's uploads), wfile.tailMu (a failed background
// staging write), Handle.mu (released), reader.mu (a handle's readahead
// window), and transfer.Live's mu (a live upload's state; its part
// goroutines take only it and read the staging file without wfile.mu).
// A node's key is an atomic value, read without any lock and written
// under FS.mu together with the node table. In fs/fusefs, kernelDir.mu (a
// directory's kernel copy) and the thread-group cache's mu are leaves.
package fs
