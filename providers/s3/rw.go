package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
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
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket:       aws.String(s.bucket),
		Key:          aws.String(key),
		IfMatch:      optETag(ifMatch),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return providers.ObjectInfo{}, mapErr(op, key, err)
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
	if info.Metadata == nil {
		info.Metadata = map[string]string{}
	}
	info.Checksums = wholeChecksums(out.ChecksumCRC32C, out.ChecksumType)
	return info, nil
}

// wholeChecksums reports a CRC32C only when it covers the whole object: a
// multipart upload's composite checksum ("...-N") is a checksum of part
// checksums, not of the bytes.
func wholeChecksums(crc *string, typ types.ChecksumType) []providers.Checksum {
	v := aws.ToString(crc)
	if v == "" || strings.Contains(v, "-") || typ == types.ChecksumTypeComposite {
		return nil
	}
	c, err := providers.ParseChecksumBase64(providers.ChecksumCRC32C, v)
	if err != nil || len(c.Sum) != 4 {
		return nil
	}
	return []providers.Checksum{c}
}

// Get implements providers.Store. S3 answers a range starting at the size
// with 416; that is the empty read the contract asks for, so Get checks the
// size (with a HEAD, under the same If-Match) and returns an empty body.
func (s *Store) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	if err := s.checkKey("get", key); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	if off < 0 || length < -1 {
		return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidArgument,
			fmt.Errorf("offset %d, length %d", off, length))
	}
	if length == 0 {
		info, err := s.head(ctx, "get", key, opts.IfMatch)
		if err != nil {
			return nil, info, err
		}
		if off > info.Size {
			return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidRange,
				fmt.Errorf("offset %d past size %d", off, info.Size))
		}
		return io.NopCloser(bytes.NewReader(nil)), info, nil
	}
	in := &s3.GetObjectInput{
		Bucket:  aws.String(s.bucket),
		Key:     aws.String(key),
		IfMatch: optETag(opts.IfMatch),
	}
	switch {
	case off == 0 && length < 0:
	case length < 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	default:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		if status(err) == 416 {
			info, herr := s.head(ctx, "get", key, opts.IfMatch)
			if herr != nil {
				return nil, info, herr
			}
			if off == info.Size {
				return io.NopCloser(bytes.NewReader(nil)), info, nil
			}
			return nil, providers.ObjectInfo{}, mapErr("get", key, err)
		}
		return nil, providers.ObjectInfo{}, mapErr("get", key, err)
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
	if total, ok := rangeTotal(aws.ToString(out.ContentRange)); ok {
		info.Size = total
	}
	if in.Range == nil {
		info.Checksums = wholeChecksums(out.ChecksumCRC32C, out.ChecksumType)
	}
	return &bodyReader{ctx: ctx, rc: out.Body, key: key}, info, nil
}

// rangeTotal parses the total of a Content-Range "bytes a-b/total".
func rangeTotal(cr string) (int64, bool) {
	_, total, ok := strings.Cut(cr, "/")
	if !ok || total == "*" {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil
}

// bodyReader maps errors of a body cut mid-stream onto the contract.
// A cancelled ctx fails the next Read even when the bytes are already
// buffered.
type bodyReader struct {
	ctx context.Context // the Get's: the body's lifetime
	rc  io.ReadCloser
	key string
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, providers.NewOpError("get", b.key, nil, err)
	}
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = mapErr("get", b.key, err)
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.rc.Close() }

// Put implements providers.Store. The body is sent with Content-Length size
// through exactReader, which fails the request before its last byte leaves
// when r holds fewer or more bytes, so the server never stores a wrong body.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if err := s.checkKey("put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	if size < 0 {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrInvalidArgument, fmt.Errorf("negative size %d", size))
	}
	if err := checkIfNoneMatch("put", key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkPrefixConflict(ctx, "put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	er := &exactReader{r: r, remaining: size}
	var body io.Reader = er
	if size == 0 {
		if err := er.checkEmpty(); err != nil {
			return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrSizeMismatch, err)
		}
		body = bytes.NewReader(nil)
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
	if er.err != nil {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrSizeMismatch, er.err)
	}
	if err != nil {
		return providers.ObjectInfo{}, mapErr("put", key, err)
	}
	info := providers.ObjectInfo{
		Key:         key,
		Size:        size,
		Version:     versionOf(out.ETag),
		ETag:        aws.ToString(out.ETag),
		ModTime:     time.Now().UTC(), // PutObject returns no Last-Modified
		ContentType: opts.ContentType,
		Metadata:    providers.CloneMetadata(opts.Metadata),
	}
	info.Checksums = wholeChecksums(out.ChecksumCRC32C, out.ChecksumType)
	return info, nil
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

// exactReader yields exactly remaining bytes of r. When r ends early, or
// holds a byte more, Read returns an error instead of the final bytes, so
// the HTTP request is aborted before the server has the whole body.
type exactReader struct {
	r         io.Reader
	remaining int64
	err       error // the size mismatch seen, if any
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.remaining {
		p = p[:e.remaining]
	}
	n, err := e.r.Read(p)
	e.remaining -= int64(n)
	if e.remaining == 0 {
		if err := e.checkEmpty(); err != nil {
			return 0, err
		}
		return n, nil
	}
	if err == io.EOF {
		e.err = fmt.Errorf("reader ended %d bytes short of the size given", e.remaining)
		return 0, e.err
	}
	if err != nil {
		return n, err
	}
	return n, nil
}

// checkEmpty fails when r still has a byte.
func (e *exactReader) checkEmpty() error {
	var b [1]byte
	for {
		n, err := e.r.Read(b[:])
		if n > 0 {
			e.err = errors.New("reader holds more bytes than the size given")
			return e.err
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Delete implements providers.Store; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.checkKey("delete", key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		me := mapErr("delete", key, err)
		if errors.Is(me, providers.ErrNotExist) {
			return nil
		}
		return me
	}
	return nil
}
