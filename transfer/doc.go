// Package transfer moves bytes between a caller and a providers.Store: a
// concurrent multipart uploader (UploadFile, UploadStream), a parallel ranged
// downloader (Download), the resume journal interface (Journal) that cache
// implements with its record types (UploadJournal), and the crash points
// of the binary (CrashPoint). It imports only providers.
//
// The store it is given retries its own calls (providers/wrap.Stack): a
// part, a Put of a file's section, a Complete and a ranged Get are each
// retried there, and a Get whose body breaks is resumed there.
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
// With Options.Journal set and a source fingerprint given (a zero one
// could match any earlier upload of the key), UploadFile saves an
// UploadJournal (upload ID, part size, source fingerprint, finished parts
// with ETag and CRC32C) after every finished part, durable before the part
// counts as done, and deletes it after Complete or Abort. On start, a journal for (StoreID, key) with the same
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
// # Live uploads
//
// Uploader.Live follows a file while an application writes it (the
// mount's new and truncated files): each part written contiguously from
// offset 0 is sent as soon as it is complete, from a PartBuffer the writer
// hands over (Live.Take; within Options.LiveMemory) or read back from the
// file; Finish sends the rest and completes with the combined CRC32C. A
// write it cannot follow gives it up (aborted in the background; Wait
// waits for those aborts) and the caller uploads the file whole. Its part
// size and checksums are UploadFile's. With a Journal it records its upload
// (Source.Path LiveSource + the file), so AbortLiveOrphans can abort what
// a killed process left: a file never closed is never published.
//
// # Downloads
//
// Download Stats the object once, then fetches PartSize ranges with
// Concurrency workers, each Get conditional on that Version (IfMatch) and
// retried and resumed by the store's retries. An object that changes
// during the download fails the whole download with an error wrapping
// providers.ErrPrecondition. The ranges' CRC32Cs are combined and checked
// against a whole-object CRC32C when the Stat reported one.
//
// # Concurrency
//
// Each Uploader and Downloader call is independent; an Uploader may be used by
// several goroutines. Locks: uploadState.mu guards the journal record and
// the finished-parts table of one upload (it is held across SaveUpload so
// saves are ordered); Memory.mu and Buffers.mu guard their accounting and
// free lists and are leaves. None of them is held while another is
// taken, so there is no lock order to respect.
package transfer
