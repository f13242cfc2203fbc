package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
)

// upload is one S3 multipart upload. Its fields are set at creation and
// never change, so it is safe for concurrent part uploads.
type upload struct {
	s   *Store
	key string
	id  string
	// crc: the upload was created with ChecksumAlgorithm CRC32C, so every
	// part and the Complete call carry their CRC32C.
	crc         bool
	contentType string
	metadata    map[string]string
	resumed     bool // metadata and content type unknown
}

var _ providers.Upload = (*upload)(nil)

// CreateMultipart implements providers.Multiparter. When opts.Checksum's
// algorithm is CRC32C (with or without a value) the upload is created with
// ChecksumAlgorithm CRC32C: S3 then requires and verifies a CRC32C on
// every part.
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
	in := &s3.CreateMultipartUploadInput{
		Bucket:   aws.String(s.bucket),
		Key:      aws.String(key),
		Metadata: opts.Metadata,
	}
	if opts.ContentType != "" {
		in.ContentType = aws.String(opts.ContentType)
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = s.sse()
	crc := opts.Checksum.Algorithm == providers.ChecksumCRC32C
	if crc {
		in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
	}
	out, err := s.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return nil, mapErr("create-multipart", key, err)
	}
	return &upload{s: s, key: key, id: aws.ToString(out.UploadId), crc: crc,
		contentType: opts.ContentType, metadata: providers.CloneMetadata(opts.Metadata)}, nil
}

// ResumeMultipart implements providers.Multiparter: it checks the upload
// exists with ListParts and learns from it whether parts carry CRC32C.
func (s *Store) ResumeMultipart(ctx context.Context, key, uploadID string) (providers.Upload, error) {
	if err := s.checkKey("resume-multipart", key); err != nil {
		return nil, err
	}
	if uploadID == "" {
		return nil, providers.NewOpError("resume-multipart", key, providers.ErrUploadNotFound, errors.New("empty upload ID"))
	}
	out, err := s.client.ListParts(ctx, &s3.ListPartsInput{
		Bucket:   aws.String(s.bucket),
		Key:      aws.String(key),
		UploadId: aws.String(uploadID),
		MaxParts: aws.Int32(1),
	})
	if err != nil {
		return nil, uploadErr("resume-multipart", key, err)
	}
	return &upload{s: s, key: key, id: uploadID, crc: out.ChecksumAlgorithm == types.ChecksumAlgorithmCrc32c, resumed: true}, nil
}

// uploadErr maps an error of a call naming an upload ID: a 404 there means
// the upload, not the object, is unknown.
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
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, nil, err)
	}
	er := &exactReader{r: r, remaining: size}
	var body io.Reader = er
	if size == 0 {
		if err := er.checkEmpty(); err != nil {
			return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrSizeMismatch, err)
		}
		body = emptyBody{}
	}
	in := &s3.UploadPartInput{
		Bucket:        aws.String(u.s.bucket),
		Key:           aws.String(u.key),
		UploadId:      aws.String(u.id),
		PartNumber:    aws.Int32(int32(n)),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	if u.crc && opts.Checksum.Algorithm != providers.ChecksumCRC32C {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrInvalidArgument,
			errors.New("the upload was created with CRC32C: every part needs its CRC32C"))
	}
	if !opts.Checksum.IsZero() {
		switch opts.Checksum.Algorithm {
		case providers.ChecksumCRC32C:
			in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
			in.ChecksumCRC32C = aws.String(opts.Checksum.Base64())
		case providers.ChecksumMD5:
			in.ContentMD5 = aws.String(opts.Checksum.Base64())
		}
	}
	out, err := u.s.client.UploadPart(ctx, in, unsignedPayload)
	if er.err != nil {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrSizeMismatch, er.err)
	}
	if err != nil {
		return providers.Part{}, uploadErr("upload-part", u.key, err)
	}
	p := providers.Part{Number: n, Size: size, ETag: aws.ToString(out.ETag)}
	if opts.Checksum.Algorithm == providers.ChecksumCRC32C {
		p.Checksum = opts.Checksum
		if c := aws.ToString(out.ChecksumCRC32C); c != "" {
			if cs, err := providers.ParseChecksumBase64(providers.ChecksumCRC32C, c); err == nil {
				p.Checksum = cs
			}
		}
	}
	return p, nil
}

