package minio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/byobfs/byob/providers"
)

// Store is one bucket reached with minio-go. It is safe for concurrent use;
// it holds no mutable state besides the client's connection pool.
type Store struct {
	core   *minio.Core
	bucket string
	sse    encrypt.ServerSide // SSE-KMS for uploads, nil for none
	tr     *http.Transport
	caps   providers.Capabilities
	opts   Options
	ep     endpoint
}

var (
	_ providers.Store       = (*Store)(nil)
	_ providers.Multiparter = (*Store)(nil)
	_ providers.Presigner   = (*Store)(nil)
	_ providers.Closer      = (*Store)(nil)
)

// Open returns the Store for a's bucket. It does not contact the server.
func Open(ctx context.Context, a providers.Address, opts Options) (*Store, error) {
	if (a.Scheme != "s3" && a.Scheme != "cw") || a.Bucket == "" {
		return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, errors.New("an s3:// or cw:// address with a bucket"))
	}
	core, ep, tr, err := newCore(a, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{core: core, bucket: a.Bucket, tr: tr, opts: opts, ep: ep}
	if a.KMSKeyID != "" {
		if s.sse, err = encrypt.NewSSEKMS(a.KMSKeyID, nil); err != nil {
			return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, err)
		}
	}
	oddKeys, coexist := ep.AWS, ep.AWS
	if opts.OddKeys != nil {
		oddKeys = *opts.OddKeys
	}
	if opts.ObjectPrefixCoexist != nil {
		coexist = *opts.ObjectPrefixCoexist
	}
	s.caps = providers.Capabilities{
		Multipart:           providers.MultipartNative,
		MinPartSize:         minPartSize,
		MaxPartSize:         maxPartSize,
		MaxParts:            maxParts,
		MaxObjectSize:       maxObjectSize,
		MaxPutSize:          maxPutSize,
		ResumableUploads:    true,
		NativeStartAfter:    true,
		VerifiedChecksums:   []providers.ChecksumAlgorithm{providers.ChecksumCRC32C, providers.ChecksumMD5},
		ObjectPrefixCoexist: coexist,
		ConflictsRefused:    !coexist && opts.CheckPrefixConflicts,
		OddKeys:             oddKeys,
		MaxKeyLength:        maxKeyLength,
		ConditionalWrites:   true,
		VersionOnRewrite:    false,
	}
	return s, nil
}

// Opener opens a's store with DefaultOptions and returns a.Path as the
// key prefix.
func Opener(ctx context.Context, a providers.Address) (providers.Store, string, error) {
	s, err := Open(ctx, a, DefaultOptions())
	if err != nil {
		return nil, "", err
	}
	return s, a.Path, nil
}

// Capabilities implements providers.Store.
func (s *Store) Capabilities() providers.Capabilities {
	c := s.caps
	c.VerifiedChecksums = append([]providers.ChecksumAlgorithm(nil), c.VerifiedChecksums...)
	return c
}

// Close releases idle connections.
func (s *Store) Close() error {
	s.tr.CloseIdleConnections()
	return nil
}

// Bucket is the bucket this store is rooted at.
func (s *Store) Bucket() string { return s.bucket }

func checkIfNoneMatch(op, key, v string) error {
	if v != "" && v != "*" {
		return providers.NewOpError(op, key, providers.ErrInvalidArgument, errIfNoneMatch)
	}
	return nil
}

// checkKey refuses, before any request, the empty key, keys over
// MaxKeyLength and, where OddKeys is false, keys the server would refuse or
// silently rewrite (MinIO strips a leading "/", so "/a" would reach "a").
func (s *Store) checkKey(op, key string) error {
	switch {
	case key == "":
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errEmptyKey)
	case len(key) > maxKeyLength:
		return providers.NewOpError(op, "", providers.ErrInvalidKey, fmt.Errorf("key of %d bytes is over %d", len(key), maxKeyLength))
	case !utf8.ValidString(key):
		// minio-go refuses such names itself, with an untyped error.
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errNotUTF8)
	case !s.caps.OddKeys && hasOddSegment(key):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errOddKey)
	}
	return nil
}

func hasOddSegment(key string) bool {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		if (seg == "" && i != len(segs)-1) || seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// checkPrefixConflict, where ObjectPrefixCoexist is false, refuses a write
// of key when an ancestor ("a" for "a/b") is an object or key has
// descendants. MinIO accepts both but then lists nothing under "a/". It
// costs one HEAD per ancestor and one LIST per write, and is not atomic
// against a concurrent writer of the conflicting key.
func (s *Store) checkPrefixConflict(ctx context.Context, op, key string) error {
	if s.caps.ObjectPrefixCoexist || !s.caps.ConflictsRefused {
		return nil
	}
	for i := 1; i < len(key); i++ {
		if key[i] != '/' {
			continue
		}
		_, err := s.core.StatObject(ctx, s.bucket, key[:i], minio.StatObjectOptions{})
		if err == nil {
			return providers.NewOpError(op, key, providers.ErrInvalidKey, fmt.Errorf("%q is an object: this server cannot hold keys below it", key[:i]))
		}
		if me := mapErr(op, key, err); !errors.Is(me, providers.ErrNotExist) {
			return me
		}
	}
	if strings.HasSuffix(key, "/") || len(key) >= maxKeyLength {
		return nil // no key can be below it
	}
	res, err := s.listPage(ctx, key+"/", "", "", "", 1)
	if err != nil {
		return mapErr(op, key, err)
	}
	if len(res.Contents) > 0 || len(res.CommonPrefixes) > 0 {
		return providers.NewOpError(op, key, providers.ErrInvalidKey, fmt.Errorf("keys below %q exist: this server cannot hold an object beside them", key+"/"))
	}
	return nil
}

// putOptions maps PutOptions onto minio-go's: user metadata as
// x-amz-meta-* headers, conditions, SSE-KMS, and a CRC32C the caller gave
// as x-amz-checksum-crc32c for the server to verify. Bodies are sent as
// UNSIGNED-PAYLOAD.
func (s *Store) putOptions(opts providers.PutOptions) minio.PutObjectOptions {
	po := minio.PutObjectOptions{
		ContentType:          opts.ContentType,
		ServerSideEncryption: s.sse,
		DisableContentSha256: true,
		DisableMultipart:     true,
	}
	if len(opts.Metadata) > 0 || opts.Checksum.Algorithm == providers.ChecksumCRC32C {
		po.UserMetadata = make(map[string]string, len(opts.Metadata)+2)
	}
	for k, v := range opts.Metadata {
		po.UserMetadata["x-amz-meta-"+strings.ToLower(k)] = v
	}
	if opts.IfMatch != "" {
		po.SetMatchETag(opts.IfMatch)
	}
	if opts.IfNoneMatch == "*" {
		po.SetMatchETagExcept("*")
	}
	return po
}

func setCRC32C(po *minio.PutObjectOptions, c providers.Checksum) {
	if c.Algorithm != providers.ChecksumCRC32C || c.IsZero() {
		return
	}
	if po.UserMetadata == nil {
		po.UserMetadata = map[string]string{}
	}
	po.UserMetadata["x-amz-checksum-crc32c"] = c.Base64()
}
