package s3

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// Copy implements providers.Store. It reads the source's attributes first
// (under opts.IfMatch): a source up to MultipartCopyThreshold is copied with
// one CopyObject, a larger one with UploadPartCopy, every part pinned to the
// source's ETag so the parts come from one version.
func (s *Store) Copy(ctx context.Context, src, dst string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	if err := s.checkKey("copy", src); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkKey("copy", dst); err != nil {
		return providers.ObjectInfo{}, err
	}
	info, err := s.head(ctx, "copy", src, opts.IfMatch)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkPrefixConflict(ctx, "copy", dst); err != nil {
		return providers.ObjectInfo{}, err
	}
	if s3compat.CopyByParts(s.opts, info.Size) {
		return s.multipartCopy(ctx, src, dst, info, opts)
	}
	in := &s3.CopyObjectInput{
		Bucket:            aws.String(s.bucket),
		Key:               aws.String(dst),
		CopySource:        aws.String(copySource(s.bucket, src)),
		CopySourceIfMatch: optETag(opts.IfMatch),
	}
	if opts.Metadata != nil {
		in.MetadataDirective = types.MetadataDirectiveReplace
		ctype, meta := s3compat.CopyAttributes(info, opts)
		in.Metadata = meta
		if ctype != "" {
			in.ContentType = aws.String(ctype)
		}
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = s.sse()
	out, err := s3compat.Call(s.creds, nil, mapper("copy", src), func() (*s3.CopyObjectOutput, error) { return s.client.CopyObject(ctx, in) })
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	cr := out.CopyObjectResult
	if cr == nil {
		cr = &types.CopyObjectResult{}
	}
	return s3compat.Copied(dst, info, opts, versionOf(cr.ETag), aws.ToString(cr.ETag), aws.ToTime(cr.LastModified),
		func(version string) (providers.ObjectInfo, error) { return s.head(ctx, "copy", dst, version) }), nil
}

// multipartCopy copies src (described by info) to dst part by part.
func (s *Store) multipartCopy(ctx context.Context, src, dst string, info providers.ObjectInfo, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	ctype, meta := s3compat.CopyAttributes(info, opts)
	up, err := s.CreateMultipart(ctx, dst, providers.PutOptions{Metadata: meta, ContentType: ctype})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	source := copySource(s.bucket, src)
	return s3compat.MultipartCopy(ctx, up, info.Size, s3compat.CopyPartSize(s.opts, info.Size),
		func(ctx context.Context, n int, off, length int64) (string, error) {
			out, err := s3compat.Call(s.creds, nil, upMapper("copy", src), func() (*s3.UploadPartCopyOutput, error) {
				return s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
					Bucket:            aws.String(s.bucket),
					Key:               aws.String(dst),
					UploadId:          aws.String(up.ID()),
					PartNumber:        aws.Int32(int32(n)),
					CopySource:        aws.String(source),
					CopySourceRange:   aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1)),
					CopySourceIfMatch: aws.String(s3compat.QuoteETag(info.Version)),
				})
			})
			if err != nil {
				return "", err
			}
			if out.CopyPartResult == nil {
				return "", nil
			}
			return aws.ToString(out.CopyPartResult.ETag), nil
		})
}

// copySource is the x-amz-copy-source value: bucket/key with every byte of
// the key but unreserved characters and '/' percent-encoded.
func copySource(bucket, key string) string {
	var b strings.Builder
	b.WriteString(bucket)
	b.WriteByte('/')
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
