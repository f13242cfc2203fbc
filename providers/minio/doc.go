// Package minio is the minio-go v7 backend for any S3-compatible endpoint:
// the default for s3:// addresses whose endpoint is not AWS (sdk=minio
// forces it). It passes the same conformance suite as providers/s3.
//
// It only maps minio-go calls and errors onto the providers contract:
// minio-go's retries are off per client (Options.MaxRetries = 1; transfer
// decides what to retry), bodies go as UNSIGNED-PAYLOAD (no SHA-256 of every
// byte), a CRC32C is sent only when the caller gives one, and multipart and
// listings use minio.Core so each call is one request.
//
// What does not depend on the SDK lives in providers/internal/s3compat,
// shared with providers/s3, so sdk=aws and sdk=minio apply the same rules.
//
// Files by concern: client.go (minio-go's endpoint form, credentials),
// store.go (Store, put options), rw.go, list.go, copy.go, multipart.go,
// presign.go and errors.go (status and code of minio-go errors).
package minio
