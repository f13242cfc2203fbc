package minio

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// Presign implements providers.Presigner for GET, HEAD, PUT, DELETE and,
// with UploadID and PartNumber, a part upload (PUT). The returned headers
// were signed and must be sent as given.
func (s *Store) Presign(ctx context.Context, req providers.PresignRequest) (string, http.Header, error) {
	if err := s.checkKey("presign", req.Key); err != nil {
		return "", nil, err
	}
	if err := s3compat.CheckExpiry(req.Key, req.Expiry); err != nil {
		return "", nil, err
	}
	method := strings.ToUpper(req.Method)
	q := url.Values{}
	h := http.Header{}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodDelete:
	case http.MethodPut:
		if req.UploadID != "" {
			if err := s3compat.CheckPresignPart(req.Key, req.PartNumber); err != nil {
				return "", nil, err
			}
			q.Set("partNumber", strconv.Itoa(req.PartNumber))
			q.Set("uploadId", req.UploadID)
			if _, ok := req.Put.Checksum.CRC32CValue(); ok {
				h.Set("x-amz-checksum-crc32c", req.Put.Checksum.Base64())
			}
			break
		}
		if err := s3compat.CheckIfNoneMatch("presign", req.Key, req.Put.IfNoneMatch); err != nil {
			return "", nil, err
		}
		if req.Put.ContentType != "" {
			h.Set("Content-Type", req.Put.ContentType)
		}
		for k, v := range req.Put.Metadata {
			h.Set("x-amz-meta-"+strings.ToLower(k), v)
		}
		if req.Put.IfMatch != "" {
			h.Set("If-Match", `"`+req.Put.IfMatch+`"`)
		}
		if req.Put.IfNoneMatch == "*" {
			h.Set("If-None-Match", "*")
		}
		if _, ok := req.Put.Checksum.CRC32CValue(); ok {
			h.Set("x-amz-checksum-crc32c", req.Put.Checksum.Base64())
		}
		if s.sse != nil {
			s.sse.Marshal(h)
		}
	default:
		return "", nil, providers.NewOpError("presign", req.Key, providers.ErrInvalidArgument, fmt.Errorf("method %q", req.Method))
	}
	u, err := s.core.PresignHeader(ctx, method, s.bucket, req.Key, req.Expiry, q, h)
	if err != nil {
		return "", nil, mapErr("presign", req.Key, err)
	}
	return u.String(), h, nil
}
