package s3

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// upload is one S3 multipart upload; s3compat.UploadState holds what it
// knows, which never changes, so it is safe for concurrent part uploads.
type upload struct {
	s3compat.UploadState
	s *Store
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
	if err := s3compat.CheckIfNoneMatch("create-multipart", key, opts.IfNoneMatch); err != nil {
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
	out, err := s3compat.Call(s.creds, nil, mapper("create-multipart", key), func() (*s3.CreateMultipartUploadOutput, error) {
		return s.client.CreateMultipartUpload(ctx, in)
	})
	if err != nil {
		return nil, err
	}
	return &upload{s: s, UploadState: s3compat.UploadState{ObjectKey: key, UploadID: aws.ToString(out.UploadId), CRC: crc,
		ContentType: opts.ContentType, Metadata: providers.CloneMetadata(opts.Metadata)}}, nil
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
	out, err := s3compat.Call(s.creds, nil, upMapper("resume-multipart", key), func() (*s3.ListPartsOutput, error) {
		return s.client.ListParts(ctx, &s3.ListPartsInput{
			Bucket:   aws.String(s.bucket),
			Key:      aws.String(key),
			UploadId: aws.String(uploadID),
			MaxParts: aws.Int32(1),
		})
	})
	if err != nil {
		return nil, err
	}
	return &upload{s: s, UploadState: s3compat.UploadState{ObjectKey: key, UploadID: uploadID,
		CRC: out.ChecksumAlgorithm == types.ChecksumAlgorithmCrc32c, Resumed: true}}, nil
}

// UploadPart implements providers.Upload.
func (u *upload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	if err := u.CheckPart(n, size, opts); err != nil {
		return providers.Part{}, err
	}
	// Sent again from the start after a credentials failure.
	out, err := s3compat.Call(u.s.creds, nil, s3compat.Unmapped, func() (*s3.UploadPartOutput, error) {
		return u.uploadPart(ctx, n, r, size, opts)
	})
	if err != nil {
		return providers.Part{}, err
	}
	return s3compat.Uploaded(n, size, aws.ToString(out.ETag), opts, aws.ToString(out.ChecksumCRC32C)), nil
}

func (u *upload) uploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (*s3.UploadPartOutput, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, providers.NewOpError("upload-part", u.ObjectKey, nil, err)
	}
	er, body, err := s3compat.UploadBody("upload-part", u.ObjectKey, r, size, emptyBody{})
	if err != nil {
		return nil, err
	}
	in := &s3.UploadPartInput{
		Bucket:        aws.String(u.s.bucket),
		Key:           aws.String(u.ObjectKey),
		UploadId:      aws.String(u.UploadID),
		PartNumber:    aws.Int32(int32(n)),
		Body:          body,
		ContentLength: aws.Int64(size),
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
	if err := er.Mismatch("upload-part", u.ObjectKey); err != nil {
		return nil, err
	}
	return out, uploadErr("upload-part", u.ObjectKey, err)
}

// emptyBody is the body of an empty part.
type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }

// ListParts implements providers.Upload, following the part-number markers.
func (u *upload) ListParts(ctx context.Context) ([]providers.Part, error) {
	in := &s3.ListPartsInput{Bucket: aws.String(u.s.bucket), Key: aws.String(u.ObjectKey), UploadId: aws.String(u.UploadID)}
	var parts []providers.Part
	for {
		out, err := s3compat.Call(u.s.creds, nil, upMapper("list-parts", u.ObjectKey), func() (*s3.ListPartsOutput, error) {
			return u.s.client.ListParts(ctx, in)
		})
		if err != nil {
			return nil, err
		}
		for _, p := range out.Parts {
			part := providers.Part{
				Number: int(aws.ToInt32(p.PartNumber)),
				Size:   aws.ToInt64(p.Size),
				ETag:   aws.ToString(p.ETag),
			}
			part.Checksum, _ = s3compat.ParseCRC32C(aws.ToString(p.ChecksumCRC32C))
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
	total, known, err := u.CheckComplete(parts, opts)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	cps := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		cps[i] = types.CompletedPart{PartNumber: aws.Int32(int32(p.Number)), ETag: aws.String(p.ETag)}
		if c := u.PartCRC(p); c != "" {
			cps[i].ChecksumCRC32C = aws.String(c)
		}
	}
	out, err := s3compat.Call(u.s.creds, nil, upMapper("complete-multipart", u.ObjectKey), func() (*s3.CompleteMultipartUploadOutput, error) {
		return u.s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          aws.String(u.s.bucket),
			Key:             aws.String(u.ObjectKey),
			UploadId:        aws.String(u.UploadID),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: cps},
			IfMatch:         optETag(opts.IfMatch),
			IfNoneMatch:     optETag(opts.IfNoneMatch),
		})
	})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	return u.Completed(total, known, versionOf(out.ETag), aws.ToString(out.ETag), time.Time{},
		func(version string) (providers.ObjectInfo, error) {
			return u.s.head(ctx, "complete-multipart", u.ObjectKey, version)
		}), nil
}

// Abort implements providers.Upload; an unknown upload is already gone.
func (u *upload) Abort(ctx context.Context) error {
	_, err := s3compat.Call(u.s.creds, nil, upMapper("abort-multipart", u.ObjectKey), func() (*s3.AbortMultipartUploadOutput, error) {
		return u.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(u.s.bucket), Key: aws.String(u.ObjectKey), UploadId: aws.String(u.UploadID),
		})
	})
	if me := err; me != nil && !errors.Is(me, providers.ErrUploadNotFound) {
		return me
	}
	return nil
}
