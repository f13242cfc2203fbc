package s3compat

import (
	"context"
	"time"

	"github.com/byobfs/byob/providers"
)

// CopyByParts reports whether a Copy of a source of size bytes goes part
// by part (UploadPartCopy): above opts.MultipartCopyThreshold, by default
// above the largest single CopyObject.
func CopyByParts(opts Options, size int64) bool {
	threshold := opts.MultipartCopyThreshold
	if threshold <= 0 {
		threshold = MaxPutSize
	}
	return size > threshold
}

// CopyPartSize is the part size of a multipart copy of size bytes:
// opts.CopyPartSize (512 MiB by default), raised to MinPartSize and to what
// MaxParts parts need, and at most MaxPartSize.
func CopyPartSize(opts Options, size int64) int64 {
	partSize := opts.CopyPartSize
	if partSize <= 0 {
		partSize = defaultCopyPartSize
	}
	partSize = max(partSize, MinPartSize, (size+MaxParts-1)/MaxParts)
	return min(partSize, MaxPartSize)
}

// CopyAttributes are the content type and metadata a copy of src writes:
// the source's, or with opts.Metadata set, opts.Metadata and opts'
// content type when it gives one. meta is not a copy.
func CopyAttributes(src providers.ObjectInfo, opts providers.CopyOptions) (contentType string, meta map[string]string) {
	if opts.Metadata == nil {
		return src.ContentType, src.Metadata
	}
	if opts.ContentType != "" {
		return opts.ContentType, opts.Metadata
	}
	return src.ContentType, opts.Metadata
}

// Copied is what Copy reports after one CopyObject of src (read before the
// copy) to dst answered with etag and mod. When the copy's version differs
// from the source's and no IfMatch pinned the source, it reports what head
// (a HEAD of dst under that version) says instead, if it can: the source
// may have changed in between, and a KMS-encrypted copy has its own ETag.
func Copied(dst string, src providers.ObjectInfo, opts providers.CopyOptions, version, etag string, mod time.Time,
	head func(version string) (providers.ObjectInfo, error)) providers.ObjectInfo {
	res := providers.ObjectInfo{
		Key:         dst,
		Size:        src.Size,
		Version:     version,
		ETag:        etag,
		ModTime:     mod,
		ContentType: src.ContentType,
		Metadata:    src.Metadata,
	}
	if opts.Metadata != nil {
		res.Metadata = providers.CloneMetadata(opts.Metadata)
		if opts.ContentType != "" {
			res.ContentType = opts.ContentType
		}
	}
	if res.Version != src.Version && opts.IfMatch == "" {
		if st, err := head(res.Version); err == nil {
			return st
		}
	}
	return res
}

// CopyPartFunc copies length bytes of the source from off as part n of the
// upload and returns the part's ETag; its error is mapped. Every part must
// be pinned to the source's ETag, so all come from one version.
type CopyPartFunc func(ctx context.Context, n int, off, length int64) (etag string, err error)

// MultipartCopy copies size bytes into up part by part with copyPart, then
// completes up. On any failure it aborts up, best effort, even when ctx is
// gone.
func MultipartCopy(ctx context.Context, up providers.Upload, size, partSize int64, copyPart CopyPartFunc) (providers.ObjectInfo, error) {
	fail := func(err error) (providers.ObjectInfo, error) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = up.Abort(actx)
		return providers.ObjectInfo{}, err
	}
	var parts []providers.Part
	for n, off := 1, int64(0); off < size; n, off = n+1, off+partSize {
		length := min(partSize, size-off)
		etag, err := copyPart(ctx, n, off, length)
		if err != nil {
			return fail(err)
		}
		parts = append(parts, providers.Part{Number: n, Size: length, ETag: etag})
	}
	res, err := up.Complete(ctx, parts, providers.CompleteOptions{})
	if err != nil {
		return fail(err)
	}
	return res, nil
}
