package minio

import (
	"context"
	"net/http"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// Copy implements providers.Store. It reads the source's attributes first
// (under opts.IfMatch): a source up to MultipartCopyThreshold is copied with
// one CopyObject, a larger one with UploadPartCopy, every part pinned to the
// source's ETag so all parts come from one version.
func (s *Store) Copy(ctx context.Context, src, dst string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	if err := s.checkKey("copy", src); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkKey("copy", dst); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkPrefixConflict(ctx, "copy", dst); err != nil {
		return providers.ObjectInfo{}, err
	}
	info, err := s.head(ctx, "copy", src, opts.IfMatch)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	if s3compat.CopyByParts(s.opts, info.Size) {
		return s.multipartCopy(ctx, src, dst, info, opts)
	}
	// Core.CopyObject sends these as headers as given.
	h := map[string]string{}
	if opts.IfMatch != "" {
		h["x-amz-copy-source-if-match"] = `"` + opts.IfMatch + `"`
	}
	if opts.Metadata != nil {
		h["x-amz-metadata-directive"] = "REPLACE"
		ct, meta := s3compat.CopyAttributes(info, opts)
		for k, v := range meta {
			h["x-amz-meta-"+k] = v
		}
		if ct != "" {
			h["Content-Type"] = ct
		}
	}
	if s.sse != nil {
		hh := http.Header{}
		s.sse.Marshal(hh)
		for k := range hh {
			h[k] = hh.Get(k)
		}
	}
	oi, err := s3compat.Call(s.creds, nil, mapper("copy", src), func() (minio.ObjectInfo, error) {
		return s.core.CopyObject(ctx, s.bucket, src, s.bucket, dst, h, minio.CopySrcOptions{}, minio.PutObjectOptions{})
	})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	version, etag := etags(oi.ETag)
	return s3compat.Copied(dst, info, opts, version, etag, oi.LastModified,
		func(version string) (providers.ObjectInfo, error) { return s.head(ctx, "copy", dst, version) }), nil
}

func (s *Store) multipartCopy(ctx context.Context, src, dst string, info providers.ObjectInfo, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	ctype, meta := s3compat.CopyAttributes(info, opts)
	up, err := s.createMultipart(ctx, dst, providers.PutOptions{Metadata: meta, ContentType: ctype})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	cond := map[string]string{"x-amz-copy-source-if-match": `"` + info.Version + `"`}
	return s3compat.MultipartCopy(ctx, up, info.Size, s3compat.CopyPartSize(s.opts, info.Size),
		func(ctx context.Context, n int, off, length int64) (string, error) {
			cp, err := s3compat.Call(s.creds, nil, upMapper("copy", src), func() (minio.CompletePart, error) {
				return s.core.CopyObjectPart(ctx, s.bucket, src, s.bucket, dst, up.UploadID, n, off, length, cond)
			})
			if err != nil {
				return "", err
			}
			return cp.ETag, nil
		})
}
