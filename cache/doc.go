// Package cache owns byob's per-node state: one bbolt index per cache
// directory (object attributes, paged directory listings, block presence,
// the upload resume journal, mount write-back entries, local-file
// fingerprints) and an on-disk block store with an LRU size cap. The mount
// and sync both use it; it imports only providers.
//
// # Files in the cache directory
//
//	Dir/index.db     the bbolt index (exclusive flock while open)
//	Dir/index.pid    PID of the process holding the index (written after the lock is taken)
//	Dir/clean        marker: present only between a clean Close and the next Open
//	Dir/blocks/aa/bb/<hash>-<index>-<nonce>   block data files
//
// <hash> is the first 20 bytes of SHA-256(store NUL key NUL version) in hex;
// <nonce> is random per write, so a re-fetched or rewritten block never
// reuses the name of a file an evictor or reader may still be handling.
//
// # Store IDs
//
// "store" in every key below is the caller's store ID
// (providers.Address.StoreID: scheme, endpoint, bucket and sub-path,
// never credentials), so two teams on one bucket never share an entry.
// AdoptStore moves the write-back entries and upload journals of an ID a
// store had before to its current one.
//
// # Key encoding
//
// Composite keys are byte strings. A component that is not the last one is
// escaped order-preservingly and terminated: 0x00 -> 01 01, 0x01 -> 01 02,
// then a 0x00 terminator (esc(x) below). The last component is raw. So
// byte-wise key order is (component 1, component 2, ...) order, keys may
// hold any byte, and "store\x00key" is the shape of every key in the common
// case (no NUL or 0x01 in the store ID). Integers are big-endian fixed width
// so they sort numerically. Times are Unix nanoseconds.
//
// # Schema (version 2)
//
//	bucket        key                                         value
//	meta          "schema"                                    uint32 schema version
//	              "epoch", "trusted"                          uint64 open counter; first epoch whose blocks are trusted
//	              "bytes", "dirty", "blocks", "dirtyblocks"   uint64 block-store totals, updated in the same tx as the blocks
//	attrs         esc(store) key                              binary Attr (see attrs.go)
//	remotemeta    esc(store) esc(key) version                 binary RemoteMeta
//	listings      esc(store) prefix                           header: fetchedAt, generation, pages, entries
//	listpages     esc(store) esc(prefix) gen u64 page u32     binary page of <= ListingPageSize entries, keys delta-encoded
//	blocks        esc(store) esc(key) esc(version) index u64  38-byte block record: flags, size, CRC32C, atime, nonce, epoch
//	atime         atime-seconds u64 + blocks key              empty; LRU order of evictable blocks only
//	uploads       esc(store) key                              JSON UploadJournal without Parts
//	uploadparts   esc(store) esc(key) part u32                binary JournalPart
//	writeback     ID                                          JSON WriteBack
//	fingerprints  local path                                  binary Fingerprint
//
// Hot records (attrs, pages, blocks, fingerprints) are binary with a leading
// format byte; rare ones (journals, write-back entries) are JSON.
//
// Migrations: meta "schema" holds the version. Open refuses a newer version
// with ErrSchema and touches nothing. An older version is brought forward by
// the ordered migrations in schema.go, all in the one write transaction
// that also stamps the new version, so a crash during a migration leaves the
// old schema intact and the next Open runs it again. Version 1 (JSON
// attributes in bucket "attr") is migrated to version 2 (binary "attrs").
//
// # Crash safety
//
//   - A block's data file is written to a temporary name and renamed, then
//     its record (with the CRC32C of the data) is committed. The file is not
//     fsynced on the read path. Files the index does not know (a crash
//     between rename and commit) are swept by a background pass after an
//     unclean start, and by Verify.
//   - Crash points (BYOB_CRASH_AT, as transfer.CrashPoint; the process is
//     SIGKILLed after printing "byob: crash point NAME"):
//     "cache-after-block-data" (file renamed into place, record not yet
//     committed: the file is an orphan, the block absent) and
//     "cache-after-index-commit" (record committed, a replaced block's old
//     file not yet removed: that file is an orphan). crash_test.go kills a
//     subprocess at each and checks Open + Verify.
//   - Removal is the reverse: the record is deleted and committed first,
//     then the file removed.
//   - Clean/unclean: Open removes Dir/clean (and syncs the directory). Close
//     syncs the file system when the session wrote or removed block files
//     (a session that only used the index, as sync's, has nothing unsynced
//     to vouch for), then writes Dir/clean. Every Open increments
//     meta "epoch"; an Open without the marker sets meta "trusted" to the new
//     epoch. A block whose record epoch is older than "trusted" has its CRC
//     checked on its first read; a mismatch (or a short or missing file)
//     drops the block and fetches it again. A verified block gets the current
//     epoch. No full scan runs at Open.
//   - Dirty blocks (WriteBlock), upload journals (SaveUpload) and write-back
//     entries are durable before the call returns: data fsynced, then a
//     synced bbolt commit.
//   - A listing is written as a new generation in several transactions and
//     becomes visible only when its header is committed; pages of
//     generations no header names are garbage, removed by the next
//     PutListing of that prefix, the unclean-start sweep, or Verify.
//
// # Locking
//
// Lock order: Cache.evictMu -> Cache.sweepMu -> bbolt write transaction ->
// Cache.mu. Cache.mu is a leaf: it guards only in-memory state (totals,
// reservations, pin counts, pending access times, flights, listing
// readers) and is never held while a transaction is started or waited for.
// Listing writes of one (store, prefix) are serialised by a per-prefix
// mutex taken before any transaction.
//
// # Eviction
//
// Only clean, unpinned blocks are in the atime bucket, ordered by last
// access (seconds, recorded at most once per Options.AccessInterval per
// block and flushed in batches). Before a block is stored, room is made:
// the oldest entries are evicted until total+new <= MaxSize and the disk
// keeps MinFree free. Blocks held open by readers (pin count) are skipped.
// Dirty blocks are never evicted; when dirty bytes alone would pass MaxSize,
// WriteBlock fails with ErrNoSpace. When nothing evictable is left, a read
// is served from memory without being cached.
//
// # Block files and memory
//
// Block files are written with O_DIRECT when the buffer and length allow
// (directio.go): no page-cache copy, no writeback by the kernel's flusher
// on the same cores; a file system that refuses it is written through the
// page cache. A fetched block's bytes stay in memory for a few seconds
// after its store (the recent tier, recent.go, at most RecentMemory) and
// are served from there by OpenBlockFast; they count in FetchMemory, the
// one cap of fetched bytes in memory, and a fetch finding it used up
// pushes them out instead of waiting.
//
// # Processes
//
// One process owns a cache directory at a time: the bbolt file lock is
// exclusive, and a second Open fails within Options.LockTimeout with
// ErrLocked naming the PID from Dir/index.pid. Nodes share nothing; each
// has its own cache directory.
package cache
