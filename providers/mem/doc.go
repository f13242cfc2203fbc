// Package mem is an in-memory providers.Store: a bucket that lives as long
// as its *Store. It accepts every key S3 accepts (empty and dot segments,
// a trailing "/", both "a" and "a/b"), honours conditional writes, keeps
// server ModTimes and user metadata, copies server-side, lists in byte order
// from a sorted index, and uploads in parts (providers.MultipartMemory,
// resumable by ID within the process). It refuses the empty key, keys over
// MaxKeyLength bytes and keys that are not valid UTF-8 with
// providers.ErrInvalidKey, as buckets do.
//
// It exists for tests: of the layers above (name mapping needs keys MinIO
// refuses; transfer tests lower the part limits through Options) and as the
// reference backend of providers/storetest, which it passes in full.
//
// Versions are a per-store counter, so every write (Put, Copy, Complete)
// changes the Version even when the bytes do not (VersionOnRewrite).
// The server verifies CRC32C and MD5 checksums sent with Put and UploadPart.
package mem
