package s3

import (
	"context"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// Store is one bucket reached with aws-sdk-go-v2. It is safe for concurrent
// use; it holds no mutable state besides the SDK client's connection pool.
type Store struct {
	client *s3.Client
	bucket string
	kms    string // SSE-KMS key for uploads, "" for none
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
		return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, nil)
	}
	client, ep, tr, fc, err := newClient(ctx, a, opts)
	if err != nil {
		return nil, err
	}
	return &Store{client: client, bucket: a.Bucket, kms: a.KMSKeyID, tr: tr, opts: opts, ep: ep, creds: fc,
		caps: s3compat.Capabilities(opts, ep.AWS)}, nil
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

// versionOf is the Version of an ETag: the ETag without its quotes.
func versionOf(etag *string) string { return s3compat.Version(aws.ToString(etag)) }

func optETag(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(s3compat.QuoteETag(v))
}

// sse sets SSE-KMS on an upload when the address asked for it.
func (s *Store) sse() (types.ServerSideEncryption, *string) {
	if s.kms == "" {
		return "", nil
	}
	return types.ServerSideEncryptionAwsKms, aws.String(s.kms)
}

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
			_, err := s3compat.Call(s.creds, nil, mapper(op, key), func() (*s3.HeadObjectOutput, error) {
				return s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
			})
			return err
		},
		AnyBelow: func(ctx context.Context, prefix string) (bool, error) {
			out, err := s3compat.Call(s.creds, nil, mapper(op, key), func() (*s3.ListObjectsV2Output, error) {
				return s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1)})
			})
			if err != nil {
				return false, err
			}
			return len(out.Contents) > 0, nil
		},
	}, mapErr)
}
