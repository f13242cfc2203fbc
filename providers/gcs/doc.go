// Package gcs is the Google Cloud Storage backend (gs:// addresses), on
// cloud.google.com/go/storage over the JSON API.
//
// Endpoint: the address's ?endpoint=URL (fake-gcs-server, a private
// endpoint), else STORAGE_EMULATOR_HOST as the client library honours it,
// else Google. Credentials: the address's service-account email and PEM
// private key ("key"), else Application Default Credentials ("adc"); an
// emulator reached without credentials is used unauthenticated ("none").
// See Store.CredentialKind.
//
// The client's own retries are switched off (storage.RetryNever): retries
// are decided in providers/transfer from the typed errors of errors.go.
//
// Versions are GCS generations as decimal strings; every write makes a new
// generation, so Capabilities.VersionOnRewrite is true. A read conditional on
// a Version is pinned to that generation, so its bytes never mix versions.
//
// The rclone-compatible "mtime" metadata is also written as gcloud's
// "goog-reserved-file-mtime" (integer seconds), which is hidden on reads and
// used as "mtime" when only it is present.
//
// Multipart uploads (compose of temporary part objects) and resumable
// uploads across processes are not implemented yet: Capabilities.Multipart
// is MultipartNone and large objects go through one Put (a resumable
// session inside the one call above Options.ChunkSize).
//
// Put never uses the library's unbuffered single request (Writer.ChunkSize
// 0): when its body reader fails midway it still terminates the multipart
// body, and the server stores the truncated object. Small objects are sent
// in one request from a buffer of their size instead.
package gcs
