// Package transfer moves bytes between a caller and a providers.Store: a
// concurrent multipart uploader (UploadFile, UploadStream), a parallel ranged
// downloader (Download), the one retry policy of the project (Retryable, Do,
// NewRetryingStore), the resume journal interface (Journal) that cache
// implements with its record types (UploadJournal), and the crash points
// of the binary (CrashPoint). It imports only providers.
//
// # Retries
//
// Retryable vs permanent is decided in exactly one place, Retryable, from
// typed errors only (errors.Is / errors.As, never strings). Retryable are
// providers.ErrThrottled, ErrServer and ErrUnavailable, io.ErrUnexpectedEOF,
// connection resets, refusals and broken pipes, and net.Error timeouts.
// Permanent are the caller's context ending, ErrNotExist, ErrPermission,
// ErrPrecondition, ErrInvalid*, ErrUploadNotFound, ErrSizeMismatch,
// ErrChecksum, and every error nothing classifies. providers.ErrExpired is
// retried only when the policy has a Refresh hook, which runs before the next
// attempt. Every SDK's own retry loop is switched off by its backend, so the
// number of attempts is exactly RetryPolicy.MaxAttempts.
//
// Do runs a function under a RetryPolicy with exponential backoff and full
// jitter: the wait before attempt k+1 is uniform in [0, min(Max, Initial*2^k)).
//
// NewRetryingStore decorates a Store so that every call is retried under one
// policy:
//
//   - Stat, Delete, Copy are retried as they are.
//   - Put is retried only when its reader is an io.Seeker: it is rewound to
//     where it stood when Put was called. Other readers get one attempt.
//   - Get retries opening; a body that breaks mid-stream (a retryable read
//     error, or an early EOF before the announced length) is resumed with a
//     ranged Get from the first byte not yet delivered, with IfMatch pinned to
//     the Version the first response described, so bytes of two versions
//     never mix: a changed object ends the read with ErrPrecondition. A body
//     keeps the Get's ctx for its life, as backend bodies do.
//   - List is retried resuming after the last key delivered (StartAfter), and
//     entries at or before that key are dropped, so fn never sees an entry
//     twice. An error returned by fn is never retried.
//   - Multiparter is forwarded when the inner store has it; CreateMultipart,
//     ResumeMultipart and every Upload method are retried (UploadPart rereads
//     its io.ReadSeeker from the start, as the contract says). A Complete
//     whose first attempt failed ambiguously (the server may have finished
//     it) and whose retry finds no upload is confirmed with a Stat: the object
//     must have the parts' total size (and their CRC32C when the server
//     reports a whole-object one). A retried CreateMultipart whose first
//     response was lost can leave an upload ID nobody knows; bucket lifecycle
//     rules (AbortIncompleteMultipartUpload) and AbortStale cover that.
//
// # Uploads
//
// UploadFile reads parts straight from an io.ReaderAt through
// io.NewSectionReader: a part is never copied into a buffer. Each part is
// read twice (once to checksum it, once to send it; the page cache serves the
// second read) because the checksum goes in the request headers. One
// goroutine hashes the parts in order, at most Concurrency parts ahead of
// the senders, so a sender never waits for a checksum and the first wave of
// parts does not hash all at once before anything is sent. Concurrency
// parts are in flight at once; a sender journals its part before it takes
// the next, so a crash leaves at most Concurrency parts sent and not
// journaled (sent again by the resume).
//
// Part size: Options.PartSize (default 16 MiB), raised to the store's
// MinPartSize, grown (to whole MiB) until the parts fit in MaxParts, and at
// most MaxPartSize. An object no larger than one part, or a store without
// Multiparter, is uploaded with one Put, never multipart.
//
// UploadStream does not know the size. Its part sizes start at the same
// size and double every K parts, K the largest interval for which MaxParts
// parts still reach MaxObjectSize (capped at MaxPartSize), so one stream can
// reach the store's largest object. Part buffers come from a byte-weighted
// pool capped by Options.MemoryLimit (like rclone's lib/multipart token pool:
// a part waits for memory before it is read) and are reused. A part larger
// than MemoryLimit/Concurrency is spilled to a temporary file in SpillDir
// (os.TempDir when empty), removed once the part is sent. A stream that ends
// within the first part is one Put.
//
// Memory model: UploadFile holds no part buffers (a 1 MiB hashing buffer
// and a 32 KiB copy buffer per part in flight); UploadStream holds at most MemoryLimit bytes of part
// buffers plus Concurrency spill files on disk; Download holds a 1 MiB copy
// buffer per range in flight.
//
// Integrity: each part carries its CRC32C (PartOptions.Checksum) when the
// store verifies CRC32C, its MD5 only when the store verifies nothing else,
// nothing otherwise. The CRC32C of every part is computed in any case and
// combined (crc32 combine over GF(2)) into the whole object's CRC32C, which
// is given to Complete (or Put) for backends that check it and recorded in
// the result's Checksums. The byte count is checked before Complete. The
// md5chksum metadata is passed through only when the caller put it in
// PutOptions; it is never computed here.
//
// Failure: a failed upload is Aborted, so no parts are left behind, unless a
// Journal is set and the failure is the caller's context ending (or the
// process dying), in which case the upload and its journal stay, resumable.
//
// # Journal and resume
//
// With Options.Journal set, UploadFile saves an UploadJournal (upload ID,
// part size, source fingerprint, finished parts with ETag and CRC32C) after
// every finished part, durable before the part counts as done, and deletes it
// after Complete or Abort. On start, a journal for (StoreID, key) with the same
// fingerprint and part size is resumed: ResumeMultipart, then ListParts
// confirms each journaled part (same number and size, and the same ETag, or
// the same CRC32C when the server gives no ETag) and only the other parts are
// sent. A journal that does not match is aborted and discarded. Streams are
// not resumable (their source cannot be reread) and are not journaled.
// AbortStale aborts and forgets journaled uploads older than a maximum age
// (DefaultStaleAge, 7 days, which is also how long Azure keeps uncommitted
// blocks).
//
// Crash points: after the part is journaled, Options.AfterPart(n) runs and
// CrashPoint("after-part-N") is called, N counting the parts finished by this
// call (1-based), so BYOB_CRASH_AT=after-part-3 kills the process with three
// parts durable in the journal.
//
// # Downloads
//
// Download Stats the object once, then fetches PartSize ranges with
// Concurrency workers, each Get conditional on that Version (IfMatch) and
// retried and resumed like NewRetryingStore's Get. An object that changes
// during the download fails the whole download with an error wrapping
// providers.ErrPrecondition. The ranges' CRC32Cs are combined and checked
// against a whole-object CRC32C when the Stat reported one.
//
// # Concurrency
//
// Each Uploader and Downloader call is independent; an Uploader may be used by
// several goroutines. Locks: uploadState.mu guards the journal record and
// the finished-parts table of one upload (it is held across SaveUpload so
// saves are ordered); bufPool.mu guards the pool's free lists. Neither is
// held while the other is taken, so there is no lock order to respect.
package transfer
