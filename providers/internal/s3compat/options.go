package s3compat

import (
	"net/http"
	"time"

	"github.com/byobfs/byob/providers"
)

// Options tune how a Store of either S3 backend reaches its endpoint. The
// zero value is the default. providers/s3 and providers/minio export it
// under their own name, so both take, and honour, the same fields.
type Options struct {
	// Transport is the base HTTP transport (dialer, proxy, timeouts, TLS
	// settings). It is cloned, never modified; nil clones
	// http.DefaultTransport. The clone's TLS root pool is the base's RootCAs
	// (or the system pool) plus the PEMs of AWS_CA_BUNDLE plus CACertsPEM,
	// so sdk=aws and sdk=minio trust the same CAs.
	Transport *http.Transport
	// CACertsPEM are extra PEM CA certificates to trust (a self-signed MinIO).
	CACertsPEM []byte
	// PathStyle forces path-style (true) or virtual-hosted style (false)
	// requests. nil chooses: path style for s3:// with a non-AWS endpoint,
	// virtual-hosted style for cw:// and AWS itself.
	PathStyle *bool
	// OddKeys overrides Capabilities.OddKeys. nil: true on AWS endpoints
	// only, since MinIO and other servers refuse "a//b", "."/".." segments
	// and objects ending in "/".
	OddKeys *bool
	// ObjectPrefixCoexist overrides Capabilities.ObjectPrefixCoexist. nil:
	// true on AWS endpoints only: MinIO stores "a" and "a/b" but its
	// listings then omit everything under "a/".
	ObjectPrefixCoexist *bool
	// CheckPrefixConflicts, where ObjectPrefixCoexist is false, refuses a
	// write of "a" beside "a/..." (or the reverse) with ErrInvalidKey, at the
	// cost of one HEAD per "/" in the key and one LIST per write, and without
	// atomicity against a concurrent writer. Off by default: the layers above
	// avoid creating both (Capabilities.ConflictsRefused is false).
	CheckPrefixConflicts bool
	// MultipartCopyThreshold: Copy of a larger source uses UploadPartCopy.
	// 0 means 5 GiB, the largest single CopyObject S3 allows.
	MultipartCopyThreshold int64
	// CopyPartSize is the part size of a multipart copy; 0 means 512 MiB.
	// It is raised to MinPartSize and to what 10,000 parts need.
	CopyPartSize int64
}

// S3's limits.
const (
	MinPartSize   = 5 << 20
	MaxPartSize   = 5 << 30
	MaxParts      = 10000
	MaxObjectSize = 5 << 40
	MaxPutSize    = 5 << 30 // also the largest single CopyObject
	MaxKeyLength  = 1024
	// MaxPresignExpiry is SigV4's limit.
	MaxPresignExpiry = 7 * 24 * time.Hour

	defaultCopyPartSize = 512 << 20
)

// Capabilities are an S3 store's: aws tells whether the endpoint is AWS
// itself, where OddKeys and ObjectPrefixCoexist hold unless opts override
// them. ConflictsRefused holds where objects and prefixes cannot coexist
// and opts.CheckPrefixConflicts asks for the check.
func Capabilities(opts Options, aws bool) providers.Capabilities {
	oddKeys, coexist := aws, aws
	if opts.OddKeys != nil {
		oddKeys = *opts.OddKeys
	}
	if opts.ObjectPrefixCoexist != nil {
		coexist = *opts.ObjectPrefixCoexist
	}
	return providers.Capabilities{
		Multipart:           providers.MultipartNative,
		MinPartSize:         MinPartSize,
		MaxPartSize:         MaxPartSize,
		MaxParts:            MaxParts,
		MaxObjectSize:       MaxObjectSize,
		MaxPutSize:          MaxPutSize,
		ResumableUploads:    true,
		NativeStartAfter:    true,
		VerifiedChecksums:   []providers.ChecksumAlgorithm{providers.ChecksumCRC32C, providers.ChecksumMD5},
		ObjectPrefixCoexist: coexist,
		ConflictsRefused:    !coexist && opts.CheckPrefixConflicts,
		OddKeys:             oddKeys,
		MaxKeyLength:        MaxKeyLength,
		ConditionalWrites:   true,
		VersionOnRewrite:    false,
	}
}

// CloneCapabilities returns c with its own VerifiedChecksums, so a caller
// cannot change the store's.
func CloneCapabilities(c providers.Capabilities) providers.Capabilities {
	c.VerifiedChecksums = append([]providers.ChecksumAlgorithm(nil), c.VerifiedChecksums...)
	return c
}
