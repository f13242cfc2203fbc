package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
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
}

var (
	_ providers.Store       = (*Store)(nil)
	_ providers.Multiparter = (*Store)(nil)
	_ providers.Presigner   = (*Store)(nil)
	_ providers.Closer      = (*Store)(nil)
)

// Open returns the Store for a's bucket. It does not contact the server.
func Open(ctx context.Context, a providers.Address, opts Options) (*Store, error) {
	if a.Scheme != "s3" && a.Scheme != "cw" {
		return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, nil)
	}
	if a.Bucket == "" {
		return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, nil)
	}
	client, ep, tr, err := newClient(ctx, a, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{client: client, bucket: a.Bucket, kms: a.KMSKeyID, tr: tr, opts: opts, ep: ep}
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

// quoteETag turns a Version back into the quoted ETag conditional headers take.
func quoteETag(v string) string {
	if v == "" || v == "*" || strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `W/"`) {
		return v
	}
	return `"` + v + `"`
}

// versionOf is the Version of an ETag: the ETag without its quotes.
func versionOf(etag *string) string {
	return strings.Trim(aws.ToString(etag), `"`)
}

func optETag(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(quoteETag(v))
}

// sse sets SSE-KMS on an upload when the address asked for it.
func (s *Store) sse() (types.ServerSideEncryption, *string) {
	if s.kms == "" {
		return "", nil
	}
	return types.ServerSideEncryptionAwsKms, aws.String(s.kms)
}

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
		// S3 keys are UTF-8; the signer and the server disagree on anything else.
		return providers.NewOpError(op, key, providers.ErrInvalidKey, fmt.Errorf("key is not valid UTF-8"))
	case !s.caps.OddKeys && hasOddSegment(key):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errOddKey)
	}
	return nil
}

// hasOddSegment reports an empty segment ("//", a leading "/") or a "." or
// ".." segment. A trailing "/" is not odd here: MinIO stores it faithfully.
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
// descendants ("a/..." for "a"). MinIO accepts both but then lists nothing
// under "a/", so the contract's listing order could not hold. It costs one
// HEAD per ancestor and one LIST per write, and is not atomic against a
// concurrent writer of the conflicting key.
func (s *Store) checkPrefixConflict(ctx context.Context, op, key string) error {
	if s.caps.ObjectPrefixCoexist || !s.caps.ConflictsRefused {
		return nil
	}
	for i := 1; i < len(key); i++ {
		if key[i] != '/' {
			continue
		}
		_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key[:i])})
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
	out, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(key + "/"), MaxKeys: aws.Int32(1)})
	if err != nil {
		return mapErr(op, key, err)
	}
	if len(out.Contents) > 0 {
		return providers.NewOpError(op, key, providers.ErrInvalidKey, fmt.Errorf("keys below %q exist: this server cannot hold an object beside them", key+"/"))
	}
	return nil
}
