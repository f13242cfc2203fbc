package minio

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
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
	creds  *s3compat.FileCreds // nil unless the credentials come from a file
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
	core, ep, tr, fc, err := newCore(a, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{core: core, bucket: a.Bucket, tr: tr, opts: opts, ep: ep, creds: fc, caps: s3compat.Capabilities(opts, ep.AWS)}
	if a.KMSKeyID != "" {
		if s.sse, err = encrypt.NewSSEKMS(a.KMSKeyID, nil); err != nil {
			return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, err)
		}
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
func (s *Store) Capabilities() providers.Capabilities { return s3compat.CloneCapabilities(s.caps) }

// Close releases idle connections.
func (s *Store) Close() error {
	s.tr.CloseIdleConnections()
	return nil
}

// Bucket is the bucket this store is rooted at.
func (s *Store) Bucket() string { return s.bucket }

// mapper returns mapErr for op and key.
func mapper(op, key string) func(error) error {
	return func(err error) error { return mapErr(op, key, err) }
}

// upMapper returns uploadErr for op and key.
func upMapper(op, key string) func(error) error {
	return func(err error) error { return uploadErr(op, key, err) }
}

// checkKey: see s3compat.CheckKey.
func (s *Store) checkKey(op, key string) error { return s3compat.CheckKey(op, key, s.caps.OddKeys) }

// checkPrefixConflict: see s3compat.CheckPrefixConflict.
func (s *Store) checkPrefixConflict(ctx context.Context, op, key string) error {
	return s3compat.CheckPrefixConflict(ctx, op, key, s.caps, s3compat.ConflictProbe{
		Head: func(ctx context.Context, k string) error {
			_, err := s3compat.Call(s.creds, nil, mapper(op, key), func() (minio.ObjectInfo, error) {
				return s.core.StatObject(ctx, s.bucket, k, minio.StatObjectOptions{})
			})
			return err
		},
		AnyBelow: func(ctx context.Context, prefix string) (bool, error) {
			res, err := s3compat.Call(s.creds, nil, mapper(op, key), func() (minio.ListBucketV2Result, error) {
				return s.listPage(ctx, prefix, "", "", "", 1)
			})
			if err != nil {
				return false, err
			}
			return len(res.Contents) > 0 || len(res.CommonPrefixes) > 0, nil
		},
	}, mapErr)
}

// etags returns the Version and the quoted ETag of a minio-go ETag, which
// may come without quotes.
func etags(etag string) (version, quoted string) {
	v := s3compat.Version(etag)
	return v, `"` + v + `"`
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
