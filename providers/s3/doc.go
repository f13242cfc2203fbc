// Package s3 is the aws-sdk-go-v2 backend: AWS S3 itself, CoreWeave AI
// Object Storage (cw:// addresses, virtual-hosted style, TLS 1.3 on
// cwobject.com) and any S3-compatible endpoint reached with sdk=aws.
//
// It only maps SDK calls and errors onto the providers contract. Policy lives
// above it: the SDK's retries are switched off (transfer decides what to
// retry from the typed errors in errors.go), checksums are sent only when the
// caller gives one (CRC32C, verified by the server), and nothing is cached.
//
// What does not depend on the SDK (options, capabilities, endpoint and
// transport with AWS_CA_BUNDLE, key checks, the S3 error-code table, the
// exact-size body, listing merge, copy and multipart bookkeeping) lives in
// providers/internal/s3compat, shared with providers/minio; both run the
// behaviour suite of s3compat/s3compattest.
//
// Files by concern: client.go builds the SDK client (credentials, region,
// endpoint options); store.go holds the Store; rw.go is Stat/Get/Put/Delete;
// list.go, copy.go, multipart.go and presign.go the rest; errors.go
// extracts status and code from SDK errors.
package s3
