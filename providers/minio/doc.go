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
// Files by concern: client.go (endpoint, region, credentials, transport with
// AWS_CA_BUNDLE and extra CAs), store.go (Store, Capabilities, key checks),
// rw.go, list.go, copy.go, multipart.go, presign.go and errors.go.
package minio
