package providers

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Store is one bucket (or container) of one backend. Every method may block
// and takes ctx first; a cancelled ctx ends the call with an error wrapping
// ctx.Err(). The prose contract is in doc.go.
type Store interface {
	// Stat returns the object's attributes and user metadata, or ErrNotExist.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn once per entry in byte-wise key order, in the caller's
	// goroutine. Entries carry no user metadata.
	List(ctx context.Context, opts ListOptions, fn func(Entry) error) error
	// Get reads length bytes (-1: to the end) from off. The returned info
	// describes the object the bytes come from.
	Get(ctx context.Context, key string, off, length int64, opts GetOptions) (io.ReadCloser, ObjectInfo, error)
	// Put stores exactly size bytes from r as key, atomically.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Copy copies src to dst inside this store, server-side.
	Copy(ctx context.Context, src, dst string, opts CopyOptions) (ObjectInfo, error)
	// Capabilities describes the backend's limits and abilities. It is data,
	// constant for the life of the Store.
	Capabilities() Capabilities
}

// Closer is implemented by stores that hold resources (idle connections,
// temporary files). Callers close a store they opened when done with it.
type Closer interface {
	Close() error
}

// ObjectInfo describes one object.
type ObjectInfo struct {
	Key  string
	Size int64
	// Version is opaque: S3 ETag (or VersionId), GCS generation, Azure ETag,
	// a counter or size+mtime+inode for mem and local. It changes whenever the
	// bytes change. Never treat it as a content hash.
	Version string
	// ModTime is the server's modification (upload) time. The file's own
	// modification time, when known, is in Metadata[MetaMtime].
	ModTime     time.Time
	ContentType string
	// ETag is the raw ETag when the backend has one (informational).
	ETag string
	// Metadata is the user metadata with lower-case keys. Listings leave it nil.
	Metadata map[string]string
	// Checksums the server reported for the whole object (may be empty).
	Checksums []Checksum
}

// Entry is one item of a listing: an object, or a common prefix (IsPrefix,
// only Key set, ending in the delimiter).
type Entry struct {
	ObjectInfo
	IsPrefix bool
}

// ListOptions select what List returns.
type ListOptions struct {
	Prefix     string // only keys starting with Prefix
	Delimiter  string // "" (flat, recursive) or "/" (one level, with common prefixes)
	StartAfter string // only keys sorting strictly after StartAfter
}

// GetOptions make a read conditional.
type GetOptions struct {
	// IfMatch, when set, is a Version the object must still have; otherwise
	// the read fails with ErrPrecondition.
	IfMatch string
}

// PutOptions describe the object being written.
type PutOptions struct {
	ContentType string
	// Metadata is user metadata; keys must be lower-case.
	Metadata map[string]string
	// Checksum, when set, is the whole object's checksum. A backend whose
	// Capabilities list the algorithm sends it for the server to verify; the
	// others verify it themselves or ignore it (Capabilities says which).
	Checksum Checksum
	// IfMatch: the write happens only if the object still has this Version.
	IfMatch string
	// IfNoneMatch: only "*", the write happens only if the key does not exist.
	IfNoneMatch string
}

// CopyOptions control a server-side copy.
type CopyOptions struct {
	// IfMatch: the copy happens only if the source still has this Version.
	IfMatch string
	// Metadata, when non-nil, replaces the user metadata (and ContentType,
	// when set, the content type); when nil both are copied from the source.
	Metadata    map[string]string
	ContentType string
}

// Multiparter is implemented by stores that upload one object in parts.
type Multiparter interface {
	// CreateMultipart starts an upload of key. PutOptions' metadata and
	// content type apply to the finished object; its conditions are given
	// again at Complete.
	CreateMultipart(ctx context.Context, key string, opts PutOptions) (Upload, error)
	// ResumeMultipart reattaches to an upload started earlier (by this or
	// another process) from its ID, as recorded in a journal.
	// An unknown ID is ErrUploadNotFound.
	ResumeMultipart(ctx context.Context, key, uploadID string) (Upload, error)
}

// Upload is one multipart upload in progress.
type Upload interface {
	// ID identifies the upload for ResumeMultipart. Backends without
	// server-side upload IDs make one that encodes what they need.
	ID() string
	// Key is the object key the upload will create.
	Key() string
	// UploadPart uploads part n (1-based) of size bytes from r. Uploading a
	// part number again replaces it. r is read from its start; retries seek it.
	UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts PartOptions) (Part, error)
	// ListParts returns the parts the server holds, by number.
	ListParts(ctx context.Context) ([]Part, error)
	// Complete assembles parts (ascending numbers) into the object. All parts
	// but the last are at least Capabilities.MinPartSize.
	Complete(ctx context.Context, parts []Part, opts CompleteOptions) (ObjectInfo, error)
	// Abort discards the upload and its parts. Aborting twice is not an error.
	Abort(ctx context.Context) error
}

