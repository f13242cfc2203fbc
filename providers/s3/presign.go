package s3

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// Presign implements providers.Presigner for GET, HEAD, PUT, DELETE and,
// with UploadID and PartNumber, a part upload (PUT). The returned headers
// were signed and must be sent as given (Host is left to the HTTP client).
func (s *Store) Presign(ctx context.Context, req providers.PresignRequest) (string, http.Header, error) {
	if err := s.checkKey("presign", req.Key); err != nil {
		return "", nil, err
	}
	if err := s3compat.CheckExpiry(req.Key, req.Expiry); err != nil {
		return "", nil, err
	}
	pc := s3.NewPresignClient(s.client, s3.WithPresignExpires(req.Expiry))
	b, k := aws.String(s.bucket), aws.String(req.Key)
	var (
		r   *v4.PresignedHTTPRequest
		err error
	)
	switch strings.ToUpper(req.Method) {
	case http.MethodGet:
		r, err = pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, IfMatch: optETag(req.Put.IfMatch)})
	case http.MethodHead:
		r, err = pc.PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
	case http.MethodDelete:
		r, err = pc.PresignDeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k})
	case http.MethodPut:
		if req.UploadID != "" {
			if err := s3compat.CheckPresignPart(req.Key, req.PartNumber); err != nil {
				return "", nil, err
			}
			in := &s3.UploadPartInput{Bucket: b, Key: k, UploadId: aws.String(req.UploadID), PartNumber: aws.Int32(int32(req.PartNumber))}
			if _, ok := req.Put.Checksum.CRC32CValue(); ok {
				in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
				in.ChecksumCRC32C = aws.String(req.Put.Checksum.Base64())
			}
			r, err = pc.PresignUploadPart(ctx, in)
			break
		}
		if err := s3compat.CheckIfNoneMatch("presign", req.Key, req.Put.IfNoneMatch); err != nil {
			return "", nil, err
		}
		in := &s3.PutObjectInput{Bucket: b, Key: k, Metadata: req.Put.Metadata,
			IfMatch: optETag(req.Put.IfMatch), IfNoneMatch: optETag(req.Put.IfNoneMatch)}
		if req.Put.ContentType != "" {
			in.ContentType = aws.String(req.Put.ContentType)
		}
		in.ServerSideEncryption, in.SSEKMSKeyId = s.sse()
		setPutChecksum(in, req.Put.Checksum)
		r, err = pc.PresignPutObject(ctx, in)
	default:
		return "", nil, providers.NewOpError("presign", req.Key, providers.ErrInvalidArgument,
			fmt.Errorf("method %q", req.Method))
	}
	if err != nil {
		return "", nil, mapErr("presign", req.Key, err)
	}
	h := r.SignedHeader.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Del("Host")
	return r.URL, h, nil
}
