// Package gcs is the Google Cloud Storage backend (gs:// addresses), on
// cloud.google.com/go/storage over the JSON API.
//
// Endpoint: the address's ?endpoint=URL (fake-gcs-server, a private
// endpoint), else STORAGE_EMULATOR_HOST as the client library honours it,
// else Google. Credentials: the address's service-account email and PEM
// private key ("key"), else Application Default Credentials ("adc"); an
// emulator reached without credentials is used unauthenticated ("none").
// See Store.CredentialKind. A key that came from a credentials file
// (Address.CredentialsFile) is followed while the store is open
// (creds.go): after a rotation written to the file, requests carry a token
// of the new key and Presign signs with it.
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
// Multipart uploads (providers.Multiparter, MultipartCompose): the JSON API
// and fake-gcs-server have no XML multipart API, so each part is written
// as a temporary object TempPrefix + nonce + "/" + 5-digit number, with
// its CRC32C sent for the server to verify. The upload ID ("gcs1." +
// nonce + "." + base64url JSON) carries the content type, metadata and a
// checksum of the key, so any process can resume it per part
// (ResumableUploads). Complete composes 32 sources at a time (levels of
// intermediate composites above 32, up to 10,000 parts), checks the size
// and the combined CRC32C, and deletes the temporaries; Abort deletes
// them; CleanupUploads removes what killed processes left. TempPrefix
// never appears in List and is refused as a key. MinPartSize is 5 MiB (as
// on S3; compose has none, Options.MinPartSize lowers it). Conditions of
// Complete are checked just before the last compose and sent with it
// (fake-gcs-server ignores preconditions on compose; GCS enforces them).
//
// Presign makes V4 signed URLs with the address's service-account key (or
// what ADC holds). fake-gcs-server serves signed URLs without checking the
// signature, so tests check their shape.
//
// Put never uses the library's unbuffered single request (Writer.ChunkSize
// 0): when its body reader fails midway it still terminates the multipart
// body, and the server stores the truncated object. Small objects are sent
// in one request from a buffer of their size instead.
package gcs
