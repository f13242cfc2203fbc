package s3

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
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
	threshold := s.opts.MultipartCopyThreshold
	if threshold <= 0 {
		threshold = maxPutSize
	}
	if info.Size > threshold {
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
		in.Metadata = opts.Metadata
		if opts.ContentType != "" {
			in.ContentType = aws.String(opts.ContentType)
		} else if info.ContentType != "" {
			in.ContentType = aws.String(info.ContentType)
		}
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = s.sse()
	out, err := s.client.CopyObject(ctx, in)
	if err != nil {
		return providers.ObjectInfo{}, mapErr("copy", src, err)
	}
	res := providers.ObjectInfo{
		Key:         dst,
		Size:        info.Size,
		ContentType: info.ContentType,
		Metadata:    info.Metadata,
	}
	if opts.Metadata != nil {
		res.Metadata = providers.CloneMetadata(opts.Metadata)
		if opts.ContentType != "" {
			res.ContentType = opts.ContentType
		}
	}
	if cr := out.CopyObjectResult; cr != nil {
		res.Version = versionOf(cr.ETag)
		res.ETag = aws.ToString(cr.ETag)
		res.ModTime = aws.ToTime(cr.LastModified)
	}
	if res.Version != info.Version && opts.IfMatch == "" {
		// The source may have changed between the HEAD and the copy (a
		// KMS-encrypted copy has its own ETag too): report what was written.
		if st, err := s.head(ctx, "copy", dst, res.Version); err == nil {
			return st, nil
		}
	}
	return res, nil
}

// multipartCopy copies src (described by info) to dst part by part.
func (s *Store) multipartCopy(ctx context.Context, src, dst string, info providers.ObjectInfo, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	meta, ctype := info.Metadata, info.ContentType
	if opts.Metadata != nil {
		meta = opts.Metadata
		if opts.ContentType != "" {
			ctype = opts.ContentType
		}
	}
	partSize := s.opts.CopyPartSize
	if partSize <= 0 {
		partSize = defaultCopyPart
	}
	partSize = max(partSize, minPartSize, (info.Size+maxParts-1)/maxParts)
	partSize = min(partSize, maxPartSize)
	up, err := s.CreateMultipart(ctx, dst, providers.PutOptions{Metadata: meta, ContentType: ctype})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	u := up.(*upload)
	var parts []providers.Part
	fail := func(err error) (providers.ObjectInfo, error) {
		// Best effort: the caller's ctx may be gone.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = u.Abort(actx)
		return providers.ObjectInfo{}, err
	}
	source := copySource(s.bucket, src)
	for n, off := 1, int64(0); off < info.Size; n, off = n+1, off+partSize {
		end := min(off+partSize, info.Size) - 1
		out, err := s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket:            aws.String(s.bucket),
			Key:               aws.String(dst),
			UploadId:          aws.String(u.id),
			PartNumber:        aws.Int32(int32(n)),
			CopySource:        aws.String(source),
			CopySourceRange:   aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
			CopySourceIfMatch: aws.String(quoteETag(info.Version)),
		})
		if err != nil {
			return fail(uploadErr("copy", src, err))
		}
		var etag string
		if out.CopyPartResult != nil {
			etag = aws.ToString(out.CopyPartResult.ETag)
		}
		parts = append(parts, providers.Part{Number: n, Size: end - off + 1, ETag: etag})
	}
	res, err := u.Complete(ctx, parts, providers.CompleteOptions{})
	if err != nil {
		return fail(err)
	}
	return res, nil
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