type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }

// ListParts implements providers.Upload, following the part-number markers.
func (u *upload) ListParts(ctx context.Context) ([]providers.Part, error) {
	in := &s3.ListPartsInput{Bucket: aws.String(u.s.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id)}
	var parts []providers.Part
	for {
		out, err := u.s.client.ListParts(ctx, in)
		if err != nil {
			return nil, uploadErr("list-parts", u.key, err)
		}
		for _, p := range out.Parts {
			part := providers.Part{
				Number: int(aws.ToInt32(p.PartNumber)),
				Size:   aws.ToInt64(p.Size),
				ETag:   aws.ToString(p.ETag),
			}
			if c := aws.ToString(p.ChecksumCRC32C); c != "" {
				if cs, err := providers.ParseChecksumBase64(providers.ChecksumCRC32C, c); err == nil {
					part.Checksum = cs
				}
			}
			parts = append(parts, part)
		}
		next := aws.ToString(out.NextPartNumberMarker)
		if !aws.ToBool(out.IsTruncated) || next == "" || next == aws.ToString(in.PartNumberMarker) {
			return parts, nil
		}
		in.PartNumberMarker = aws.String(next)
	}
}

// Complete implements providers.Upload. The whole-object checksum of
// CompleteOptions is not sent: the upload's CRC32C is composite (a checksum
// of the parts' checksums), which S3 verifies from the parts' checksums.
func (u *upload) Complete(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	if err := checkIfNoneMatch("complete-multipart", u.key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if len(parts) == 0 {
		return providers.ObjectInfo{}, providers.NewOpError("complete-multipart", u.key, providers.ErrInvalidArgument, errors.New("no parts"))
	}
	cps := make([]types.CompletedPart, len(parts))
	var total int64
	known := true
	for i, p := range parts {
		if i > 0 && p.Number <= parts[i-1].Number {
			return providers.ObjectInfo{}, providers.NewOpError("complete-multipart", u.key, providers.ErrInvalidArgument,
				errors.New("part numbers must ascend"))
		}
		cps[i] = types.CompletedPart{PartNumber: aws.Int32(int32(p.Number)), ETag: aws.String(p.ETag)}
		if u.crc && p.Checksum.Algorithm == providers.ChecksumCRC32C && !p.Checksum.IsZero() {
			cps[i].ChecksumCRC32C = aws.String(p.Checksum.Base64())
		}
		if p.Size <= 0 && i < len(parts)-1 {
			known = false
		}
		total += p.Size
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(u.s.bucket),
		Key:             aws.String(u.key),
		UploadId:        aws.String(u.id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cps},
		IfMatch:         optETag(opts.IfMatch),
		IfNoneMatch:     optETag(opts.IfNoneMatch),
	}
	out, err := u.s.client.CompleteMultipartUpload(ctx, in)
	if err != nil {
		return providers.ObjectInfo{}, uploadErr("complete-multipart", u.key, err)
	}
	if !known || u.resumed {
		// Resumed uploads do not know the metadata; a HEAD reports it.
		if info, err := u.s.head(ctx, "complete-multipart", u.key, versionOf(out.ETag)); err == nil {
			return info, nil
		}
	}
	return providers.ObjectInfo{
		Key:         u.key,
		Size:        total,
		Version:     versionOf(out.ETag),
		ETag:        aws.ToString(out.ETag),
		ModTime:     time.Now().UTC(),
		ContentType: u.contentType,
		Metadata:    u.metadata,
	}, nil
}

// Abort implements providers.Upload; an unknown upload is already gone.
func (u *upload) Abort(ctx context.Context) error {
	_, err := u.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(u.s.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
	})
	if err != nil {
		me := uploadErr("abort-multipart", u.key, err)
		if errors.Is(me, providers.ErrUploadNotFound) {
			return nil
		}
		return me
	}
	return nil
}
