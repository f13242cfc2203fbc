package minio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// upload is one multipart upload; s3compat.UploadState holds what it
// knows, which never changes, so it is safe for concurrent part uploads.
type upload struct {
	s3compat.UploadState
	s *Store
}

var _ providers.Upload = (*upload)(nil)

// CreateMultipart implements providers.Multiparter. When opts.Checksum's
// algorithm is CRC32C (with or without a value) the upload is created with
// checksum algorithm CRC32C, so the server verifies every part's CRC32C.
func (s *Store) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	if err := s.checkKey("create-multipart", key); err != nil {
		return nil, err
	}
	if err := s3compat.CheckIfNoneMatch("create-multipart", key, opts.IfNoneMatch); err != nil {
		return nil, err
	}
	if err := s.checkPrefixConflict(ctx, "create-multipart", key); err != nil {
		return nil, err
	}
	return s.createMultipart(ctx, key, opts)
}

func (s *Store) createMultipart(ctx context.Context, key string, opts providers.PutOptions) (*upload, error) {
	po := s.putOptions(providers.PutOptions{ContentType: opts.ContentType, Metadata: opts.Metadata})
	crc := opts.Checksum.Algorithm == providers.ChecksumCRC32C
	if crc {
		if po.UserMetadata == nil {
			po.UserMetadata = map[string]string{}
		}
		po.UserMetadata["x-amz-checksum-algorithm"] = "CRC32C"
	}
	id, err := s3compat.Call(s.creds, nil, mapper("create-multipart", key), func() (string, error) {
		return s.core.NewMultipartUpload(ctx, s.bucket, key, po)
	})
	if err != nil {
		return nil, err
	}
	return &upload{s: s, UploadState: s3compat.UploadState{ObjectKey: key, UploadID: id, CRC: crc,
		ContentType: opts.ContentType, Metadata: providers.CloneMetadata(opts.Metadata)}}, nil
}

// ResumeMultipart implements providers.Multiparter: it checks the upload
// exists with ListParts and learns whether parts carry CRC32C.
func (s *Store) ResumeMultipart(ctx context.Context, key, uploadID string) (providers.Upload, error) {
	if err := s.checkKey("resume-multipart", key); err != nil {
		return nil, err
	}
	if uploadID == "" {
		return nil, providers.NewOpError("resume-multipart", key, providers.ErrUploadNotFound, errors.New("empty upload ID"))
	}
	res, err := s3compat.Call(s.creds, nil, upMapper("resume-multipart", key), func() (minio.ListObjectPartsResult, error) {
		return s.core.ListObjectParts(ctx, s.bucket, key, uploadID, 0, 1)
	})
	if err != nil {
		return nil, err
	}
	return &upload{s: s, UploadState: s3compat.UploadState{ObjectKey: key, UploadID: uploadID,
		CRC: strings.EqualFold(res.ChecksumAlgorithm, "CRC32C"), Resumed: true}}, nil
}

// UploadPart implements providers.Upload.
func (u *upload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	if err := u.CheckPart(n, size, opts); err != nil {
		return providers.Part{}, err
	}
	// Sent again from the start after a credentials failure.
	op, err := s3compat.Call(u.s.creds, nil, s3compat.Unmapped, func() (minio.ObjectPart, error) { return u.uploadPart(ctx, n, r, size, opts) })
	if err != nil {
		return providers.Part{}, err
	}
	return s3compat.Uploaded(n, size, s3compat.Version(op.ETag), opts, op.ChecksumCRC32C), nil
}

func (u *upload) uploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (minio.ObjectPart, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return minio.ObjectPart{}, providers.NewOpError("upload-part", u.ObjectKey, nil, err)
	}
	er, body, err := s3compat.UploadBody("upload-part", u.ObjectKey, r, size, strings.NewReader(""))
	if err != nil {
		return minio.ObjectPart{}, err
	}
	po := minio.PutObjectPartOptions{DisableContentSha256: true, SSE: nil}
	if !opts.Checksum.IsZero() {
		switch opts.Checksum.Algorithm {
		case providers.ChecksumCRC32C:
			po.CustomHeader = http.Header{}
			po.CustomHeader.Set("x-amz-checksum-crc32c", opts.Checksum.Base64())
		case providers.ChecksumMD5:
			po.Md5Base64 = opts.Checksum.Base64()
		}
	}
	op, err := u.s.core.PutObjectPart(ctx, u.s.bucket, u.ObjectKey, u.UploadID, n, body, size, po)
	if err := er.Mismatch("upload-part", u.ObjectKey); err != nil {
		return minio.ObjectPart{}, err
	}
	return op, uploadErr("upload-part", u.ObjectKey, err)
}

// ListParts implements providers.Upload, following the part-number markers.
func (u *upload) ListParts(ctx context.Context) ([]providers.Part, error) {
	var parts []providers.Part
	marker := 0
	for {
		res, err := s3compat.Call(u.s.creds, nil, upMapper("list-parts", u.ObjectKey), func() (minio.ListObjectPartsResult, error) {
			return u.s.core.ListObjectParts(ctx, u.s.bucket, u.ObjectKey, u.UploadID, marker, 1000)
		})
		if err != nil {
			return nil, err
		}
		for _, p := range res.ObjectParts {
			part := providers.Part{Number: p.PartNumber, Size: p.Size, ETag: s3compat.Version(p.ETag)}
			part.Checksum, _ = s3compat.ParseCRC32C(p.ChecksumCRC32C)
			parts = append(parts, part)
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			return parts, nil
		}
		marker = res.NextPartNumberMarker
	}
}

// Complete implements providers.Upload. CompleteOptions.Checksum is not
// sent: the upload's CRC32C is composite, verified from the parts'.
func (u *upload) Complete(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	total, known, err := u.CheckComplete(parts, opts)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	cps := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		cps[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag, ChecksumCRC32C: u.PartCRC(p)}
	}
	var po minio.PutObjectOptions
	if opts.IfMatch != "" {
		po.SetMatchETag(opts.IfMatch)
	}
	if opts.IfNoneMatch == "*" {
		po.SetMatchETagExcept("*")
	}
	ui, err := s3compat.Call(u.s.creds, nil, upMapper("complete-multipart", u.ObjectKey), func() (minio.UploadInfo, error) {
		return u.s.core.CompleteMultipartUpload(ctx, u.s.bucket, u.ObjectKey, u.UploadID, cps, po)
	})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	version, etag := etags(ui.ETag)
	return u.Completed(total, known, version, etag, ui.LastModified,
		func(version string) (providers.ObjectInfo, error) {
			return u.s.head(ctx, "complete-multipart", u.ObjectKey, version)
		}), nil
}

// Abort implements providers.Upload; an unknown upload is already gone.
func (u *upload) Abort(ctx context.Context) error {
	_, err := s3compat.Call(u.s.creds, nil, upMapper("abort-multipart", u.ObjectKey), func() (struct{}, error) {
		return struct{}{}, u.s.core.AbortMultipartUpload(ctx, u.s.bucket, u.ObjectKey, u.UploadID)
	})
	if me := err; me != nil && !errors.Is(me, providers.ErrUploadNotFound) {
		return me
	}
	return nil
}
