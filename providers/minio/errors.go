package minio

import (
	"errors"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers/internal/s3compat"
)

// mapErr turns a minio-go error into an *providers.OpError with the
// sentinel (s3compat.Kind), status, code and the redacted cause. A
// cancelled ctx keeps no sentinel: the cause wraps ctx.Err().
func mapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return s3compat.MapError(op, key, err, er.StatusCode, er.Code)
	}
	return s3compat.MapError(op, key, err, 0, "")
}

// uploadErr maps an error of a call naming an upload ID: a 404 there means
// the upload is unknown.
func uploadErr(op, key string, err error) error {
	return s3compat.UploadError(mapErr(op, key, err))
}
