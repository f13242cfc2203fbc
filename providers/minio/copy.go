package minio

import (
	"context"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers"
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
	threshold := s.opts.MultipartCopyThreshold
	if threshold <= 0 {
		threshold = maxPutSize
	}
	if info.Size > threshold {
		return s.multipartCopy(ctx, src, dst, info, opts)
	}
	// Core.CopyObject sends these as headers as given.
	h := map[string]string{}
	if opts.IfMatch != "" {
		h["x-amz-copy-source-if-match"] = `"` + opts.IfMatch + `"`
	}
	if opts.Metadata != nil {
		h["x-amz-metadata-directive"] = "REPLACE"
		for k, v := range opts.Metadata {
			h["x-amz-meta-"+k] = v
		}
		ct := info.ContentType
		if opts.ContentType != "" {
			ct = opts.ContentType
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
	oi, err := s.core.CopyObject(ctx, s.bucket, src, s.bucket, dst, h, minio.CopySrcOptions{}, minio.PutObjectOptions{})
	if err != nil {
		return providers.ObjectInfo{}, mapErr("copy", src, err)
	}
	res := providers.ObjectInfo{
		Key:         dst,
		Size:        info.Size,
		Version:     trimETag(oi.ETag),
		ETag:        `"` + trimETag(oi.ETag) + `"`,
		ModTime:     oi.LastModified,
		ContentType: info.ContentType,
		Metadata:    info.Metadata,
	}
	if opts.Metadata != nil {
		res.Metadata = providers.CloneMetadata(opts.Metadata)
		if opts.ContentType != "" {
			res.ContentType = opts.ContentType
		}
	}
	if res.Version != info.Version && opts.IfMatch == "" {
		// The source may have changed between the HEAD and the copy.
		if st, err := s.head(ctx, "copy", dst, res.Version); err == nil {
			return st, nil
		}
	}
	return res, nil
}

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
	up, err := s.createMultipart(ctx, dst, providers.PutOptions{Metadata: meta, ContentType: ctype})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	fail := func(err error) (providers.ObjectInfo, error) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = up.Abort(actx)
		return providers.ObjectInfo{}, err
	}
	cond := map[string]string{"x-amz-copy-source-if-match": `"` + info.Version + `"`}
	var parts []providers.Part
	for n, off := 1, int64(0); off < info.Size; n, off = n+1, off+partSize {
		length := min(partSize, info.Size-off)
		cp, err := s.core.CopyObjectPart(ctx, s.bucket, src, s.bucket, dst, up.id, n, off, length, cond)
		if err != nil {
			return fail(uploadErr("copy", src, err))
		}
		parts = append(parts, providers.Part{Number: n, Size: length, ETag: cp.ETag})
	}
	res, err := up.Complete(ctx, parts, providers.CompleteOptions{})
	if err != nil {
		return fail(err)
	}
	return res, nil
}
