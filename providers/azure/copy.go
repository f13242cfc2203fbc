package azure

import (
	"context"
	"errors"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/byobfs/byob/providers"
)

// Copy implements providers.Store with Copy Blob (StartCopyFromURL) inside
// the account, which completes synchronously for block blobs of one
// account; a pending copy is polled. The source URL carries the SAS when
// the store uses one. Metadata replacement goes in the copy request; a
// replaced content type (and an empty metadata map, which Copy Blob would
// read as "copy the source's") is applied after the copy, conditional on
// the copy's ETag. A copy onto itself only sets metadata and headers.
func (s *Store) Copy(ctx context.Context, src, dst string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	for _, k := range []string{src, dst} {
		if err := s.checkKey("copy", k); err != nil {
			return providers.ObjectInfo{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, providers.NewOpError("copy", src, nil, err)
	}
	var meta map[string]*string
	if opts.Metadata != nil {
		var err error
		if meta, err = encodeMeta("copy", dst, opts.Metadata); err != nil {
			return providers.ObjectInfo{}, err
		}
		if meta == nil {
			meta = map[string]*string{}
		}
	}
	if src == dst {
		return s.selfCopy(ctx, src, meta, opts)
	}
	co := &blob.StartCopyFromURLOptions{Metadata: meta}
	if opts.IfMatch != "" {
		e := azcore.ETag(opts.IfMatch)
		co.SourceModifiedAccessConditions = &blob.SourceModifiedAccessConditions{SourceIfMatch: &e}
	}
	if len(meta) == 0 {
		co.Metadata = nil
	}
	resp, err := s.blob(dst).StartCopyFromURL(ctx, s.blob(src).URL(), co)
	if err != nil {
		return providers.ObjectInfo{}, mapErr("copy", src, err)
	}
	etag := etagOf(resp.ETag)
	status := deref(resp.CopyStatus)
	for status == blob.CopyStatusTypePending {
		select {
		case <-ctx.Done():
			return providers.ObjectInfo{}, providers.NewOpError("copy", dst, nil, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		p, err := s.blob(dst).GetProperties(ctx, nil)
		if err != nil {
			return providers.ObjectInfo{}, mapErr("copy", dst, err)
		}
		status, etag = deref(p.CopyStatus), etagOf(p.ETag)
	}
	if status != "" && status != blob.CopyStatusTypeSuccess {
		return providers.ObjectInfo{}, providers.NewOpError("copy", dst, providers.ErrServer, errors.New("copy ended with status "+string(status)))
	}
	if meta != nil && len(meta) == 0 {
		if _, err := s.blob(dst).SetMetadata(ctx, map[string]*string{}, &blob.SetMetadataOptions{AccessConditions: accessConditions(etag, "")}); err != nil {
			return providers.ObjectInfo{}, mapErr("copy", dst, err)
		}
	}
	if opts.Metadata != nil && opts.ContentType != "" {
		if err := s.setContentType(ctx, dst, opts.ContentType); err != nil {
			return providers.ObjectInfo{}, err
		}
	}
	return s.stat(ctx, "copy", dst, "")
}

func (s *Store) selfCopy(ctx context.Context, key string, meta map[string]*string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	info, err := s.stat(ctx, "copy", key, opts.IfMatch)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	if meta == nil {
		return info, nil // nothing to replace: the object is its own copy
	}
	if _, err := s.blob(key).SetMetadata(ctx, meta, &blob.SetMetadataOptions{AccessConditions: accessConditions(info.Version, "")}); err != nil {
		return providers.ObjectInfo{}, mapErr("copy", key, err)
	}
	if opts.ContentType != "" {
		if err := s.setContentType(ctx, key, opts.ContentType); err != nil {
			return providers.ObjectInfo{}, err
		}
	}
	return s.stat(ctx, "copy", key, "")
}

// setContentType replaces the content type, keeping the other HTTP
// headers (Set Blob Properties replaces them all).
func (s *Store) setContentType(ctx context.Context, key, ct string) error {
	p, err := s.blob(key).GetProperties(ctx, nil)
	if err != nil {
		return mapErr("copy", key, err)
	}
	h := blob.HTTPHeaders{
		BlobContentType:        &ct,
		BlobContentMD5:         p.ContentMD5,
		BlobContentEncoding:    p.ContentEncoding,
		BlobContentLanguage:    p.ContentLanguage,
		BlobContentDisposition: p.ContentDisposition,
		BlobCacheControl:       p.CacheControl,
	}
	_, err = s.blob(key).SetHTTPHeaders(ctx, h, &blob.SetHTTPHeadersOptions{AccessConditions: accessConditions(etagOf(p.ETag), "")})
	return mapErr("copy", key, err)
}
