// Package providers owns the storage contract every backend implements and
// every layer above (transfer, cache, layout, fs, sync, cmd) programs against.
//
// It holds, and nothing else:
//
//   - the Store interface and its optional abilities (Multiparter, Presigner),
//     with the data types they exchange (ObjectInfo, Entry, the option structs,
//     Capabilities, Checksum);
//   - the sentinel errors (errors.go) and OpError, which carries a sentinel and
//     the SDK's cause together so callers use errors.Is / errors.As only;
//   - address parsing and redaction for every BYOB address form (address.go),
//     the single place that turns user-pasted addresses into data and the
//     single place that prints them (Address.Redacted);
//   - the Registry type mapping a scheme to an opener (the instance is built in
//     cmd; there is no package global).
//
// Backends live in sub-packages (mem, local, s3, minio, gcs, azure, presigned)
// and only map SDK calls and errors onto this contract. Policy (retries,
// caching, key layout) lives above them.
//
// # The contract in prose
//
// Keys are arbitrary byte strings as the bucket sees them: the contract does
// not clean, join or escape them. A backend that cannot store a key returns an
// error wrapping ErrInvalidKey and says so in Capabilities.
//
// List calls fn exactly once per entry, in strictly increasing byte-wise key
// order, in the caller's goroutine; if fn returns an error List stops and
// returns it unchanged. With Delimiter "/" the keys that share a prefix up to
// and including the next delimiter after Prefix come back once, as an Entry
// with IsPrefix set, in their sorted position. StartAfter excludes every key
// (and common prefix) that sorts at or before it.
//
// Get with length -1 reads to the end. 0 <= off <= size; off == size gives an
// empty body; off > size is ErrInvalidRange; a length running past the end is
// cut at the end. GetOptions.IfMatch makes the read conditional on the object's
// Version: a changed object is ErrPrecondition, never bytes of another version.
//
// Put stores exactly size bytes read from r, atomically: readers see the old
// object or the new one, never a part. A reader that yields fewer or more bytes
// than size is an error and nothing is stored. IfNoneMatch accepts only "*"
// (create-only); IfMatch takes a Version.
//
// Delete is idempotent: deleting a missing key is not an error.
//
// ObjectInfo.Version is opaque and changes whenever the bytes change (mem and
// local change it on every write). It is not a content hash: compare content
// by Checksum or by the md5chksum metadata, never by ETag alone.
//
// User metadata keys are lower-case. The rclone-compatible keys MetaMtime
// ("mtime", float seconds since the epoch) and MetaMD5 ("md5chksum", base64 of
// the MD5) let users mix byob with rclone.
package providers
