package minio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers"
)

// upload is one multipart upload. Its fields are set at creation and never
// change, so it is safe for concurrent part uploads.
type upload struct {
	s   *Store
	key string
	id  string
	// crc: created with x-amz-checksum-algorithm CRC32C; every part and the
	// Complete call carry their CRC32C.
	crc         bool
	contentType string
	metadata    map[string]string
	resumed     bool // metadata and content type unknown
}

var _ providers.Upload = (*upload)(nil)

// CreateMultipart implements providers.Multiparter. When opts.Checksum's
// algorithm is CRC32C (with or without a value) the upload is created with
// checksum algorithm CRC32C, so the server verifies every part's CRC32C.
func (s *Store) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	if err := s.checkKey("create-multipart", key); err != nil {
		return nil, err
	}
	if err := checkIfNoneMatch("create-multipart", key, opts.IfNoneMatch); err != nil {
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
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, key, po)
	if err != nil {
		return nil, mapErr("create-multipart", key, err)
	}
	return &upload{s: s, key: key, id: id, crc: crc, contentType: opts.ContentType,
		metadata: providers.CloneMetadata(opts.Metadata)}, nil
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
	res, err := s.core.ListObjectParts(ctx, s.bucket, key, uploadID, 0, 1)
	if err != nil {
		return nil, uploadErr("resume-multipart", key, err)
	}
	return &upload{s: s, key: key, id: uploadID, crc: strings.EqualFold(res.ChecksumAlgorithm, "CRC32C"), resumed: true}, nil
}

// uploadErr maps an error of a call naming an upload ID: a 404 there means
// the upload is unknown.
func uploadErr(op, key string, err error) error {
	me := mapErr(op, key, err)
	var oe *providers.OpError
	if errors.As(me, &oe) && oe.Kind == providers.ErrNotExist {
		oe.Kind = providers.ErrUploadNotFound
	}
	return me
}

func (u *upload) ID() string  { return u.id }
func (u *upload) Key() string { return u.key }

// UploadPart implements providers.Upload.
func (u *upload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	if n < 1 || n > maxParts || size < 0 || size > maxPartSize {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrInvalidArgument,
			fmt.Errorf("part %d of %d bytes", n, size))
	}
	if u.crc && opts.Checksum.Algorithm != providers.ChecksumCRC32C {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrInvalidArgument,
			errors.New("the upload was created with CRC32C: every part needs its CRC32C"))
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, nil, err)
	}
	er := &exactReader{r: r, remaining: size}
	var body io.Reader = er
	if size == 0 {
		if err := er.checkEmpty(); err != nil {
			return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrSizeMismatch, err)
		}
		body = strings.NewReader("")
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
	op, err := u.s.core.PutObjectPart(ctx, u.s.bucket, u.key, u.id, n, body, size, po)
	if er.err != nil {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrSizeMismatch, er.err)
	}
	if err != nil {
		return providers.Part{}, uploadErr("upload-part", u.key, err)
	}
	p := providers.Part{Number: n, Size: size, ETag: trimETag(op.ETag)}
	if opts.Checksum.Algorithm == providers.ChecksumCRC32C {
		p.Checksum = opts.Checksum
		if op.ChecksumCRC32C != "" {
			if cs, err := providers.ParseChecksumBase64(providers.ChecksumCRC32C, op.ChecksumCRC32C); err == nil {
				p.Checksum = cs
			}
		}
	}
	return p, nil
}

// ListParts implements providers.Upload, following the part-number markers.
func (u *upload) ListParts(ctx context.Context) ([]providers.Part, error) {
	var parts []providers.Part
	marker := 0
	for {
		res, err := u.s.core.ListObjectParts(ctx, u.s.bucket, u.key, u.id, marker, 1000)
		if err != nil {
			return nil, uploadErr("list-parts", u.key, err)
		}
		for _, p := range res.ObjectParts {
			part := providers.Part{Number: p.PartNumber, Size: p.Size, ETag: trimETag(p.ETag)}
			if p.ChecksumCRC32C != "" {
				if cs, err := providers.ParseChecksumBase64(providers.ChecksumCRC32C, p.ChecksumCRC32C); err == nil {
					part.Checksum = cs
				}
			}
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
	if err := checkIfNoneMatch("complete-multipart", u.key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if len(parts) == 0 {
		return providers.ObjectInfo{}, providers.NewOpError("complete-multipart", u.key, providers.ErrInvalidArgument, errors.New("no parts"))
	}
	cps := make([]minio.CompletePart, len(parts))
	var total int64
	known := true
	for i, p := range parts {
		if i > 0 && p.Number <= parts[i-1].Number {
			return providers.ObjectInfo{}, providers.NewOpError("complete-multipart", u.key, providers.ErrInvalidArgument,
				errors.New("part numbers must ascend"))
		}
		cps[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
		if u.crc && p.Checksum.Algorithm == providers.ChecksumCRC32C && !p.Checksum.IsZero() {
			cps[i].ChecksumCRC32C = p.Checksum.Base64()
		}
		if p.Size <= 0 && i < len(parts)-1 {
			known = false
		}
		total += p.Size
	}
	var po minio.PutObjectOptions
	if opts.IfMatch != "" {
		po.SetMatchETag(opts.IfMatch)
	}
	if opts.IfNoneMatch == "*" {
		po.SetMatchETagExcept("*")
	}
	ui, err := u.s.core.CompleteMultipartUpload(ctx, u.s.bucket, u.key, u.id, cps, po)
	if err != nil {
		return providers.ObjectInfo{}, uploadErr("complete-multipart", u.key, err)
	}
	if !known || u.resumed {
		if info, err := u.s.head(ctx, "complete-multipart", u.key, trimETag(ui.ETag)); err == nil {
			return info, nil
		}
	}
	mod := ui.LastModified
	if mod.IsZero() {
		mod = time.Now().UTC()
	}
	return providers.ObjectInfo{
		Key:         u.key,
		Size:        total,
		Version:     trimETag(ui.ETag),
		ETag:        `"` + trimETag(ui.ETag) + `"`,
		ModTime:     mod,
		ContentType: u.contentType,
		Metadata:    u.metadata,
	}, nil
}

// Abort implements providers.Upload; an unknown upload is already gone.
func (u *upload) Abort(ctx context.Context) error {
	err := u.s.core.AbortMultipartUpload(ctx, u.s.bucket, u.key, u.id)
	if err != nil {
		me := uploadErr("abort-multipart", u.key, err)
		if errors.Is(me, providers.ErrUploadNotFound) {
			return nil
		}
		return me
	}
	return nil
}
