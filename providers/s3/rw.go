package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// unsignedPayload sends bodies as UNSIGNED-PAYLOAD: the SDK then neither
// hashes the body (SHA-256 would cost a core) nor needs to seek it. Integrity
// comes from TLS and from the CRC32C/MD5 the caller gives.
var unsignedPayload = s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)

// Stat implements providers.Store.
func (s *Store) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	if err := s.checkKey("stat", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	return s.head(ctx, "stat", key, "")
}

func (s *Store) head(ctx context.Context, op, key, ifMatch string) (providers.ObjectInfo, error) {
	out, err := s3compat.Call(s.creds, nil, mapper(op, key), func() (*s3.HeadObjectOutput, error) {
		return s.client.HeadObject(ctx, &s3.HeadObjectInput{
			Bucket:       aws.String(s.bucket),
			Key:          aws.String(key),
			IfMatch:      optETag(ifMatch),
			ChecksumMode: types.ChecksumModeEnabled,
		})
	})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	return providers.ObjectInfo{
		Key:         key,
		Size:        aws.ToInt64(out.ContentLength),
		Version:     versionOf(out.ETag),
		ETag:        aws.ToString(out.ETag),
		ModTime:     aws.ToTime(out.LastModified),
		ContentType: aws.ToString(out.ContentType),
		Metadata:    s3compat.Metadata(out.Metadata),
		Checksums:   wholeChecksums(out.ChecksumCRC32C, out.ChecksumType),
	}, nil
}

func wholeChecksums(crc *string, typ types.ChecksumType) []providers.Checksum {
	return s3compat.WholeCRC32C(aws.ToString(crc), typ == types.ChecksumTypeComposite)
}

// Get implements providers.Store. S3 answers a range starting at the size
// with 416; that is the empty read the contract asks for, so Get checks the
// size (with a HEAD, under the same If-Match) and returns an empty body.
func (s *Store) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	if err := s.checkKey("get", key); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	if err := s3compat.CheckRange(key, off, length); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	head := func() (providers.ObjectInfo, error) { return s.head(ctx, "get", key, opts.IfMatch) }
	if length == 0 {
		return s3compat.EmptyRead(key, off, head, nil)
	}
	in := &s3.GetObjectInput{
		Bucket:  aws.String(s.bucket),
		Key:     aws.String(key),
		IfMatch: optETag(opts.IfMatch),
	}
	if r := s3compat.RangeHeader(off, length); r != "" {
		in.Range = aws.String(r)
	}
	out, err := s3compat.Call(s.creds, nil, mapper("get", key), func() (*s3.GetObjectOutput, error) { return s.client.GetObject(ctx, in) })
	if err != nil {
		if s3compat.StatusOf(err) == 416 {
			return s3compat.EmptyRead(key, off, head, err)
		}
		return nil, providers.ObjectInfo{}, err
	}
	info := providers.ObjectInfo{
		Key:         key,
		Size:        aws.ToInt64(out.ContentLength),
		Version:     versionOf(out.ETag),
		ETag:        aws.ToString(out.ETag),
		ModTime:     aws.ToTime(out.LastModified),
		ContentType: aws.ToString(out.ContentType),
		Metadata:    providers.CloneMetadata(out.Metadata),
	}
	if total, ok := s3compat.RangeTotal(aws.ToString(out.ContentRange)); ok {
		info.Size = total
	}
	if in.Range == nil {
		info.Checksums = wholeChecksums(out.ChecksumCRC32C, out.ChecksumType)
	}
	return s3compat.NewBodyReader(ctx, out.Body, key, mapErr), info, nil
}

// Put implements providers.Store. The body is sent with Content-Length size
// through an s3compat.ExactReader, which fails the request before its last
// byte leaves when r holds fewer or more bytes, so the server never stores
// a wrong body.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if err := s.checkKey("put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s3compat.CheckSize(key, size); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s3compat.CheckIfNoneMatch("put", key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkPrefixConflict(ctx, "put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	// Sent again after a credentials failure, from a reader of its own,
	// when r can give one (s3compat.Body).
	body0 := s3compat.NewBody(r, size)
	out, err := s3compat.Call(s.creds, body0.Again, s3compat.Unmapped, func() (*s3.PutObjectOutput, error) {
		er, body, err := s3compat.UploadBody("put", key, body0.Reader(), size, bytes.NewReader(nil))
		if err != nil {
			return nil, err
		}
		in := &s3.PutObjectInput{
			Bucket:        aws.String(s.bucket),
			Key:           aws.String(key),
			Body:          body,
			ContentLength: aws.Int64(size),
			Metadata:      opts.Metadata,
			IfMatch:       optETag(opts.IfMatch),
			IfNoneMatch:   optETag(opts.IfNoneMatch),
		}
		if opts.ContentType != "" {
			in.ContentType = aws.String(opts.ContentType)
		}
		in.ServerSideEncryption, in.SSEKMSKeyId = s.sse()
		setPutChecksum(in, opts.Checksum)
		out, err := s.client.PutObject(ctx, in, unsignedPayload)
		if err := er.Mismatch("put", key); err != nil {
			return nil, err
		}
		return out, mapErr("put", key, err)
	})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	return providers.ObjectInfo{
		Key:         key,
		Size:        size,
		Version:     versionOf(out.ETag),
		ETag:        aws.ToString(out.ETag),
		ModTime:     time.Now().UTC(), // PutObject returns no Last-Modified
		ContentType: opts.ContentType,
		Metadata:    providers.CloneMetadata(opts.Metadata),
		Checksums:   wholeChecksums(out.ChecksumCRC32C, out.ChecksumType),
	}, nil
}

func setPutChecksum(in *s3.PutObjectInput, c providers.Checksum) {
	if c.IsZero() {
		return
	}
	switch c.Algorithm {
	case providers.ChecksumCRC32C:
		in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
		in.ChecksumCRC32C = aws.String(c.Base64())
	case providers.ChecksumMD5:
		in.ContentMD5 = aws.String(c.Base64())
	}
}

// Delete implements providers.Store; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.checkKey("delete", key); err != nil {
		return err
	}
	_, err := s3compat.Call(s.creds, nil, mapper("delete", key), func() (*s3.DeleteObjectOutput, error) {
		return s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	})
	if me := err; me != nil && !errors.Is(me, providers.ErrNotExist) {
		return me
	}
	return nil
}