// Part is an uploaded part.
type Part struct {
	Number   int
	Size     int64
	ETag     string
	Checksum Checksum
}

// PartOptions carry a part's checksum for the server to verify.
type PartOptions struct {
	Checksum Checksum
}

// CompleteOptions are the conditions and whole-object checksum of Complete.
type CompleteOptions struct {
	Checksum    Checksum
	IfMatch     string
	IfNoneMatch string
}

// Presigner is implemented by stores that can hand out pre-signed URLs. The
// returned headers must be sent with the request: they are part of the
// signature. The URL is a secret: never log it.
type Presigner interface {
	Presign(ctx context.Context, req PresignRequest) (url string, headers http.Header, err error)
}

// PresignRequest describes the request a pre-signed URL will allow.
type PresignRequest struct {
	Method     string // GET, PUT, HEAD, DELETE
	Key        string
	Expiry     time.Duration
	Put        PutOptions // for PUT: the headers to sign
	UploadID   string     // for a part upload: the multipart upload
	PartNumber int
}

// MultipartKind says how a backend assembles an object from parts.
type MultipartKind uint8

const (
	// MultipartNone: the backend has no multipart upload; use Put.
	MultipartNone MultipartKind = iota
	// MultipartNative: server-side upload IDs that can be listed and aborted (S3, MinIO).
	MultipartNative
	// MultipartBlocks: staged blocks and a commit list (Azure): no upload ID
	// on the server, uncommitted blocks expire (7 days) and any commit of the
	// blob discards every other writer's uncommitted blocks.
	MultipartBlocks
	// MultipartCompose: parts are temporary objects composed at the end (GCS).
	MultipartCompose
	// MultipartLocal: parts are local files joined at the end (local backend).
	MultipartLocal
	// MultipartMemory: parts held in memory (mem backend).
	MultipartMemory
)

func (k MultipartKind) String() string {
	return [...]string{"none", "native", "blocks", "compose", "local", "memory"}[k]
}

// Capabilities is data about a backend's limits and abilities. The
// conformance suite and the layers above branch on it; nothing probes.
type Capabilities struct {
	// Multipart is how large objects are assembled.
	Multipart MultipartKind
	// MinPartSize is the smallest part allowed except the last.
	MinPartSize int64
	// MaxPartSize is the largest part allowed.
	MaxPartSize int64
	// MaxParts is the largest number of parts in one upload (10,000 on S3).
	MaxParts int
	// MaxObjectSize is the largest object (5 TiB on S3).
	MaxObjectSize int64
	// MaxPutSize is the largest single Put.
	MaxPutSize int64
	// ResumableUploads: an upload can be continued from its ID after the
	// process that started it has died.
	ResumableUploads bool
	// NativeStartAfter: StartAfter is sent to the server (otherwise the
	// backend skips entries client-side, still in one pass).
	NativeStartAfter bool
	// VerifiedChecksums lists the algorithms the server itself verifies on
	// upload when the client sends them.
	VerifiedChecksums []ChecksumAlgorithm
	// ObjectPrefixCoexist: a key "a" and keys "a/..." can exist together
	// (false on local disks, where a is either a file or a directory).
	ObjectPrefixCoexist bool
	// ConflictsRefused applies where ObjectPrefixCoexist is false: true when
	// the backend refuses the second of "a" and "a/..." with ErrInvalidKey
	// (local); false when the server accepts both but its listings then hide
	// the keys below the object (MinIO): layers above must not create both.
	ConflictsRefused bool
	// OddKeys: keys with empty or dot segments ("a//b", "a/./b", "a/../b")
	// and a trailing "/" on an object are stored as given.
	OddKeys bool
	// MaxKeyLength is the longest key in bytes (1024 on S3).
	MaxKeyLength int
	// ConditionalWrites: Put/Complete honour IfMatch and IfNoneMatch "*".
	ConditionalWrites bool
	// VersionOnRewrite: rewriting identical bytes changes the Version
	// (true for mem and local; S3 ETags change only with the bytes).
	VersionOnRewrite bool
}

// Verifies reports whether the server verifies checksums of algorithm a.
func (c Capabilities) Verifies(a ChecksumAlgorithm) bool {
	for _, v := range c.VerifiedChecksums {
		if v == a {
			return true
		}
	}
	return false
}

// Metadata keys shared with rclone.
const (
	// MetaMtime is the file's modification time, float seconds since the epoch.
	MetaMtime = "mtime"
	// MetaMD5 is the base64 MD5 of the whole object, set only when known
	// before the upload starts.
	MetaMD5 = "md5chksum"
)
